//! ecr-scan-gate: the deployment gate for container images in Amazon ECR.
//!
//! The core (`event`, `policy`, `findings`, `verdict`, `handler`) knows nothing of AWS; the
//! adapters in `aws` implement the ports of `ports` with the AWS SDK.

pub mod alert;
pub mod alert_rule;
pub mod aws;
pub mod check;
pub mod config;
pub mod entry;
pub mod evaluation;
pub mod event;
pub mod findings;
pub mod handler;
pub mod lambda;
pub mod listing;
pub mod metrics;
pub mod policy;
pub mod ports;
pub mod queue;
pub mod report;
pub mod severity;
pub mod slack;
pub mod sweep;
pub mod verdict;
