//! What the gate decided about one image and what it did about it: the verdict with its
//! reasons, the actions and their status. It is the function's response, the decision log
//! line, the metrics record and the content of every alert; it knows nothing of AWS.

use crate::domain::image::Digest;
use crate::domain::scan::Trigger;
use crate::domain::severity::{Counts, Severity};
use crate::domain::verdict::Verdict;
use crate::judgement::findings::FindingsReport;
use serde::Serialize;

/// What the decision rested on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The event's counts passed every threshold: no finding was read (fast path).
    EventCounts,
    /// Every finding was read and judged.
    Findings,
    /// The scan did not complete.
    ScanStatus,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::EventCounts => "event_counts",
            Basis::Findings => "findings",
            Basis::ScanStatus => "scan_status",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ActionStatus {
    /// Decided but not yet carried out.
    Planned,
    Done,
    /// Found already in place (a redelivered event).
    AlreadyDone,
    /// `DRY_RUN`: would have been done.
    DryRun,
    /// Deliberately not done; the reason says why.
    Skipped {
        reason: String,
    },
    Failed {
        error: String,
    },
    /// Started, and finished by a later evaluation or the sweep: ECR refuses the step while
    /// the image is being restored from the archive. Not a failure: nothing is retried now.
    Pending {
        reason: String,
    },
}

impl ActionStatus {
    /// Short human form; `planned` names the status of an action not yet carried out (an
    /// alert, sent while the action runs, says "in progress").
    pub fn text(&self, planned: &str) -> String {
        match self {
            ActionStatus::Planned => planned.to_string(),
            ActionStatus::Done => "done".to_string(),
            ActionStatus::AlreadyDone => "already in place".to_string(),
            ActionStatus::DryRun => "dry run, not done".to_string(),
            ActionStatus::Skipped { reason } => format!("skipped: {reason}"),
            ActionStatus::Failed { error } => format!("FAILED: {error}"),
            ActionStatus::Pending { reason } => format!("pending: {reason}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Add the quarantine tag to the digest.
    Quarantine {
        tag: String,
        #[serde(flatten)]
        status: ActionStatus,
    },
    /// Remove deployable tags (policy `strip_tags`) after the quarantine tag is in place.
    Strip {
        tags: Vec<String>,
        #[serde(flatten)]
        status: ActionStatus,
    },
    /// Remove the quarantine tag from an image that no longer fails.
    Release {
        tag: String,
        #[serde(flatten)]
        status: ActionStatus,
    },
    /// Archive the image (`UpdateImageStorageClass` to `ARCHIVE`) once its quarantine tag is
    /// in place: ECR then answers 404 to every pull of it (policy `block.archive`).
    Archive {
        #[serde(flatten)]
        status: ActionStatus,
    },
    /// Restore an archived image that no longer fails (`STANDARD`; ECR answers `ACTIVATING`),
    /// before its quarantine tag is removed.
    Restore {
        #[serde(flatten)]
        status: ActionStatus,
    },
    /// Send the alert on one channel.
    Alert {
        channel: String,
        #[serde(flatten)]
        status: ActionStatus,
    },
    /// The look-up of the image indexes (multi-arch images) that list this image, for an
    /// image that can be a platform image. Only its failure is reported: the image's own
    /// quarantine, strip and alert went ahead, and the retry finds the indexes.
    IndexLookup {
        #[serde(flatten)]
        status: ActionStatus,
    },
    /// A quarantine, strip or release on an image index (multi-arch image) that lists this
    /// platform image: deployable tags such as `latest` sit on the index, not on the image
    /// that was scanned.
    OnIndex {
        index: Digest,
        index_tags: Vec<String>,
        change: Box<Action>,
    },
}

impl Action {
    pub fn status(&self) -> &ActionStatus {
        match self {
            Action::Quarantine { status, .. }
            | Action::Strip { status, .. }
            | Action::Release { status, .. }
            | Action::Alert { status, .. }
            | Action::IndexLookup { status }
            | Action::Archive { status }
            | Action::Restore { status } => status,
            Action::OnIndex { change, .. } => change.status(),
        }
    }

    pub(crate) fn status_mut(&mut self) -> &mut ActionStatus {
        match self {
            Action::Quarantine { status, .. }
            | Action::Strip { status, .. }
            | Action::Release { status, .. }
            | Action::Alert { status, .. }
            | Action::IndexLookup { status }
            | Action::Archive { status }
            | Action::Restore { status } => status,
            Action::OnIndex { change, .. } => change.status_mut(),
        }
    }

    /// The index an `OnIndex` action is about, as `sha256:abcdef… (latest, v2)`.
    pub fn index_text(index: &Digest, tags: &[String]) -> String {
        format!("image index {} ({})", index.short(), tags.join(", "))
    }

    /// Short human form for alerts and logs: `quarantine quarantine-ab12… (done)`.
    pub fn describe(&self) -> String {
        let status = self.status().text("planned");
        match self {
            Action::Quarantine { tag, .. } => format!("quarantine tag {tag} ({status})"),
            Action::Strip { tags, .. } => format!("remove tags {} ({status})", tags.join(", ")),
            Action::Release { tag, .. } => format!("release: remove tag {tag} ({status})"),
            Action::Alert { channel, .. } => format!("alert via {channel} ({status})"),
            Action::IndexLookup { .. } => {
                format!("look up the image indexes that list this image ({status})")
            }
            Action::Archive { .. } => format!("archive ({status})"),
            Action::Restore { .. } => format!("restore from the archive ({status})"),
            Action::OnIndex {
                index,
                index_tags,
                change,
            } => format!(
                "on {}: {}",
                Action::index_text(index, index_tags),
                change.describe()
            ),
        }
    }
}

/// The decision about one image, with what was done about it. It is the function's response,
/// the log line and the alert's content.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub verdict: Verdict,
    pub repository: String,
    /// Unknown only when an operator named a tag that does not exist.
    pub digest: Option<Digest>,
    pub tags: Vec<String>,
    pub trigger: Trigger,
    /// Findings that count, by severity, after the policy.
    pub counts: Counts,
    pub highest_severity: Option<Severity>,
    pub reasons: Vec<String>,
    pub basis: Basis,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub findings: Option<FindingsReport>,
    pub actions: Vec<Action>,
    pub dry_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The event's AWS account, for the console link in alerts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

impl Evaluation {
    /// `repository:tag`, or `repository@sha256:abcdef…` for an untagged image.
    pub fn image_name(&self, quarantine_prefix: &str) -> String {
        match self
            .tags
            .iter()
            .find(|t| !crate::domain::quarantine::is_quarantine_tag(t, quarantine_prefix))
        {
            Some(tag) => format!("{}:{tag}", self.repository),
            None => match &self.digest {
                Some(d) => format!("{}@{}", self.repository, d.short()),
                None => self.repository.clone(),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Response {
    Evaluated(Box<Evaluation>),
    Ignored { reason: String },
}
