//! The hard block (docs/enforcement.md): a failing image nobody uses is
//! archived once its quarantine tag is in place, so ECR answers 404 to every pull; an image in
//! use is quarantined by tag only, and its alert says so; an archived image is never tagged
//! (a tag is a push, which restores it); a release restores first and finishes later what ECR
//! refuses while the image is activating.
//!
//! The emulator has no archive: the fault proxy answers `UpdateImageStorageClass` and adds
//! `imageStatus` / `lastRecordedPullTime` to `DescribeImages` as the Amazon ECR API Reference
//! documents them (tests/common/archive.rs), and Inspector's `inUseCount` as the Amazon
//! Inspector API Reference documents `ListFindingAggregations`.

mod common;

use common::archive::Archive;
use common::proxy::FaultProxy;
use common::{Emulator, TODAY};
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::adapters::aws::sns::SnsNotifier;
use ecr_scan_gate::domain::image::{Digest, ImageRef};
use ecr_scan_gate::domain::scan::ScanEvent;
use ecr_scan_gate::engine::deploy_check::{check, Decision};
use ecr_scan_gate::engine::gate::Gate;
use ecr_scan_gate::engine::ports::Deadline;
use ecr_scan_gate::engine::settings::Settings;
use ecr_scan_gate::entry::app::{self, App, Context, Output, RegistryOutcome};
use ecr_scan_gate::judgement::evaluation::{Action, ActionStatus, Evaluation, Response};
use ecr_scan_gate::policy::document::Policy;
use ecr_scan_gate::render::alert::AlertOptions;
use serde_json::json;
use std::time::Duration;

const UNUSED: &str = r#"{"block": {"archive": "unused", "in_use_days": 30}}"#;

fn qtag(digest: &str) -> String {
    format!("quarantine-{}", digest.trim_start_matches("sha256:"))
}

fn cx() -> Context<'static> {
    common::one_account_cx()
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn gate(proxy: &FaultProxy, policy: &str, settings: Settings) -> Gate<EcrRegistry> {
    let config = common::sdk_config(&proxy.endpoint).await;
    Gate::new(
        EcrRegistry::new(aws_sdk_ecr::Client::new(&config), "quarantine-")
            .with_inspector(aws_sdk_inspector2::Client::new(&config)),
        Policy::from_json(policy).unwrap(),
        settings,
    )
}

fn evaluated(output: Output) -> Evaluation {
    match output {
        Output::Gate(Response::Evaluated(ev)) => *ev,
        other => panic!("not an evaluation: {other:?}"),
    }
}

fn archive_status(ev: &Evaluation) -> Option<&ActionStatus> {
    ev.actions.iter().find_map(|a| match a {
        Action::Archive { status } => Some(status),
        _ => None,
    })
}

fn action<'a>(ev: &'a Evaluation, name: &str) -> Option<&'a ActionStatus> {
    ev.actions.iter().find_map(|a| {
        let json = serde_json::to_value(a).ok()?;
        (json["action"] == name).then(|| a.status())
    })
}

async fn direct(gate: &Gate<EcrRegistry>, repo: &str, digest: &str) -> Evaluation {
    let event = ScanEvent::direct(
        repo.to_string(),
        ImageRef::Digest(Digest::parse(digest).unwrap()),
    );
    gate.evaluate(&event, TODAY, Deadline::none())
        .await
        .expect("evaluated")
}

#[tokio::test]
async fn a_failing_image_nobody_pulled_is_archived_after_its_quarantine_tag_and_blocks_every_pull()
{
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let archive = Archive::install(&proxy);
    let (repo, digest, event) = common::image_with_critical_findings(&emu, "arch-unused", 1).await;
    // Pulled 45 days ago: outside the 30-day window.
    archive.set_last_pull(&digest, now_s() - 45 * 86_400);
    let app = App::new(gate(&proxy, UNUSED, Settings::default()).await);

    let ev = evaluated(app::handle(&app, &event, cx()).await.unwrap());
    assert_eq!(archive_status(&ev), Some(&ActionStatus::Done), "{ev:?}");
    assert_eq!(archive.status(&digest), "ARCHIVED");
    assert_eq!(
        archive.calls(),
        vec![(digest.clone(), "ARCHIVE".to_string())]
    );
    assert!(emu.tags(&repo, &digest).await.contains(&qtag(&digest)));
    // The quarantine tag goes on first, the archive second.
    let seq = proxy.sequence();
    let put = seq.iter().position(|o| o == "PutImage").expect("PutImage");
    let arch = seq
        .iter()
        .position(|o| o == "UpdateImageStorageClass")
        .expect("UpdateImageStorageClass");
    assert!(put < arch, "{seq:?}");
    // The response names the action.
    let response = serde_json::to_value(&ev).unwrap();
    assert!(
        response["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == &json!({"action": "archive", "status": "done"})),
        "{response}"
    );

    // The check says why it is blocked.
    let report = check(
        &app.gate,
        &repo,
        ImageRef::Digest(Digest::parse(&digest).unwrap()),
        Duration::ZERO,
        Duration::from_secs(5),
        TODAY,
    )
    .await;
    assert_eq!(report.decision, Decision::Blocked);
    assert!(report.archived, "{report:?}");
    assert!(
        ecr_scan_gate::cli::check::render_text(&report).starts_with("BLOCKED (archived)"),
        "{}",
        ecr_scan_gate::cli::check::render_text(&report)
    );

    // Evaluated again: nothing is called twice, nothing pushed to the archived image.
    proxy.reset_counts();
    let again = direct(&app.gate, &repo, &digest).await;
    assert_eq!(archive_status(&again), Some(&ActionStatus::AlreadyDone));
    assert_eq!(proxy.count("PutImage"), 0, "{:?}", proxy.counts());
    assert_eq!(proxy.count("UpdateImageStorageClass"), 0);
}

#[tokio::test]
async fn an_image_pulled_within_in_use_days_is_quarantined_by_tag_only_and_the_alert_says_since_when(
) {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let archive = Archive::install(&proxy);
    let topic = emu
        .topic_with_queue(&common::unique_repo("arch-inuse"), None)
        .await;
    let (_repo, digest, event) = common::image_with_critical_findings(&emu, "arch-inuse", 1).await;
    let pulled = now_s() - 2 * 86_400;
    archive.set_last_pull(&digest, pulled);
    let config = common::sdk_config(&proxy.endpoint).await;
    let gate = gate(&proxy, UNUSED, Settings::default())
        .await
        .with_notifier(Box::new(SnsNotifier::new(
            aws_sdk_sns::Client::new(&config),
            &topic.topic_arn,
            AlertOptions::default(),
        )));
    let app = App::new(gate);

    let ev = evaluated(app::handle(&app, &event, cx()).await.unwrap());
    match archive_status(&ev) {
        Some(ActionStatus::Skipped { reason }) => {
            assert!(reason.contains("in use"), "{reason}");
            assert!(reason.contains("2 days ago"), "{reason}");
            assert!(reason.contains("quarantined by tag only"), "{reason}");
        }
        other => panic!("archive not skipped: {other:?}"),
    }
    assert_eq!(action(&ev, "quarantine"), Some(&ActionStatus::Done));
    assert!(archive.calls().is_empty());
    assert_eq!(archive.status(&digest), "ACTIVE");
    let sent = emu.sent_notifications(&topic.topic_arn);
    assert_eq!(sent.len(), 1);
    let text = sent[0].0.clone();
    let when = ecr_scan_gate::domain::date::rfc3339(pulled).unwrap();
    assert!(text.contains("in use"), "{text}");
    assert!(text.contains(&format!("last pulled {when}")), "{text}");
    assert!(text.contains("quarantined by tag only"), "{text}");
    let subject = sent[0].1.clone().unwrap_or_default();
    assert!(subject.contains("in use: tag only"), "{subject}");
}

#[tokio::test]
async fn inspector_in_use_count_keeps_an_image_out_of_the_archive_and_always_archives_it() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let archive = Archive::install(&proxy);
    let (repo, digest, _event) = common::image_with_critical_findings(&emu, "arch-insp", 1).await;
    // Never pulled by ECR's record, but Inspector sees two running containers.
    archive.set_in_use(&digest, 2);

    let unused = gate(&proxy, UNUSED, Settings::default()).await;
    let ev = direct(&unused, &repo, &digest).await;
    match archive_status(&ev) {
        Some(ActionStatus::Skipped { reason }) => {
            assert!(reason.contains("2 running containers"), "{reason}")
        }
        other => panic!("archive not skipped: {other:?}"),
    }
    assert!(archive.calls().is_empty());

    let always = gate(
        &proxy,
        r#"{"block": {"archive": "always"}}"#,
        Settings::default(),
    )
    .await;
    proxy.reset_counts();
    let ev = direct(&always, &repo, &digest).await;
    assert_eq!(archive_status(&ev), Some(&ActionStatus::Done), "{ev:?}");
    assert_eq!(archive.status(&digest), "ARCHIVED");
    // `always` does not ask whether the image is in use.
    assert_eq!(proxy.count(common::inspector::OPERATION), 0);
}

#[tokio::test]
async fn off_by_default_and_dry_run_archive_nothing() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let archive = Archive::install(&proxy);
    let (repo, digest, _event) = common::image_with_critical_findings(&emu, "arch-off", 1).await;

    let off = gate(&proxy, "{}", Settings::default()).await;
    let ev = direct(&off, &repo, &digest).await;
    assert_eq!(archive_status(&ev), None, "{ev:?}");

    let dry = gate(
        &proxy,
        UNUSED,
        Settings {
            dry_run: true,
            ..Settings::default()
        },
    )
    .await;
    let (repo2, digest2, _) = common::image_with_critical_findings(&emu, "arch-dry", 1).await;
    let ev = direct(&dry, &repo2, &digest2).await;
    assert_eq!(archive_status(&ev), Some(&ActionStatus::DryRun), "{ev:?}");
    assert!(archive.calls().is_empty());
    assert_eq!(archive.status(&digest2), "ACTIVE");
}

#[tokio::test]
async fn an_archived_image_is_never_tagged_and_the_sweep_keeps_it_in_scope() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let archive = Archive::install(&proxy);
    let (repo, digest, _event) = common::image_with_critical_findings(&emu, "arch-lc", 1).await;
    // Archived by a lifecycle rule, without the gate's tag.
    archive.set_status(&digest, "ARCHIVED");
    let app = App::new(gate(&proxy, UNUSED, Settings::default()).await);

    proxy.reset_counts();
    let ev = direct(&app.gate, &repo, &digest).await;
    match action(&ev, "quarantine") {
        Some(ActionStatus::Skipped { reason }) => assert!(reason.contains("archived"), "{reason}"),
        other => panic!("quarantine not skipped: {other:?}"),
    }
    assert_eq!(archive_status(&ev), Some(&ActionStatus::AlreadyDone));
    assert_eq!(
        proxy.count("PutImage"),
        0,
        "a tag is a push: {:?}",
        proxy.counts()
    );
    assert_eq!(proxy.count("BatchGetImage"), 0);

    // The sweep lists archived images (DescribeImages answers ACTIVE ones only unless asked).
    proxy.reset_counts();
    let input = json!({"sweep": {"repositories": [repo]}});
    let r = match app::handle(&app, &input, cx()).await.unwrap() {
        Output::Registry(RegistryOutcome::Swept(r)) => *r,
        other => panic!("{other:?}"),
    };
    assert_eq!(r.images, 1, "{r:?}");
    assert!(r.errors.is_empty(), "{r:?}");
    assert_eq!(proxy.count("PutImage"), 0);
    assert_eq!(proxy.count("UpdateImageStorageClass"), 0);
    assert_eq!(proxy.count("StartImageScan"), 0);
}

#[tokio::test]
async fn a_release_restores_the_image_then_finishes_the_tag_once_ecr_has_restored_it() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let archive = Archive::install(&proxy);
    let (repo, digest, event) = common::image_with_critical_findings(&emu, "arch-rel", 1).await;
    let app = App::new(gate(&proxy, UNUSED, Settings::default()).await);
    evaluated(app::handle(&app, &event, cx()).await.unwrap());
    assert_eq!(archive.status(&digest), "ARCHIVED");

    // The finding is accepted now: the image passes.
    let accepting = gate(
        &proxy,
        r#"{"block": {"archive": "unused"},
            "allowlist": [{"id": "CVE-2026-1000", "reason": "not reachable"}]}"#,
        Settings::default(),
    )
    .await;
    Archive::refuse_deletes(&proxy);
    let ev = direct(&accepting, &repo, &digest).await;
    assert_eq!(action(&ev, "restore"), Some(&ActionStatus::Done), "{ev:?}");
    assert_eq!(archive.status(&digest), "ACTIVATING");
    assert_eq!(
        archive.calls().last(),
        Some(&(digest.clone(), "STANDARD".to_string()))
    );
    match action(&ev, "release") {
        Some(ActionStatus::Pending { reason }) => {
            assert!(reason.contains("ACTIVATING"), "{reason}")
        }
        other => panic!("release not pending: {other:?}"),
    }
    assert!(emu.tags(&repo, &digest).await.contains(&qtag(&digest)));

    // ECR finished the restore: the next evaluation removes the tag, and restores nothing.
    archive.set_status(&digest, "ACTIVE");
    proxy.unanswer("BatchDeleteImage");
    let calls = archive.calls().len();
    let ev = direct(&accepting, &repo, &digest).await;
    assert_eq!(action(&ev, "release"), Some(&ActionStatus::Done), "{ev:?}");
    assert_eq!(action(&ev, "restore"), None);
    assert_eq!(archive.calls().len(), calls);
    assert_eq!(emu.tags(&repo, &digest).await, vec!["v1.4.2".to_string()]);
}

#[tokio::test]
async fn a_failed_restore_keeps_the_quarantine_tag() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let archive = Archive::install(&proxy);
    let (repo, digest, _event) = common::image_with_critical_findings(&emu, "arch-norest", 1).await;
    emu.add_tag(&repo, &digest, &qtag(&digest)).await;
    archive.set_status(&digest, "ARCHIVED");
    proxy.inject(
        Some("UpdateImageStorageClass"),
        common::proxy::Fault::ServerError,
        100,
    );
    let accepting = gate(
        &proxy,
        r#"{"allowlist": [{"id": "CVE-2026-1000", "reason": "not reachable"}]}"#,
        Settings::default(),
    )
    .await;
    let event = ScanEvent::direct(
        repo.clone(),
        ImageRef::Digest(Digest::parse(&digest).unwrap()),
    );
    let err = accepting
        .evaluate(&event, TODAY, Deadline::none())
        .await
        .expect_err("a failed restore fails the invocation");
    let ev = err.evaluation().expect("the decision").clone();
    assert!(
        matches!(action(&ev, "restore"), Some(ActionStatus::Failed { .. })),
        "{ev:?}"
    );
    assert!(
        matches!(action(&ev, "release"), Some(ActionStatus::Skipped { .. })),
        "{ev:?}"
    );
    assert!(emu.tags(&repo, &digest).await.contains(&qtag(&digest)));
}
