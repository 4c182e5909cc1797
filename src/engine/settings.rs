//! Settings that come from the environment besides the policy: the quarantine tag prefix and
//! `DRY_RUN`. Read once at start by `crate::entry::config`; the gate and the check share them.

use crate::domain::image::Digest;
use crate::domain::quarantine::DEFAULT_PREFIX;

/// Settings that come from the environment (the function's contract in the README), read once at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub quarantine_prefix: String,
    pub dry_run: bool,
    /// `GATE_REPOSITORIES`: the repository globs this gate gates (what its IAM grants cover):
    /// the default scope of a sweep and of the report. Every repository when unset.
    pub repositories: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            quarantine_prefix: DEFAULT_PREFIX.to_string(),
            dry_run: false,
            repositories: vec!["*".to_string()],
        }
    }
}

impl Settings {
    /// The quarantine tag of a digest: the prefix and the digest's 64 hex digits, so it is the
    /// same on every delivery and names the image it blocks.
    pub fn quarantine_tag(&self, digest: &Digest) -> String {
        format!("{}{}", self.quarantine_prefix, digest.hex())
    }
}
