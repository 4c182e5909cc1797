//! Adapters from the ports to the AWS SDK. Every AWS operation the function calls is in these
//! files, written `client.<operation>()`, so the IAM test can compare them with the Terraform.

pub mod ecr;
pub mod ecr_inventory;
pub mod sns;
pub mod sqs;
pub mod ssm;

use aws_smithy_types::error::display::DisplayErrorContext;
use std::time::Duration;

/// How long one attempt of an AWS call may take before it is retried.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an AWS call may take with its retries; the deadline reserve for a tag change
/// (`ports::Deadline::CHANGE_RESERVE`) covers it.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(12);

/// The SDK configuration the binaries use: the standard chain (`AWS_ENDPOINT_URL`, region,
/// credentials) with the SDK's default HTTP client, and timeouts so that a hung connection
/// is retried instead of eating the Lambda deadline.
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .load()
        .await
}

/// An SDK error as one line with its causes (e.g. `dispatch failure: io error: connection refused`).
pub(crate) fn error_text<E: std::error::Error>(e: &E) -> String {
    DisplayErrorContext(e).to_string()
}
