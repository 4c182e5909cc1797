//! Faults, deadlines, duplicates and races, against the moto server behind a loopback fault
//! proxy: transient faults are absorbed by bounded retries; persistent ones fail the invocation
//! naming the failed action after the others were attempted; a redelivery then completes the
//! job with no second quarantine tag.

mod alert_support;
mod common;
mod fakes;

use alert_support::{Reply, SlackReceiver};
use common::proxy::{Fault, FaultProxy};
use common::{basic_finding, basic_findings, ecr_scan_event, Emulator, ManifestKind, TODAY};
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::adapters::slack_webhook::{RetryPolicy, SlackNotifier, WebhookUrl};
use ecr_scan_gate::domain::verdict::Verdict;
use ecr_scan_gate::engine::gate::{Gate, GateError};
use ecr_scan_gate::engine::ports::Deadline;
use ecr_scan_gate::engine::settings::Settings;
use ecr_scan_gate::judgement::evaluation::{Action, ActionStatus, Evaluation, Response};
use ecr_scan_gate::policy::document::Policy;
use ecr_scan_gate::render::alert::AlertOptions;
use fakes::RecordingNotifier;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Real SDK clients through the proxy, with short timeouts and backoff so faults resolve fast.
async fn gate_through(
    proxy: &FaultProxy,
    notifier: Option<RecordingNotifier>,
) -> Gate<EcrRegistry> {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&proxy.endpoint)
        .region(aws_config::Region::new(common::REGION))
        .credentials_provider(aws_sdk_ecr::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_millis(800))
                .operation_timeout(Duration::from_secs(10))
                .build(),
        )
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(20)),
        )
        .load()
        .await;
    let gate = Gate::new(
        EcrRegistry::new(aws_sdk_ecr::Client::new(&config), "quarantine-"),
        Policy::default(),
        Settings::default(),
    );
    match notifier {
        Some(n) => gate.with_notifier(Box::new(n)),
        None => gate,
    }
}

fn critical() -> Value {
    basic_findings(vec![basic_finding(
        "CVE-2024-0001",
        "CRITICAL",
        "openssl",
        "3.0.1",
    )])
}

fn clean() -> Value {
    basic_findings(vec![basic_finding(
        "CVE-2019-5188",
        "MEDIUM",
        "e2fsprogs",
        "1.44.1",
    )])
}

fn qtag(digest: &str) -> String {
    format!("quarantine-{}", digest.trim_start_matches("sha256:"))
}

async fn scanned(emu: &Emulator, stem: &str, findings: Value) -> (String, String) {
    let repo = common::unique_repo(stem);
    emu.create_repo(&repo).await;
    let digest = emu.push(&repo, "v1", ManifestKind::DockerV2).await;
    emu.seed(&repo, &digest, "COMPLETE", findings);
    emu.start_scan(&repo, &digest).await;
    (repo, digest)
}

fn fail_event(repo: &str, digest: &str) -> Value {
    ecr_scan_event(repo, digest, &["v1"], json!({"CRITICAL": 1}), "COMPLETE")
}

fn evaluated(r: Result<Response, GateError>) -> Evaluation {
    match r {
        Ok(Response::Evaluated(ev)) => *ev,
        other => panic!("not evaluated: {other:?}"),
    }
}

#[tokio::test]
async fn transient_throttling_on_every_ecr_call_is_absorbed() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let (repo, digest) = scanned(&emu, "rel-throttle", critical()).await;
    proxy.inject(Some("DescribeImageScanFindings"), Fault::Throttle, 2);
    proxy.inject(Some("BatchGetImage"), Fault::Throttle, 1);
    proxy.inject(Some("PutImage"), Fault::Throttle, 2);
    let gate = gate_through(&proxy, None).await;
    let ev = evaluated(gate.handle(&fail_event(&repo, &digest), TODAY).await);
    assert_eq!(ev.verdict, Verdict::Fail);
    assert_eq!(ev.actions[0].status(), &ActionStatus::Done);
    assert_eq!(proxy.faults_served(), 5);
    assert_eq!(
        proxy.count("PutImage"),
        3,
        "two throttled attempts, then the one that worked"
    );
    assert_eq!(
        emu.tags(&repo, &digest).await,
        vec![qtag(&digest), "v1".to_string()]
    );
}

#[tokio::test]
async fn transient_5xx_dropped_connections_and_slow_answers_are_absorbed() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let (repo, digest) = scanned(&emu, "rel-5xx", critical()).await;
    proxy.inject(Some("DescribeImageScanFindings"), Fault::Drop, 1);
    proxy.inject(Some("BatchGetImage"), Fault::Unavailable, 1);
    proxy.inject(Some("PutImage"), Fault::ServerError, 1);
    // Longer than the 800 ms attempt timeout: the attempt is abandoned and retried.
    proxy.inject(
        Some("DescribeImageScanFindings"),
        Fault::Slow(Duration::from_secs(3)),
        1,
    );
    let gate = gate_through(&proxy, None).await;
    let ev = evaluated(gate.handle(&fail_event(&repo, &digest), TODAY).await);
    assert_eq!(ev.verdict, Verdict::Fail);
    assert_eq!(ev.actions[0].status(), &ActionStatus::Done);
    assert_eq!(proxy.faults_served(), 4);
    assert_eq!(proxy.count("DescribeImageScanFindings"), 3);
    assert_eq!(
        emu.tags(&repo, &digest).await,
        vec![qtag(&digest), "v1".to_string()]
    );
}

#[tokio::test]
async fn persistent_throttling_of_the_quarantine_fails_the_invocation_after_alerting_then_a_redelivery_completes(
) {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let (repo, digest) = scanned(&emu, "rel-persist", critical()).await;
    proxy.inject(Some("PutImage"), Fault::Throttle, 1000);
    let alerts = RecordingNotifier::new("sns");
    let gate = gate_through(&proxy, Some(alerts.clone())).await;
    let event = fail_event(&repo, &digest);

    let err = gate.handle(&event, TODAY).await.unwrap_err();
    assert_eq!(err.kind(), "ActionsFailed");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "FAIL for {repo}@{digest}: 1 failed: quarantine tag {}",
            qtag(&digest)
        )),
        "{text}"
    );
    assert!(
        text.contains("PutImage") && text.contains("Rate exceeded"),
        "{text}"
    );
    assert_eq!(
        alerts.count(),
        1,
        "the alert went out although the quarantine failed"
    );
    assert_eq!(proxy.count("PutImage"), 3, "bounded: the SDK's 3 attempts");
    assert_eq!(emu.tags(&repo, &digest).await, vec!["v1".to_string()]);

    // Lambda retries the event once the registry answers again.
    proxy.clear();
    let ev = evaluated(gate.handle(&event, TODAY).await);
    assert_eq!(
        ev.actions[0],
        Action::Quarantine {
            tag: qtag(&digest),
            status: ActionStatus::Done
        }
    );
    assert_eq!(
        alerts.count(),
        2,
        "an alert may repeat on redelivery; it is never lost"
    );
    let ev = evaluated(gate.handle(&event, TODAY).await);
    assert_eq!(ev.actions[0].status(), &ActionStatus::AlreadyDone);
    assert_eq!(
        emu.tags(&repo, &digest).await,
        vec![qtag(&digest), "v1".to_string()]
    );
}

#[tokio::test]
async fn a_failing_alert_still_lets_the_quarantine_happen_then_fails_the_invocation() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let (repo, digest) = scanned(&emu, "rel-alertfail", critical()).await;
    let ok = RecordingNotifier::new("sns");
    let gate = gate_through(&proxy, Some(ok.clone()))
        .await
        .with_notifier(Box::new(RecordingNotifier::failing(
            "slack",
            "HTTP 500 after 3 attempts",
        )));
    let err = gate
        .handle(&fail_event(&repo, &digest), TODAY)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), format!("FAIL for {repo}@{digest}: 1 failed: alert via slack (FAILED: HTTP 500 after 3 attempts)"));
    assert_eq!(ok.count(), 1);
    assert_eq!(
        emu.tags(&repo, &digest).await,
        vec![qtag(&digest), "v1".to_string()]
    );
}

#[tokio::test]
async fn too_little_time_to_read_the_findings_fails_before_any_call() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let (repo, digest) = scanned(&emu, "rel-deadline-read", critical()).await;
    let gate = gate_through(&proxy, None).await;
    let deadline = Deadline::at(Instant::now() + Deadline::PAGE_RESERVE / 2);
    let err = gate
        .handle_until(&fail_event(&repo, &digest), TODAY, deadline)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "DeadlineReached");
    assert!(err.to_string().contains("after 0 page(s)"), "{err}");
    assert_eq!(proxy.total(), 0);
    assert_eq!(emu.tags(&repo, &digest).await, vec!["v1".to_string()]);
}

#[tokio::test]
async fn too_little_time_for_a_tag_change_does_not_start_it_and_the_retry_completes() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let (repo, digest) = scanned(&emu, "rel-deadline-tag", critical()).await;
    let alerts = RecordingNotifier::new("sns");
    let gate = gate_through(&proxy, Some(alerts.clone())).await;
    // Enough for a page of findings, not for a tag change with its retries.
    let deadline = Deadline::at(Instant::now() + Deadline::PAGE_RESERVE + Duration::from_secs(2));
    assert!(Deadline::PAGE_RESERVE + Duration::from_secs(2) < Deadline::CHANGE_RESERVE);
    let err = gate
        .handle_until(&fail_event(&repo, &digest), TODAY, deadline)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("quarantine tag")
            && text.contains("FAILED: not started:")
            && text.contains("before the Lambda deadline"),
        "{text}"
    );
    assert_eq!(
        proxy.count("BatchGetImage") + proxy.count("PutImage"),
        0,
        "no tag change was begun"
    );
    assert_eq!(alerts.count(), 1);
    assert_eq!(emu.tags(&repo, &digest).await, vec!["v1".to_string()]);

    let ev = evaluated(gate.handle(&fail_event(&repo, &digest), TODAY).await);
    assert_eq!(ev.actions[0].status(), &ActionStatus::Done);
    assert_eq!(
        emu.tags(&repo, &digest).await,
        vec![qtag(&digest), "v1".to_string()]
    );
}

#[tokio::test]
async fn the_same_event_twice_at_the_same_time_gives_one_quarantine_tag_and_no_error() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let (repo, digest) = scanned(&emu, "rel-concurrent", critical()).await;
    let gate = gate_through(&proxy, None).await;
    let event = fail_event(&repo, &digest);
    let (a, b) = tokio::join!(gate.handle(&event, TODAY), gate.handle(&event, TODAY));
    let (a, b) = (evaluated(a), evaluated(b));
    let mut statuses = vec![a.actions[0].status().clone(), b.actions[0].status().clone()];
    statuses.sort_by_key(|s| format!("{s:?}"));
    assert!(
        statuses == vec![ActionStatus::AlreadyDone, ActionStatus::Done]
            || statuses == vec![ActionStatus::Done, ActionStatus::Done],
        "{statuses:?}"
    );
    assert_eq!(
        emu.tags(&repo, &digest).await,
        vec![qtag(&digest), "v1".to_string()]
    );
    assert_eq!(emu.image_count(&repo).await, 1);
}

#[tokio::test]
async fn an_old_passing_event_delivered_late_does_not_release_a_failing_image() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let (repo, digest) = scanned(&emu, "rel-stale", critical()).await;
    emu.add_tag(&repo, &digest, &qtag(&digest)).await;
    let gate = gate_through(&proxy, None).await;
    // Counts from an earlier scan that found nothing; the registry's newest scan fails.
    let stale = ecr_scan_event(
        &repo,
        &digest,
        &["v1", &qtag(&digest)],
        json!({}),
        "COMPLETE",
    );
    let ev = evaluated(gate.handle(&stale, TODAY).await);
    assert_eq!(ev.verdict, Verdict::Fail);
    assert_eq!(ev.actions[0].status(), &ActionStatus::AlreadyDone);
    assert_eq!(
        emu.tags(&repo, &digest).await,
        vec![qtag(&digest), "v1".to_string()]
    );
}

#[tokio::test]
async fn a_release_racing_a_quarantine_ends_in_the_state_of_the_newest_scan() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let gate = gate_through(&proxy, None).await;

    // Newest scan clean: an old FAIL event and the new PASS event arrive together.
    let (repo, digest) = scanned(&emu, "rel-race-pass", clean()).await;
    emu.add_tag(&repo, &digest, &qtag(&digest)).await;
    let old_fail = fail_event(&repo, &digest);
    let new_pass = ecr_scan_event(
        &repo,
        &digest,
        &["v1", &qtag(&digest)],
        json!({"MEDIUM": 1}),
        "COMPLETE",
    );
    let (a, b) = tokio::join!(gate.handle(&old_fail, TODAY), gate.handle(&new_pass, TODAY));
    assert_eq!(
        evaluated(a).verdict,
        Verdict::Pass,
        "the old event is judged on the newest scan"
    );
    assert_eq!(evaluated(b).verdict, Verdict::Pass);
    assert_eq!(emu.tags(&repo, &digest).await, vec!["v1".to_string()]);

    // Newest scan failing: an old PASS event and the new FAIL event arrive together.
    let (repo, digest) = scanned(&emu, "rel-race-fail", critical()).await;
    emu.add_tag(&repo, &digest, &qtag(&digest)).await;
    let old_pass = ecr_scan_event(
        &repo,
        &digest,
        &["v1", &qtag(&digest)],
        json!({}),
        "COMPLETE",
    );
    let new_fail = fail_event(&repo, &digest);
    let (a, b) = tokio::join!(gate.handle(&old_pass, TODAY), gate.handle(&new_fail, TODAY));
    assert_eq!(evaluated(a).verdict, Verdict::Fail);
    assert_eq!(evaluated(b).verdict, Verdict::Fail);
    assert_eq!(
        emu.tags(&repo, &digest).await,
        vec![qtag(&digest), "v1".to_string()]
    );
}

/// Slack through the fault proxy: the webhook path carries the secret.
async fn slack_through(proxy: &FaultProxy) -> SlackNotifier {
    let url = format!("{}/services/T0REL/B0REL/r3l1abil1tyS3cr3t", proxy.endpoint);
    SlackNotifier::new(
        WebhookUrl::parse(&url).unwrap(),
        AlertOptions::default(),
        RetryPolicy {
            max_attempts: 3,
            base_backoff: Duration::from_millis(10),
            max_retry_after: Duration::from_secs(2),
            request_timeout: Duration::from_secs(2),
        },
    )
    .unwrap()
}

#[tokio::test]
async fn slack_faults_are_absorbed_and_a_persistent_one_fails_after_tagging_without_leaking_the_url(
) {
    let emu = Emulator::start().await;
    let ecr_proxy = FaultProxy::start(&emu.endpoint).await;
    let receiver = SlackReceiver::start(vec![], Reply::ok()).await;
    let receiver_base = receiver.url.split("/services/").next().unwrap().to_string();
    let slack_proxy = FaultProxy::start(&receiver_base).await;

    // Transient: a dropped connection, then a 503, then it goes through.
    slack_proxy.inject(None, Fault::Drop, 1);
    slack_proxy.inject(None, Fault::Unavailable, 1);
    let (repo, digest) = scanned(&emu, "rel-slack", critical()).await;
    let gate = gate_through(&ecr_proxy, None)
        .await
        .with_notifier(Box::new(slack_through(&slack_proxy).await));
    let ev = evaluated(gate.handle(&fail_event(&repo, &digest), TODAY).await);
    assert!(
        ev.actions
            .iter()
            .all(|a| matches!(a.status(), ActionStatus::Done)),
        "{:?}",
        ev.actions
    );
    assert_eq!(
        receiver.requests().len(),
        1,
        "delivered once after two faults"
    );
    assert_eq!(slack_proxy.faults_served(), 2);

    // Persistent: Slack keeps failing; tagging still happens, the invocation fails naming Slack.
    slack_proxy.inject(None, Fault::Unavailable, 1000);
    let (repo, digest) = scanned(&emu, "rel-slack-down", critical()).await;
    let result = gate.handle(&fail_event(&repo, &digest), TODAY).await;
    let err = result.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("alert via slack (FAILED:") && text.contains("503"),
        "{text}"
    );
    assert_eq!(
        emu.tags(&repo, &digest).await,
        vec![qtag(&digest), "v1".to_string()]
    );
    let response = serde_json::to_string(&err.evaluation().unwrap()).unwrap();
    for secret in ["r3l1abil1tyS3cr3t", "/services/T0REL"] {
        assert!(
            !text.contains(secret) && !format!("{err:?}").contains(secret),
            "{secret} in the error"
        );
        assert!(!response.contains(secret), "{secret} in the evaluation");
    }
}
