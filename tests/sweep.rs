//! The inline sweep (`{"sweep": {...}}` without a queue), against the moto server behind the
//! fault proxy, which adds the scan summaries moto's DescribeImages lacks (and paginates it when
//! asked): what it judges, its scope, its deadline, a throttled listing.

mod common;
mod fakes;
mod sweep_support;

use common::proxy::Fault;
use common::ManifestKind;
use ecr_scan_gate::domain::verdict::Verdict;
use ecr_scan_gate::engine::ports::Deadline;
use ecr_scan_gate::entry::app;
use ecr_scan_gate::entry::app::{App, Output, RegistryOutcome};
use ecr_scan_gate::entry::sweep::{INLINE_RESERVE, LISTING_RESERVE};
use fakes::RecordingNotifier;
use serde_json::json;
use std::time::{Duration, Instant};
use sweep_support::*;

#[tokio::test]
async fn an_inline_sweep_judges_every_tagged_image_and_alerts_only_on_a_change() {
    let w = World::new("sweep-inline", None).await;
    let clean = w.image("clean", 0, 2).await;
    let critical = w.image("bad", 1, 0).await;
    // Quarantined before, clean now (e.g. an allowlist entry was added): due for release.
    let fixed = w.image("fixed", 0, 0).await;
    w.emu.add_tag(&w.repo, &fixed, &qtag(&fixed)).await;
    // Pushed, never scanned.
    let unscanned = w.emu.push(&w.repo, "new", ManifestKind::DockerV2).await;
    let alerts = RecordingNotifier::new("sns");
    let app = App::new(w.gate(&alerts).await);

    let r = swept(run(&app, &w.sweep_input(), Deadline::none()).await);
    assert_eq!(r.images, 4, "{r:?}");
    assert_eq!(
        r.passed_by_summary, 1,
        "only the clean image is decided by its summary"
    );
    // The never-scanned image is looked at (no summary is no verdict), and its scan result
    // (ScanNotFoundException) makes it unscanned, with no verdict and no action.
    assert_eq!(r.unscanned, 1);
    assert_eq!(r.evaluated, Some(3));
    assert_eq!(r.enqueued, None);
    let verdicts = r.verdicts.clone().unwrap();
    assert_eq!(verdicts.get(&Verdict::Fail), Some(&1));
    assert_eq!(verdicts.get(&Verdict::Pass), Some(&1));
    let ids = |v: &Option<Vec<ecr_scan_gate::entry::sweep::report::ImageId>>| {
        v.clone()
            .unwrap()
            .into_iter()
            .map(|i| i.digest)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&r.quarantined), vec![critical.clone()]);
    assert_eq!(ids(&r.released), vec![fixed.clone()]);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(r.complete);
    assert_eq!((r.repositories, r.repositories_done), (1, 1));
    assert_eq!(
        w.emu.tags(&w.repo, &critical).await,
        vec!["bad".to_string(), qtag(&critical)]
    );
    assert_eq!(w.emu.tags(&w.repo, &fixed).await, vec!["fixed".to_string()]);
    assert_eq!(w.emu.tags(&w.repo, &clean).await, vec!["clean".to_string()]);
    assert_eq!(
        w.emu.tags(&w.repo, &unscanned).await,
        vec!["new".to_string()]
    );
    // One alert per change: the newly quarantined image and the released one.
    assert_eq!(alerts.count(), 2);
    let sent = alerts.sent.lock().unwrap().clone();
    assert!(sent
        .iter()
        .all(|e| e.trigger == ecr_scan_gate::domain::scan::Trigger::Sweep));
    // The summary fast path read no findings of the clean image; the three others were read.
    assert_eq!(w.proxy.count("DescribeImageScanFindings"), 3);

    // The next night: nothing changed, nothing is alerted again.
    let again = swept(run(&app, &w.sweep_input(), Deadline::none()).await);
    assert_eq!(ids(&again.quarantined), Vec::<String>::new());
    assert_eq!(ids(&again.released), Vec::<String>::new());
    assert_eq!(
        again.passed_by_summary, 2,
        "the released image is no longer quarantined"
    );
    assert_eq!(again.verdicts.unwrap().get(&Verdict::Fail), Some(&1));
    assert_eq!(
        alerts.count(),
        2,
        "an image that stays quarantined is not alerted again"
    );
}

#[tokio::test]
async fn start_scans_asks_for_a_scan_of_unscanned_images_and_a_daily_limit_is_no_error() {
    let w = World::new("sweep-scan", None).await;
    let a = w.emu.push(&w.repo, "a", ManifestKind::DockerV2).await;
    let _b = w.emu.push(&w.repo, "b", ManifestKind::DockerV2).await;
    w.emu.start_scan(&w.repo, &a).await; // a second scan today: LimitExceededException
    let alerts = RecordingNotifier::new("sns");
    let app = App::new(w.gate(&alerts).await);
    let input = json!({"sweep": {"repositories": [w.repo], "start_scans": true}});
    let r = swept(run(&app, &input, Deadline::none()).await);
    // moto answers a started scan at once, so the closer look that follows finds a result: both
    // images are judged, none is left unscanned (on AWS the scan would still be IN_PROGRESS).
    assert_eq!((r.images, r.unscanned), (2, 0));
    assert_eq!((r.scans_started, r.scans_limited), (1, 1), "{r:?}");
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(w.proxy.count("StartImageScan"), 2);
}

#[tokio::test]
async fn pushed_within_days_and_repository_globs_bound_the_scope() {
    let w = World::new("sweep-scope", None).await;
    w.image("v1", 1, 0).await;
    let alerts = RecordingNotifier::new("sns");
    let app = App::new(w.gate(&alerts).await);
    // moto stamps the push with the real clock; an anchor 30 days later leaves it out of a
    // 7-day window and inside a 60-day one.
    let later = NOW_S.max(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
    ) + 30 * 86_400;
    let mut c = cx(Deadline::none());
    c.now_s = later;
    let input =
        |days: u64| json!({"sweep": {"repositories": [w.repo], "pushed_within_days": days}});
    let out = app::handle(&app, &input(7), c).await.unwrap();
    assert_eq!(swept(out).images, 0);
    let out = app::handle(&app, &input(60), c).await.unwrap();
    assert_eq!(swept(out).images, 1);
    let none = json!({"sweep": {"repositories": ["no-such-repository-*"]}});
    let r = swept(run(&app, &none, Deadline::none()).await);
    assert_eq!((r.repositories, r.images, r.complete), (0, 0, true));
    let err = app::handle(
        &app,
        &json!({"sweep": {"pushed_within_days": 0}}),
        cx(Deadline::none()),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid event: `sweep.pushed_within_days` must be between 1 and 36500, got 0"
    );
}

#[tokio::test]
async fn an_inline_sweep_near_its_deadline_says_complete_false_and_how_far_it_got() {
    let w = World::new("sweep-deadline", None).await;
    let a = w.image("a", 1, 0).await;
    w.image("b", 1, 0).await;
    let alerts = RecordingNotifier::new("sns");
    let app = App::new(w.gate(&alerts).await);

    // Time to list, not to start an evaluation: the listing is held at the proxy until less than
    // an evaluation's reserve is left, then answered. No margin of the clock decides it.
    let deadline = Deadline::at(Instant::now() + INLINE_RESERVE + Duration::from_secs(2));
    let out = sweep_held_until(&app, &w, "DescribeImages", deadline, INLINE_RESERVE).await;
    let r = swept(out);
    assert!(!r.complete);
    assert_eq!(r.images, 2, "listed");
    assert_eq!(r.evaluated, Some(0), "none started");
    assert_eq!(r.stopped_in.as_deref(), Some(w.repo.as_str()));
    assert_eq!(r.repositories_done, 0);
    assert_eq!(
        w.emu.tags(&w.repo, &a).await,
        vec!["a".to_string()],
        "nothing half-done"
    );

    // No time even to list: every listing call is bounded by the deadline, the repositories'
    // too, and the sweep says why it did nothing.
    let deadline = Deadline::at(Instant::now() + LISTING_RESERVE / 2);
    let r = swept(run(&app, &w.sweep_input(), deadline).await);
    assert!(!r.complete);
    assert_eq!((r.images, r.repositories, r.repositories_done), (0, 0, 0));
    assert!(
        r.errors
            .iter()
            .any(|e| e.contains("before the Lambda deadline")),
        "{:?}",
        r.errors
    );
    let v = serde_json::to_value(Output::Registry(RegistryOutcome::Swept(Box::new(r)))).unwrap();
    assert_eq!(v["outcome"], "swept");
    assert_eq!(v["complete"], false);
}

#[tokio::test]
async fn a_throttled_describe_images_in_the_middle_of_a_listing_is_retried() {
    let w = World::new("sweep-pages", Some(2)).await;
    for i in 0..5 {
        w.image(&format!("v{i}"), 0, 1).await;
    }
    let alerts = RecordingNotifier::new("sns");
    let app = App::new(w.gate(&alerts).await);
    w.proxy.reset_counts();
    // The second page is throttled once.
    w.proxy
        .inject_after(Some("DescribeImages"), 1, Fault::Throttle, 1);
    let r = swept(run(&app, &w.sweep_input(), Deadline::none()).await);
    assert_eq!(w.proxy.faults_served(), 1);
    assert_eq!(w.proxy.count("DescribeImages"), 4, "3 pages and one retry");
    assert_eq!((r.images, r.passed_by_summary), (5, 5));
    assert!(r.complete && r.errors.is_empty(), "{r:?}");
}
