//! The sweep's cost on the moto emulator, in process with the real SDK clients behind the
//! counting loopback proxy of the tests (which adds the scan summaries moto's DescribeImages
//! lacks, and cuts its listing into pages of 1 000 as ECR does):
//!
//! 1. AWS calls per image of a sweep over a clean registry (the summary fast path);
//! 2. the planner's images per second when every image needs a closer look and is enqueued
//!    to an SQS queue on the emulator (`SendMessageBatch`, 10 per call), and from it the time
//!    to plan a 100 000-image registry;
//! 3. images quarantined per second by 4 instances under a PutImage quota of 2 calls a second
//!    (the proxy answers ThrottlingException beyond it), with the function's ECR client, and the
//!    same burst with the SDK's standard retry (3 attempts) for comparison.
//!
//! One run of each. `cargo bench --bench sweep` (make bench) uses 10 000 images and writes
//! `sweep.json` into `$CARGO_TARGET_DIR/bench` (default `target/bench`), which
//! `scripts/bench.py report` prints; `cargo test --all-targets` runs it small and writes nothing.
//! Not a test: it asserts nothing about time. Every loop is bounded; every server is loopback.

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use common::proxy::FaultProxy;
use common::summaries::Summaries;
use common::{basic_finding, basic_findings, Emulator, ManifestKind, TODAY};
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::adapters::aws::sqs::SqsSweepQueue;
use ecr_scan_gate::engine::gate::Gate;
use ecr_scan_gate::engine::ports::{BoxFuture, Deadline, SendFailure, SweepQueue};
use ecr_scan_gate::engine::settings::Settings;
use ecr_scan_gate::entry::app;
use ecr_scan_gate::entry::app::{App, Context, Output, RegistryOutcome};
use ecr_scan_gate::entry::sweep::report::SweepReport;
use ecr_scan_gate::policy::document::Policy;
use serde_json::{json, Value};
use std::time::Instant;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(bench());
}

/// The function's SQS adapter, sending each page's messages to a queue of its own: moto's SQS
/// does work proportional to the messages already in a queue on every call (10 000 messages in
/// one queue make each call take seconds), which SQS does not. Each queue holds at most the
/// 1 000 messages of one page, as a queue that the consumers drain would.
struct PagePerQueue {
    sqs: aws_sdk_sqs::Client,
    stem: String,
    queues: std::sync::atomic::AtomicUsize,
}

impl SweepQueue for PagePerQueue {
    fn send_all<'a>(&'a self, bodies: &'a [String]) -> BoxFuture<'a, Vec<SendFailure>> {
        Box::pin(async move {
            let n = self
                .queues
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let url = self
                .sqs
                .create_queue()
                .queue_name(format!("{}-{n}", self.stem))
                .send()
                .await
                .expect("queue")
                .queue_url()
                .expect("queue url")
                .to_string();
            SqsSweepQueue::new(self.sqs.clone(), &url)
                .send_all(bodies)
                .await
        })
    }
}

fn cx() -> Context<'static> {
    Context {
        request_id: "bench",
        function_name: "ecr-scan-gate",
        today: TODAY,
        now_s: 0,
        deadline: Deadline::none(),
        home: Err("no function ARN: one account"),
    }
}

async fn sweep(app: &App<EcrRegistry>, repo: &str) -> SweepReport {
    let input = json!({"sweep": {"repositories": [repo]}});
    match app::handle(app, &input, cx()).await.expect("swept") {
        Output::Registry(RegistryOutcome::Swept(r)) => *r,
        other => panic!("not a sweep: {other:?}"),
    }
}

async fn bench() {
    let full = std::env::args().any(|a| a == "--bench");
    // Under `cargo test` the burst is left out: the quota test of tests/sweep_queue.rs covers it.
    let (images, burst): (usize, usize) = if full { (10_000, 24) } else { (50, 0) };
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let summaries = Summaries::default();
    summaries.install(&proxy, Some(1000));
    let config = common::sdk_config(&proxy.endpoint).await;

    // A registry of `images` tagged images, every one scanned with one LOW finding.
    let repo = common::unique_repo("bench-sweep");
    emu.create_repo(&repo).await;
    let started = Instant::now();
    let digests = emu.push_many(&repo, images).await;
    for d in &digests {
        summaries.set(d, "COMPLETE", json!({"LOW": 1}));
    }
    println!(
        "seeded {images} images in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let gate = |policy: &str| {
        Gate::new(
            EcrRegistry::new(
                ecr_scan_gate::adapters::aws::ecr::client(&config),
                "quarantine-",
            ),
            Policy::from_json(policy).expect("policy"),
            Settings::default(),
        )
    };

    // 1. A clean registry: the listing alone.
    let clean = App::new(gate("{}"));
    proxy.reset_counts();
    let t = Instant::now();
    let r = sweep(&clean, &repo).await;
    let clean_s = t.elapsed().as_secs_f64();
    let calls = proxy.counts();
    let total: usize = calls.values().sum();
    assert_eq!(
        r.passed_by_summary, images,
        "every image passed on its summary"
    );
    let per_image = total as f64 / images as f64;
    println!(
        "clean sweep of {images} images: {total} AWS calls ({calls:?}) = {per_image:.4} calls/image, {clean_s:.2} s"
    );

    // 1b. The same registry under enhanced scanning: real ECR lists no scan status and no
    // summary (a proxy that adds none), and Amazon Inspector's ListFindingAggregations (answered
    // by the proxy as the Inspector API Reference documents it) gives the counts, 100 a page.
    let enhanced_proxy = FaultProxy::start(&emu.endpoint).await;
    Summaries::default().install(&enhanced_proxy, Some(1000));
    let inspector = common::inspector::Inspector::default();
    for d in &digests {
        inspector.set(&repo, d, 1, 0, 0, 0);
    }
    inspector.install(&enhanced_proxy);
    let enhanced_config = common::sdk_config(&enhanced_proxy.endpoint).await;
    let enhanced_app = App::new(Gate::new(
        EcrRegistry::new(
            ecr_scan_gate::adapters::aws::ecr::client(&enhanced_config),
            "quarantine-",
        )
        .with_inspector(aws_sdk_inspector2::Client::new(&enhanced_config)),
        Policy::default(),
        Settings::default(),
    ));
    let t = Instant::now();
    let r = sweep(&enhanced_app, &repo).await;
    let enhanced_s = t.elapsed().as_secs_f64();
    let enhanced_calls = enhanced_proxy.counts();
    let enhanced_total: usize = enhanced_calls.values().sum();
    assert_eq!(r.passed_by_summary, images, "{:?}", r.errors);
    let enhanced_per_image = enhanced_total as f64 / images as f64;
    println!(
        "enhanced-scanning sweep of {images} clean images: {enhanced_total} AWS calls ({enhanced_calls:?}) = {enhanced_per_image:.4} calls/image, {enhanced_s:.2} s"
    );

    // 1c. A second sweep over quarantined images that stay quarantined: no re-tagging.
    let qrepo = common::unique_repo("bench-stays");
    emu.create_repo(&qrepo).await;
    let stays = if full { 100 } else { 5 };
    for i in 0..stays {
        let d = emu
            .push(&qrepo, &format!("v{i}"), ManifestKind::DockerV2)
            .await;
        emu.seed(
            &qrepo,
            &d,
            "COMPLETE",
            basic_findings(vec![basic_finding(
                "CVE-2024-0001",
                "CRITICAL",
                "openssl",
                "3.0.1",
            )]),
        );
        emu.start_scan(&qrepo, &d).await;
        summaries.set(&d, "COMPLETE", json!({"CRITICAL": 1}));
    }
    let first = sweep(&clean, &qrepo).await;
    assert_eq!(first.quarantined.as_ref().map(Vec::len), Some(stays));
    proxy.reset_counts();
    let again = sweep(&clean, &qrepo).await;
    assert_eq!(again.quarantined.as_ref().map(Vec::len), Some(0));
    let stays_calls = proxy.counts();
    let put_image = stays_calls.get("PutImage").copied().unwrap_or(0);
    let batch_get_image = stays_calls.get("BatchGetImage").copied().unwrap_or(0);
    println!(
        "second sweep of {stays} images that stay quarantined: PutImage {put_image}, BatchGetImage {batch_get_image} ({stays_calls:?})"
    );

    // 2. Every image needs a closer look (a policy failing on one LOW): the planner enqueues.
    let sqs = aws_sdk_sqs::Client::new(&common::sdk_config(&emu.endpoint).await);
    let planner =
        App::new(gate(r#"{"fail": {"LOW": 1}}"#)).with_sweep_queue(Box::new(PagePerQueue {
            sqs,
            stem: common::unique_repo("bench-sweep-q"),
            queues: Default::default(),
        }));
    proxy.reset_counts();
    let t = Instant::now();
    let r = sweep(&planner, &repo).await;
    let plan_s = t.elapsed().as_secs_f64();
    assert_eq!(r.enqueued, Some(images), "{:?}", r.errors);
    let rate = images as f64 / plan_s;
    let extrapolated = 100_000.0 / rate;
    println!(
        "planner: enqueued {images} images in {plan_s:.2} s = {rate:.0} images/s; 100 000 images: {extrapolated:.0} s (one invocation: 900 s)"
    );

    if burst == 0 {
        return;
    }
    // 3. A burst of failing images under a PutImage quota of 2/s, 4 instances: with the
    // function's ECR client, then with the SDK's standard retry.
    proxy.rate_limit("PutImage", 2);
    let adaptive = burst_under_quota(&emu, &proxy, &config, burst, Retry::Function).await;
    let standard = burst_under_quota(&emu, &proxy, &config, burst, Retry::Standard).await;

    let doc = json!({
        "images": images,
        "clean": {"calls": calls, "total_calls": total, "calls_per_image": per_image, "seconds": clean_s},
        "enhanced": {"calls": enhanced_calls, "total_calls": enhanced_total,
                     "calls_per_image": enhanced_per_image, "seconds": enhanced_s},
        "stays_quarantined": {"images": stays, "put_image": put_image,
                              "batch_get_image": batch_get_image, "calls": stays_calls},
        "planner": {"enqueued": images, "seconds": plan_s, "images_per_second": rate,
                    "extrapolated_100k_seconds": extrapolated},
        "runs": 1,
        "burst": adaptive,
        "burst_standard_retry": standard,
    });
    support::write_figures("sweep.json", &doc);
}

#[derive(Clone, Copy)]
enum Retry {
    /// `aws::ecr::client`: adaptive retry, as many attempts as the deadline allows.
    Function,
    /// The SDK's standard retry: 3 attempts.
    Standard,
}

/// `images` failing images handed to 4 instances at once (a quarter of the queue records
/// each), each instance with its own ECR client and retry partition (separate processes on
/// Lambda), under the PutImage quota set on the proxy.
async fn burst_under_quota(
    emu: &Emulator,
    proxy: &FaultProxy,
    config: &aws_config::SdkConfig,
    images: usize,
    retry: Retry,
) -> Value {
    let brepo = common::unique_repo("bench-burst");
    emu.create_repo(&brepo).await;
    let mut failing = Vec::new();
    for i in 0..images {
        let d = emu
            .push(&brepo, &format!("v{i}"), ManifestKind::DockerV2)
            .await;
        emu.seed(
            &brepo,
            &d,
            "COMPLETE",
            basic_findings(vec![basic_finding(
                "CVE-2024-0001",
                "CRITICAL",
                "openssl",
                "3.0.1",
            )]),
        );
        emu.start_scan(&brepo, &d).await;
        failing.push(d);
    }
    let apps: Vec<App<EcrRegistry>> = (0..4)
        .map(|instance| {
            let ecr = ecr_scan_gate::adapters::aws::ecr::client(config);
            let mut own = ecr.config().to_builder();
            if let Retry::Standard = retry {
                own = own.retry_config(aws_config::retry::RetryConfig::standard());
            }
            let own = own
                .retry_partition(aws_sdk_ecr::config::retry::RetryPartition::new(format!(
                    "bench-instance-{instance}-{}",
                    brepo
                )))
                .build();
            App::new(Gate::new(
                EcrRegistry::new(aws_sdk_ecr::Client::from_conf(own), "quarantine-"),
                Policy::default(),
                Settings::default(),
            ))
        })
        .collect();
    let events: Vec<Value> = failing
        .chunks(images.div_ceil(4))
        .map(|chunk| {
            json!({"Records": chunk.iter().map(|d| json!({
                "messageId": d, "eventSource": "aws:sqs",
                "body": json!({"repository": brepo, "digest": d, "sweep": true}).to_string()
            })).collect::<Vec<_>>()})
        })
        .collect();
    let throttled_before = proxy.faults_served();
    let t = Instant::now();
    let outs = futures_util::future::join_all(
        apps.iter()
            .zip(&events)
            .map(|(app, event)| app::handle(app, event, cx())),
    )
    .await;
    let burst_s = t.elapsed().as_secs_f64();
    let failed: usize = outs
        .iter()
        .map(|o| match o {
            Ok(Output::Batch(b)) => b.batch_item_failures.len(),
            other => panic!("{other:?}"),
        })
        .sum();
    let mut quarantined = 0;
    for d in &failing {
        if emu
            .tags(&brepo, d)
            .await
            .iter()
            .any(|t| t.starts_with("quarantine-"))
        {
            quarantined += 1;
        }
    }
    let throttled = proxy.faults_served() - throttled_before;
    let (name, attempts) = match retry {
        Retry::Function => ("the function's ECR client (adaptive retry)", "deadline"),
        Retry::Standard => ("the SDK's standard retry (3 attempts)", "3"),
    };
    println!(
        "burst, {name}: {quarantined}/{images} quarantined, {failed} batch item failures, {throttled} ThrottlingException answers, {burst_s:.1} s = {:.2} images/s under PutImage 2/s",
        quarantined as f64 / burst_s
    );
    json!({"images": images, "instances": 4, "put_image_per_second": 2, "retry": name,
           "attempts": attempts, "quarantined": quarantined, "batch_item_failures": failed,
           "throttled": throttled, "seconds": burst_s,
           "images_per_second": quarantined as f64 / burst_s})
}
