//! What people read, rendered from the judgement with no I/O: the SNS message (e-mail text and
//! JSON body), the Slack Block Kit payload, and the registry report's digest. Imports the
//! judgement, the policy and the domain only.

pub mod alert;
pub mod report_digest;
pub mod slack_blocks;
pub mod sns_message;
