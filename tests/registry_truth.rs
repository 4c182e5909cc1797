//! How ECR, Inspector and EventBridge really behave, played on the moto server through the
//! fault proxy: a tag pushed during a strip, a late FAILED event, a flood of Finding events,
//! multi-arch images, a deleted image under `on_scan_failure: block`, and the deadline.

mod common;
mod fakes;

use common::proxy::FaultProxy;
use common::{basic_finding, basic_findings, ecr_scan_event, Emulator, ManifestKind, TODAY};
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::domain::image::{Digest, ImageRef};
use ecr_scan_gate::domain::scan::ScanEvent;
use ecr_scan_gate::domain::verdict::Verdict;
use ecr_scan_gate::engine::gate::{Gate, GateError};
use ecr_scan_gate::engine::ports::Deadline;
use ecr_scan_gate::engine::settings::Settings;
use ecr_scan_gate::judgement::evaluation::{Action, ActionStatus, Evaluation, Response};
use ecr_scan_gate::policy::document::Policy;
use fakes::RecordingNotifier;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn gate_through(proxy: &FaultProxy, policy: &str) -> Gate<EcrRegistry> {
    let config = common::sdk_config(&proxy.endpoint).await;
    Gate::new(
        EcrRegistry::new(aws_sdk_ecr::Client::new(&config), "quarantine-"),
        Policy::from_json(policy).unwrap(),
        Settings::default(),
    )
}

fn qtag(digest: &str) -> String {
    format!("quarantine-{}", digest.trim_start_matches("sha256:"))
}

fn critical() -> Value {
    basic_findings(vec![basic_finding(
        "CVE-2024-0001",
        "CRITICAL",
        "openssl",
        "3.0.1",
    )])
}

fn evaluated(r: Result<Response, GateError>) -> Evaluation {
    match r {
        Ok(Response::Evaluated(ev)) => *ev,
        other => panic!("not evaluated: {other:?}"),
    }
}

/// Item 1: CI pushes `latest` to a new image while the strip's delete is in flight. ECR takes
/// the tag off the new image (its only tag: the image is deleted). The gate must say so.
#[tokio::test]
async fn a_tag_moved_during_the_strip_fails_loudly_naming_the_image_that_lost_it() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let repo = common::unique_repo("truth-strip");
    emu.create_repo(&repo).await;
    let failing = emu.push(&repo, "v1", ManifestKind::DockerV2).await;
    emu.add_tag(&repo, &failing, "latest").await;
    emu.seed(&repo, &failing, "COMPLETE", critical());
    emu.start_scan(&repo, &failing).await;
    let gate = gate_through(&proxy, r#"{"strip_tags": ["latest"]}"#).await;
    let hold = proxy.hold("BatchDeleteImage");
    let event = ecr_scan_event(
        &repo,
        &failing,
        &["v1", "latest"],
        json!({"CRITICAL": 1}),
        "COMPLETE",
    );
    let run = tokio::spawn(async move { gate.handle(&event, TODAY).await });
    hold.arrived().await;
    // Between the gate's read of the tags and its delete, `latest` moves to a new image.
    let newer = emu.push(&repo, "latest", ManifestKind::Oci).await;
    hold.release();
    let result = run.await.unwrap();
    let err = result.expect_err("the strip took `latest` off another image: that must fail");
    let text = err.to_string();
    assert!(
        text.contains(&format!("took tag latest off image {newer}")) && text.contains("DELETED"),
        "{text}"
    );
    assert!(text.contains(&repo), "{text}");
    // The failing image is quarantined; the newer image is gone (moto, like ECR, deletes an
    // image with its last tag).
    assert!(emu.tags(&repo, &failing).await.contains(&qtag(&failing)));
    assert_eq!(emu.image_count(&repo).await, 1);
}

/// Item 3: the event's status is only the trigger; the registry's current scan decides.
#[tokio::test]
async fn a_late_failed_event_does_not_overrule_a_newer_complete_scan() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let repo = common::unique_repo("truth-late");
    emu.create_repo(&repo).await;
    let digest = emu.push(&repo, "v1", ManifestKind::DockerV2).await;
    let medium = basic_findings(vec![basic_finding(
        "CVE-2019-5188",
        "MEDIUM",
        "e2fsprogs",
        "1.44.1",
    )]);
    emu.seed(&repo, &digest, "COMPLETE", medium);
    emu.start_scan(&repo, &digest).await;
    let gate = gate_through(&proxy, r#"{"on_scan_failure": "block"}"#).await;
    let late = ecr_scan_event(&repo, &digest, &["v1"], Value::Null, "FAILED");
    let ev = evaluated(gate.handle(&late, TODAY).await);
    assert_eq!(ev.verdict, Verdict::Pass, "{:?}", ev.reasons);
    assert!(
        ev.reasons
            .iter()
            .any(|r| r.contains("event reported scan status FAILED")),
        "{:?}",
        ev.reasons
    );
    assert!(ev.actions.is_empty(), "{:?}", ev.actions);
    assert_eq!(emu.tags(&repo, &digest).await, vec!["v1".to_string()]);
}

/// Item 7: nothing can be done for a deleted image; the invocation succeeds.
#[tokio::test]
async fn fail_closed_for_an_image_that_no_longer_exists_succeeds_instead_of_looping() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let repo = common::unique_repo("truth-gone");
    emu.create_repo(&repo).await;
    let digest = emu.push(&repo, "v1", ManifestKind::DockerV2).await;
    emu.ecr
        .batch_delete_image()
        .repository_name(&repo)
        .image_ids(
            aws_sdk_ecr::types::ImageIdentifier::builder()
                .image_tag("v1")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let notifier = RecordingNotifier::new("sns");
    let gate = gate_through(&proxy, r#"{"on_scan_failure": "block"}"#)
        .await
        .with_notifier(Box::new(notifier.clone()));
    let failed = ecr_scan_event(&repo, &digest, &["v1"], Value::Null, "FAILED");
    let ev = evaluated(gate.handle(&failed, TODAY).await);
    assert_eq!(ev.verdict, Verdict::Error);
    match &ev.actions[0] {
        Action::Quarantine {
            status: ActionStatus::Skipped { reason },
            ..
        } => assert!(reason.contains("no longer exists"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(notifier.count(), 1, "the ERROR is still alerted");
    assert_eq!(proxy.count("PutImage"), 0);
}

fn finding_event(repo: &str, digest: &str, id: &str, severity: &str) -> Value {
    json!({
        "version": "0",
        "id": format!("finding-{id}"),
        "detail-type": "Inspector2 Finding",
        "source": "aws.inspector2",
        "account": "123456789012",
        "time": "2026-11-27T02:36:48Z",
        "region": common::REGION,
        "resources": [],
        "detail": {
            "status": "ACTIVE",
            "severity": severity,
            "title": id,
            "packageVulnerabilityDetails": {"vulnerabilityId": id},
            "resources": [{
                "type": "AWS_ECR_CONTAINER_IMAGE",
                "details": {"awsEcrContainerImage": {
                    "repositoryName": repo,
                    "imageHash": digest,
                    "imageTags": ["v1"]
                }}
            }]
        }
    })
}

/// Item 5: one push of an image with 150 findings is 150 `Inspector2 Finding` events. Only the
/// one that quarantines and the findings that alone meet a fail threshold alert.
#[tokio::test]
async fn one_hundred_fifty_finding_events_alert_only_on_a_change_or_a_failing_finding() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let repo = common::unique_repo("truth-storm");
    emu.create_repo(&repo).await;
    let digest = emu.push(&repo, "v1", ManifestKind::DockerV2).await;
    let mut findings = Vec::new();
    let mut events = Vec::new();
    for i in 0..150 {
        let (id, sev) = match i {
            147..=149 => (format!("CVE-2026-C{i:03}"), "CRITICAL"),
            _ => (format!("CVE-2026-H{i:03}"), "HIGH"),
        };
        findings.push(basic_finding(&id, sev, "pkg", "1.0"));
        events.push(finding_event(&repo, &digest, &id, sev));
    }
    emu.seed(&repo, &digest, "COMPLETE", basic_findings(findings));
    emu.start_scan(&repo, &digest).await;
    let notifier = RecordingNotifier::new("sns");
    let gate = gate_through(&proxy, "{}")
        .await
        .with_notifier(Box::new(notifier.clone()));
    proxy.reset_counts();
    for e in &events {
        let ev = evaluated(gate.handle(e, TODAY).await);
        assert_eq!(ev.verdict, Verdict::Fail);
    }
    // The first event quarantines (a change); the three CRITICAL findings meet the fail
    // threshold on their own. The other 146 HIGH findings change nothing.
    assert_eq!(notifier.count(), 4);
    assert_eq!(
        proxy.count("PutImage"),
        150,
        "each event finds the tag in place"
    );
    assert_eq!(
        emu.tags(&repo, &digest).await,
        vec![qtag(&digest), "v1".to_string()]
    );
}

/// Item 6: the scan event names an untagged platform image; the tags sit on the index.
#[tokio::test]
async fn a_failing_platform_image_blocks_the_tagged_index_and_a_policy_change_releases_it() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let repo = common::unique_repo("truth-multiarch");
    emu.create_repo(&repo).await;
    // moto does not scan untagged images' seeds by tag: seed by digest, before the index.
    let (index, a, b) = {
        let (index, a, b) = emu
            .push_multi_arch(&repo, [None, None], &["latest", "v2"])
            .await;
        (index, a, b)
    };
    emu.seed(&repo, &a, "COMPLETE", critical());
    emu.start_scan(&repo, &a).await;
    let medium = basic_findings(vec![basic_finding(
        "CVE-2019-5188",
        "MEDIUM",
        "e2fsprogs",
        "1.44.1",
    )]);
    emu.seed(&repo, &b, "COMPLETE", medium);
    emu.start_scan(&repo, &b).await;
    let gate = gate_through(&proxy, r#"{"strip_tags": ["latest"]}"#).await;
    let event = ecr_scan_event(&repo, &a, &[], json!({"CRITICAL": 1}), "COMPLETE");
    let ev = evaluated(gate.handle(&event, TODAY).await);
    assert_eq!(ev.verdict, Verdict::Fail);
    assert_eq!(
        emu.tags(&repo, &index).await,
        vec![qtag(&index), "v2".to_string()],
        "the index is quarantined and `latest` is stripped from it: {:?}",
        ev.actions
    );
    assert!(
        matches!(
            &ev.actions[0],
            Action::Quarantine {
                status: ActionStatus::Skipped { .. },
                ..
            }
        ),
        "an untagged platform image gets no tag of its own: {:?}",
        ev.actions
    );
    // The check on the index's tag judges its platform images.
    let index_digest = Digest::parse(&index).unwrap();
    let report = ecr_scan_gate::engine::deploy_check::check(
        &gate,
        &repo,
        ImageRef::Tag("v2".into()),
        Duration::ZERO,
        Duration::from_secs(5),
        TODAY,
    )
    .await;
    assert_eq!(report.exit_code, 1, "{}", report.message);
    assert_eq!(report.platform_images.len(), 2);
    // An allowlist entry for the CVE: the platform image passes, the index is released.
    let allow = r#"{"strip_tags": ["latest"], "allowlist": [{"id": "CVE-2024-0001", "reason": "accepted"}]}"#;
    let gate = gate_through(&proxy, allow).await;
    let direct = ScanEvent::direct(repo.clone(), ImageRef::Digest(Digest::parse(&a).unwrap()));
    let ev = gate
        .evaluate(&direct, TODAY, Deadline::none())
        .await
        .unwrap();
    assert_eq!(ev.verdict, Verdict::Pass);
    assert!(
        ev.actions.iter().any(|x| matches!(x, Action::OnIndex { index, change, .. }
            if *index == index_digest && matches!(change.as_ref(), Action::Release { status: ActionStatus::Done, .. }))),
        "{:?}",
        ev.actions
    );
    assert_eq!(emu.tags(&repo, &index).await, vec!["v2".to_string()]);
}

/// Item 8: a slow alert channel is given up at the deadline, leaving time for the log lines.
/// The channel never answers: had the gate waited for it, the test would time out.
#[tokio::test]
async fn an_alert_that_outlasts_the_deadline_is_cut_off_and_the_decision_still_reported() {
    struct Slow;
    impl ecr_scan_gate::engine::ports::Notifier for Slow {
        fn channel(&self) -> &'static str {
            "slack"
        }
        fn notify<'a>(
            &'a self,
            _: &'a Evaluation,
        ) -> ecr_scan_gate::engine::ports::BoxFuture<
            'a,
            Result<(), ecr_scan_gate::engine::ports::NotifyError>,
        > {
            // Slack with its retries and Retry-After waits can take about 35 s; this one, forever.
            Box::pin(std::future::pending())
        }
    }
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let repo = common::unique_repo("truth-deadline");
    emu.create_repo(&repo).await;
    let digest = emu.push(&repo, "v1", ManifestKind::DockerV2).await;
    emu.seed(&repo, &digest, "COMPLETE", critical());
    emu.start_scan(&repo, &digest).await;
    let gate = gate_through(&proxy, "{}")
        .await
        .with_notifier(Box::new(Slow));
    let event = ecr_scan_event(&repo, &digest, &["v1"], json!({"CRITICAL": 1}), "COMPLETE");
    // Ample time for the tag change (6 s beyond its 12 s reserve), none that an alert which
    // never ends could fill.
    let deadline = Deadline::at(Instant::now() + Deadline::CHANGE_RESERVE + Duration::from_secs(6));
    let err = tokio::time::timeout(
        Duration::from_secs(60),
        gate.handle_until(&event, TODAY, deadline),
    )
    .await
    .expect("the alert is given up at the deadline, not waited for")
    .unwrap_err();
    let ev = err
        .evaluation()
        .expect("the decision is kept for the log and metric lines");
    assert_eq!(ev.verdict, Verdict::Fail);
    let alert = ev
        .actions
        .iter()
        .find(|a| matches!(a, Action::Alert { .. }))
        .unwrap();
    match alert.status() {
        ActionStatus::Failed { error } => assert!(error.contains("deadline"), "{error}"),
        other => panic!("{other:?}"),
    }
    assert!(emu.tags(&repo, &digest).await.contains(&qtag(&digest)));
    assert!(
        deadline.allows(Duration::from_millis(1)),
        "given up before the deadline, leaving time for the log lines"
    );
}

/// Item 8: a page read whose retries outlast the deadline is given up, not waited for. The read
/// is held at the proxy and never answered: had the gate waited for it, the test would time out.
#[tokio::test]
async fn a_page_read_that_outlasts_the_deadline_is_given_up() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let repo = common::unique_repo("truth-page");
    emu.create_repo(&repo).await;
    let digest = emu.push(&repo, "v1", ManifestKind::DockerV2).await;
    emu.seed(&repo, &digest, "COMPLETE", critical());
    emu.start_scan(&repo, &digest).await;
    let read = proxy.hold("DescribeImageScanFindings");
    let gate = gate_through(&proxy, "{}").await;
    let event = ecr_scan_event(&repo, &digest, &["v1"], json!({"CRITICAL": 1}), "COMPLETE");
    // The page may start (5 s reserve, with 5 s to spare), but its answer never comes.
    let deadline = Deadline::at(Instant::now() + Deadline::PAGE_RESERVE + Duration::from_secs(5));
    let err = tokio::time::timeout(
        Duration::from_secs(60),
        gate.handle_until(&event, TODAY, deadline),
    )
    .await
    .expect("the read is given up at the deadline, not waited for")
    .unwrap_err();
    assert_eq!(err.kind(), "DeadlineReached", "{err}");
    tokio::time::timeout(Duration::from_secs(1), read.arrived())
        .await
        .expect("the page read was started, then given up");
    assert!(
        deadline.allows(Duration::from_millis(1)),
        "given up before the deadline, leaving time for the log lines"
    );
}

/// Item 2: Inspector's counts list CRITICAL, HIGH and MEDIUM beside TOTAL (AWS's sample: TOTAL
/// 158, listed 130). A policy on LOW must not pass on the 28 unlisted findings unread.
#[tokio::test]
async fn inspector_counts_that_leave_out_low_findings_do_not_pass_a_low_policy_unread() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let repo = common::unique_repo("truth-total");
    emu.create_repo(&repo).await;
    let digest = emu.push(&repo, "v1", ManifestKind::DockerV2).await;
    let findings = (0..28)
        .map(|i| basic_finding(&format!("CVE-2026-L{i:03}"), "LOW", "pkg", "1.0"))
        .collect();
    emu.seed(&repo, &digest, "COMPLETE", basic_findings(findings));
    emu.start_scan(&repo, &digest).await;
    let gate = gate_through(&proxy, r#"{"fail": {"LOW": 5}, "warn": {}}"#).await;
    let event = json!({
        "version": "0",
        "id": "inspector-scan",
        "detail-type": "Inspector2 Scan",
        "source": "aws.inspector2",
        "account": "123456789012",
        "time": "2026-11-27T02:36:48Z",
        "region": common::REGION,
        "resources": [],
        "detail": {
            "scan-status": "INITIAL_SCAN_COMPLETE",
            "repository-name": format!("arn:aws:ecr:us-east-1:123456789012:repository/{repo}"),
            "finding-severity-counts": {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "TOTAL": 28},
            "image-digest": digest,
            "image-tags": ["v1"]
        }
    });
    let ev = evaluated(gate.handle(&event, TODAY).await);
    assert_eq!(ev.verdict, Verdict::Fail, "{:?}", ev.reasons);
    assert_eq!(proxy.count("DescribeImageScanFindings"), 1);
}
