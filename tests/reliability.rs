//! Faults, deadlines, duplicates and races, against the moto server behind a loopback fault
//! proxy: transient faults are absorbed by bounded retries; persistent ones fail the invocation
//! naming the failed action after the others were attempted; a redelivery then completes the
//! job with no second quarantine tag.
//!
//! The clients are the function's own: the SDK configuration `main` loads
//! (`aws::load_sdk_config`: timeouts, retries, HTTP client), the ECR client it builds
//! (`aws::ecr::client`: adaptive retry, many attempts), the SNS client and the Slack retry policy
//! it uses; only the endpoint, the region and the credentials (what the Lambda environment
//! gives) point at the proxy. So the attempts and timeouts asserted here are the ones the
//! function ships. Timing is asserted only from below (a retry cannot come before its timeout
//! or backoff), never against a wall-clock margin.

mod alert_support;
mod common;
mod fakes;

use alert_support::{Reply, SlackReceiver};
use common::proxy::{Fault, FaultProxy};
use common::{basic_finding, basic_findings, ecr_scan_event, Emulator, ManifestKind, TODAY};
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::adapters::aws::sns::SnsNotifier;
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

/// The gate as `main` builds it, through the proxy: its ECR client (`aws::ecr::client`) and
/// Inspector client on the function's configuration.
async fn gate_through(
    proxy: &FaultProxy,
    notifier: Option<RecordingNotifier>,
) -> Gate<EcrRegistry> {
    let config = common::function_config(&proxy.endpoint).await;
    // `aws::ecr::client` is this with the partition "ecr".
    let gate = Gate::new(
        EcrRegistry::new(
            common::function_ecr(&config, &proxy.endpoint),
            "quarantine-",
        )
        .with_inspector(aws_sdk_inspector2::Client::new(&config)),
        Policy::default(),
        Settings::default(),
    );
    match notifier {
        Some(n) => gate.with_notifier(Box::new(n)),
        None => gate,
    }
}

/// The settings the tests below rely on, as the function's clients carry them (the figures
/// docs/reliability.md promises): the behaviour at the proxy is asserted in the tests after.
#[tokio::test]
async fn the_function_clients_carry_the_attempts_and_timeouts_the_documentation_promises() {
    let proxy = FaultProxy::start("http://127.0.0.1:9").await;
    let config = common::function_config(&proxy.endpoint).await;
    let ecr = ecr_scan_gate::adapters::aws::ecr::client(&config);
    let retry = ecr.config().retry_config().expect("ECR retry");
    assert_eq!(retry.mode(), aws_config::retry::RetryMode::Adaptive);
    assert_eq!(retry.max_attempts(), 100);
    assert_eq!(retry.max_backoff(), Duration::from_secs(2));
    let timeouts = ecr.config().timeout_config().expect("ECR timeouts");
    assert_eq!(timeouts.connect_timeout(), Some(Duration::from_secs(3)));
    assert_eq!(
        timeouts.operation_attempt_timeout(),
        Some(Duration::from_secs(5))
    );
    assert_eq!(timeouts.operation_timeout(), Some(Duration::from_secs(60)));
    // SNS (and SSM, SQS, ECS: the same configuration) keep the SDK's standard retry.
    let sns = aws_sdk_sns::Client::new(&config);
    let retry = sns.config().retry_config().expect("SNS retry");
    assert_eq!(retry.mode(), aws_config::retry::RetryMode::Standard);
    assert_eq!(retry.max_attempts(), 3);
    let timeouts = sns.config().timeout_config().expect("SNS timeouts");
    assert_eq!(timeouts.connect_timeout(), Some(Duration::from_secs(3)));
    assert_eq!(
        timeouts.operation_attempt_timeout(),
        Some(Duration::from_secs(5))
    );
    assert_eq!(timeouts.operation_timeout(), Some(Duration::from_secs(12)));
    assert_eq!(RetryPolicy::default().max_attempts, 3, "Slack");
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

/// A throttled ECR call is retried past the SDK's default 3 attempts and past the 10 the
/// function had before (it now retries while the deadline allows): 11 throttled `PutImage`s,
/// then the twelfth goes through.
#[tokio::test]
async fn a_quarantine_throttled_eleven_times_is_done_on_the_twelfth_attempt() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let (repo, digest) = scanned(&emu, "rel-throttle-11", critical()).await;
    proxy.inject(Some("PutImage"), Fault::Throttle, 11);
    let gate = gate_through(&proxy, None).await;
    let ev = evaluated(gate.handle(&fail_event(&repo, &digest), TODAY).await);
    assert_eq!(ev.actions[0].status(), &ActionStatus::Done, "{ev:?}");
    assert_eq!(proxy.count("PutImage"), 12);
    assert_eq!(proxy.faults_served(), 11);
    assert_eq!(
        emu.tags(&repo, &digest).await,
        vec![qtag(&digest), "v1".to_string()]
    );
}

#[tokio::test]
async fn transient_5xx_dropped_connections_and_an_unanswered_attempt_are_absorbed() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let (repo, digest) = scanned(&emu, "rel-5xx", critical()).await;
    // The first read of the findings is held at the proxy, unanswered until the evaluation
    // is over: only the function's attempt timeout (5 s) can give it up. The retry is dropped,
    // the third answered.
    let held = proxy.hold("DescribeImageScanFindings");
    proxy.inject_after(Some("DescribeImageScanFindings"), 1, Fault::Drop, 1);
    proxy.inject(Some("BatchGetImage"), Fault::Unavailable, 1);
    proxy.inject(Some("PutImage"), Fault::ServerError, 1);
    let gate = gate_through(&proxy, None).await;
    let started = Instant::now();
    let ev = evaluated(gate.handle(&fail_event(&repo, &digest), TODAY).await);
    // The evaluation finished while the first attempt was still held: it was given up, not
    // waited for.
    held.release();
    assert_eq!(ev.verdict, Verdict::Fail);
    assert_eq!(ev.actions[0].status(), &ActionStatus::Done);
    assert_eq!(proxy.faults_served(), 3);
    assert_eq!(
        proxy.count("DescribeImageScanFindings"),
        3,
        "held, dropped, answered"
    );
    assert_eq!(proxy.count("BatchGetImage"), 2, "503, then answered");
    assert_eq!(proxy.count("PutImage"), 2, "500, then answered");
    let reads = proxy.arrivals("DescribeImageScanFindings");
    assert!(
        reads[1] >= started + Duration::from_secs(5),
        "the retry of the held read came {:?} after the start, before the 5 s attempt timeout",
        reads[1] - started
    );
    assert_eq!(
        emu.tags(&repo, &digest).await,
        vec![qtag(&digest), "v1".to_string()]
    );
}

/// `PutImage` throttled for good: the function's ECR client does not give up after a number of
/// attempts; the tag change is retried until the deadline's bound gives it up (3 s before the
/// deadline), the alert has gone out, the invocation fails naming the quarantine, and the
/// redelivery quarantines.
#[tokio::test]
async fn persistent_throttling_of_the_quarantine_is_retried_until_the_deadline_then_fails_after_alerting_and_a_redelivery_completes(
) {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let (repo, digest) = scanned(&emu, "rel-persist", critical()).await;
    proxy.inject(Some("PutImage"), Fault::Throttle, usize::MAX);
    let alerts = RecordingNotifier::new("sns");
    let gate = gate_through(&proxy, Some(alerts.clone())).await;
    let event = fail_event(&repo, &digest);

    // Time to start the tag change (CHANGE_RESERVE, 12 s) and 1 s more: it may retry for about
    // 10 s, until FINISH_MARGIN (3 s) is left.
    let deadline = Deadline::at(Instant::now() + Deadline::CHANGE_RESERVE + Duration::from_secs(1));
    let err = gate
        .handle_until(&event, TODAY, deadline)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "ActionsFailed");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "FAIL for {repo}@{digest}: 1 failed: quarantine tag {}",
            qtag(&digest)
        )),
        "{text}"
    );
    // Given up by the deadline while the SDK was still retrying, not by the SDK after its
    // attempts (that would read "ThrottlingException: Rate exceeded").
    assert!(
        text.contains("BatchGetImage/PutImage") && text.contains("abandoned"),
        "{text}"
    );
    assert!(!text.contains("Rate exceeded"), "{text}");
    assert!(
        proxy.count("PutImage") >= 2,
        "retried: {:?}",
        proxy.counts()
    );
    assert_eq!(
        alerts.count(),
        1,
        "the alert went out although the quarantine failed"
    );
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

/// Alerts through the function's SNS client (the SDK's standard retry: 3 attempts): a
/// throttled `Publish` is retried and delivered once; throttled for good, the alert fails after
/// exactly 3 attempts, the quarantine is still done, and the invocation fails naming SNS.
#[tokio::test]
async fn sns_throttling_is_retried_within_3_attempts_and_a_persistent_one_fails_naming_sns_after_tagging(
) {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let topic = emu
        .topic_with_queue(&common::unique_repo("rel-sns"), None)
        .await;
    let config = common::function_config(&proxy.endpoint).await;
    let gate = gate_through(&proxy, None)
        .await
        .with_notifier(Box::new(SnsNotifier::new(
            aws_sdk_sns::Client::new(&config),
            &topic.topic_arn,
            AlertOptions::default(),
        )));

    proxy.inject(Some("Publish"), Fault::Throttle, 2);
    let (repo, digest) = scanned(&emu, "rel-sns", critical()).await;
    let ev = evaluated(gate.handle(&fail_event(&repo, &digest), TODAY).await);
    assert!(
        ev.actions
            .iter()
            .all(|a| matches!(a.status(), ActionStatus::Done)),
        "{:?}",
        ev.actions
    );
    assert_eq!(proxy.count("Publish"), 3, "two throttled, then delivered");
    assert_eq!(emu.sent_notifications(&topic.topic_arn).len(), 1);

    proxy.inject(Some("Publish"), Fault::Throttle, usize::MAX);
    proxy.reset_counts();
    let (repo, digest) = scanned(&emu, "rel-sns-down", critical()).await;
    let err = gate
        .handle(&fail_event(&repo, &digest), TODAY)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("alert via sns (FAILED:") && text.contains("Throttling"),
        "{text}"
    );
    assert_eq!(
        proxy.count("Publish"),
        3,
        "the SDK's 3 attempts, then given up"
    );
    assert_eq!(
        emu.tags(&repo, &digest).await,
        vec![qtag(&digest), "v1".to_string()]
    );
    assert_eq!(emu.sent_notifications(&topic.topic_arn).len(), 1);
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
    // Less than a tag change needs, whenever it is asked (the deadline is closer than
    // CHANGE_RESERVE from the start); enough for a page of findings with ~7 s to spare, so a
    // slow machine does not turn this into a read given up.
    let deadline =
        Deadline::at(Instant::now() + Deadline::CHANGE_RESERVE - Duration::from_millis(100));
    assert!(Deadline::PAGE_RESERVE + Duration::from_secs(5) < Deadline::CHANGE_RESERVE);
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

/// Slack through the fault proxy, with the retry policy `main` gives it
/// (`RetryPolicy::default()`: 3 attempts, 0.5 s then 1 s between them); the webhook path
/// carries the secret.
async fn slack_through(proxy: &FaultProxy) -> SlackNotifier {
    let url = format!("{}/services/T0REL/B0REL/r3l1abil1tyS3cr3t", proxy.endpoint);
    SlackNotifier::new(
        WebhookUrl::parse(&url).unwrap(),
        AlertOptions::default(),
        RetryPolicy::default(),
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

    // Persistent: Slack keeps failing; tagging still happens, the invocation fails naming Slack
    // after the function's 3 attempts, spaced by its backoff (0.5 s, then 1 s).
    slack_proxy.inject(None, Fault::Unavailable, usize::MAX);
    slack_proxy.reset_counts();
    let (repo, digest) = scanned(&emu, "rel-slack-down", critical()).await;
    let started = Instant::now();
    let result = gate.handle(&fail_event(&repo, &digest), TODAY).await;
    let err = result.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("alert via slack (FAILED:") && text.contains("503"),
        "{text}"
    );
    assert_eq!(slack_proxy.total(), 3, "3 attempts, then given up");
    let attempts = slack_proxy.arrivals(&slack_proxy.sequence()[0]);
    assert!(
        attempts[2] >= started + Duration::from_millis(1500),
        "the third attempt came {:?} after the start: the backoff was not waited",
        attempts[2] - started
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
