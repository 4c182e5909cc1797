//! What real ECR does not summarise, played on the moto server through the fault proxy (SPEC
//! 11.1 and 11.2 in docs/design.md's words): images under enhanced scanning, which
//! `DescribeImages` lists with no scan status and no summary; image indexes, never scanned;
//! a tagged platform image named by digest; a failed index look-up; an alert lost to a retry.
//!
//! The proxy answers as the ECR API reference documents `DescribeImages` (`ImageDetail`:
//! `imageScanStatus` and `imageScanFindingsSummary` are optional) and as real ECR answers
//! for images under enhanced scanning (aws/containers-roadmap issue 1662): both left out.

mod common;
mod fakes;

use common::proxy::{Fault, FaultProxy};
use common::{basic_finding, basic_findings, ecr_scan_event, Emulator, ManifestKind, TODAY};
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::adapters::aws::sns::SnsNotifier;
use ecr_scan_gate::domain::verdict::Verdict;
use ecr_scan_gate::engine::gate::{Gate, GateError};
use ecr_scan_gate::engine::settings::Settings;
use ecr_scan_gate::entry::app::{self, App, Context, Output, RegistryOutcome};
use ecr_scan_gate::entry::sweep::report::SweepReport;
use ecr_scan_gate::judgement::evaluation::{Action, ActionStatus, Evaluation, Response};
use ecr_scan_gate::policy::document::Policy;
use ecr_scan_gate::render::alert::AlertOptions;
use fakes::RecordingNotifier;
use serde_json::{json, Value};
use std::sync::Arc;

fn qtag(digest: &str) -> String {
    format!("quarantine-{}", digest.trim_start_matches("sha256:"))
}

fn cx() -> Context<'static> {
    common::one_account_cx()
}

/// Strips what real ECR leaves out of `DescribeImages` under enhanced scanning.
fn as_enhanced_scanning(proxy: &FaultProxy) {
    proxy.rewrite(
        "DescribeImages",
        Arc::new(|_request: &[u8], response: &str| {
            let Ok(mut doc) = serde_json::from_str::<Value>(response) else {
                return response.to_string();
            };
            if let Some(details) = doc["imageDetails"].as_array_mut() {
                for d in details {
                    if let Some(d) = d.as_object_mut() {
                        d.remove("imageScanStatus");
                        d.remove("imageScanFindingsSummary");
                    }
                }
            }
            doc.to_string()
        }),
    );
}

async fn gate(proxy: &FaultProxy, policy: &str, alerts: &RecordingNotifier) -> Gate<EcrRegistry> {
    let config = common::sdk_config(&proxy.endpoint).await;
    Gate::new(
        EcrRegistry::new(aws_sdk_ecr::Client::new(&config), "quarantine-"),
        Policy::from_json(policy).unwrap(),
        Settings::default(),
    )
    .with_notifier(Box::new(alerts.clone()))
}

fn swept(output: Output) -> SweepReport {
    match output {
        Output::Registry(RegistryOutcome::Swept(r)) => *r,
        other => panic!("not a sweep: {other:?}"),
    }
}

fn evaluated(r: Result<Response, GateError>) -> Evaluation {
    match r {
        Ok(Response::Evaluated(ev)) => *ev,
        other => panic!("not evaluated: {other:?}"),
    }
}

fn digests(v: &Option<Vec<ecr_scan_gate::entry::sweep::report::ImageId>>) -> Vec<String> {
    let mut d: Vec<String> = v.clone().unwrap().into_iter().map(|i| i.digest).collect();
    d.sort();
    d
}

fn critical() -> Value {
    basic_findings(vec![basic_finding(
        "CVE-2024-0001",
        "CRITICAL",
        "openssl",
        "3.0.1",
    )])
}

/// Enhanced scanning answers a scan with findings under `enhancedFindings` and status
/// `ACTIVE`: the AWS documentation's sample (one HIGH finding), or none.
fn enhanced(findings: bool) -> Value {
    if findings {
        common::enhanced_sample_findings()
    } else {
        json!({"enhancedFindings": [], "findingSeverityCounts": {}})
    }
}

/// Defect 1: before, every image here was counted `unscanned` and the sweep answered
/// `complete: true`: the failing image stayed deployable, the quarantined clean one was never
/// released.
#[tokio::test]
async fn under_enhanced_scanning_the_sweep_judges_what_the_listing_does_not_summarise() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    as_enhanced_scanning(&proxy);
    let repo = common::unique_repo("enh-sweep");
    emu.create_repo(&repo).await;
    let failing = emu.push(&repo, "v1", ManifestKind::Oci).await;
    emu.seed(&repo, &failing, "ACTIVE", enhanced(true));
    emu.start_scan(&repo, &failing).await;
    // Quarantined before; clean now: due for release.
    let clean = emu.push(&repo, "v2", ManifestKind::Oci).await;
    emu.seed(&repo, &clean, "ACTIVE", enhanced(false));
    emu.start_scan(&repo, &clean).await;
    emu.add_tag(&repo, &clean, &qtag(&clean)).await;
    // A user's tag that merely starts with the prefix: no quarantine (defect 6).
    let user = emu.push(&repo, "quarantine-test", ManifestKind::Oci).await;
    emu.seed(&repo, &user, "ACTIVE", enhanced(false));
    emu.start_scan(&repo, &user).await;
    // No scan result at all: the only image that is unscanned.
    let never = emu.push(&repo, "v3", ManifestKind::Oci).await;

    let alerts = RecordingNotifier::new("sns");
    let app = App::new(gate(&proxy, r#"{"fail": {"HIGH": 1}}"#, &alerts).await);
    let input = json!({"sweep": {"repositories": [repo]}});
    let r = swept(app::handle(&app, &input, cx()).await.unwrap());
    assert_eq!(r.images, 4, "{r:?}");
    assert_eq!(r.unscanned, 1, "only the image with no scan result: {r:?}");
    assert!(r.errors.is_empty() && r.complete, "{r:?}");
    let verdicts = r.verdicts.clone().unwrap();
    assert_eq!(verdicts.get(&Verdict::Fail), Some(&1), "{verdicts:?}");
    assert_eq!(verdicts.get(&Verdict::Pass), Some(&2), "{verdicts:?}");
    assert_eq!(digests(&r.quarantined), vec![failing.clone()]);
    assert_eq!(digests(&r.released), vec![clean.clone()]);
    assert!(emu.tags(&repo, &failing).await.contains(&qtag(&failing)));
    assert_eq!(emu.tags(&repo, &clean).await, vec!["v2".to_string()]);
    assert_eq!(
        emu.tags(&repo, &user).await,
        vec!["quarantine-test".to_string()]
    );
    assert_eq!(emu.tags(&repo, &never).await, vec!["v3".to_string()]);
    // The report lists no user tag as a quarantine.
    let listed = ecr_scan_gate::entry::listing::quarantined_images(
        &app.gate.registry,
        std::slice::from_ref(&repo),
        "quarantine-",
    )
    .await
    .0;
    let listed: Vec<String> = listed.into_iter().map(|i| i.digest.to_string()).collect();
    assert_eq!(listed, vec![failing.clone()]);
}

/// Defect 2: an index is never scanned; before, the sweep counted it unscanned and left it
/// deployable.
#[tokio::test]
async fn the_sweep_judges_an_image_index_through_its_platform_images_and_quarantines_it() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let repo = common::unique_repo("idx-sweep");
    emu.create_repo(&repo).await;
    let (index, amd64, arm64) = emu
        .push_multi_arch(&repo, [None, None], &["latest", "v2"])
        .await;
    emu.seed(&repo, &amd64, "COMPLETE", critical());
    emu.start_scan(&repo, &amd64).await;
    emu.seed(&repo, &arm64, "COMPLETE", basic_findings(vec![]));
    emu.start_scan(&repo, &arm64).await;

    let alerts = RecordingNotifier::new("sns");
    let app = App::new(gate(&proxy, r#"{"strip_tags": ["latest"]}"#, &alerts).await);
    let input = json!({"sweep": {"repositories": [repo]}});
    let r = swept(app::handle(&app, &input, cx()).await.unwrap());
    assert_eq!(r.images, 1, "the index is the one tagged image: {r:?}");
    assert_eq!(r.unscanned, 0, "{r:?}");
    assert_eq!(r.verdicts.clone().unwrap().get(&Verdict::Fail), Some(&1));
    assert_eq!(digests(&r.quarantined), vec![index.clone()]);
    assert_eq!(
        emu.tags(&repo, &index).await,
        vec![qtag(&index), "v2".to_string()],
        "quarantined, and `latest` stripped by the policy"
    );
    // The alert names the failing platform.
    let sent = alerts.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    let reasons = sent[0].reasons.join("\n");
    assert!(
        reasons.contains(&format!("platform linux/amd64 ({}", &amd64[..19])),
        "{reasons}"
    );
    assert!(
        reasons.contains("CVE-2024-0001") || reasons.contains("CRITICAL"),
        "{reasons}"
    );

    // The next night nothing changes: no PutImage, no BatchGetImage for the quarantined index.
    proxy.reset_counts();
    let again = swept(app::handle(&app, &input, cx()).await.unwrap());
    assert_eq!(digests(&again.quarantined), Vec::<String>::new());
    assert_eq!(proxy.count("PutImage"), 0, "{:?}", proxy.counts());
    // One BatchGetImage reads the index's manifest (its platform images); none re-tags it.
    assert_eq!(proxy.count("BatchGetImage"), 1, "{:?}", proxy.counts());
    assert_eq!(
        alerts.count(),
        1,
        "an index that stays quarantined is not alerted again"
    );
}

/// Defect 3: `v1-amd64` is listed by the index `v1`; named by digest (queue body, direct
/// invoke) it carries no tags in the request. Before, it was taken for an untagged platform
/// image and its own quarantine was skipped: `docker pull repo:v1-amd64` still worked.
#[tokio::test]
async fn a_tagged_platform_image_named_by_digest_is_quarantined_itself() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let repo = common::unique_repo("idx-tagged");
    emu.create_repo(&repo).await;
    let (index, amd64, _arm64) = emu
        .push_multi_arch(&repo, [Some("v1-amd64"), Some("v1-arm64")], &["v1"])
        .await;
    emu.seed(&repo, &amd64, "COMPLETE", critical());
    emu.start_scan(&repo, &amd64).await;
    let alerts = RecordingNotifier::new("sns");
    let app = App::new(gate(&proxy, "{}", &alerts).await);

    let body = json!({"repository": repo, "digest": amd64, "sweep": true}).to_string();
    let records = json!({"Records": [{
        "messageId": "m-1", "receiptHandle": "h-1", "body": body,
        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
        "eventSource": "aws:sqs", "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ecr-scan-gate-sweep"
    }]});
    let out = app::handle(&app, &records, cx()).await.unwrap();
    let Output::Batch(batch) = out else {
        panic!("not a batch answer: {out:?}")
    };
    assert!(batch.batch_item_failures.is_empty(), "{batch:?}");
    assert_eq!(
        emu.tags(&repo, &amd64).await,
        vec![qtag(&amd64), "v1-amd64".to_string()],
        "the tagged platform image is quarantined itself"
    );
    // A tagged image is deployable by its own tag: the repository is not listed to find
    // indexes (the index is judged by the sweep through its platform images).
    assert_eq!(emu.tags(&repo, &index).await, vec!["v1".to_string()]);

    // The same through a direct invoke naming only the digest.
    let (index2, amd64_2, _) = emu
        .push_multi_arch(&repo, [Some("v2-amd64"), Some("v2-arm64")], &["v2"])
        .await;
    emu.seed(&repo, &amd64_2, "COMPLETE", critical());
    emu.start_scan(&repo, &amd64_2).await;
    let direct = json!({"repository": repo, "digest": amd64_2});
    let out = app::handle(&app, &direct, cx()).await.unwrap();
    let Output::Gate(Response::Evaluated(ev)) = out else {
        panic!("not evaluated: {out:?}")
    };
    assert_eq!(ev.verdict, Verdict::Fail);
    assert_eq!(
        ev.tags,
        vec!["v2-amd64".to_string()],
        "the real tags were read"
    );
    assert!(emu.tags(&repo, &amd64_2).await.contains(&qtag(&amd64_2)));
    assert_eq!(emu.tags(&repo, &index2).await, vec!["v2".to_string()]);
    // The index itself, asked about directly, fails through its amd64 image.
    let out = app::handle(&app, &json!({"repository": repo, "tag": "v2"}), cx())
        .await
        .unwrap();
    let Output::Gate(Response::Evaluated(ev)) = out else {
        panic!("not evaluated: {out:?}")
    };
    assert_eq!(ev.verdict, Verdict::Fail, "{:?}", ev.reasons);
    assert!(emu.tags(&repo, &index2).await.contains(&qtag(&index2)));
}

/// Defect 5: the look-up of the indexes that list an untagged image fails (every
/// `DescribeImages` answers 500). Before, the invocation failed before any action, saying the
/// findings could not be read: no quarantine, no alert.
#[tokio::test]
async fn a_failed_index_lookup_does_not_stop_the_quarantine_or_the_alert_and_says_what_failed() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let repo = common::unique_repo("idx-lookup");
    emu.create_repo(&repo).await;
    // An image pushed by digest alone (a buildx platform image, say).
    let (_index, amd64, _) = emu.push_multi_arch(&repo, [None, None], &[]).await;
    emu.seed(&repo, &amd64, "COMPLETE", critical());
    emu.start_scan(&repo, &amd64).await;
    let alerts = RecordingNotifier::new("sns");
    let g = gate(&proxy, "{}", &alerts).await;
    proxy.inject(Some("DescribeImages"), Fault::ServerError, 1000);
    let event = ecr_scan_event(&repo, &amd64, &[], json!({"CRITICAL": 1}), "COMPLETE");
    let err = g.handle(&event, TODAY).await.unwrap_err();
    proxy.clear();
    let text = err.to_string();
    assert!(
        text.contains("could not look up the image indexes that list"),
        "{text}"
    );
    assert!(!text.contains("could not read the scan"), "{text}");
    let ev = err.evaluation().expect("the decision was made");
    assert_eq!(ev.verdict, Verdict::Fail);
    assert!(
        matches!(
            &ev.actions[0],
            Action::Quarantine {
                status: ActionStatus::Done,
                ..
            }
        ),
        "{:?}",
        ev.actions
    );
    assert_eq!(alerts.count(), 1, "the alert went out");
    assert_eq!(emu.tags(&repo, &amd64).await, vec![qtag(&amd64)]);
}

async fn sns_gate(emu: &Emulator, proxy: &FaultProxy, topic_arn: &str) -> Gate<EcrRegistry> {
    let config = common::sdk_config(&proxy.endpoint).await;
    Gate::new(
        EcrRegistry::new(emu.ecr.clone(), "quarantine-"),
        Policy::default(),
        Settings::default(),
    )
    .with_notifier(Box::new(SnsNotifier::new(
        aws_sdk_sns::Client::new(&config),
        topic_arn,
        AlertOptions::default(),
    )))
}

/// Defect 4, queue record: first delivery quarantines, SNS is down, the record fails. Before,
/// the redelivery found the quarantine in place and skipped the alert as "no change".
#[tokio::test]
async fn an_alert_that_failed_is_sent_on_the_queue_redelivery() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let topic = emu
        .topic_with_queue(&common::unique_repo("redeliver"), None)
        .await;
    let (repo, digest, _) = common::image_with_critical_findings(&emu, "redeliver", 1).await;
    let app = App::new(sns_gate(&emu, &proxy, &topic.topic_arn).await);
    let record = |count: &str| {
        json!({"Records": [{
            "messageId": "m-1", "receiptHandle": "h", "messageAttributes": {},
            "body": json!({"repository": repo, "digest": digest, "sweep": true}).to_string(),
            "attributes": {"ApproximateReceiveCount": count},
            "eventSource": "aws:sqs", "awsRegion": "us-east-1",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ecr-scan-gate-sweep"
        }]})
    };
    proxy.inject(Some("Publish"), Fault::ServerError, 1000);
    let first = app::handle(&app, &record("1"), cx()).await.unwrap();
    proxy.clear();
    let Output::Batch(batch) = first else {
        panic!("{first:?}")
    };
    assert_eq!(batch.batch_item_failures.len(), 1, "the record failed");
    assert!(emu.tags(&repo, &digest).await.contains(&qtag(&digest)));
    assert!(emu.sent_notifications(&topic.topic_arn).is_empty());

    proxy.reset_counts();
    let again = app::handle(&app, &record("2"), cx()).await.unwrap();
    let Output::Batch(batch) = again else {
        panic!("{again:?}")
    };
    assert!(batch.batch_item_failures.is_empty(), "{batch:?}");
    assert_eq!(
        proxy.count("Publish"),
        1,
        "the alert is sent on the redelivery"
    );
    assert_eq!(emu.sent_notifications(&topic.topic_arn).len(), 1);
}

/// Defect 4, EventBridge: an `Inspector2 Finding` event whose finding alone meets no fail
/// threshold alerts only on a change; Lambda retries a failed invocation with the same event.
#[tokio::test]
async fn an_alert_that_failed_is_sent_on_the_eventbridge_retry_of_the_same_event() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let topic = emu
        .topic_with_queue(&common::unique_repo("retry"), None)
        .await;
    let (repo, digest, _) = common::image_with_critical_findings(&emu, "retry", 2).await;
    let app = App::new(sns_gate(&emu, &proxy, &topic.topic_arn).await);
    let event = |id: &str| {
        json!({
            "version": "0", "id": id, "detail-type": "Inspector2 Finding",
            "source": "aws.inspector2", "account": "123456789012",
            "time": "2026-11-27T02:36:48Z", "region": "us-east-1",
            "resources": [format!("arn:aws:ecr:us-east-1:123456789012:repository/{repo}/{}", digest)],
            "detail": {
                "status": "ACTIVE", "severity": "MEDIUM", "type": "PACKAGE_VULNERABILITY",
                "title": "CVE-2026-9999 - zlib",
                "packageVulnerabilityDetails": {"vulnerabilityId": "CVE-2026-9999"},
                "resources": [{"type": "AWS_ECR_CONTAINER_IMAGE",
                    "id": format!("arn:aws:ecr:us-east-1:123456789012:repository/{repo}/{digest}"),
                    "details": {"awsEcrContainerImage": {
                        "repositoryName": repo, "imageHash": digest, "imageTags": ["v1.4.2"],
                        "registry": "123456789012"}}}]
            }
        })
    };
    proxy.inject(Some("Publish"), Fault::ServerError, 1000);
    let first = app::handle(&app, &event("evt-1"), cx()).await;
    proxy.clear();
    assert!(first.is_err(), "the alert failed: the invocation fails");
    assert!(emu.tags(&repo, &digest).await.contains(&qtag(&digest)));

    proxy.reset_counts();
    let retry = app::handle(&app, &event("evt-1"), cx()).await.unwrap();
    let Output::Gate(Response::Evaluated(ev)) = retry else {
        panic!("{retry:?}")
    };
    assert!(
        ev.actions.iter().any(|a| matches!(
            a,
            Action::Quarantine {
                status: ActionStatus::AlreadyDone,
                ..
            }
        )),
        "{:?}",
        ev.actions
    );
    assert_eq!(
        proxy.count("Publish"),
        1,
        "the retry alerts: {:?}",
        ev.actions
    );

    // Another Finding event for the same image, not a retry: no change, no alert.
    proxy.reset_counts();
    let other = evaluated_output(app::handle(&app, &event("evt-2"), cx()).await.unwrap());
    assert_eq!(proxy.count("Publish"), 0, "{:?}", other.actions);
}

fn evaluated_output(out: Output) -> Evaluation {
    match out {
        Output::Gate(r) => evaluated(Ok(r)),
        other => panic!("not evaluated: {other:?}"),
    }
}

async fn gate_with_inspector(
    proxy: &FaultProxy,
    policy: &str,
    alerts: &RecordingNotifier,
) -> Gate<EcrRegistry> {
    let config = common::sdk_config(&proxy.endpoint).await;
    Gate::new(
        EcrRegistry::new(aws_sdk_ecr::Client::new(&config), "quarantine-")
            .with_inspector(aws_sdk_inspector2::Client::new(&config)),
        Policy::from_json(policy).unwrap(),
        Settings::default(),
    )
    .with_notifier(Box::new(alerts.clone()))
}

/// Inspector's counts (ListFindingAggregations, answered by the proxy as the Amazon Inspector
/// API Reference documents it: tests/common/inspector.rs) pass a clean image with no call of
/// its own; an image whose counts reach a threshold, or that Inspector does not list, is read.
#[tokio::test]
async fn inspectors_counts_pass_clean_images_in_bulk_and_the_rest_are_read() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    as_enhanced_scanning(&proxy);
    let inspector = common::inspector::Inspector::default();
    inspector.install(&proxy);
    let repo = common::unique_repo("enh-bulk");
    emu.create_repo(&repo).await;
    let mut clean = Vec::new();
    for i in 0..3 {
        let d = emu.push(&repo, &format!("c{i}"), ManifestKind::Oci).await;
        // Two LOW findings Inspector counts under `all` only: LOW cannot reach CRITICAL 1.
        inspector.set(&repo, &d, 2, 0, 0, 0);
        clean.push(d);
    }
    let failing = emu.push(&repo, "bad", ManifestKind::Oci).await;
    inspector.set(&repo, &failing, 1, 0, 1, 0);
    emu.seed(&repo, &failing, "ACTIVE", enhanced(true));
    emu.start_scan(&repo, &failing).await;
    let unknown = emu.push(&repo, "new", ManifestKind::Oci).await;

    let alerts = RecordingNotifier::new("sns");
    let app = App::new(gate_with_inspector(&proxy, r#"{"fail": {"HIGH": 1}}"#, &alerts).await);
    let r = swept(
        app::handle(&app, &json!({"sweep": {"repositories": [repo]}}), cx())
            .await
            .unwrap(),
    );
    assert_eq!(r.images, 5, "{r:?}");
    assert_eq!(r.passed_by_summary, 3, "{r:?}");
    assert_eq!(
        r.unscanned, 1,
        "Inspector does not know it, and it has no scan: {r:?}"
    );
    assert_eq!(digests(&r.quarantined), vec![failing.clone()]);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(proxy.count(common::inspector::OPERATION), 1);
    assert_eq!(
        proxy.count("DescribeImageScanFindings"),
        2,
        "only the failing image and the one Inspector does not list are read"
    );
    assert_eq!(emu.tags(&repo, &unknown).await, vec!["new".to_string()]);

    // A policy on LOW: Inspector's `all` beyond the severities it names may be LOW, so the
    // clean images are read after all.
    let app = App::new(gate_with_inspector(&proxy, r#"{"fail": {"LOW": 1}}"#, &alerts).await);
    proxy.reset_counts();
    let r = swept(
        app::handle(&app, &json!({"sweep": {"repositories": [repo]}}), cx())
            .await
            .unwrap(),
    );
    assert_eq!(r.passed_by_summary, 0, "{r:?}");
    // The three clean ones, the one Inspector does not list, the quarantined one.
    assert_eq!(
        proxy.count("DescribeImageScanFindings"),
        5,
        "{:?}",
        proxy.counts()
    );
}

/// Inspector not enabled (or not allowed) answers AccessDeniedException: each image is read
/// on its own, no error is reported, and Inspector is not asked again in the same sweep.
#[tokio::test]
async fn where_inspector_answers_access_denied_each_image_is_read_on_its_own() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    as_enhanced_scanning(&proxy);
    common::inspector::Inspector::default().install(&proxy);
    proxy.inject(
        Some(common::inspector::OPERATION),
        Fault::AccessDenied,
        1000,
    );
    let stem = common::unique_repo("enh-denied");
    let mut repos = Vec::new();
    for n in 0..2 {
        let repo = format!("{stem}-{n}");
        emu.create_repo(&repo).await;
        let d = emu.push(&repo, "v1", ManifestKind::Oci).await;
        emu.seed(&repo, &d, "ACTIVE", enhanced(false));
        emu.start_scan(&repo, &d).await;
        repos.push(repo);
    }
    let alerts = RecordingNotifier::new("sns");
    let app = App::new(gate_with_inspector(&proxy, "{}", &alerts).await);
    let input = json!({"sweep": {"repositories": [format!("{stem}-*")]}});
    let r = swept(app::handle(&app, &input, cx()).await.unwrap());
    assert_eq!(r.images, 2, "{r:?}");
    assert!(r.errors.is_empty() && r.complete, "{r:?}");
    assert_eq!(r.verdicts.clone().unwrap().get(&Verdict::Pass), Some(&2));
    assert_eq!(proxy.count(common::inspector::OPERATION), 1, "asked once");
    assert_eq!(proxy.count("DescribeImageScanFindings"), 2);
}
