//! Alerts and registry actions run together: when one channel fails, the other channel and
//! the tagging still happen, then the invocation fails naming what failed. Real adapters: ECR
//! and SNS on the emulator, Slack on a loopback receiver. Also: the webhook URL never reaches
//! the logs, and the metrics line is printed for such a failed invocation too.

mod alert_support;
mod common;

use alert_support::{json_subscriber, LogCapture, Reply, SlackReceiver};
use common::{image_with_critical_findings, unique_repo, Emulator, TODAY};
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::adapters::aws::sns::SnsNotifier;
use ecr_scan_gate::adapters::slack_webhook::{RetryPolicy, SlackNotifier, WebhookUrl};
use ecr_scan_gate::engine::decision_log::{log_outcome, metrics_line};
use ecr_scan_gate::engine::gate::{Gate, GateError};
use ecr_scan_gate::engine::settings::Settings;
use ecr_scan_gate::judgement::evaluation::{Action, ActionStatus};
use ecr_scan_gate::policy::document::Policy;
use ecr_scan_gate::render::alert::AlertOptions;
use serde_json::Value;
use std::time::Duration;

const SECRET_PATH: &str = "s3cr3tW3bh00kT0k3n";

fn gate(emu: &Emulator, topic_arn: &str, slack_url: &str) -> Gate<EcrRegistry> {
    let options = AlertOptions {
        quarantine_prefix: "quarantine-".into(),
        default_region: Some("us-east-1".into()),
        ..AlertOptions::default()
    };
    let retry = RetryPolicy {
        max_attempts: 2,
        base_backoff: Duration::from_millis(10),
        ..RetryPolicy::default()
    };
    Gate::new(
        EcrRegistry::new(emu.ecr.clone(), "quarantine-"),
        Policy::default(),
        Settings::default(),
    )
    .with_notifier(Box::new(SnsNotifier::new(
        emu.sns(),
        topic_arn,
        options.clone(),
    )))
    .with_notifier(Box::new(
        SlackNotifier::new(WebhookUrl::parse(slack_url).unwrap(), options, retry).unwrap(),
    ))
}

fn status_of<'a>(actions: &'a [Action], want: &str) -> &'a ActionStatus {
    actions
        .iter()
        .find(|a| match a {
            Action::Alert { channel, .. } => channel == want,
            Action::Quarantine { .. } => want == "quarantine",
            _ => false,
        })
        .map(Action::status)
        .unwrap_or_else(|| panic!("no {want} action in {actions:?}"))
}

#[tokio::test]
async fn sns_failure_still_lets_slack_and_tagging_happen_then_the_invocation_fails_naming_sns() {
    let emu = Emulator::start().await;
    let (repo, digest, event) = image_with_critical_findings(&emu, "sns-down", 1).await;
    let slack = SlackReceiver::start(vec![], Reply::ok()).await;
    let missing_topic = format!(
        "arn:aws:sns:us-east-1:123456789012:{}",
        unique_repo("no-such-topic")
    );

    let err = gate(&emu, &missing_topic, &slack.url)
        .handle(&event, TODAY)
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "ActionsFailed");
    let text = err.to_string();
    assert!(text.starts_with(&format!("FAIL for {repo}@{digest}: 1 failed: alert via sns (FAILED: Publish to {missing_topic} failed: NotFound: Endpoint does not exist)")), "{text}");
    assert_eq!(slack.requests().len(), 1, "Slack got the alert");
    let quarantine_tag = format!("quarantine-{}", &digest["sha256:".len()..]);
    assert_eq!(
        emu.tags(&repo, &digest).await,
        vec![quarantine_tag, "v1.4.2".to_string()]
    );
    let ev = err
        .evaluation()
        .expect("the evaluation travels with the error");
    assert_eq!(status_of(&ev.actions, "quarantine"), &ActionStatus::Done);
    assert_eq!(status_of(&ev.actions, "slack"), &ActionStatus::Done);
    assert!(matches!(
        status_of(&ev.actions, "sns"),
        ActionStatus::Failed { .. }
    ));

    // The monitor still sees the Critical finding and the quarantine.
    let line =
        metrics_line(&Err(err), 1_764_201_600_000).expect("a metrics line for a failed invocation");
    let emf: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(emf["Repository"], repo.as_str());
    assert_eq!(emf["Verdict"], "FAIL");
    assert_eq!(emf["CriticalFindings"], 1);
    assert_eq!(emf["Quarantined"], 1);
    assert_eq!(emf["Released"], 0);
    assert_eq!(emf["Evaluations"], 1);
}

#[tokio::test]
async fn slack_failure_still_lets_sns_and_tagging_happen_and_the_url_stays_out_of_logs_and_errors()
{
    let capture = LogCapture::default();
    let _guard = tracing::subscriber::set_default(json_subscriber(&capture));
    let emu = Emulator::start().await;
    let (repo, digest, event) = image_with_critical_findings(&emu, "slack-down", 2).await;
    let topic = emu
        .topic_with_queue(&unique_repo("gate-alerts"), None)
        .await;
    let slack = SlackReceiver::start(vec![], Reply::status(500, "internal_error")).await;

    let result = gate(&emu, &topic.topic_arn, &slack.url)
        .handle(&event, TODAY)
        .await;
    log_outcome("req-1", &result);
    let err = result.unwrap_err();

    let text = err.to_string();
    assert!(
        text.ends_with(
            "1 failed: alert via slack (FAILED: Slack answered HTTP 500 2 times: internal_error)"
        ),
        "{text}"
    );
    assert_eq!(slack.requests().len(), 2);
    assert_eq!(
        emu.receive_envelopes(&topic.queue_url, 5).await.len(),
        1,
        "SNS got the alert"
    );
    assert!(emu
        .tags(&repo, &digest)
        .await
        .iter()
        .any(|t| t.starts_with("quarantine-")));

    let logs = capture.text();
    assert!(
        logs.contains("Slack did not take the alert; retrying"),
        "the retry was logged: {logs}"
    );
    assert!(logs.contains("decision; invocation failed"), "{logs}");
    for line in logs.lines() {
        let _: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
    }
    for secret in [SECRET_PATH, slack.url.as_str(), "/services/T0TEST"] {
        assert!(!logs.contains(secret), "{secret} in the logs:\n{logs}");
        assert!(!text.contains(secret), "{secret} in the error: {text}");
        assert!(
            !format!("{err:?}").contains(secret),
            "{secret} in the error's Debug"
        );
    }
}

#[tokio::test]
async fn both_channels_and_tagging_succeed_and_the_metrics_line_says_so() {
    let emu = Emulator::start().await;
    let (repo, _, event) = image_with_critical_findings(&emu, "all-ok", 3).await;
    let topic = emu
        .topic_with_queue(&unique_repo("gate-alerts"), None)
        .await;
    let slack = SlackReceiver::start(vec![], Reply::ok()).await;

    let result = gate(&emu, &topic.topic_arn, &slack.url)
        .handle(&event, TODAY)
        .await;
    let line = metrics_line(&result, 7).unwrap();
    let ev = match result.unwrap() {
        ecr_scan_gate::judgement::evaluation::Response::Evaluated(ev) => ev,
        other => panic!("{other:?}"),
    };
    for channel in ["sns", "slack"] {
        assert_eq!(status_of(&ev.actions, channel), &ActionStatus::Done);
    }
    let emf: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        emf["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "ECRScanGate"
    );
    assert_eq!(emf["Repository"], repo.as_str());
    assert_eq!(emf["CriticalFindings"], 3);
    assert_eq!(emf["Quarantined"], 1);
}

#[test]
fn an_invocation_that_was_not_evaluated_prints_no_metrics() {
    let ignored = Ok(ecr_scan_gate::judgement::evaluation::Response::Ignored {
        reason: "not ours".into(),
    });
    assert_eq!(metrics_line(&ignored, 0), None);
    let invalid: Result<_, GateError> =
        Err(GateError::Event(ecr_scan_gate::domain::scan::EventError {
            field: "detail".into(),
            problem: "missing".into(),
        }));
    assert_eq!(metrics_line(&invalid, 0), None);
}
