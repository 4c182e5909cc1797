//! ecr-scan-gate: the deployment gate for container images in Amazon ECR.
//!
//! The core (`event`, `policy`, `findings`, `verdict`, `handler`) knows nothing of AWS; the
//! adapters in `aws` implement the ports of `ports` with the AWS SDK.

pub mod accounts;
pub mod act;
pub mod alert;
pub mod alert_gate;
pub mod aws;
pub mod check;
pub mod conditions;
pub mod config;
pub mod decision_log;
pub mod entry;
pub mod evaluation;
pub mod event;
pub mod fast_path;
pub mod findings;
pub mod glob;
pub mod handler;
pub mod lambda;
pub mod listing;
pub mod metrics;
pub mod multiarch;
pub mod policy;
pub mod policy_lint;
pub mod ports;
pub mod queue;
pub mod report;
pub mod settings;
pub mod severity;
pub mod slack;
pub mod suggest;
pub mod sweep;
pub mod verdict;
