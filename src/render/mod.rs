//! What people read, rendered from the judgement with no I/O: the SNS message (e-mail text and
//! JSON body), the Slack Block Kit payload, the registry report's digest, and the check's
//! outcome for CI (the SARIF log, the job summary). Imports the judgement, the policy and the
//! domain only.

pub mod alert;
pub mod check_outcome;
pub mod notice;
pub mod report_digest;
pub mod sarif;
pub mod slack_blocks;
pub mod sns_message;
pub mod step_summary;
