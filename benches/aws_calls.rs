//! AWS calls per event, and the critical path of a failing image, on the moto emulator.
//!
//! `cargo bench --bench aws_calls` runs the gate in process with the real SDK clients, pointed
//! at the counting loopback proxy of the tests (`tests/common/proxy.rs`) in front of a moto
//! server, and a loopback Slack receiver. For each scenario it prints the AWS requests by
//! operation; for a failing image it also records when each registry call and each alert ran.
//! The critical path is one run. The hub and member rows (a FAIL in the hub's own account, then
//! in a member account: the container's first event of that account, then a warm one) run
//! `MEMBER_RUNS` times, each time in a new "container" (new clients, new identity cache), and
//! keep the minimum, median and maximum time per event.
//!
//! Writes `aws-calls.json` and `critical-path.json` into `$CARGO_TARGET_DIR/bench` (default
//! `target/bench`) only under `cargo bench`; `cargo test --all-targets` runs every scenario once
//! as a check and writes nothing.
//!
//! Not a test: it asserts nothing about time. Every loop is bounded; every server is loopback.

#[path = "../tests/alert_support/mod.rs"]
mod alert_support;
#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use alert_support::{Reply, SlackReceiver};
use common::proxy::FaultProxy;
use common::{
    basic_finding, basic_findings, ecr_scan_event, image_with_critical_findings, Emulator,
    ManifestKind, TODAY,
};
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::adapters::aws::member::MemberRegistries;
use ecr_scan_gate::adapters::aws::sns::SnsNotifier;
use ecr_scan_gate::adapters::slack_webhook::{RetryPolicy, SlackNotifier, WebhookUrl};
use ecr_scan_gate::domain::image::{Digest, ImageRef};
use ecr_scan_gate::engine::accounts::{Home, MemberConfig};
use ecr_scan_gate::engine::gate::Gate;
use ecr_scan_gate::engine::ports::{
    BoxFuture, Change, Deadline, IndexImage, Notifier, NotifyError, Registry, RegistryError,
    ScanFindings, TagSelector,
};
use ecr_scan_gate::engine::settings::Settings;
use ecr_scan_gate::judgement::evaluation::{Evaluation, Response};
use ecr_scan_gate::judgement::findings::FindingsTally;
use ecr_scan_gate::policy::document::Policy;
use ecr_scan_gate::render::alert::AlertOptions;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What ran, from and to (milliseconds since the start of the invocation).
type Span = (String, f64, f64);

/// When each call started and ended, relative to the start of the invocation.
#[derive(Clone, Default)]
struct Clock(Arc<Mutex<(Option<Instant>, Vec<Span>)>>);

impl Clock {
    fn start(&self) {
        let mut g = self.0.lock().unwrap();
        g.0 = Some(Instant::now());
        g.1.clear();
    }
    fn since(&self, t: Instant) -> f64 {
        let g = self.0.lock().unwrap();
        g.0.map(|s| t.saturating_duration_since(s).as_secs_f64() * 1e3)
            .unwrap_or(0.0)
    }
    fn record(&self, what: &str, from: Instant, to: Instant) {
        let (a, b) = (self.since(from), self.since(to));
        self.0.lock().unwrap().1.push((what.to_string(), a, b));
    }
    fn spans(&self) -> Vec<Span> {
        self.0.lock().unwrap().1.clone()
    }
}

struct TimedRegistry {
    inner: EcrRegistry,
    clock: Clock,
}

impl Registry for TimedRegistry {
    async fn scan_findings(
        &self,
        repository: &str,
        image: &ImageRef,
        tally: &mut FindingsTally<'_>,
        deadline: Deadline,
    ) -> Result<ScanFindings, RegistryError> {
        let t = Instant::now();
        let r = self
            .inner
            .scan_findings(repository, image, tally, deadline)
            .await;
        self.clock
            .record("DescribeImageScanFindings (all pages)", t, Instant::now());
        r
    }
    async fn image_tags(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<Vec<String>, RegistryError> {
        let t = Instant::now();
        let r = self.inner.image_tags(repository, digest).await;
        self.clock.record("DescribeImages", t, Instant::now());
        r
    }
    async fn add_tag(
        &self,
        repository: &str,
        digest: &Digest,
        tag: &str,
    ) -> Result<Change, RegistryError> {
        let t = Instant::now();
        let r = self.inner.add_tag(repository, digest, tag).await;
        self.clock
            .record("quarantine (BatchGetImage + PutImage)", t, Instant::now());
        r
    }
    async fn remove_tags(
        &self,
        repository: &str,
        digest: &Digest,
        select: &TagSelector<'_>,
    ) -> Result<Vec<String>, RegistryError> {
        let t = Instant::now();
        let r = self.inner.remove_tags(repository, digest, select).await;
        self.clock.record("BatchDeleteImage", t, Instant::now());
        r
    }
    async fn parents_of(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<Vec<IndexImage>, RegistryError> {
        let t = Instant::now();
        let r = self.inner.parents_of(repository, digest).await;
        self.clock
            .record("image indexes (DescribeImages)", t, Instant::now());
        r
    }
    async fn index_of(
        &self,
        repository: &str,
        image: &ImageRef,
    ) -> Result<Option<IndexImage>, RegistryError> {
        self.inner.index_of(repository, image).await
    }
}

struct TimedNotifier {
    inner: Box<dyn Notifier>,
    clock: Clock,
}

impl Notifier for TimedNotifier {
    fn channel(&self) -> &'static str {
        self.inner.channel()
    }
    fn notify<'a>(&'a self, alert: &'a Evaluation) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(async move {
            let t = Instant::now();
            let r = self.inner.notify(alert).await;
            self.clock.record(
                &format!("alert {}", self.inner.channel()),
                t,
                Instant::now(),
            );
            r
        })
    }
}

/// Runs of the hub and member rows under `cargo bench` (one under `cargo test`).
const MEMBER_RUNS: usize = 5;

struct Row {
    scenario: &'static str,
    calls: BTreeMap<String, usize>,
    verdict: String,
    /// Milliseconds per event, one value per run (only the hub and member rows).
    ms: Vec<f64>,
}

/// Minimum, median and maximum of the runs (milliseconds).
fn spread(ms: &[f64]) -> Value {
    let mut v = ms.to_vec();
    v.sort_by(f64::total_cmp);
    let median = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    json!({"runs": v.len(), "min": v[0], "median": median, "max": v[v.len() - 1]})
}

async fn run(
    gate: &Gate<TimedRegistry>,
    proxy: &FaultProxy,
    scenario: &'static str,
    event: &Value,
) -> (Row, f64) {
    proxy.reset_counts();
    gate.registry.clock.start();
    let t = Instant::now();
    let response = gate
        .handle(event, TODAY)
        .await
        .unwrap_or_else(|e| panic!("{scenario}: {e}"));
    let total = t.elapsed().as_secs_f64() * 1e3;
    let verdict = match &response {
        Response::Evaluated(ev) => ev.verdict.to_string(),
        Response::Ignored { .. } => "ignored".to_string(),
    };
    let calls: BTreeMap<String, usize> = proxy.counts().into_iter().collect();
    let n: usize = calls.values().sum();
    println!("  {scenario}: {n} AWS call(s) {calls:?} -> {verdict}");
    (
        Row {
            scenario,
            calls,
            verdict,
            ms: Vec::new(),
        },
        total,
    )
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(bench());
}

async fn bench() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let through_proxy = common::sdk_config(&proxy.endpoint).await;
    let slack = SlackReceiver::start(vec![], Reply::ok()).await;
    let topic = emu
        .sns()
        .create_topic()
        .name(common::unique_repo("bench-alerts"))
        .send()
        .await
        .expect("create topic")
        .topic_arn()
        .expect("topic arn")
        .to_string();
    let clock = Clock::default();
    let options = AlertOptions::default();
    let make_gate = |policy: &str| {
        Gate::new(
            TimedRegistry {
                inner: EcrRegistry::new(aws_sdk_ecr::Client::new(&through_proxy), "quarantine-"),
                clock: clock.clone(),
            },
            Policy::from_json(policy).expect("policy"),
            Settings::default(),
        )
        .with_notifier(Box::new(TimedNotifier {
            inner: Box::new(SnsNotifier::new(
                aws_sdk_sns::Client::new(&through_proxy),
                &topic,
                options.clone(),
            )),
            clock: clock.clone(),
        }))
        .with_notifier(Box::new(TimedNotifier {
            inner: Box::new(
                SlackNotifier::new(
                    WebhookUrl::parse(&slack.url).expect("url"),
                    options.clone(),
                    RetryPolicy::default(),
                )
                .expect("slack client"),
            ),
            clock: clock.clone(),
        }))
    };
    let gate = make_gate("{}");
    let strip_gate = make_gate(r#"{"strip_tags": ["latest"]}"#);
    let mut rows = Vec::new();
    println!("AWS calls per event (moto behind the counting proxy):");

    // Warm the connections and moto's services so that the timeline below is not a first use.
    let (_, _, warm) = image_with_critical_findings(&emu, "bench-warm", 1).await;
    run(&gate, &proxy, "warm-up", &warm).await;

    let clean = ecr_scan_event(
        "bench-api",
        "sha256:d5e4122b5a61603bfd90b2814a04982356ea7598f75ce84ca6ee50cdb721abe3",
        &["v1.4.3"],
        json!({"MEDIUM": 3, "LOW": 7}),
        "COMPLETE",
    );
    rows.push(
        run(&gate, &proxy, "pass, event counts pass (fast path)", &clean)
            .await
            .0,
    );

    let (repo, digest, failing) = image_with_critical_findings(&emu, "bench-fail", 2).await;
    let (row, total) = run(&gate, &proxy, "fail (2 CRITICAL)", &failing).await;
    rows.push(row);
    let spans = clock.spans();
    rows.push(
        run(&gate, &proxy, "fail, delivered again", &failing)
            .await
            .0,
    );

    // A FAIL of a tagged, single-platform image in a large repository: a tagged image is
    // deployable by its own tag, so no index look-up lists the repository (ECR pages of 1 000,
    // modelled by the proxy: moto answers a listing in one page).
    common::summaries::Summaries::default().install(&proxy, Some(1000));
    let full = std::env::args().any(|a| a == "--bench");
    let size = if full { 5_000 } else { 20 };
    let big_repo = common::unique_repo("bench-big");
    emu.create_repo(&big_repo).await;
    emu.push_many(&big_repo, size).await;
    let big_digest = emu.push(&big_repo, "release", ManifestKind::DockerV2).await;
    emu.start_scan(&big_repo, &big_digest).await;
    emu.seed(
        &big_repo,
        &big_digest,
        "COMPLETE",
        basic_findings(vec![basic_finding(
            "CVE-2024-0001",
            "CRITICAL",
            "openssl",
            "3.0.1",
        )]),
    );
    let big_event = ecr_scan_event(
        &big_repo,
        &big_digest,
        &["release"],
        json!({"CRITICAL": 1}),
        "COMPLETE",
    );
    let scenario: &'static str = Box::leak(
        format!("fail of a tagged image in a repository of {size} tagged images").into_boxed_str(),
    );
    rows.push(run(&gate, &proxy, scenario, &big_event).await.0);

    let (srepo, sdigest, strip_event) = image_with_critical_findings(&emu, "bench-strip", 1).await;
    emu.add_tag(&srepo, &sdigest, "latest").await;
    rows.push(
        run(
            &strip_gate,
            &proxy,
            "fail with strip_tags [\"latest\"]",
            &strip_event,
        )
        .await
        .0,
    );

    // A quarantined image whose rescan is clean (seeded before the quarantine tag is added).
    let rrepo = common::unique_repo("bench-release");
    emu.create_repo(&rrepo).await;
    let rdigest = emu.push(&rrepo, "v4", ManifestKind::DockerV2).await;
    emu.seed(
        &rrepo,
        &rdigest,
        "COMPLETE",
        basic_findings(vec![basic_finding(
            "CVE-2019-5188",
            "MEDIUM",
            "e2fsprogs",
            "1.44.1",
        )]),
    );
    emu.start_scan(&rrepo, &rdigest).await;
    let qtag = format!("quarantine-{}", rdigest.trim_start_matches("sha256:"));
    emu.add_tag(&rrepo, &rdigest, &qtag).await;
    let release = ecr_scan_event(
        &rrepo,
        &rdigest,
        &["v4", &qtag],
        json!({"MEDIUM": 1}),
        "COMPLETE",
    );
    rows.push(
        run(
            &gate,
            &proxy,
            "release (PASS of a quarantined image)",
            &release,
        )
        .await
        .0,
    );

    let failed_scan = ecr_scan_event(&repo, &digest, &["v1.4.2"], json!({}), "FAILED");
    rows.push(
        run(&gate, &proxy, "scan FAILED (ERROR, alert)", &failed_scan)
            .await
            .0,
    );

    let ignored = json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {}});
    rows.push(
        run(&gate, &proxy, "ignored (not an ECR scan)", &ignored)
            .await
            .0,
    );

    // Hub and member accounts: a failing image of the hub, then of a member account (through
    // the assumed role: the container's first event of that account, then a warm one).
    let runs = if full { MEMBER_RUNS } else { 1 };
    rows.extend(member_rows(&emu, &proxy, &through_proxy, &topic, &slack.url, runs).await);

    // The critical path of the failing image.
    let find = |what: &str| spans.iter().find(|s| s.0.starts_with(what)).cloned();
    let scan = find("DescribeImageScanFindings").expect("findings span");
    let quarantine = find("quarantine").expect("quarantine span");
    let alerts: Vec<_> = spans.iter().filter(|s| s.0.starts_with("alert")).collect();
    let registry_path = (scan.2 - scan.1) + (quarantine.2 - quarantine.1);
    let overlap = alerts
        .iter()
        .all(|a| a.1 < quarantine.2 && a.2 > quarantine.1);
    println!("critical path of the failing image: total {total:.2} ms");
    for (what, a, b) in &spans {
        println!("  {what}: {a:.2} – {b:.2} ms");
    }
    println!(
        "  findings + quarantine alone: {registry_path:.2} ms; alerts ran beside the quarantine: {overlap}"
    );

    if !std::env::args().any(|a| a == "--bench") {
        // `cargo test --all-targets`: a check that the scenarios run; the figures of a debug
        // build are not the ones to keep.
        return;
    }
    let calls: Vec<Value> = rows
        .iter()
        .map(|r| {
            let mut row = json!({"scenario": r.scenario, "verdict": r.verdict, "calls": r.calls,
                   "total": r.calls.values().sum::<usize>()});
            if !r.ms.is_empty() {
                row["ms_per_event"] = spread(&r.ms);
            }
            row
        })
        .collect();
    support::write_figures("aws-calls.json", &Value::from(calls));
    let timeline = json!({
        "runs": 1,
        "total_ms": total,
        "registry_path_ms": registry_path,
        "alerts_overlap": overlap,
        "spans": spans.iter().map(|(w, a, b)| json!({"what": w, "start_ms": a, "end_ms": b})).collect::<Vec<_>>(),
    });
    support::write_figures("critical-path.json", &timeline);
}

/// Per-event calls and time of a FAIL in the hub's own account and in a member account,
/// through `entry::handle_event` with member accounts on, the same notifiers as above. Each of
/// the `runs` is a new container: new clients and a new identity cache, so that its first member
/// event assumes the role again. The calls must be the same in every run.
async fn member_rows(
    emu: &Emulator,
    proxy: &FaultProxy,
    through_proxy: &aws_config::SdkConfig,
    topic: &str,
    slack_url: &str,
    runs: usize,
) -> Vec<Row> {
    const MEMBER: &str = "111111111111";
    let options = AlertOptions {
        name_account: true,
        ..AlertOptions::default()
    };
    let env = |k: &str| match k {
        "MEMBER_ROLE_NAME" => Some("ecr-scan-gate-member".to_string()),
        "MEMBER_ACCOUNTS" => Some(MEMBER.to_string()),
        _ => None,
    };
    let home = Home::from_function_arn("arn:aws:lambda:us-east-1:123456789012:function:gate")
        .expect("home");
    // The member's registry as the member sees it (set-up calls go to moto directly).
    let provider = aws_config::sts::AssumeRoleProvider::builder(format!(
        "arn:aws:iam::{MEMBER}:role/ecr-scan-gate-member"
    ))
    .configure(&emu.config)
    .build()
    .await;
    let member_config = emu
        .config
        .to_builder()
        .credentials_provider(aws_sdk_ecr::config::SharedCredentialsProvider::new(
            provider,
        ))
        .build();
    let member = Emulator {
        endpoint: emu.endpoint.clone(),
        ecr: aws_sdk_ecr::Client::new(&member_config),
        config: member_config,
    };
    let scenarios: [(&'static str, &Emulator, &str); 3] = [
        (
            "fail, hub's own account (member accounts on)",
            emu,
            "123456789012",
        ),
        (
            "fail, member account (first event: AssumeRole)",
            &member,
            MEMBER,
        ),
        ("fail, member account (warm container)", &member, MEMBER),
    ];
    let mut rows: Vec<Row> = Vec::new();
    for run in 0..runs {
        // A new container: its own clients, its own credentials cache.
        let gate = Gate::new(
            EcrRegistry::new(aws_sdk_ecr::Client::new(through_proxy), "quarantine-"),
            Policy::default(),
            Settings::default(),
        )
        .with_notifier(Box::new(SnsNotifier::new(
            aws_sdk_sns::Client::new(through_proxy),
            topic,
            options.clone(),
        )))
        .with_notifier(Box::new(
            SlackNotifier::new(
                WebhookUrl::parse(slack_url).expect("url"),
                options.clone(),
                RetryPolicy::default(),
            )
            .expect("slack client"),
        ));
        let members = MemberConfig::from_lookup(env)
            .expect("member config")
            .expect("member accounts on");
        let members = MemberRegistries::new(through_proxy, members, "quarantine-");
        for (i, (scenario, at, account)) in scenarios.iter().enumerate() {
            let repo = common::unique_repo("bench-member");
            at.create_repo(&repo).await;
            let digest = at.push(&repo, "v1.4.2", ManifestKind::DockerV2).await;
            at.start_scan(&repo, &digest).await;
            let seeded = json!({
                "registryId": account, "repositoryName": repo, "imageId": {"imageDigest": digest},
                "imageScanStatus": {"status": "COMPLETE", "description": "seeded"},
                "imageScanFindings": basic_findings(vec![basic_finding(
                    "CVE-2026-1000", "CRITICAL", "openssl", "3.0.11-1~deb12u1")]),
            });
            let (code, body) = common::http(
                &emu.endpoint,
                "POST",
                "/moto-api/static/ecr/scan-finding-results",
                Some(
                    &json!({"results": [seeded], "region": common::REGION, "account_id": account}),
                ),
            )
            .expect("seed");
            assert_eq!(code, 201, "{body}");
            let mut event = ecr_scan_event(
                &repo,
                &digest,
                &["v1.4.2"],
                json!({"CRITICAL": 1}),
                "COMPLETE",
            );
            event["account"] = json!(account);
            proxy.reset_counts();
            let t = Instant::now();
            let response = ecr_scan_gate::entry::app::handle_event(
                &gate,
                Some(&members),
                Ok(&home),
                &event,
                TODAY,
                Deadline::none(),
                false,
            )
            .await
            .unwrap_or_else(|e| panic!("{scenario}: {e}"));
            let ms = t.elapsed().as_secs_f64() * 1e3;
            let verdict = match &response {
                Response::Evaluated(ev) => ev.verdict.to_string(),
                Response::Ignored { reason } => format!("ignored: {reason}"),
            };
            let calls: BTreeMap<String, usize> = proxy.counts().into_iter().collect();
            let n: usize = calls.values().sum();
            println!(
                "  {scenario} (run {}/{runs}): {n} AWS call(s) {calls:?} -> {verdict} in {ms:.1} ms",
                run + 1
            );
            match rows.get_mut(i) {
                None => rows.push(Row {
                    scenario,
                    calls,
                    verdict,
                    ms: vec![ms],
                }),
                Some(row) => {
                    assert_eq!(
                        (&row.calls, &row.verdict),
                        (&calls, &verdict),
                        "{scenario}: the calls differ between runs"
                    );
                    row.ms.push(ms);
                }
            }
        }
    }
    rows
}
