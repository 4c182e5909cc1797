//! Everything with a network: the ports of `crate::engine::ports` on the AWS SDK (ECR, SNS,
//! SQS, SSM, member roles) and on Slack's incoming webhook. They render with `crate::render`;
//! the engine never names them.

pub mod aws;
pub mod slack_webhook;
