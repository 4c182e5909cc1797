//! "Did you mean …?" for a mistyped policy key or value: the closest known name by a small
//! edit distance (insertions, deletions, substitutions and swaps of neighbours, ignoring case).

/// Edit distance with adjacent transpositions (optimal string alignment), case-insensitive.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// The known name closest to `word`, when it is close enough to be a typo: at most 2 edits,
/// and at most a third of the longer name's length (so `ab` does not suggest `fail`).
pub fn closest<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (distance(word, k), k))
        .filter(|(d, k)| *d <= 2 && *d * 3 <= word.chars().count().max(k.chars().count()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Adds "did you mean …?" to serde's `unknown field `x`, expected one of `a`, `b`` (and the
/// same for an unknown variant), computed from the names serde lists.
/// What is wrong with a text that should be one JSON object, in plain words; `None` when it is
/// one. Said before the document's fields are read, so that `[]` or a cut-off file is not
/// explained in terms of the parser's internals.
pub fn json_object_problem(text: &str) -> Option<String> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Err(e) if e.is_eof() => Some(format!(
            "the document ends too early (line {}, column {}): is the file cut off, or a bracket or quote missing?",
            e.line(),
            e.column()
        )),
        Err(e) => Some(format!("is not valid JSON: {e}")),
        Ok(serde_json::Value::Object(_)) => None,
        Ok(other) => {
            let kind = match other {
                serde_json::Value::Array(_) => "a list",
                serde_json::Value::String(_) => "a string",
                serde_json::Value::Number(_) => "a number",
                serde_json::Value::Bool(_) => "true or false",
                _ => "null",
            };
            Some(format!("must be a JSON object ({{\"fail\": …}}), got {kind}"))
        }
    }
}

pub fn annotate_serde_message(message: &str) -> String {
    let unknown = ["unknown field `", "unknown variant `"];
    if !unknown.iter().any(|u| message.starts_with(u)) {
        return message.to_string();
    }
    let names: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let Some((word, known)) = names.split_first() else {
        return message.to_string();
    };
    let Some(k) = closest(word, known.iter().copied()) else {
        return message.to_string();
    };
    // serde_json ends its messages with the position: keep that last.
    match message.rfind(" at line ") {
        Some(i) => format!("{} — did you mean `{k}`?{}", &message[..i], &message[i..]),
        None => format!("{message} — did you mean `{k}`?"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("fail", "fail"), 0);
        assert_eq!(distance("fial", "fail"), 1, "a swap is one edit");
        assert_eq!(distance("failif", "fail_if"), 1);
        assert_eq!(distance("FAIL", "fail"), 0);
        assert_eq!(distance("warn", "fail"), 3);
    }

    #[test]
    fn suggests_only_close_names() {
        let keys = ["fail", "warn", "fail_if", "warn_if", "allowlist"];
        assert_eq!(closest("fial", keys), Some("fail"));
        assert_eq!(closest("fail-if", keys), Some("fail_if"));
        assert_eq!(closest("allowlst", keys), Some("allowlist"));
        assert_eq!(closest("ab", keys), None);
        assert_eq!(closest("exceptions", keys), None);
    }

    #[test]
    fn serde_messages_get_a_suggestion() {
        assert_eq!(
            annotate_serde_message("unknown field `failif`, expected one of `fail`, `fail_if`"),
            "unknown field `failif`, expected one of `fail`, `fail_if` — did you mean `fail_if`?"
        );
        assert_eq!(
            annotate_serde_message("unknown variant `HGH`, expected one of `CRITICAL`, `HIGH`"),
            "unknown variant `HGH`, expected one of `CRITICAL`, `HIGH` — did you mean `HIGH`?"
        );
        assert_eq!(
            annotate_serde_message("unknown field `fial`, expected `fail` at line 1 column 7"),
            "unknown field `fial`, expected `fail` — did you mean `fail`? at line 1 column 7"
        );
        let far = "unknown field `zzz`, expected `match`";
        assert_eq!(annotate_serde_message(far), far);
        assert_eq!(
            annotate_serde_message("expected a string"),
            "expected a string"
        );
    }
}
