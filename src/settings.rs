//! Settings that come from the environment besides the policy: the quarantine tag prefix and
//! `DRY_RUN`. Read once at start by `crate::config`; the gate and the check share them.

use crate::event::{self, Digest};

/// Settings that come from the environment (the function's contract in the README), read once at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub quarantine_prefix: String,
    pub dry_run: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            quarantine_prefix: "quarantine-".to_string(),
            dry_run: false,
        }
    }
}

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
            event::truncate(prefix, 80)
        ));
    }
    Ok(())
}

impl Settings {
    /// The quarantine tag of a digest: the prefix and the digest's 64 hex digits, so it is the
    /// same on every delivery and names the image it blocks.
    pub fn quarantine_tag(&self, digest: &Digest) -> String {
        format!("{}{}", self.quarantine_prefix, digest.hex())
    }
}
