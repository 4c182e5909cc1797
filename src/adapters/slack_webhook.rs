//! The Slack alert channel: an incoming webhook with a Block Kit message.
//!
//! The webhook URL is a secret (whoever has it can post to the channel): it has no `Display`,
//! its `Debug` is redacted, and every error text is built without it and then scrubbed of it
//! once more.
//!
//! The webhook is posted with the AWS SDK's own HTTP stack (`aws-smithy-http-client`: hyper 1,
//! rustls on aws-lc), not a second HTTP client: the system's root certificates are then loaded
//! and parsed once per process, for the SDK and Slack alike, by whichever needs them first
//! (BENCHMARKS.md, cold start).

use crate::engine::ports::{BoxFuture, Notifier, NotifyError, ParameterError, Parameters};
use crate::judgement::evaluation::Evaluation;
use crate::render::alert::AlertOptions;
use crate::render::slack_blocks::slack_payload;
use aws_smithy_http_client::{proxy::ProxyConfig, tls, Connector};
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::http::Headers;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use serde_json::Value;
use std::time::Duration;

pub const CHANNEL: &str = "slack";

/// Where the Slack webhook URL comes from. The URL is a secret: never printed.
#[derive(Clone, PartialEq, Eq)]
pub enum SlackSource {
    None,
    /// `SLACK_WEBHOOK_PARAMETER`: an SSM SecureString name.
    Parameter(String),
    /// `SLACK_WEBHOOK_URL`: the URL itself, for local use.
    Url(String),
}

impl std::fmt::Debug for SlackSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SlackSource::None => f.write_str("None"),
            SlackSource::Parameter(p) => write!(f, "Parameter({p:?})"),
            SlackSource::Url(_) => f.write_str("Url(<redacted>)"),
        }
    }
}

/// The webhook URL. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl std::fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookUrl(<redacted>)")
    }
}

impl WebhookUrl {
    /// Checks the shape of the URL; the error never contains it.
    pub fn parse(raw: &str) -> Result<WebhookUrl, SlackError> {
        let url = raw.trim();
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or(SlackError::InvalidUrl(
                "must start with https:// (or http:// for a local receiver)",
            ))?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(SlackError::InvalidUrl("has no host"));
        }
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(SlackError::InvalidUrl(
                "contains spaces or control characters",
            ));
        }
        Ok(WebhookUrl(url.to_string()))
    }

    /// Replaces the URL (and its secret path) wherever it appears in `text`.
    fn scrub(&self, text: &str) -> String {
        let mut out = text.replace(&self.0, "<webhook URL>");
        let path = self
            .0
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
            .filter(|p| p.len() > 1);
        if let Some(path) = path {
            out = out.replace(path, "/<webhook path>");
        }
        out
    }
}

/// How hard to try: 429 waits for `Retry-After` (up to `max_retry_after`), 5xx and transport
/// errors back off exponentially from `base_backoff`, all within `max_attempts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_backoff: Duration,
    pub max_retry_after: Duration,
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    /// Worst case about 35 s (3 attempts of 5 s, 2 waits of at most 10 s): inside the
    /// function's 60 s timeout, with the registry actions running beside it.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_backoff: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(10),
            request_timeout: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(4);
        (self.base_backoff * factor).min(Duration::from_secs(8))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlackError {
    #[error("the Slack webhook URL {0}")]
    InvalidUrl(&'static str),
    #[error("Slack rejected the message: HTTP {status}: {body}")]
    Rejected { status: u16, body: String },
    #[error("Slack answered HTTP {status} {attempts} times: {body}")]
    GaveUp {
        status: u16,
        attempts: u32,
        body: String,
    },
    #[error(
        "Slack rate-limited the webhook and asked to wait {retry_after_s} s, longer than the {max_s} s this function waits"
    )]
    RetryTooLong { retry_after_s: u64, max_s: u64 },
    #[error("could not reach Slack ({attempts} attempts): {message}")]
    Transport { attempts: u32, message: String },
    #[error("the Slack webhook URL cannot be read: {0}")]
    Parameter(#[from] ParameterError),
}

/// Reads the webhook URL once (at start: "once per container"). `None` when no source is set.
pub async fn resolve_webhook(
    source: &SlackSource,
    parameters: Option<&impl Parameters>,
) -> Result<Option<WebhookUrl>, SlackError> {
    match source {
        SlackSource::None => Ok(None),
        SlackSource::Url(url) => WebhookUrl::parse(url).map(Some),
        SlackSource::Parameter(name) => {
            let Some(parameters) = parameters else {
                return Err(SlackError::Parameter(ParameterError {
                    name: name.clone(),
                    message: "no parameter store is available".to_string(),
                }));
            };
            let value = parameters.get(name).await?;
            WebhookUrl::parse(&value).map(Some)
        }
    }
}

pub struct SlackNotifier {
    /// The webhook's HTTPS connector (and its connection pool), built on the first alert, not
    /// at start: a container that never alerts never builds it. Its TLS set-up uses the root
    /// certificates the process has loaded for the SDK (or loads them for both), and the alerts
    /// run beside the registry calls.
    connector: std::sync::OnceLock<Connector>,
    url: WebhookUrl,
    options: AlertOptions,
    retry: RetryPolicy,
}

impl std::fmt::Debug for SlackNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackNotifier")
            .field("url", &self.url)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// What the webhook answered.
struct Answer {
    status: u16,
    retry_after: Option<Duration>,
    body: String,
}

/// `e` and its causes on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

fn retry_after(headers: &Headers) -> Option<Duration> {
    headers
        .get("retry-after")?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

impl SlackNotifier {
    pub fn new(
        url: WebhookUrl,
        options: AlertOptions,
        retry: RetryPolicy,
    ) -> Result<SlackNotifier, SlackError> {
        Ok(SlackNotifier {
            connector: std::sync::OnceLock::new(),
            url,
            options,
            retry,
        })
    }

    /// The HTTPS connector, built once per container on first use (proxies from the
    /// environment, as the SDK's; no redirect is ever followed: a webhook that redirects is
    /// misconfigured, and its 3xx is reported).
    fn connector(&self) -> &Connector {
        self.connector.get_or_init(|| {
            Connector::builder()
                .proxy_config(ProxyConfig::from_env())
                .tls_provider(tls::Provider::Rustls(
                    tls::rustls_provider::CryptoMode::AwsLc,
                ))
                .build()
        })
    }

    /// One POST of `body` (JSON), answered within `request_timeout` (connecting, the response
    /// and its body), or why not: a text without the URL.
    async fn post_once(&self, request: HttpRequest) -> Result<Answer, String> {
        let exchange = async {
            let response = self
                .connector()
                .call(request)
                .await
                .map_err(|e| error_chain(&e))?;
            let status = response.status().as_u16();
            let retry_after = retry_after(response.headers());
            let body = match ByteStream::new(response.into_body()).collect().await {
                Ok(bytes) => String::from_utf8_lossy(&bytes.into_bytes()).into_owned(),
                Err(_) => String::new(),
            };
            Ok::<Answer, String>(Answer {
                status,
                retry_after,
                body,
            })
        };
        match tokio::time::timeout(self.retry.request_timeout, exchange).await {
            Ok(answer) => answer.map_err(|message| self.url.scrub(&message)),
            Err(_) => Err(format!(
                "no answer within {} ms",
                self.retry.request_timeout.as_millis()
            )),
        }
    }

    /// The POST of `body` to the webhook.
    fn request(&self, body: &str) -> Result<HttpRequest, SlackError> {
        let mut request = HttpRequest::new(SdkBody::from(body));
        if request.set_method("POST").is_err() || request.set_uri(self.url.0.as_str()).is_err() {
            return Err(SlackError::InvalidUrl("is not a valid URL"));
        }
        request
            .headers_mut()
            .insert("content-type", "application/json");
        Ok(request)
    }

    /// Posts one payload, retrying as the policy says. Returns the number of attempts.
    pub async fn send(&self, payload: &Value) -> Result<u32, SlackError> {
        let max = self.retry.max_attempts.max(1);
        let body = payload.to_string();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (wait, failure) = match self.post_once(self.request(&body)?).await {
                Ok(answer) if (200..300).contains(&answer.status) => return Ok(attempt),
                Ok(Answer {
                    status,
                    retry_after: after,
                    body,
                }) => {
                    let body = self
                        .url
                        .scrub(&crate::render::alert::truncate_chars(body.trim(), 200));
                    if status == 429 {
                        let wait = after.unwrap_or_else(|| self.retry.backoff(attempt));
                        if wait > self.retry.max_retry_after {
                            return Err(SlackError::RetryTooLong {
                                retry_after_s: wait.as_secs(),
                                max_s: self.retry.max_retry_after.as_secs(),
                            });
                        }
                        (
                            wait,
                            SlackError::GaveUp {
                                status,
                                attempts: attempt,
                                body,
                            },
                        )
                    } else if (500..600).contains(&status) {
                        let wait = after
                            .filter(|w| *w <= self.retry.max_retry_after)
                            .unwrap_or_else(|| self.retry.backoff(attempt));
                        (
                            wait,
                            SlackError::GaveUp {
                                status,
                                attempts: attempt,
                                body,
                            },
                        )
                    } else {
                        return Err(SlackError::Rejected { status, body });
                    }
                }
                Err(message) => (
                    self.retry.backoff(attempt),
                    SlackError::Transport {
                        attempts: attempt,
                        message,
                    },
                ),
            };
            if attempt >= max {
                return Err(failure);
            }
            tracing::warn!(
                channel = CHANNEL,
                attempt,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                problem = %failure,
                "Slack did not take the alert; retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

impl SlackNotifier {
    async fn post(&self, payload: Value, what: &str) -> Result<(), NotifyError> {
        match self.send(&payload).await {
            Ok(attempts) => {
                tracing::info!(channel = CHANNEL, attempts, "{what} posted to Slack");
                Ok(())
            }
            Err(e) => Err(NotifyError {
                channel: CHANNEL,
                message: self.url.scrub(&e.to_string()),
            }),
        }
    }
}

impl Notifier for SlackNotifier {
    fn channel(&self) -> &'static str {
        CHANNEL
    }

    fn notify<'a>(&'a self, alert: &'a Evaluation) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.post(slack_payload(alert, &self.options), "alert"))
    }

    fn report<'a>(
        &'a self,
        report: &'a crate::judgement::registry_report::Report,
    ) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.post(
            crate::render::report_digest::report_slack_payload(report),
            "report",
        ))
    }

    fn notice<'a>(
        &'a self,
        notice: &'a crate::judgement::notice::Notice,
    ) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.post(
            crate::render::notice::notice_slack_payload(notice),
            "notice",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX";

    #[test]
    fn url_is_redacted_in_debug_and_scrubbed_from_text() {
        let url = WebhookUrl::parse(SECRET).unwrap();
        assert_eq!(format!("{url:?}"), "WebhookUrl(<redacted>)");
        let text = format!(
            "error sending request for url ({SECRET}) and /services/T000/B000/XXXXsecretXXXX"
        );
        let scrubbed = url.scrub(&text);
        assert!(!scrubbed.contains("XXXXsecretXXXX"), "{scrubbed}");
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_them() {
        for bad in [
            "hooks.slack.com/services/T/B/secretvalue",
            "ftp://x/secretvalue",
            "https:///secretvalue",
            "https://hooks slack/secretvalue",
        ] {
            let e = WebhookUrl::parse(bad).unwrap_err().to_string();
            assert!(!e.contains("secretvalue"), "{e}");
            assert!(e.starts_with("the Slack webhook URL"), "{e}");
        }
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        let r = RetryPolicy::default();
        assert_eq!(r.backoff(1), Duration::from_millis(500));
        assert_eq!(r.backoff(2), Duration::from_secs(1));
        assert_eq!(r.backoff(30), Duration::from_secs(8));
    }

    #[test]
    fn the_client_builds_with_the_tls_stack_compiled_in() {
        // A build without a TLS provider compiles and fails here.
        let n = SlackNotifier::new(
            WebhookUrl::parse(SECRET).unwrap(),
            AlertOptions::default(),
            RetryPolicy::default(),
        )
        .unwrap();
        assert!(n.connector.get().is_none(), "built at start");
        let _ = n.connector();
        assert!(n.connector.get().is_some());
        assert!(!format!("{n:?}").contains("secret"));
    }
}
