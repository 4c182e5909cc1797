//! Adapters from the ports to the AWS SDK. Every AWS operation the function calls is in these
//! files, written `client.<operation>()`, so the IAM test can compare them with the Terraform.

pub mod ecr;
pub mod ecr_archive;
pub mod ecr_findings;
pub mod ecr_indexes;
pub mod ecr_inventory;
pub mod ecr_tags;
pub mod ecs;
pub mod inspector;
pub mod member;
pub mod sns;
pub mod sqs;
pub mod ssm;

use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::error::display::DisplayErrorContext;
use std::time::Duration;

/// How long one attempt of an AWS call may take before it is retried.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an AWS call may take with its retries; the deadline reserve for a tag change
/// (`ports::Deadline::CHANGE_RESERVE`) covers it.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(12);

/// The SDK configuration the binaries use: the standard chain (`AWS_ENDPOINT_URL`, region,
/// credentials), timeouts so that a hung connection is retried instead of eating the Lambda
/// deadline, and one HTTP client for every SDK client, aws-config's own STS client included,
/// whose TLS set-up waits for its first request ([`TlsOnFirstRequest`]). The client must be
/// given to the loader: `load` builds an STS client (web identity credentials) at once.
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(SharedHttpClient::new(TlsOnFirstRequest::new()))
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

/// The SDK's default HTTPS client (hyper 1, rustls on aws-lc, proxies from the environment, as
/// `aws-smithy-runtime` builds it for the latest behavior version), without its check at
/// construction: that check builds a TLS connector and throws it away, only so that the
/// system's root certificates are loaded and parsed when an SDK client is built, i.e. at
/// start (about 4 ms of it here, BENCHMARKS.md). Here they are loaded by the first request of
/// any SDK client, which builds the connector that later requests reuse; the Slack connector
/// (`adapters::slack_webhook`) shares the same loaded roots. One instance serves every SDK
/// client of the function, so they share that connector and its connection pool.
#[derive(Debug)]
struct TlsOnFirstRequest(SharedHttpClient);

impl TlsOnFirstRequest {
    fn new() -> Self {
        use aws_smithy_http_client::{proxy::ProxyConfig, tls, Builder, ConnectorBuilder};
        TlsOnFirstRequest(
            Builder::new().build_with_connector_fn(|settings, components| {
                let mut connector = ConnectorBuilder::default().tls_provider(
                    tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc),
                );
                connector.set_connector_settings(settings.cloned());
                if let Some(components) = components {
                    connector.set_sleep_impl(components.sleep_impl());
                }
                connector.set_proxy_config(Some(ProxyConfig::from_env()));
                connector.build()
            }),
        )
    }
}

impl HttpClient for TlsOnFirstRequest {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    // `validate_base_client_config` is the trait's default (nothing): not forwarded, on purpose.

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A loopback endpoint that answers one request with `body` (JSON 1.1, as SSM answers).
    async fn answer_once(body: &'static str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut chunk = [0u8; 4096];
            // Headers, then a JSON body: enough for one small request.
            while !String::from_utf8_lossy(&request).contains("\r\n\r\n{") {
                let n = socket.read(&mut chunk).await.unwrap();
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&chunk[..n]);
            }
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\n\
                 content-length: {}\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(response.as_bytes()).await.unwrap();
        });
        url
    }

    #[tokio::test]
    async fn sdk_clients_on_the_tls_on_first_request_client_reach_their_endpoint() {
        use crate::engine::ports::Parameters;
        let endpoint = answer_once(r#"{"Parameter":{"Name":"/p","Value":"v"}}"#).await;
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .http_client(SharedHttpClient::new(TlsOnFirstRequest::new()))
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_credential_types::Credentials::new("test", "test", None, None, "test"),
                ),
            )
            .endpoint_url(endpoint)
            .build();
        let ssm = ssm::SsmParameters::new(aws_sdk_ssm::Client::new(&config));
        assert_eq!(ssm.get("/p").await.unwrap(), "v");
    }
}
