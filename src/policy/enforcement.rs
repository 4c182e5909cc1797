//! The policy's enforcement keys: `block` (archive a failing image so that no client can pull
//! it) and `ecs_hook` (how the ECS deployment lifecycle hook answers). Both are optional; the
//! defaults change nothing of the quarantine by tag.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Whether a failing image is also archived (`UpdateImageStorageClass` to `ARCHIVE`): ECR then
/// answers 404 to every pull of it, by tag or digest, from any client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArchiveMode {
    /// Quarantine by tag only.
    #[default]
    Off,
    /// Archive a failing image that is not in use (no pull within `in_use_days`, and no
    /// `inUseCount` from Amazon Inspector where it reports one).
    Unused,
    /// Archive every failing image, in use or not: a running service can no longer scale out
    /// or replace a task.
    Always,
}

impl ArchiveMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ArchiveMode::Off => "off",
            ArchiveMode::Unused => "unused",
            ArchiveMode::Always => "always",
        }
    }
}

/// `block`: the hard block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub archive: ArchiveMode,
    /// An image pulled within this many days is in use.
    pub in_use_days: u32,
}

impl Block {
    pub const DEFAULT_IN_USE_DAYS: u32 = 30;
}

impl Default for Block {
    fn default() -> Self {
        Block {
            archive: ArchiveMode::Off,
            in_use_days: Block::DEFAULT_IN_USE_DAYS,
        }
    }
}

/// What the ECS hook answers for an image outside ECR (a public registry, Docker Hub).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NonEcr {
    /// The gate does not judge it: the deployment goes ahead.
    #[default]
    Allow,
    /// Refuse the deployment: only ECR images the gate judged may run.
    Block,
}

/// `ecs_hook`: the ECS deployment lifecycle hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EcsHook {
    /// How long the hook answers `IN_PROGRESS` for an image with no scan result yet, from the
    /// first time it was asked; then `on_scan_failure` decides.
    pub max_wait_s: u64,
    pub non_ecr: NonEcr,
}

impl EcsHook {
    pub const DEFAULT_MAX_WAIT_S: u64 = 600;
    /// `callBackDelay` of an `IN_PROGRESS` answer: when ECS asks again.
    pub const CALL_BACK_DELAY_S: u64 = 30;
}

impl Default for EcsHook {
    fn default() -> Self {
        EcsHook {
            max_wait_s: EcsHook::DEFAULT_MAX_WAIT_S,
            non_ecr: NonEcr::Allow,
        }
    }
}

/// `block` as written.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BlockDoc {
    /// off (default): quarantine by tag only; unused: also archive a failing image that is not
    /// in use; always: archive every failing image. Archived images carry ECR's 90-day minimum
    /// storage charge.
    #[serde(default)]
    archive: ArchiveMode,
    /// An image pulled within this many days (lastRecordedPullTime) is in use (default 30).
    #[schemars(range(min = 1, max = 3650))]
    in_use_days: Option<i64>,
}

/// `ecs_hook` as written.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EcsHookDoc {
    /// Seconds the hook waits (answering IN_PROGRESS) for an image's scan, from the first
    /// time it was asked; then on_scan_failure decides (default 600).
    #[schemars(range(min = 0, max = 86400))]
    max_wait_s: Option<i64>,
    /// What the hook answers for an image outside ECR: allow (default) or block.
    #[serde(default)]
    non_ecr: NonEcr,
}

/// A bad value: the field it is in, and what is wrong with it.
pub(crate) type FieldError = (&'static str, String);

impl BlockDoc {
    pub(crate) fn validate(self) -> Result<Block, FieldError> {
        let in_use_days = match self.in_use_days {
            None => Block::DEFAULT_IN_USE_DAYS,
            Some(n) if (1..=3650).contains(&n) => n as u32,
            Some(n) => {
                return Err((
                    "block.in_use_days",
                    format!("must be between 1 and 3650 days, got {n}"),
                ))
            }
        };
        Ok(Block {
            archive: self.archive,
            in_use_days,
        })
    }
}

impl EcsHookDoc {
    pub(crate) fn validate(self) -> Result<EcsHook, FieldError> {
        let max_wait_s = match self.max_wait_s {
            None => EcsHook::DEFAULT_MAX_WAIT_S,
            Some(n) if (0..=86_400).contains(&n) => n as u64,
            Some(n) => {
                return Err((
                    "ecs_hook.max_wait_s",
                    format!("must be between 0 and 86400 seconds, got {n}"),
                ))
            }
        };
        Ok(EcsHook {
            max_wait_s,
            non_ecr: self.non_ecr,
        })
    }
}
