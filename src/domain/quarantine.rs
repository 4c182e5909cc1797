//! The quarantine tag: a prefix (`QUARANTINE_TAG_PREFIX`, default `quarantine-`) and the
//! digest's 64 hex digits, so that it names the image it blocks and is the same on every
//! delivery.

use super::image::{truncate, Digest};

/// The prefix when `QUARANTINE_TAG_PREFIX` is not set.
pub const DEFAULT_PREFIX: &str = "quarantine-";

/// Longest prefix that still leaves room for the 64 hex digits in a 128-character tag.
pub const MAX_PREFIX_LEN: usize = 64;

/// A quarantine prefix must make valid tags: letters, digits, `_`, `.`, `-`, starting with a
/// letter, digit or `_`, at most 64 characters.
pub fn validate_prefix(prefix: &str) -> Result<(), String> {
    let first_ok = prefix
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    if !first_ok
        || prefix.len() > MAX_PREFIX_LEN
        || !prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        return Err(format!(
            "must be 1 to {MAX_PREFIX_LEN} characters of letters, digits, `_`, `.`, `-`, starting with a letter, digit or `_`; got {:?}",
            truncate(prefix, 80)
        ));
    }
    Ok(())
}

/// Whether `tag` has the shape of a quarantine tag: the prefix and exactly 64 lowercase hex
/// characters. `quarantine-test` is a user's tag, never a quarantine.
pub fn is_quarantine_tag(tag: &str, quarantine_prefix: &str) -> bool {
    tag.strip_prefix(quarantine_prefix).is_some_and(|rest| {
        rest.len() == 64
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Whether the image `digest` carries its own quarantine tag (the prefix and its digest's hex).
pub fn is_quarantined(tags: &[String], quarantine_prefix: &str, digest: &Digest) -> bool {
    tags.iter().any(|t| {
        t.strip_prefix(quarantine_prefix)
            .is_some_and(|rest| rest == digest.hex())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarantine_tag_is_the_prefix_and_the_images_own_64_hex() {
        let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let digest = Digest::parse(&format!("sha256:{}", "ab".repeat(32))).unwrap();
        let own = format!("quarantine-{}", "ab".repeat(32));
        assert!(is_quarantined(&tags(&["v1", &own]), "quarantine-", &digest));
        // A user's tags that merely start with the prefix.
        assert!(!is_quarantined(
            &tags(&["v1", "quarantine-test", "quarantine-ab"]),
            "quarantine-",
            &digest
        ));
        // Another image's quarantine tag does not quarantine this one.
        let other = format!("quarantine-{}", "cd".repeat(32));
        assert!(!is_quarantined(&tags(&[&other]), "quarantine-", &digest));
        assert!(!is_quarantined(&[], "quarantine-", &digest));

        assert!(is_quarantine_tag(&own, "quarantine-"));
        assert!(is_quarantine_tag(&other, "quarantine-"));
        for user_tag in [
            "quarantine-test",
            "quarantine-ab",
            &format!("quarantine-{}", "AB".repeat(32)),
            &format!("quarantine-{}0", "ab".repeat(32)),
            &format!("other-{}", "ab".repeat(32)),
        ] {
            assert!(!is_quarantine_tag(user_tag, "quarantine-"), "{user_tag}");
        }
    }
}
