//! Two figures of BENCHMARKS.md ("Alert storm" and "Time to quarantine"):
//!
//! 1. One image, 150 `Inspector2 Finding` events (what Inspector sends for the first scan of an
//!    image with 150 findings), through the real SDK and the counting proxy of the tests in
//!    front of a moto server: alerts sent and AWS calls by operation.
//! 2. A failing image with 10, 10 000 and 100 000 findings, paged 1 000 at a time by
//!    aws-smithy-mocks (moto does not paginate), each AWS call made to take `LATENCY`: how many
//!    `DescribeImageScanFindings` pages were read, and how long it took, before `PutImage`.
//!
//! One run of each. `cargo bench --bench storm_and_early_quarantine` prints the figures and
//! writes `storm-and-early-quarantine.json` into `$CARGO_TARGET_DIR/bench` (default
//! `target/bench`), which `scripts/bench.py report` prints; under `cargo test --all-targets` it
//! runs small and writes nothing. It asserts nothing about time.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/fakes/mod.rs"]
mod fakes;
mod support;

use aws_sdk_ecr::operation::batch_get_image::BatchGetImageOutput;
use aws_sdk_ecr::operation::describe_image_scan_findings::DescribeImageScanFindingsOutput;
use aws_sdk_ecr::operation::describe_images::DescribeImagesOutput;
use aws_sdk_ecr::operation::put_image::PutImageOutput;
use aws_sdk_ecr::types::{
    FindingSeverity, Image, ImageIdentifier, ImageScanFinding, ImageScanFindings, ImageScanStatus,
    ScanStatus,
};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use common::proxy::FaultProxy;
use common::{basic_finding, basic_findings, Emulator, ManifestKind, TODAY};
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::domain::image::{Digest, ImageRef};
use ecr_scan_gate::domain::scan::ScanEvent;
use ecr_scan_gate::engine::gate::Gate;
use ecr_scan_gate::engine::ports::Deadline;
use ecr_scan_gate::engine::settings::Settings;
use ecr_scan_gate::judgement::evaluation::Response;
use ecr_scan_gate::policy::document::Policy;
use fakes::RecordingNotifier;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DIGEST: &str = "sha256:74b2c688c700ec95a93e478cdb959737c148df3fbf5ea706abe0318726e885e6";
/// What one ECR call is made to take in the paging figure (a page of 1 000 findings from
/// DescribeImageScanFindings takes tens of milliseconds on real AWS; assumed, not measured).
const LATENCY: Duration = Duration::from_millis(20);

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let storm = rt.block_on(storm(if full { 150 } else { 5 }));
    let sizes: &[usize] = if full {
        &[10, 10_000, 100_000]
    } else {
        &[10, 2_000]
    };
    let mut paging = Vec::new();
    for &n in sizes {
        paging.push(rt.block_on(time_to_quarantine(n)));
    }
    let out = json!({"runs": 1, "alert_storm": storm, "time_to_quarantine": paging,
                     "latency_ms_per_call": LATENCY.as_millis()});
    println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    if full {
        support::write_figures("storm-and-early-quarantine.json", &out);
    }
}

async fn storm(events: usize) -> Value {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let repo = common::unique_repo("bench-storm");
    emu.create_repo(&repo).await;
    let digest = emu.push(&repo, "v1", ManifestKind::DockerV2).await;
    // 147 HIGH findings and 3 CRITICAL (the last three events), as in the test.
    let severity = |i: usize| if i + 3 >= events { "CRITICAL" } else { "HIGH" };
    let ids: Vec<String> = (0..events).map(|i| format!("CVE-2026-{i:05}")).collect();
    let findings = ids
        .iter()
        .enumerate()
        .map(|(i, id)| basic_finding(id, severity(i), "pkg", "1.0"))
        .collect();
    emu.seed(&repo, &digest, "COMPLETE", basic_findings(findings));
    emu.start_scan(&repo, &digest).await;
    let config = common::sdk_config(&proxy.endpoint).await;
    let sns = RecordingNotifier::new("sns");
    let gate = Gate::new(
        EcrRegistry::new(aws_sdk_ecr::Client::new(&config), "quarantine-"),
        Policy::default(),
        Settings::default(),
    )
    .with_notifier(Box::new(sns.clone()));
    proxy.reset_counts();
    let started = Instant::now();
    for (i, id) in ids.iter().enumerate() {
        let event = json!({
            "detail-type": "Inspector2 Finding", "source": "aws.inspector2",
            "account": "123456789012", "region": common::REGION,
            "detail": {"status": "ACTIVE", "severity": severity(i),
                "packageVulnerabilityDetails": {"vulnerabilityId": id},
                "resources": [{"type": "AWS_ECR_CONTAINER_IMAGE", "details": {"awsEcrContainerImage": {
                    "repositoryName": repo, "imageHash": digest, "imageTags": ["v1"]}}}]}
        });
        match gate.handle(&event, TODAY).await {
            Ok(Response::Evaluated(_)) => {}
            other => panic!("event {i}: {other:?}"),
        }
    }
    let mut calls: Vec<(String, usize)> = proxy.counts().into_iter().collect();
    calls.sort();
    json!({
        "events": events,
        "alerts_sent": sns.count(),
        "aws_calls": proxy.total(),
        "aws_calls_by_operation": calls.into_iter().collect::<std::collections::BTreeMap<_, _>>(),
        "seconds": started.elapsed().as_secs_f64(),
    })
}

fn page(first: usize, n: usize, next: Option<String>) -> DescribeImageScanFindingsOutput {
    let findings = (first..first + n)
        .map(|i| {
            ImageScanFinding::builder()
                .name(format!("CVE-2024-{i:06}"))
                // The first finding is Critical: FAIL is certain after the first page.
                .severity(if i == 0 {
                    FindingSeverity::Critical
                } else {
                    FindingSeverity::Low
                })
                .build()
        })
        .collect::<Vec<_>>();
    DescribeImageScanFindingsOutput::builder()
        .repository_name("demo-api")
        .image_id(ImageIdentifier::builder().image_digest(DIGEST).build())
        .image_scan_status(
            ImageScanStatus::builder()
                .status(ScanStatus::Complete)
                .build(),
        )
        .image_scan_findings(
            ImageScanFindings::builder()
                .set_findings(Some(findings))
                .build(),
        )
        .set_next_token(next)
        .build()
}

#[derive(Default)]
struct Seen {
    pages: usize,
    calls: usize,
    at_put: Option<(usize, usize, Duration)>,
}

async fn time_to_quarantine(findings: usize) -> Value {
    let pages = findings.div_ceil(1000);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let started = Instant::now();
    let s = seen.clone();
    let read = mock!(aws_sdk_ecr::Client::describe_image_scan_findings).then_output(move || {
        std::thread::sleep(LATENCY);
        let mut g = s.lock().unwrap();
        let n = g.pages;
        g.pages += 1;
        g.calls += 1;
        let next = (n + 1 < pages).then(|| format!("page-{}", n + 1));
        page(n * 1000, (findings - n * 1000).min(1000), next)
    });
    let s = seen.clone();
    let get = mock!(aws_sdk_ecr::Client::batch_get_image).then_output(move || {
        std::thread::sleep(LATENCY);
        s.lock().unwrap().calls += 1;
        BatchGetImageOutput::builder()
            .images(
                Image::builder()
                    .image_id(ImageIdentifier::builder().image_digest(DIGEST).build())
                    .image_manifest("{\"schemaVersion\":2}")
                    .image_manifest_media_type(
                        "application/vnd.docker.distribution.manifest.v2+json",
                    )
                    .build(),
            )
            .build()
    });
    let s = seen.clone();
    let put = mock!(aws_sdk_ecr::Client::put_image).then_output(move || {
        let mut g = s.lock().unwrap();
        let before = (g.pages, g.calls, started.elapsed());
        g.at_put.get_or_insert(before);
        g.calls += 1;
        drop(g);
        std::thread::sleep(LATENCY);
        PutImageOutput::builder().build()
    });
    let s = seen.clone();
    let indexes = mock!(aws_sdk_ecr::Client::describe_images).then_output(move || {
        std::thread::sleep(LATENCY);
        s.lock().unwrap().calls += 1;
        DescribeImagesOutput::builder().build()
    });
    let client = mock_client!(
        aws_sdk_ecr,
        RuleMode::MatchAny,
        [&read, &get, &put, &indexes]
    );
    let gate = Gate::new(
        EcrRegistry::new(client, "quarantine-"),
        Policy::default(),
        Settings::default(),
    );
    let mut event = ScanEvent::direct(
        "demo-api".into(),
        ImageRef::Digest(Digest::parse(DIGEST).unwrap()),
    );
    event.tags = vec!["v1".into()];
    let ev = gate.evaluate(&event, TODAY, Deadline::none()).await;
    let total = started.elapsed();
    let g = seen.lock().unwrap();
    let (pages_before, calls_before, at) = g.at_put.unwrap_or((0, 0, Duration::ZERO));
    json!({
        "findings": findings,
        "pages": pages,
        "verdict": ev.map(|e| e.verdict.as_str()).unwrap_or("error"),
        "pages_read_before_put_image": pages_before,
        "aws_calls_before_put_image": calls_before,
        "ms_to_put_image": at.as_secs_f64() * 1e3,
        "ms_whole_evaluation": total.as_secs_f64() * 1e3,
    })
}
