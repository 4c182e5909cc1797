//! The sweep with its queue, against the moto server behind the fault proxy: what the sweep
//! enqueues, how the queue's records are judged and answered (batch item failures), a sweep
//! racing a scan event, a burst under ECR's quotas, and the deadlines of both.

mod common;
mod fakes;
mod sweep_support;

use common::proxy::Fault;
use common::{ecr_scan_event, TODAY};
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::adapters::aws::sqs::SqsSweepQueue;
use ecr_scan_gate::engine::gate::Gate;
use ecr_scan_gate::engine::ports::Deadline;
use ecr_scan_gate::engine::settings::Settings;
use ecr_scan_gate::entry::app::{App, Output, RegistryOutcome};
use ecr_scan_gate::entry::sweep::LISTING_RESERVE;
use ecr_scan_gate::judgement::evaluation::{Action, ActionStatus, Response};
use ecr_scan_gate::policy::document::Policy;
use fakes::RecordingNotifier;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use sweep_support::*;

#[tokio::test]
async fn with_a_queue_the_sweep_enqueues_only_what_needs_a_closer_look_and_the_queue_evaluates_it_idempotently(
) {
    let w = World::new("sweep-queue", Some(1000)).await;
    w.image("clean", 0, 1).await;
    let critical = w.image("bad", 2, 0).await;
    let sqs = w.emu.sqs();
    let queue_url = common::new_queue(&sqs, "sweep-q").await;
    let alerts = RecordingNotifier::new("sns");
    let app = App::new(w.gate(&alerts).await)
        .with_sweep_queue(Box::new(SqsSweepQueue::new(sqs.clone(), &queue_url)));

    let r = swept(run(&app, &w.sweep_input(), Deadline::none()).await);
    assert_eq!(
        (r.images, r.passed_by_summary, r.enqueued),
        (2, 1, Some(1)),
        "{r:?}"
    );
    assert_eq!((r.evaluated, r.quarantined.as_ref()), (None, None));
    assert_eq!(
        w.emu.tags(&w.repo, &critical).await,
        vec!["bad".to_string()],
        "enqueued, not acted on"
    );
    let v = serde_json::to_value(Output::Registry(RegistryOutcome::Swept(Box::new(r)))).unwrap();
    assert_eq!(v["outcome"], "swept");
    assert!(v.get("evaluated").is_none() && v.get("verdicts").is_none());

    let bodies = common::take_bodies(&sqs, &queue_url).await;
    assert_eq!(bodies.len(), 1);
    let sent: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(
        sent,
        json!({"repository": w.repo, "digest": critical, "sweep": true})
    );

    // Lambda's part: the SQS event with that body.
    let event = sqs_event(&[("m-1", bodies[0].clone())]);
    let out = run(&app, &event, Deadline::none()).await;
    assert_eq!(batch_failures(&out), Vec::<String>::new());
    assert_eq!(
        w.emu.tags(&w.repo, &critical).await,
        vec!["bad".to_string(), qtag(&critical)]
    );
    assert_eq!(alerts.count(), 1, "newly quarantined: one alert");

    // Redelivery (a visibility timeout ran out): nothing changes twice, nothing alerts again.
    let out = run(&app, &event, Deadline::none()).await;
    assert_eq!(batch_failures(&out), Vec::<String>::new());
    assert_eq!(
        w.emu.tags(&w.repo, &critical).await,
        vec!["bad".to_string(), qtag(&critical)]
    );
    assert_eq!(alerts.count(), 1);
}

#[tokio::test]
async fn a_malformed_queue_body_is_a_batch_item_failure_and_nothing_else_fails() {
    let w = World::new("sweep-poison", None).await;
    let a = w.image("a", 1, 0).await;
    let b = w.image("b", 1, 0).await;
    let alerts = RecordingNotifier::new("sns");
    let app = App::new(w.gate(&alerts).await);
    let event = sqs_event(&[
        ("ok-1", body(&w.repo, &a)),
        ("not-json", "{\"repository\": ".to_string()),
        (
            "bad-repo",
            json!({"repository": "Not A Repo", "digest": a, "sweep": true}).to_string(),
        ),
        (
            "no-image",
            json!({"repository": w.repo, "sweep": true}).to_string(),
        ),
        (
            "bad-sweep",
            json!({"repository": w.repo, "digest": a, "sweep": "yes"}).to_string(),
        ),
        ("ok-2", body(&w.repo, &b)),
    ]);
    let out = run(&app, &event, Deadline::none()).await;
    let mut failed = batch_failures(&out);
    failed.sort();
    assert_eq!(
        failed,
        vec!["bad-repo", "bad-sweep", "no-image", "not-json"]
    );
    assert_eq!(
        w.emu.tags(&w.repo, &a).await,
        vec!["a".to_string(), qtag(&a)]
    );
    assert_eq!(
        w.emu.tags(&w.repo, &b).await,
        vec!["b".to_string(), qtag(&b)]
    );
}

#[tokio::test]
async fn a_failed_action_fails_only_its_own_record() {
    let w = World::new("sweep-fail", None).await;
    let bad = w.image("bad", 1, 0).await;
    let clean = w.image("clean", 0, 0).await;
    let alerts = RecordingNotifier::new("sns");
    let app = App::new(w.gate(&alerts).await);
    // Refused, not throttled: the function's client does not retry a refusal, so the record
    // fails at once instead of after its 100 attempts. The refusal as the ECR User Guide,
    // "Troubleshooting Amazon ECR error messages", shows it: HTTP 403, AccessDeniedException.
    w.proxy.inject(Some("PutImage"), Fault::AccessDenied, 1000);
    let event = sqs_event(&[
        ("m-bad", body(&w.repo, &bad)),
        ("m-clean", body(&w.repo, &clean)),
    ]);
    let out = run(&app, &event, Deadline::none()).await;
    assert_eq!(batch_failures(&out), vec!["m-bad".to_string()]);
    // A quarantine that failed leaves a failing image deployable: that is a change a person
    // must hear of (the one rule of `alert_gate`), even from the sweep. The clean image that
    // changed nothing alerts nothing.
    assert_eq!(alerts.count(), 1, "one alert, for the failed quarantine");
    let sent = alerts.sent.lock().unwrap();
    assert_eq!(
        sent[0].digest.as_ref().map(|d| d.as_str()),
        Some(bad.as_str())
    );
    assert!(
        sent[0].actions.iter().any(|a| matches!(
            a,
            Action::Quarantine {
                status: ActionStatus::Failed { .. },
                ..
            }
        )),
        "{:?}",
        sent[0].actions
    );
}

#[tokio::test]
async fn a_sweep_racing_a_scan_event_for_the_same_digest_never_double_tags() {
    let w = World::new("sweep-race", None).await;
    let digest = w.image("v1", 1, 0).await;
    let alerts = RecordingNotifier::new("sns");
    let app = App::new(w.gate(&alerts).await);
    let scan_event = ecr_scan_event(
        &w.repo,
        &digest,
        &["v1"],
        json!({"CRITICAL": 1}),
        "COMPLETE",
    );
    let queue_event = sqs_event(&[("m-1", body(&w.repo, &digest))]);
    let (from_event, from_sweep) = tokio::join!(
        run(&app, &scan_event, Deadline::none()),
        run(&app, &queue_event, Deadline::none())
    );
    assert_eq!(batch_failures(&from_sweep), Vec::<String>::new());
    let Output::Gate(Response::Evaluated(ev)) = from_event else {
        panic!("{from_event:?}")
    };
    let event_status = ev.actions[0].status().clone();
    assert!(matches!(ev.actions[0], Action::Quarantine { .. }));
    assert_eq!(
        w.emu.tags(&w.repo, &digest).await,
        vec![qtag(&digest), "v1".to_string()]
    );
    // Exactly one PutImage changed the image; the sweep alerted only if it was the one.
    let sweep_alerts = alerts
        .sent
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.trigger == ecr_scan_gate::domain::scan::Trigger::Sweep)
        .count();
    match event_status {
        ActionStatus::Done => assert_eq!(sweep_alerts, 0),
        ActionStatus::AlreadyDone => assert_eq!(sweep_alerts, 1),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_burst_of_24_failing_images_under_a_put_image_quota_of_2_per_second_loses_none_within_the_queues_deliveries(
) {
    let w = World::new("sweep-quota", None).await;
    let mut digests = Vec::new();
    for i in 0..24 {
        digests.push(w.image(&format!("v{i}"), 1, 0).await);
    }
    w.proxy.rate_limit("PutImage", 2);
    // Four instances, each with the function's own ECR client (adaptive retry), six records
    // each, all at once.
    let config = common::function_config(&w.proxy.endpoint).await;
    let mut apps = Vec::new();
    for instance in 0..4 {
        // Separate processes on Lambda: each its own client-side rate limiter.
        let ecr = ecr_scan_gate::adapters::aws::ecr::client(&config);
        let own = ecr
            .config()
            .to_builder()
            .retry_partition(aws_sdk_ecr::config::retry::RetryPartition::new(format!(
                "instance-{instance}"
            )))
            .build();
        let gate = Gate::new(
            EcrRegistry::new(aws_sdk_ecr::Client::from_conf(own), "quarantine-"),
            Policy::default(),
            Settings::default(),
        );
        apps.push(App::new(gate));
    }
    let events: Vec<Value> = digests
        .chunks(6)
        .map(|chunk| {
            let bodies: Vec<(String, String)> = chunk
                .iter()
                .map(|d| (d.clone(), body(&w.repo, d)))
                .collect();
            let refs: Vec<(&str, String)> = bodies
                .iter()
                .map(|(id, b)| (id.as_str(), b.clone()))
                .collect();
            sqs_event(&refs)
        })
        .collect();
    let outs = futures_util::future::join_all(
        apps.iter()
            .zip(&events)
            .map(|(app, event)| run(app, event, Deadline::none())),
    )
    .await;
    // SQS's part: a record named in batchItemFailures is delivered again, up to the queue's
    // maxReceiveCount (3 in the Terraform), then it would go to the dead-letter queue. Under the
    // quota an image whose retries ran out is named, never dropped, and a redelivery finishes
    // it; usually the first delivery does it all.
    let mut again: Vec<String> = outs.iter().flat_map(batch_failures).collect();
    for delivery in 2..=3 {
        if again.is_empty() {
            break;
        }
        let bodies: Vec<(&str, String)> = again
            .iter()
            .map(|d| (d.as_str(), body(&w.repo, d)))
            .collect();
        let out = run(&apps[0], &sqs_event(&bodies), Deadline::none()).await;
        again = batch_failures(&out);
        assert!(
            delivery < 3 || again.is_empty(),
            "still failing after 3 deliveries (would go to the dead-letter queue): {again:?}"
        );
    }
    assert!(w.proxy.faults_served() > 0, "the quota was reached");
    for d in &digests {
        assert!(w.emu.tags(&w.repo, d).await.contains(&qtag(d)), "{d} lost");
    }
}

/// The burst: 24 failing images at once, 4 instances, ECR's quotas modelled at the
/// proxy (PutImage 2/s, BatchGetImage and DescribeImageScanFindings 4/s), each record
/// delivered once, a Lambda timeout of 60 s: none fails, because an invocation keeps retrying
/// throttled calls while its deadline allows instead of giving up after a fixed count.
#[tokio::test]
async fn under_ecr_quotas_a_burst_of_24_is_quarantined_on_the_first_delivery() {
    let w = World::new("sweep-quota-once", None).await;
    let mut digests = Vec::new();
    for i in 0..24 {
        digests.push(w.image(&format!("v{i}"), 1, 0).await);
    }
    w.proxy.rate_limit("PutImage", 2);
    w.proxy.rate_limit("BatchGetImage", 4);
    w.proxy.rate_limit("DescribeImageScanFindings", 4);
    let config = common::function_config(&w.proxy.endpoint).await;
    // Separate processes on Lambda: each its own retry partition, built as the function
    // builds its clients.
    let apps: Vec<App<EcrRegistry>> = (0..4)
        .map(|instance| {
            App::new(Gate::new(
                EcrRegistry::new(
                    ecr_scan_gate::adapters::aws::ecr::client_in_partition(
                        &config,
                        &format!("burst-instance-{instance}"),
                    ),
                    "quarantine-",
                ),
                Policy::default(),
                Settings::default(),
            ))
        })
        .collect();
    let events: Vec<Value> = digests
        .chunks(6)
        .map(|chunk| {
            let bodies: Vec<(&str, String)> = chunk
                .iter()
                .map(|d| (d.as_str(), body(&w.repo, d)))
                .collect();
            sqs_event(&bodies)
        })
        .collect();
    let deadline = Deadline::at(Instant::now() + Duration::from_secs(60));
    let outs = futures_util::future::join_all(
        apps.iter()
            .zip(&events)
            .map(|(app, event)| run(app, event, deadline)),
    )
    .await;
    let failed: Vec<String> = outs.iter().flat_map(batch_failures).collect();
    assert!(w.proxy.faults_served() > 0, "the quotas were reached");
    assert_eq!(
        failed,
        Vec::<String>::new(),
        "records failed on their only delivery"
    );
    for d in &digests {
        assert!(w.emu.tags(&w.repo, d).await.contains(&qtag(d)), "{d} lost");
    }
}

#[tokio::test]
async fn a_quarantine_throttled_until_the_deadline_is_abandoned_before_it_not_cut_off() {
    let w = World::new("sweep-abandon", None).await;
    let digest = w.image("v1", 1, 0).await;
    let config = common::function_config(&w.proxy.endpoint).await;
    let gate = Gate::new(
        EcrRegistry::new(
            common::function_ecr(&config, &w.proxy.endpoint),
            "quarantine-",
        ),
        Policy::default(),
        Settings::default(),
    );
    w.proxy.inject(Some("PutImage"), Fault::Throttle, 10_000);
    // Ample time to start the change (10 s more than its reserve: reading one page of findings
    // takes far less, even on a loaded runner), not for the function's 100 attempts.
    let deadline =
        Deadline::at(Instant::now() + Deadline::CHANGE_RESERVE + Duration::from_secs(10));
    let event = ecr_scan_event(
        &w.repo,
        &digest,
        &["v1"],
        json!({"CRITICAL": 1}),
        "COMPLETE",
    );
    let err = gate
        .handle_until(&event, TODAY, deadline)
        .await
        .expect_err("the quarantine cannot succeed");
    assert_eq!(err.kind(), "ActionsFailed");
    let text = err.to_string();
    assert!(
        text.contains("ECR BatchGetImage/PutImage on")
            && text.contains("abandoned")
            && text.contains("the event will be retried"),
        "{text}"
    );
    let attempts = w.proxy.count("PutImage");
    assert!(
        (2..ecr_scan_gate::adapters::aws::ecr::MAX_ATTEMPTS as usize).contains(&attempts),
        "the change was started and retried, then given up by the deadline, not by running out of attempts: {attempts}"
    );
    assert!(
        deadline.allows(Duration::from_millis(1)),
        "it ended before the deadline, not cut off by it"
    );
    assert_eq!(w.emu.tags(&w.repo, &digest).await, vec!["v1".to_string()]);
}

/// A queued sweep that reaches its deadline sends its continuation to its own queue; the
/// continuation, consumed like any record, goes on from the page where it stopped: every image
/// is enqueued once, none twice, and the tail is not left for another night.
#[tokio::test]
async fn a_queued_sweep_stopped_by_its_deadline_goes_on_from_where_it_stopped() {
    let w = World::new("sweep-resume", Some(1)).await;
    let mut failing = Vec::new();
    for i in 0..3 {
        failing.push(w.image(&format!("v{i}"), 1, 0).await);
    }
    // Through the proxy, which holds the first SendMessageBatch.
    let sqs = aws_sdk_sqs::Client::new(&common::function_config(&w.proxy.endpoint).await);
    let queue_url = common::new_queue(&sqs, "sweep-resume-q").await;
    let alerts = RecordingNotifier::new("sns");
    let app = App::new(w.gate(&alerts).await)
        .with_sweep_queue(Box::new(SqsSweepQueue::new(sqs.clone(), &queue_url)));

    // The first page's messages are held at the proxy until the deadline leaves no time for
    // another page: the sweep stops after one image.
    // 5 s beyond the listing's reserve: time to list the first page, even on a loaded runner.
    let deadline = Deadline::at(Instant::now() + LISTING_RESERVE + Duration::from_secs(5));
    let out = sweep_held_until(&app, &w, "SendMessageBatch", deadline, LISTING_RESERVE).await;
    let r = swept(out);
    assert!(!r.complete && r.continued, "{r:?}");
    assert_eq!(r.enqueued, Some(1), "{r:?}");
    let cursor = r.resume_at.clone().expect("where it stopped");
    assert_eq!(cursor.repository, w.repo);
    assert!(cursor.token.is_some(), "it stopped inside the repository");

    let first = common::take_bodies(&sqs, &queue_url).await;
    assert_eq!(first.len(), 2, "one image and the continuation: {first:?}");
    let records: Vec<(String, String)> = first
        .iter()
        .enumerate()
        .map(|(i, b)| (format!("m-{i}"), b.clone()))
        .collect();
    let refs: Vec<(&str, String)> = records
        .iter()
        .map(|(i, b)| (i.as_str(), b.clone()))
        .collect();
    let out = run(&app, &sqs_event(&refs), Deadline::none()).await;
    assert_eq!(batch_failures(&out), Vec::<String>::new());

    let rest = common::take_bodies(&sqs, &queue_url).await;
    let mut enqueued: Vec<String> = first
        .iter()
        .chain(&rest)
        .filter_map(|b| serde_json::from_str::<Value>(b).ok())
        .filter_map(|v| v["digest"].as_str().map(str::to_string))
        .collect();
    enqueued.sort();
    let mut expected = failing.clone();
    expected.sort();
    assert_eq!(enqueued, expected, "every image once, none twice");
    assert!(
        rest.iter().all(|b| !b.contains("resume_at")),
        "the continuation finished: no further continuation"
    );
}
