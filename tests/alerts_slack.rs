//! Slack alerts against a loopback receiver: the payload as posted, retries on 429 and 5xx,
//! no retry on other 4xx, and the webhook URL out of every error; the URL read from SSM.

mod alert_support;
mod common;

use alert_support::{failing, Reply, SlackReceiver};
use ecr_scan_gate::adapters::aws::ssm::SsmParameters;
use ecr_scan_gate::adapters::slack_webhook::SlackSource;
use ecr_scan_gate::adapters::slack_webhook::{
    resolve_webhook, RetryPolicy, SlackNotifier, WebhookUrl,
};
use ecr_scan_gate::engine::ports::Notifier;
use ecr_scan_gate::render::alert::AlertOptions;
use ecr_scan_gate::render::slack_blocks::slack_limit_violations;
use std::time::Duration;

const SECRET_PATH: &str = "s3cr3tW3bh00kT0k3n";

fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_backoff: Duration::from_millis(10),
        max_retry_after: Duration::from_secs(5),
        request_timeout: Duration::from_secs(5),
    }
}

fn notifier(url: &str) -> SlackNotifier {
    SlackNotifier::new(
        WebhookUrl::parse(url).unwrap(),
        AlertOptions::default(),
        quick_retries(),
    )
    .unwrap()
}

#[tokio::test]
async fn alert_is_posted_as_block_kit_json_to_the_webhook() {
    let slack = SlackReceiver::start(vec![], Reply::ok()).await;
    notifier(&slack.url).notify(&failing(3, 1)).await.unwrap();
    let got = slack.requests();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].method, "POST");
    assert_eq!(
        got[0].path,
        format!("/services/T0TEST/B0TEST/{SECRET_PATH}")
    );
    assert!(got[0]
        .headers
        .iter()
        .any(|(k, v)| k == "content-type" && v == "application/json"));
    let payload = got[0].json();
    assert_eq!(
        payload["text"],
        "CRITICAL FAIL demo-api:v1.4.2: quarantining"
    );
    assert_eq!(
        payload["blocks"][0]["text"]["text"],
        "CRITICAL FAIL: demo-api"
    );
    assert!(slack_limit_violations(&payload).is_empty());
}

#[tokio::test]
async fn posted_payload_for_thousands_of_findings_stays_within_slack_limits() {
    let slack = SlackReceiver::start(vec![], Reply::ok()).await;
    let mut ev = failing(3200, 41000);
    ev.tags = (0..400)
        .map(|i| format!("build-{i}-{}", "x".repeat(280)))
        .collect();
    notifier(&slack.url).notify(&ev).await.unwrap();
    let payload = slack.requests()[0].json();
    assert_eq!(slack_limit_violations(&payload), Vec::<String>::new());
    assert!(payload
        .to_string()
        .contains("*Top findings* (20 of 44200 counting)"));
}

#[tokio::test]
async fn rate_limit_429_is_retried_after_retry_after_then_succeeds() {
    let slack = SlackReceiver::start(vec![Reply::rate_limited("1")], Reply::ok()).await;
    notifier(&slack.url).notify(&failing(1, 0)).await.unwrap();
    let got = slack.requests();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].body, got[1].body, "the same message is sent again");
    // Bounded from below only: a loaded runner can make the wait longer, never shorter.
    let waited = got[1].at.duration_since(got[0].at);
    assert!(
        waited >= std::time::Duration::from_secs(1),
        "the second post came {waited:?} after the first, not after Retry-After: 1"
    );
}

#[tokio::test]
async fn retry_after_longer_than_the_function_waits_is_reported_at_once() {
    let slack = SlackReceiver::start(vec![Reply::rate_limited("3600")], Reply::ok()).await;
    let e = notifier(&slack.url)
        .notify(&failing(1, 0))
        .await
        .unwrap_err();
    assert_eq!(slack.requests().len(), 1);
    assert_eq!(e.channel, "slack");
    assert!(e.message.contains("asked to wait 3600 s"), "{e}");
}

#[tokio::test]
async fn persistent_500_is_reported_after_a_bounded_number_of_attempts() {
    let slack = SlackReceiver::start(vec![], Reply::status(500, "internal_error")).await;
    let e = notifier(&slack.url)
        .notify(&failing(1, 0))
        .await
        .unwrap_err();
    assert_eq!(slack.requests().len(), 3);
    assert_eq!(
        e.to_string(),
        "slack: Slack answered HTTP 500 3 times: internal_error"
    );
}

#[tokio::test]
async fn a_5xx_then_success_is_retried() {
    let slack = SlackReceiver::start(vec![Reply::status(503, "busy")], Reply::ok()).await;
    notifier(&slack.url).notify(&failing(1, 0)).await.unwrap();
    assert_eq!(slack.requests().len(), 2);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    for (status, body) in [
        (400, "invalid_blocks"),
        (403, "invalid_token"),
        (404, "no_service"),
        (410, "channel_is_archived"),
    ] {
        let slack = SlackReceiver::start(vec![], Reply::status(status, body)).await;
        let e = notifier(&slack.url)
            .notify(&failing(1, 0))
            .await
            .unwrap_err();
        assert_eq!(slack.requests().len(), 1, "{status} was retried");
        assert_eq!(
            e.message,
            format!("Slack rejected the message: HTTP {status}: {body}")
        );
    }
}

#[tokio::test]
async fn unreachable_webhook_error_does_not_contain_the_url() {
    // A port nobody listens on: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/services/T0TEST/B0TEST/{SECRET_PATH}");
    let e = notifier(&url).notify(&failing(1, 0)).await.unwrap_err();
    assert!(
        e.message.starts_with("could not reach Slack (3 attempts)"),
        "{e}"
    );
    assert!(
        !e.message.contains(SECRET_PATH) && !e.message.contains("/services/"),
        "{e}"
    );
}

#[tokio::test]
async fn webhook_url_is_read_from_an_ssm_securestring() {
    let emu = common::Emulator::start().await;
    let slack = SlackReceiver::start(vec![], Reply::ok()).await;
    let name = format!("/{}/slack-webhook", common::unique_repo("gate"));
    emu.put_secure_parameter(&name, &slack.url).await;
    let ssm = SsmParameters::new(aws_sdk_ssm::Client::new(&emu.config));

    let url = resolve_webhook(&SlackSource::Parameter(name.clone()), Some(&ssm))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(format!("{url:?}"), "WebhookUrl(<redacted>)");
    SlackNotifier::new(url, AlertOptions::default(), quick_retries())
        .unwrap()
        .notify(&failing(1, 0))
        .await
        .unwrap();
    assert_eq!(slack.requests().len(), 1);

    let missing = resolve_webhook(
        &SlackSource::Parameter(format!("{name}-missing")),
        Some(&ssm),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        missing.contains(&format!("{name}-missing")) && missing.contains("not found"),
        "{missing}"
    );

    emu.put_secure_parameter(&name, "not a url /services/T/B/s3cr3tvalue")
        .await;
    let bad = resolve_webhook(&SlackSource::Parameter(name), Some(&ssm))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        bad.starts_with("the Slack webhook URL must start with https://"),
        "{bad}"
    );
    assert!(!bad.contains("s3cr3tvalue"), "{bad}");
}
