//! Adapters from the ports to the AWS SDK. Every AWS operation the function calls is in these
//! files, written `client.<operation>()`, so the IAM test can compare them with the Terraform.

pub mod ecr;
pub mod ecr_findings;
pub mod ecr_indexes;
pub mod ecr_inventory;
pub mod ecr_tags;
pub mod inspector;
pub mod member;
pub mod sns;
pub mod sqs;
pub mod ssm;

use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};
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

/// An SDK error as one line a person acts on: the cause and a hint (no credentials, no region,
/// access denied naming the IAM action, throttling, an endpoint that does not answer). The
/// whole chain of causes goes to the log at debug level only (`RUST_LOG=debug`).
pub(crate) fn error_text<E, R>(e: &SdkError<E, R>, service: &str, operation: &str) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let chain = DisplayErrorContext(e).to_string();
    let action = format!("{service}:{operation}");
    tracing::debug!(action = %action, error = %chain, "AWS call failed");
    explain(e, &chain, &action)
}

fn explain<E, R>(e: &SdkError<E, R>, chain: &str, action: &str) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let lower = chain.to_ascii_lowercase();
    let no_credentials = lower.contains("no credentials")
        || lower.contains("credentials provider was not enabled")
        || lower.contains("no providers in chain provided credentials")
        || lower.contains("failed to load credentials")
        || lower.contains("loading credentials")
        || lower.contains("no identity")
        || lower.contains("identity resolver");
    if no_credentials && !matches!(e, SdkError::ServiceError(_)) {
        return "no AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and \
                AWS_SECRET_ACCESS_KEY), or run where a role is available"
            .to_string();
    }
    let region_missing = lower.contains("missing signing region")
        || (lower.contains("region") && matches!(e, SdkError::ConstructionFailure(_)));
    if region_missing {
        return "no AWS region: set AWS_REGION (or a profile with a region)".to_string();
    }
    match e {
        SdkError::ServiceError(_) => {
            let code = e.code().unwrap_or("UnknownError");
            let message = e.message().unwrap_or("no message");
            match code {
                "AccessDeniedException" | "AccessDenied" => format!(
                    "{code}: {message} (the role needs the IAM action {action} on this resource)"
                ),
                "UnrecognizedClientException"
                | "InvalidSignatureException"
                | "ExpiredTokenException"
                | "InvalidClientTokenId"
                | "ExpiredToken" => format!(
                    "{code}: {message} (the AWS credentials are invalid or expired: refresh them)"
                ),
                _ => format!("{code}: {message}"),
            }
        }
        SdkError::TimeoutError(_) => {
            format!("{action} timed out: no answer within the SDK's timeouts")
        }
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            format!("{action} timed out connecting to AWS")
        }
        SdkError::DispatchFailure(_) => format!(
            "could not reach AWS for {action} ({}): check the network or AWS_ENDPOINT_URL",
            last_cause(chain)
        ),
        SdkError::ResponseError(_) => {
            format!(
                "{action}: unreadable response from AWS ({})",
                last_cause(chain)
            )
        }
        _ => format!("{action}: {}", last_cause(chain)),
    }
}

/// The innermost cause of an error chain printed as `a: b: c (Debug form)`, without the
/// Debug form.
fn last_cause(chain: &str) -> &str {
    let debug_form = [
        " (DispatchFailure(",
        " (ResponseError(",
        " (TimeoutError(",
        " (ConstructionFailure(",
        " (ServiceError(",
    ];
    let plain = debug_form
        .iter()
        .filter_map(|p| chain.find(p))
        .min()
        .map_or(chain, |i| &chain[..i]);
    plain.rsplit(": ").next().unwrap_or(plain).trim()
}

/// `AssumeRole` into a member account failed (access denied, no such role, STS unreachable).
/// The SDK's credentials provider does not retry an access denial; the event fails and the
/// next delivery tries once more.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("AssumeRole of {role_arn} (account {account}) failed: {message}")]
pub struct AssumeRoleFailed {
    pub account: String,
    pub role_arn: String,
    pub message: String,
}

/// The failed `AssumeRole` behind an SDK error, when that is why an ECR call failed.
pub fn assume_role_failure<'e>(
    e: &'e (dyn std::error::Error + 'static),
) -> Option<&'e AssumeRoleFailed> {
    let mut current = Some(e);
    while let Some(err) = current {
        if let Some(f) = err.downcast_ref::<AssumeRoleFailed>() {
            return Some(f);
        }
        current = err.source();
    }
    None
}
