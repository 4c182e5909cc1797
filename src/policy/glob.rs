//! The policy's globs (repository patterns, allowlist repositories, strip tags, condition
//! `vulnerability` and `package`): shell-style, `*` any run of characters (including `/`), `?`
//! one character, nothing else special.

/// Whether `text` matches `pattern`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A pattern the policy accepts: 1 to 256 characters.
pub fn validate(g: &str) -> Result<(), String> {
    if g.is_empty() {
        return Err("is empty".to_string());
    }
    if g.len() > 256 {
        return Err(format!("is longer than 256 characters ({})", g.len()));
    }
    Ok(())
}

pub fn has_wildcards(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

/// Whether every non-empty text matches `pattern`: only `*`s, or `*`s and a single `?`.
pub fn matches_every_nonempty(pattern: &str) -> bool {
    let stars = pattern.chars().filter(|c| *c == '*').count();
    let marks = pattern.chars().filter(|c| *c == '?').count();
    stars + marks == pattern.chars().count() && stars > 0 && marks <= 1
}

/// Whether every text that `inner` matches is also matched by `outer` (so `outer`, tried first,
/// leaves `inner` nothing). Sure answers only: `true` means covered; `false` means covered is
/// not proven. Proven when the patterns are equal, or when `outer` has no `?` and matches
/// `inner` read as plain text: `outer`'s literal characters then line up with `inner`'s
/// literals, and `outer`'s `*`s absorb whatever `inner`'s wildcards stand for.
pub fn covers(outer: &str, inner: &str) -> bool {
    outer == inner || (!outer.contains('?') && glob_match(outer, inner))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_semantics() {
        assert!(glob_match("demo-*", "demo-api"));
        assert!(glob_match("*", "team/app"));
        assert!(glob_match("team/*", "team/a/b"));
        assert!(glob_match("v?.?", "v1.2"));
        assert!(!glob_match("demo-*", "prod-demo-api"));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXbYY"));
    }

    #[test]
    fn every_nonempty_text() {
        for p in ["*", "**", "?*", "*?*"] {
            assert!(matches_every_nonempty(p), "{p}");
        }
        for p in ["?", "??*", "latest", "v*", ""] {
            assert!(!matches_every_nonempty(p), "{p}");
        }
    }

    #[test]
    fn coverage_is_sound() {
        assert!(covers("*", "team-*"));
        assert!(covers("team*", "team-*"));
        assert!(covers("team-*", "team-a?"));
        assert!(covers("legacy-*", "legacy-billing"));
        assert!(covers("a?c", "a?c"));
        // `?` in the outer pattern proves nothing: "a?c" does not match "abbc" that "a*c" does.
        assert!(!covers("a?c", "a*c"));
        assert!(!covers("team-*", "team*"));
        assert!(!covers("*-api", "demo-*"));
    }
}
