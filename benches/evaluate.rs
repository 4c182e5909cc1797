//! In-process evaluation of 10, 1 000, 10 000 and 100 000 findings (criterion).
//!
//! - `evaluate/N`: the whole gate on one `ECR Image Scan` event whose counts do not pass, so
//!   every finding is read: the real `EcrRegistry` and SDK client, answered in memory by a
//!   canned HTTP client with pages of 1 000 findings (as ECR pages them), so the SDK signs each
//!   request and deserialises each page; then the tally, the verdict and the plan (`DRY_RUN`, so
//!   no tag change is made). One thread (the function's runtime is `current_thread`), so wall
//!   time is CPU time.
//! - `tally/N`: the per-finding judgement alone (allowlist, `ignore_unfixed`, counts, top 20),
//!   on findings already built.
//!
//! Bounded: 10 samples, about 2 s of measurement per size. Under `cargo test` (no `--bench`)
//! each of the two small sizes runs once, as a check that the benchmark works.

use aws_sdk_ecr::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::test_util::infallible_client_fn;
use aws_smithy_types::body::SdkBody;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::domain::severity::{Counts, Severity};
use ecr_scan_gate::engine::gate::Gate;
use ecr_scan_gate::engine::settings::Settings;
use ecr_scan_gate::judgement::evaluation::Response;
use ecr_scan_gate::judgement::findings::{Finding, FindingsTally, FixState};
use ecr_scan_gate::judgement::judge::judge;
use ecr_scan_gate::policy::document::Policy;
use serde_json::{json, Value};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

const SIZES: [usize; 4] = [10, 1_000, 10_000, 100_000];

/// `cargo bench` passes `--bench`; `cargo test --all-targets` runs this file once per benchmark
/// as a smoke check, where the two small sizes are enough (the large ones take seconds in debug).
fn sizes() -> &'static [usize] {
    if std::env::args().any(|a| a == "--bench") {
        &SIZES
    } else {
        &SIZES[..2]
    }
}
const PAGE: usize = 1_000;
const REPO: &str = "bench-api";
const DIGEST: &str = "sha256:a80c9cdd6659e2978d1d06ff335ee32800ed82aeff2d5d4091c13abbbcb4380d";
const TODAY: &str = "2026-11-27";

fn severity(i: usize) -> &'static str {
    if i.is_multiple_of(997) {
        return "CRITICAL";
    }
    match i % 10 {
        0..=5 => "LOW",
        6..=8 => "MEDIUM",
        _ => "HIGH",
    }
}

/// A policy with an allowlist, as a team that uses one would have.
fn policy() -> Policy {
    Policy::from_json(
        r#"{"allowlist": [
            {"id": "CVE-2026-000007", "reason": "not reachable"},
            {"id": "CVE-2026-000997", "repository": "bench-*", "expires": "2027-01-31", "reason": "no fix upstream"},
            {"id": "CVE-2026-999999", "expires": "2026-01-01", "reason": "stale"}
        ], "ignore_unfixed": true}"#,
    )
    .expect("policy")
}

fn counts(total: usize) -> Counts {
    let mut c = Counts::default();
    for i in 0..total {
        c.add(Severity::parse(severity(i)).expect("severity"), 1);
    }
    c
}

/// DescribeImageScanFindings response bodies, `PAGE` basic findings each.
fn pages(total: usize) -> Vec<String> {
    let counts: serde_json::Map<String, Value> = counts(total)
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| (s.as_str().to_string(), json!(n)))
        .collect();
    let n_pages = total.div_ceil(PAGE).max(1);
    (0..n_pages)
        .map(|p| {
            let findings: Vec<Value> = (p * PAGE..((p + 1) * PAGE).min(total))
                .map(|i| {
                    json!({
                        "name": format!("CVE-2026-{i:06}"),
                        "uri": format!("https://security-tracker.debian.org/tracker/CVE-2026-{i:06}"),
                        "severity": severity(i),
                        "attributes": [
                            {"key": "package_version", "value": format!("1.{}.{}-1", i % 50, i % 7)},
                            {"key": "package_name", "value": format!("lib{}", i % 300)},
                            {"key": "CVSS3_SCORE", "value": format!("{:.1}", (i % 100) as f64 / 10.0)}
                        ]
                    })
                })
                .collect();
            let mut body = json!({
                "registryId": "123456789012",
                "repositoryName": REPO,
                "imageId": {"imageDigest": DIGEST},
                "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
                "imageScanFindings": {
                    "findings": findings,
                    "findingSeverityCounts": counts,
                    "imageScanCompletedAt": 1795800000.0,
                    "vulnerabilitySourceUpdatedAt": 1795790000.0
                }
            });
            if p + 1 < n_pages {
                body["nextToken"] = json!(format!("page-{}", p + 1));
            }
            body.to_string()
        })
        .collect()
}

/// An ECR client whose HTTP client answers from `pages` in memory, by `nextToken`.
fn canned_client(pages: Arc<Vec<String>>) -> aws_sdk_ecr::Client {
    let http = infallible_client_fn(move |req: http::Request<SdkBody>| {
        let page = req
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice::<Value>(b).ok())
            .and_then(|v| v["nextToken"].as_str().map(str::to_string))
            .and_then(|t| t.trim_start_matches("page-").parse::<usize>().ok())
            .unwrap_or(0);
        http::Response::builder()
            .status(200)
            .header("content-type", "application/x-amz-json-1.1")
            .body(pages[page].clone())
            .expect("response")
    });
    let config = aws_sdk_ecr::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("bench", "bench", None, None, "bench"))
        .http_client(http)
        .build();
    aws_sdk_ecr::Client::from_conf(config)
}

fn event(total: usize) -> Value {
    let counts: serde_json::Map<String, Value> = counts(total)
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| (s.as_str().to_string(), json!(n)))
        .collect();
    json!({
        "version": "0", "id": "bench", "detail-type": "ECR Image Scan", "source": "aws.ecr",
        "account": "123456789012", "time": "2026-11-27T09:00:00Z", "region": "us-east-1",
        "resources": [format!("arn:aws:ecr:us-east-1:123456789012:repository/{REPO}")],
        "detail": {"scan-status": "COMPLETE", "repository-name": REPO, "image-digest": DIGEST,
                   "image-tags": ["v1"], "finding-severity-counts": counts}
    })
}

fn evaluate(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("evaluate");
    for &n in sizes() {
        let gate = Gate::new(
            EcrRegistry::new(canned_client(Arc::new(pages(n))), "quarantine-"),
            policy(),
            Settings {
                dry_run: true,
                ..Settings::default()
            },
        );
        let input = event(n);
        // Once, outside the measurement: the whole list was read and judged.
        match rt.block_on(gate.handle(&input, TODAY)).expect("handled") {
            Response::Evaluated(ev) => {
                assert_eq!(ev.findings.as_ref().map(|f| f.read), Some(n as u64))
            }
            other => panic!("{other:?}"),
        }
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &input, |b, input| {
            b.iter(|| black_box(rt.block_on(gate.handle(input, TODAY)).expect("handled")))
        });
    }
    group.finish();
}

fn tally(c: &mut Criterion) {
    let policy = policy();
    let mut group = c.benchmark_group("tally");
    for &n in sizes() {
        let findings: Vec<Finding> = (0..n)
            .map(|i| Finding {
                id: format!("CVE-2026-{i:06}"),
                severity: Severity::parse(severity(i)).expect("severity"),
                package: Some(format!("lib{}", i % 300)),
                installed_version: Some(format!("1.{}.{}-1", i % 50, i % 7)),
                fixed_version: None,
                fix_available: FixState::Unknown,
                exploit_available: None,
                score: Some((i % 100) as f64 / 10.0),
                link: Some(format!(
                    "https://security-tracker.debian.org/tracker/CVE-2026-{i:06}"
                )),
            })
            .collect();
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &findings, |b, findings| {
            b.iter_batched(
                || findings.clone(),
                |findings| {
                    let mut t = FindingsTally::new(&policy, REPO, TODAY);
                    for f in findings {
                        t.add(f, true);
                    }
                    let report = t.finish(None);
                    black_box(judge(&policy.thresholds_for(REPO), &report.counts))
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = tally, evaluate
}
criterion_main!(benches);
