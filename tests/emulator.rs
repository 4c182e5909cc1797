//! The gate against a real HTTP AWS emulator (moto server on loopback) through the real SDK
//! clients: reading findings (basic and enhanced), quarantine, strip, release, fail closed,
//! dry run, and redelivery.

mod common;

use common::{
    basic_finding, basic_findings, ecr_scan_event, enhanced_sample_findings, Emulator,
    ManifestKind, TODAY,
};
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::domain::severity::Severity;
use ecr_scan_gate::domain::verdict::Verdict;
use ecr_scan_gate::engine::gate::Gate;
use ecr_scan_gate::engine::settings::Settings;
use ecr_scan_gate::judgement::evaluation::{Action, ActionStatus, Basis, Evaluation, Response};
use ecr_scan_gate::policy::document::Policy;
use serde_json::{json, Value};

fn gate(emu: &Emulator, policy: &str, dry_run: bool) -> Gate<EcrRegistry> {
    Gate::new(
        EcrRegistry::new(emu.ecr.clone(), "quarantine-"),
        Policy::from_json(policy).unwrap(),
        Settings {
            quarantine_prefix: "quarantine-".into(),
            dry_run,
            ..Settings::default()
        },
    )
}

async fn evaluate(gate: &Gate<EcrRegistry>, input: &Value) -> Evaluation {
    match gate.handle(input, TODAY).await.unwrap() {
        Response::Evaluated(ev) => *ev,
        other => panic!("not evaluated: {other:?}"),
    }
}

fn quarantine_tag(digest: &str) -> String {
    format!("quarantine-{}", digest.trim_start_matches("sha256:"))
}

fn critical_findings() -> Value {
    basic_findings(vec![
        basic_finding("CVE-2024-0001", "CRITICAL", "openssl", "3.0.1"),
        basic_finding("CVE-2024-0002", "HIGH", "zlib", "1.2.11"),
        basic_finding("CVE-2019-5188", "MEDIUM", "e2fsprogs", "1.44.1"),
    ])
}

/// A repository with one scanned image carrying `tags`, its scan seeded with `findings`.
async fn scanned_image(
    emu: &Emulator,
    stem: &str,
    tags: &[&str],
    kind: ManifestKind,
    findings: Value,
) -> (String, String) {
    let repo = common::unique_repo(stem);
    emu.create_repo(&repo).await;
    let digest = emu.push(&repo, tags[0], kind).await;
    for t in &tags[1..] {
        emu.add_tag(&repo, &digest, t).await;
    }
    emu.seed(&repo, &digest, "COMPLETE", findings);
    emu.start_scan(&repo, &digest).await;
    (repo, digest)
}

fn statuses(ev: &Evaluation) -> Vec<(String, ActionStatus)> {
    ev.actions
        .iter()
        .map(|a| {
            let kind = serde_json::to_value(a).unwrap()["action"]
                .as_str()
                .unwrap()
                .to_string();
            (kind, a.status().clone())
        })
        .collect()
}

#[tokio::test]
async fn critical_basic_findings_fail_and_quarantine_a_docker_image_by_digest() {
    let emu = Emulator::start().await;
    let (repo, digest) = scanned_image(
        &emu,
        "basic",
        &["v1.0.0"],
        ManifestKind::DockerV2,
        critical_findings(),
    )
    .await;
    let gate = gate(&emu, "{}", false);
    let ev = evaluate(
        &gate,
        &ecr_scan_event(
            &repo,
            &digest,
            &["v1.0.0"],
            json!({"CRITICAL": 1, "HIGH": 1, "MEDIUM": 1}),
            "COMPLETE",
        ),
    )
    .await;

    assert_eq!(ev.verdict, Verdict::Fail);
    assert_eq!(ev.basis, Basis::Findings);
    assert_eq!(ev.counts.get(Severity::Critical), 1);
    assert_eq!(ev.counts.get(Severity::High), 1);
    assert_eq!(
        ev.reasons[0],
        "1 CRITICAL finding (policy: fail at 1 or more)"
    );
    let top = &ev.findings.as_ref().unwrap().top;
    assert_eq!(top[0].id, "CVE-2024-0001");
    assert_eq!(top[0].package.as_deref(), Some("openssl"));
    assert_eq!(
        statuses(&ev),
        vec![("quarantine".to_string(), ActionStatus::Done)]
    );
    assert_eq!(
        emu.tags(&repo, &digest).await,
        vec![quarantine_tag(&digest), "v1.0.0".to_string()]
    );
    assert_eq!(
        emu.image_count(&repo).await,
        1,
        "the tag is on the same image, not a new one"
    );
}

#[tokio::test]
async fn oci_manifest_is_quarantined_with_its_own_media_type_and_bytes() {
    let emu = Emulator::start().await;
    let (repo, digest) = scanned_image(
        &emu,
        "oci",
        &["main"],
        ManifestKind::Oci,
        critical_findings(),
    )
    .await;
    let gate = gate(&emu, "{}", false);
    let ev = evaluate(
        &gate,
        &ecr_scan_event(
            &repo,
            &digest,
            &["main"],
            json!({"CRITICAL": 1}),
            "COMPLETE",
        ),
    )
    .await;
    assert_eq!(ev.verdict, Verdict::Fail);
    assert_eq!(
        emu.tags(&repo, &digest).await,
        vec!["main".to_string(), quarantine_tag(&digest)]
    );
    let got = emu
        .ecr
        .batch_get_image()
        .repository_name(&repo)
        .image_ids(
            aws_sdk_ecr::types::ImageIdentifier::builder()
                .image_tag(quarantine_tag(&digest))
                .build(),
        )
        .accepted_media_types("application/vnd.oci.image.manifest.v1+json")
        .send()
        .await
        .unwrap();
    let image = &got.images()[0];
    assert_eq!(
        image.image_id().unwrap().image_digest(),
        Some(digest.as_str())
    );
    assert_eq!(
        image.image_manifest_media_type(),
        Some("application/vnd.oci.image.manifest.v1+json")
    );
}

#[tokio::test]
async fn the_same_event_twice_gives_one_quarantine_tag_and_no_error() {
    let emu = Emulator::start().await;
    let (repo, digest) = scanned_image(
        &emu,
        "twice",
        &["v2"],
        ManifestKind::DockerV2,
        critical_findings(),
    )
    .await;
    let gate = gate(&emu, "{}", false);
    let event = ecr_scan_event(&repo, &digest, &["v2"], json!({"CRITICAL": 1}), "COMPLETE");
    let first = evaluate(&gate, &event).await;
    let second = evaluate(&gate, &event).await;
    assert_eq!(
        statuses(&first),
        vec![("quarantine".to_string(), ActionStatus::Done)]
    );
    assert_eq!(
        statuses(&second),
        vec![("quarantine".to_string(), ActionStatus::AlreadyDone)]
    );
    assert_eq!(
        emu.tags(&repo, &digest).await,
        vec![quarantine_tag(&digest), "v2".to_string()]
    );
}

#[tokio::test]
async fn strip_removes_deployable_tags_only_after_quarantine_and_reports_them() {
    let emu = Emulator::start().await;
    let (repo, digest) = scanned_image(
        &emu,
        "strip",
        &["latest", "v3", "abc123"],
        ManifestKind::DockerV2,
        critical_findings(),
    )
    .await;
    let gate = gate(&emu, r#"{"strip_tags": ["latest", "v*"]}"#, false);
    let ev = evaluate(
        &gate,
        &ecr_scan_event(
            &repo,
            &digest,
            &["latest", "v3", "abc123"],
            json!({"CRITICAL": 1}),
            "COMPLETE",
        ),
    )
    .await;
    assert_eq!(
        ev.actions[0],
        Action::Quarantine {
            tag: quarantine_tag(&digest),
            status: ActionStatus::Done
        }
    );
    let Action::Strip { tags, status } = &ev.actions[1] else {
        panic!("{:?}", ev.actions)
    };
    assert_eq!(status, &ActionStatus::Done);
    let mut tags = tags.clone();
    tags.sort();
    assert_eq!(tags, vec!["latest".to_string(), "v3".to_string()]);
    assert_eq!(
        emu.tags(&repo, &digest).await,
        vec!["abc123".to_string(), quarantine_tag(&digest)]
    );
}

#[tokio::test]
async fn strip_everything_still_leaves_the_quarantine_tag_so_the_image_survives() {
    let emu = Emulator::start().await;
    let (repo, digest) = scanned_image(
        &emu,
        "stripall",
        &["latest"],
        ManifestKind::DockerV2,
        critical_findings(),
    )
    .await;
    let gate = gate(&emu, r#"{"strip_tags": ["*"]}"#, false);
    let ev = evaluate(
        &gate,
        &ecr_scan_event(
            &repo,
            &digest,
            &["latest"],
            json!({"CRITICAL": 1}),
            "COMPLETE",
        ),
    )
    .await;
    assert!(
        matches!(&ev.actions[1], Action::Strip { tags, status: ActionStatus::Done } if tags == &["latest".to_string()])
    );
    assert_eq!(
        emu.tags(&repo, &digest).await,
        vec![quarantine_tag(&digest)]
    );
    assert_eq!(emu.image_count(&repo).await, 1);
}

#[tokio::test]
async fn a_pass_releases_a_quarantined_image() {
    let emu = Emulator::start().await;
    let clean = basic_findings(vec![basic_finding(
        "CVE-2019-5188",
        "MEDIUM",
        "e2fsprogs",
        "1.44.1",
    )]);
    let (repo, digest) =
        scanned_image(&emu, "release", &["v4"], ManifestKind::DockerV2, clean).await;
    let qtag = quarantine_tag(&digest);
    emu.add_tag(&repo, &digest, &qtag).await;
    let gate = gate(&emu, "{}", false);
    // The rescan's event lists the tags, quarantine tag included.
    let ev = evaluate(
        &gate,
        &ecr_scan_event(
            &repo,
            &digest,
            &["v4", &qtag],
            json!({"MEDIUM": 1}),
            "COMPLETE",
        ),
    )
    .await;
    assert_eq!(ev.verdict, Verdict::Pass);
    // The event's counts pass, but a release is decided on the registry's current findings.
    assert_eq!(ev.basis, Basis::Findings);
    assert_eq!(
        ev.actions,
        vec![Action::Release {
            tag: qtag.clone(),
            status: ActionStatus::Done
        }]
    );
    assert_eq!(emu.tags(&repo, &digest).await, vec!["v4".to_string()]);
    // Delivered again: nothing left to release, no error.
    let again = evaluate(
        &gate,
        &ecr_scan_event(
            &repo,
            &digest,
            &["v4", &qtag],
            json!({"MEDIUM": 1}),
            "COMPLETE",
        ),
    )
    .await;
    assert!(again.actions.is_empty(), "{:?}", again.actions);
}

#[tokio::test]
async fn release_never_removes_the_images_only_tag() {
    let emu = Emulator::start().await;
    let repo = common::unique_repo("onlytag");
    emu.create_repo(&repo).await;
    let digest = emu.push(&repo, "tmp", ManifestKind::DockerV2).await;
    let qtag = quarantine_tag(&digest);
    emu.add_tag(&repo, &digest, &qtag).await;
    emu.ecr
        .batch_delete_image()
        .repository_name(&repo)
        .image_ids(
            aws_sdk_ecr::types::ImageIdentifier::builder()
                .image_tag("tmp")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(emu.tags(&repo, &digest).await, vec![qtag.clone()]);
    emu.seed(&repo, &digest, "COMPLETE", basic_findings(vec![]));
    emu.start_scan(&repo, &digest).await;
    let gate = gate(&emu, "{}", false);
    let ev = evaluate(
        &gate,
        &ecr_scan_event(&repo, &digest, &[&qtag], json!({}), "COMPLETE"),
    )
    .await;
    assert_eq!(ev.verdict, Verdict::Pass);
    assert!(
        matches!(&ev.actions[0], Action::Release { status: ActionStatus::Skipped { reason }, .. } if reason.contains("only tag"))
    );
    assert_eq!(emu.tags(&repo, &digest).await, vec![qtag]);
}

#[tokio::test]
async fn operator_invoke_by_tag_finds_the_digest_and_releases_after_a_policy_change() {
    let emu = Emulator::start().await;
    let (repo, digest) = scanned_image(
        &emu,
        "reeval",
        &["v5"],
        ManifestKind::DockerV2,
        critical_findings(),
    )
    .await;
    let strict = gate(&emu, "{}", false);
    let ev = evaluate(&strict, &json!({"repository": repo, "tag": "v5"})).await;
    assert_eq!(
        ev.digest.as_ref().map(|d| d.as_str()),
        Some(digest.as_str())
    );
    assert_eq!(ev.verdict, Verdict::Fail);
    assert_eq!(
        emu.tags(&repo, &digest).await,
        vec![quarantine_tag(&digest), "v5".to_string()]
    );

    // The policy now accepts the CVE: the operator re-evaluates by digest. (moto keeps one
    // seeded result per way of asking, so the same scan is seeded again for the digest.)
    emu.seed(&repo, &digest, "COMPLETE", critical_findings());
    let lenient = gate(
        &emu,
        r#"{"allowlist": [{"id": "CVE-2024-0001", "expires": "2027-01-31", "reason": "not reachable: no TLS in this service"}]}"#,
        false,
    );
    let ev = evaluate(&lenient, &json!({"repository": repo, "digest": digest})).await;
    assert_eq!(ev.verdict, Verdict::Warn, "{:?}", ev.reasons);
    let report = ev.findings.as_ref().unwrap();
    assert_eq!(report.allowlisted, 1);
    assert_eq!(report.allowlist.applied[0].id, "CVE-2024-0001");
    assert_eq!(
        ev.actions,
        vec![Action::Release {
            tag: quarantine_tag(&digest),
            status: ActionStatus::Done
        }]
    );
    assert_eq!(emu.tags(&repo, &digest).await, vec!["v5".to_string()]);
}

#[tokio::test]
async fn enhanced_findings_are_judged_per_finding_and_ignore_unfixed_applies() {
    let emu = Emulator::start().await;
    let (repo, digest) = scanned_image(
        &emu,
        "enhanced",
        &["latest"],
        ManifestKind::DockerV2,
        enhanced_sample_findings(),
    )
    .await;
    // The event says CRITICAL (counts are not trusted once findings are read).
    let event = ecr_scan_event(
        &repo,
        &digest,
        &["latest"],
        json!({"CRITICAL": 1}),
        "COMPLETE",
    );
    let ev = evaluate(&gate(&emu, "{}", false), &event).await;
    assert_eq!(ev.verdict, Verdict::Warn);
    assert_eq!(ev.counts.get(Severity::High), 1);
    assert_eq!(ev.counts.get(Severity::Critical), 0);
    let f = &ev.findings.as_ref().unwrap().top[0];
    assert_eq!(f.id, "CVE-2022-49043");
    assert_eq!(f.package.as_deref(), Some("libxml2"));
    assert_eq!(
        f.installed_version.as_deref(),
        Some("2.9.14+dfsg-1.3~deb12u1")
    );
    assert_eq!(f.fixed_version, None);
    assert_eq!(f.score, Some(8.1));

    let ev = evaluate(&gate(&emu, r#"{"ignore_unfixed": true}"#, false), &event).await;
    assert_eq!(ev.verdict, Verdict::Pass);
    assert_eq!(ev.findings.as_ref().unwrap().unfixed_ignored, 1);
}

#[tokio::test]
async fn only_active_enhanced_findings_count() {
    let emu = Emulator::start().await;
    let mut findings = enhanced_sample_findings();
    let mut critical = findings["enhancedFindings"][0].clone();
    critical["severity"] = json!("CRITICAL");
    critical["status"] = json!("SUPPRESSED");
    findings["enhancedFindings"]
        .as_array_mut()
        .unwrap()
        .push(critical);
    findings["findingSeverityCounts"] = json!({"HIGH": 1, "CRITICAL": 1});
    let (repo, digest) = scanned_image(
        &emu,
        "suppressed",
        &["latest"],
        ManifestKind::DockerV2,
        findings,
    )
    .await;
    let ev = evaluate(
        &gate(&emu, "{}", false),
        &ecr_scan_event(
            &repo,
            &digest,
            &["latest"],
            json!({"CRITICAL": 1}),
            "COMPLETE",
        ),
    )
    .await;
    assert_eq!(ev.verdict, Verdict::Warn, "{:?}", ev.reasons);
    assert_eq!(ev.findings.as_ref().unwrap().inactive, 1);
}

#[tokio::test]
async fn a_failed_scan_is_an_error_with_the_registrys_description() {
    let emu = Emulator::start().await;
    let repo = common::unique_repo("failed");
    emu.create_repo(&repo).await;
    let digest = emu.push(&repo, "v6", ManifestKind::DockerV2).await;
    emu.seed(&repo, &digest, "FAILED", Value::Null);
    emu.start_scan(&repo, &digest).await;
    let ev = evaluate(
        &gate(&emu, "{}", false),
        &ecr_scan_event(&repo, &digest, &["v6"], json!({}), "FAILED"),
    )
    .await;
    assert_eq!(ev.verdict, Verdict::Error);
    assert_eq!(
        ev.reasons,
        vec!["scan status FAILED: seeded FAILED".to_string()]
    );
    assert!(
        ev.actions.is_empty(),
        "on_scan_failure=alert changes nothing: {:?}",
        ev.actions
    );
    assert_eq!(emu.tags(&repo, &digest).await, vec!["v6".to_string()]);
}

#[tokio::test]
async fn fail_closed_quarantines_an_image_whose_scan_failed() {
    let emu = Emulator::start().await;
    let repo = common::unique_repo("block");
    emu.create_repo(&repo).await;
    let digest = emu.push(&repo, "v7", ManifestKind::DockerV2).await;
    let ev = evaluate(
        &gate(&emu, r#"{"on_scan_failure": "block"}"#, false),
        &ecr_scan_event(&repo, &digest, &["v7"], json!({}), "UNSUPPORTED_IMAGE"),
    )
    .await;
    assert_eq!(ev.verdict, Verdict::Error);
    assert_eq!(ev.scan_status.as_deref(), Some("UNSUPPORTED_IMAGE"));
    assert_eq!(
        statuses(&ev),
        vec![("quarantine".to_string(), ActionStatus::Done)]
    );
    assert_eq!(
        emu.tags(&repo, &digest).await,
        vec![quarantine_tag(&digest), "v7".to_string()]
    );
}

#[tokio::test]
async fn an_image_without_a_scan_is_an_error_not_a_pass() {
    let emu = Emulator::start().await;
    let repo = common::unique_repo("noscan");
    emu.create_repo(&repo).await;
    let digest = emu.push(&repo, "v8", ManifestKind::DockerV2).await;
    let ev = evaluate(
        &gate(&emu, "{}", false),
        &json!({"repository": repo, "digest": digest}),
    )
    .await;
    assert_eq!(ev.verdict, Verdict::Error);
    assert!(ev.reasons[0].contains("no scan result"), "{:?}", ev.reasons);
}

#[tokio::test]
async fn a_missing_repository_or_tag_is_an_error_verdict() {
    let emu = Emulator::start().await;
    let ev = evaluate(
        &gate(&emu, "{}", false),
        &json!({"repository": "no-such-repository", "tag": "latest"}),
    )
    .await;
    assert_eq!(ev.verdict, Verdict::Error);
    assert_eq!(
        ev.reasons,
        vec!["repository no-such-repository does not exist".to_string()]
    );
    let repo = common::unique_repo("notag");
    emu.create_repo(&repo).await;
    let ev = evaluate(
        &gate(&emu, "{}", false),
        &json!({"repository": repo, "tag": "nope"}),
    )
    .await;
    assert_eq!(ev.verdict, Verdict::Error);
    assert!(ev.reasons[0].contains("does not exist"), "{:?}", ev.reasons);
    assert_eq!(ev.digest, None);
}

#[tokio::test]
async fn dry_run_decides_and_reports_but_changes_nothing() {
    let emu = Emulator::start().await;
    let (repo, digest) = scanned_image(
        &emu,
        "dryrun",
        &["latest", "v9"],
        ManifestKind::DockerV2,
        critical_findings(),
    )
    .await;
    let ev = evaluate(
        &gate(&emu, r#"{"strip_tags": ["latest"]}"#, true),
        &ecr_scan_event(
            &repo,
            &digest,
            &["latest", "v9"],
            json!({"CRITICAL": 1}),
            "COMPLETE",
        ),
    )
    .await;
    assert_eq!(ev.verdict, Verdict::Fail);
    assert!(ev.dry_run);
    assert_eq!(
        statuses(&ev),
        vec![
            ("quarantine".to_string(), ActionStatus::DryRun),
            ("strip".to_string(), ActionStatus::DryRun)
        ]
    );
    assert_eq!(
        emu.tags(&repo, &digest).await,
        vec!["latest".to_string(), "v9".to_string()]
    );
}
