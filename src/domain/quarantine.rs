//! The quarantine tag: a prefix (`QUARANTINE_TAG_PREFIX`, default `quarantine-`) and the
//! digest's 64 hex digits, so that it names the image it blocks and is the same on every
//! delivery.

use super::image::truncate;

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

/// Whether an image carries a quarantine tag.
pub fn is_quarantined(tags: &[String], quarantine_prefix: &str) -> bool {
    tags.iter().any(|t| t.starts_with(quarantine_prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarantine_tag_marks_the_image() {
        let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(is_quarantined(
            &tags(&["v1", "quarantine-ab"]),
            "quarantine-"
        ));
        assert!(!is_quarantined(&tags(&["v1", "latest"]), "quarantine-"));
        assert!(!is_quarantined(&[], "quarantine-"));
    }
}
