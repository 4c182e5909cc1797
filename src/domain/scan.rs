//! What the gate is asked to judge: one image, what produced the request, and what the event
//! already says of its scan. Read from the function's input by `crate::entry::event`.

use super::image::ImageRef;
use super::severity::{Counts, Severity};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid event: `{field}` {problem}")]
pub struct EventError {
    pub field: String,
    pub problem: String,
}

impl EventError {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        EventError {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// What produced the event; carried into the response and the alerts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// `aws.ecr` / `ECR Image Scan` (basic scanning).
    BasicScan,
    /// `aws.inspector2` / `Inspector2 Scan`, first scan of an image.
    EnhancedScan,
    /// `aws.inspector2` / `Inspector2 Finding`: a new finding on an image scanned before.
    EnhancedFinding {
        vulnerability_id: String,
        severity: Option<Severity>,
    },
    /// `{"repository": ..., "tag"|"digest": ...}` sent by an operator.
    DirectInvoke,
    /// The registry sweep (`{"sweep": {}}`, or its queue message with `"sweep": true`): the
    /// same decision as a direct invoke, alerting only on a change (`crate::engine::alert_rule`).
    Sweep,
    /// The ECS deployment lifecycle hook refused a deployment (`crate::entry::ecs_hook`): the
    /// service (`web (cluster prod)`), the container, and its image as the task definition
    /// names it.
    EcsDeployment {
        service: String,
        container: String,
        image: String,
    },
}

/// The scan status the event reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventScanStatus {
    Complete,
    /// The scan did not run (`FAILED`, `UNSUPPORTED_IMAGE`, ...): the status as AWS wrote it.
    NotComplete(String),
    /// The event says nothing about the scan (direct invoke, finding event): ask the registry.
    Unknown,
}

/// An image the gate must evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanEvent {
    pub repository: String,
    pub image: ImageRef,
    /// Tags as the event listed them (may be empty: key everything by digest).
    pub tags: Vec<String>,
    /// Severity counts the event carried, if any (missing keys are 0, `TOTAL` dropped).
    pub counts: Option<Counts>,
    /// Findings the event's `TOTAL` counts under no severity it lists (Inspector lists only
    /// CRITICAL, HIGH and MEDIUM): their severity is unknown until the findings are read.
    pub counts_unlisted: u64,
    pub status: EventScanStatus,
    pub trigger: Trigger,
    pub region: Option<String>,
    /// The AWS account of the event (EventBridge `account`), for the console link.
    pub account: Option<String>,
    /// A delivery that may repeat one whose alert was not sent (a queue record received more
    /// than once, an event whose earlier invocation failed): a change found already in place
    /// is alerted again, since nothing proves the first alert went out.
    pub redelivery: bool,
    /// The image's storage (archived or not, last pull) as the registry listed it a moment
    /// ago (the sweep); `None` when it is read only if an action needs it.
    pub storage: Option<crate::domain::storage::Storage>,
}

impl ScanEvent {
    /// An operator's request to evaluate one image (direct invoke, `ecr-scan-gate-check`): no
    /// counts and no scan status, so the registry is asked.
    pub fn direct(repository: String, image: ImageRef) -> ScanEvent {
        ScanEvent {
            repository,
            tags: match &image {
                ImageRef::Tag(t) => vec![t.clone()],
                ImageRef::Digest(_) => Vec::new(),
            },
            image,
            counts: None,
            counts_unlisted: 0,
            status: EventScanStatus::Unknown,
            trigger: Trigger::DirectInvoke,
            region: None,
            account: None,
            redelivery: false,
            storage: None,
        }
    }

    /// The same event with the account and region of its image set (hub and member accounts:
    /// where the gate found the image), for the response, the log line and the alerts.
    pub fn located(&self, account: String, region: String) -> ScanEvent {
        ScanEvent {
            account: Some(account),
            region: Some(region),
            ..self.clone()
        }
    }
}
