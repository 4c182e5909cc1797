//! Support for the sweep tests (tests/sweep.rs, tests/sweep_queue.rs): a repository on the moto
//! server behind the fault proxy, which adds the scan summaries moto's DescribeImages lacks (and
//! paginates it when asked); the gate with the function's own ECR client; the invocation context,
//! SQS events and their batch answers.
#![allow(dead_code)]

use crate::common::proxy::FaultProxy;
use crate::common::summaries::Summaries;
use crate::common::{basic_finding, basic_findings, Emulator, ManifestKind, TODAY};
use crate::fakes::RecordingNotifier;
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::engine::gate::Gate;
use ecr_scan_gate::engine::ports::Deadline;
use ecr_scan_gate::engine::settings::Settings;
use ecr_scan_gate::entry::app;
use ecr_scan_gate::entry::app::{App, Context, Output, RegistryOutcome};
use ecr_scan_gate::entry::sweep::report::SweepReport;
use ecr_scan_gate::policy::document::Policy;
use serde_json::{json, Value};
use std::time::Duration;

pub const NOW_S: i64 = 1_795_746_208; // 2026-11-27

pub struct World {
    pub emu: Emulator,
    pub proxy: FaultProxy,
    pub summaries: Summaries,
    pub repo: String,
}

impl World {
    pub async fn new(stem: &str, page_size: Option<usize>) -> World {
        let emu = Emulator::start().await;
        let proxy = FaultProxy::start(&emu.endpoint).await;
        let summaries = Summaries::default();
        summaries.install(&proxy, page_size);
        let repo = crate::common::unique_repo(stem);
        emu.create_repo(&repo).await;
        World {
            emu,
            proxy,
            summaries,
            repo,
        }
    }

    pub async fn gate(&self, alerts: &RecordingNotifier) -> Gate<EcrRegistry> {
        // The function's configuration and ECR client, as `main` builds them.
        let config = crate::common::function_config(&self.proxy.endpoint).await;
        Gate::new(
            EcrRegistry::new(
                crate::common::function_ecr(&config, &self.proxy.endpoint),
                "quarantine-",
            ),
            Policy::default(),
            Settings::default(),
        )
        .with_notifier(Box::new(alerts.clone()))
    }

    /// An image `tag` whose findings are seeded and whose summary the proxy reports.
    pub async fn image(&self, tag: &str, critical: usize, medium: usize) -> String {
        let digest = self.emu.push(&self.repo, tag, ManifestKind::DockerV2).await;
        let mut findings = Vec::new();
        for i in 0..critical {
            findings.push(basic_finding(
                &format!("CVE-2026-{i:04}"),
                "CRITICAL",
                "openssl",
                "3.0.1",
            ));
        }
        for i in 0..medium {
            findings.push(basic_finding(
                &format!("CVE-2025-{i:04}"),
                "MEDIUM",
                "zlib",
                "1.2",
            ));
        }
        self.emu
            .seed(&self.repo, &digest, "COMPLETE", basic_findings(findings));
        self.emu.start_scan(&self.repo, &digest).await;
        let mut counts = serde_json::Map::new();
        if critical > 0 {
            counts.insert("CRITICAL".into(), json!(critical));
        }
        if medium > 0 {
            counts.insert("MEDIUM".into(), json!(medium));
        }
        self.summaries
            .set(&digest, "COMPLETE", Value::Object(counts));
        digest
    }

    pub fn sweep_input(&self) -> Value {
        json!({"sweep": {"repositories": [self.repo]}})
    }
}

pub fn qtag(digest: &str) -> String {
    format!("quarantine-{}", digest.trim_start_matches("sha256:"))
}

pub fn cx(deadline: Deadline) -> Context<'static> {
    Context {
        request_id: "test",
        function_name: "ecr-scan-gate",
        today: TODAY,
        now_s: NOW_S,
        deadline,
        home: Err("no function ARN: one account"),
    }
}

/// The sweep of `w` with `deadline`, its first `operation` request held at the proxy until the
/// deadline leaves less than `reserve`, then answered: the order is the test's, not the clock's.
pub async fn sweep_held_until(
    app: &App<EcrRegistry>,
    w: &World,
    operation: &str,
    deadline: Deadline,
    reserve: Duration,
) -> Output {
    let held = w.proxy.hold(operation);
    let input = w.sweep_input();
    let release = async {
        tokio::time::timeout(Duration::from_secs(60), held.arrived())
            .await
            .unwrap_or_else(|_| panic!("the sweep made no {operation} request"));
        while deadline.allows(reserve) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        held.release();
    };
    let (out, ()) = tokio::join!(run(app, &input, deadline), release);
    out
}

pub async fn run(app: &App<EcrRegistry>, input: &Value, deadline: Deadline) -> Output {
    app::handle(app, input, cx(deadline))
        .await
        .expect("handled")
}

pub fn swept(output: Output) -> SweepReport {
    match output {
        Output::Registry(RegistryOutcome::Swept(r)) => *r,
        other => panic!("not a sweep: {other:?}"),
    }
}

pub fn sqs_event(bodies: &[(&str, String)]) -> Value {
    json!({"Records": bodies.iter().map(|(id, body)| json!({
        "messageId": id,
        "receiptHandle": format!("handle-{id}"),
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ecr-scan-gate-sweep",
        "awsRegion": "us-east-1"
    })).collect::<Vec<_>>()})
}

pub fn batch_failures(output: &Output) -> Vec<String> {
    let Output::Batch(b) = output else {
        panic!("not a batch response: {output:?}")
    };
    let v = serde_json::to_value(b).unwrap();
    assert_eq!(
        v.as_object().map(|o| o.len()),
        Some(1),
        "only batchItemFailures: {v}"
    );
    v["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_string())
        .collect()
}

pub fn body(repo: &str, digest: &str) -> String {
    json!({"repository": repo, "digest": digest, "sweep": true}).to_string()
}
