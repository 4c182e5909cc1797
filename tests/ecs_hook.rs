//! The ECS deployment lifecycle hook (docs/enforcement.md) on the moto server, through the function's own
//! entry (`entry::app::handle`) with real SDK clients: ECR on the emulator, ECS's
//! `DescribeServiceRevisions` answered at the fault proxy as the Amazon ECS API Reference
//! documents it (`common::ecs`), Slack as a loopback HTTP server. The payload and the answers
//! follow the ECS developer guide, "Lambda hooks for Amazon ECS service deployments".
//!
//! Time is the context's `now_s`: a wait that is over is an old `waiting_since` in the incoming
//! `hookDetails`, as ECS passes back the previous answer's; nothing sleeps.

mod alert_support;
mod common;

use alert_support::{LogCapture, Reply, SlackReceiver};
use common::ecs::{ecr_image, hook_event, in_account, revision_arn, seed_in, Ecs};
use common::proxy::{Fault, FaultProxy};
use common::{basic_finding, basic_findings, Emulator, ManifestKind, TODAY};
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::adapters::aws::ecs::EcsServiceRevisions;
use ecr_scan_gate::adapters::aws::member::MemberRegistries;
use ecr_scan_gate::adapters::slack_webhook::{RetryPolicy, SlackNotifier, WebhookUrl};
use ecr_scan_gate::engine::accounts::{Home, MemberConfig};
use ecr_scan_gate::engine::gate::Gate;
use ecr_scan_gate::engine::ports::Deadline;
use ecr_scan_gate::engine::settings::Settings;
use ecr_scan_gate::entry::app::{self, App, Context, Output};
use ecr_scan_gate::policy::document::Policy;
use ecr_scan_gate::render::alert::AlertOptions;
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::Duration;

/// 2026-11-27T02:23:28Z.
const NOW: i64 = 1_795_746_208;
const WAITING_SINCE: &str = "2026-11-27T02:23:28Z";
const MEMBER: &str = "111111111111";

/// The emulator, the proxy the function's clients go through, ECS's revisions, and Slack.
struct World {
    emu: Emulator,
    proxy: FaultProxy,
    ecs: Ecs,
    slack: SlackReceiver,
}

/// The function's log lines of every test of this binary (info and up), as JSON. Global, and
/// set before any test asks the hook: a subscriber scoped to one test thread can miss a line
/// whose call site another thread registered first.
fn logs() -> &'static LogCapture {
    static LOGS: OnceLock<LogCapture> = OnceLock::new();
    LOGS.get_or_init(|| {
        let capture = LogCapture::default();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::INFO)
            .with_writer(capture.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
        capture
    })
}

impl World {
    async fn start() -> World {
        logs();
        let emu = Emulator::start().await;
        let proxy = FaultProxy::start(&emu.endpoint).await;
        let ecs = Ecs::default();
        ecs.install(&proxy);
        let slack = SlackReceiver::start(vec![], Reply::ok()).await;
        World {
            emu,
            proxy,
            ecs,
            slack,
        }
    }

    /// The function with `policy`: its own registry, Slack alerts, ECS's revisions.
    async fn app(&self, policy: &str) -> App<EcrRegistry> {
        self.app_with(policy, Settings::default()).await
    }

    async fn app_with(&self, policy: &str, settings: Settings) -> App<EcrRegistry> {
        let config = common::sdk_config(&self.proxy.endpoint).await;
        let retry = RetryPolicy {
            max_attempts: 1,
            base_backoff: Duration::from_millis(10),
            max_retry_after: Duration::from_secs(1),
            request_timeout: Duration::from_secs(5),
        };
        let slack = SlackNotifier::new(
            WebhookUrl::parse(&self.slack.url).unwrap(),
            AlertOptions::default(),
            retry,
        )
        .unwrap();
        let gate = Gate::new(
            EcrRegistry::new(aws_sdk_ecr::Client::new(&config), "quarantine-"),
            Policy::from_json(policy).unwrap(),
            settings,
        )
        .with_notifier(Box::new(slack));
        App::new(gate).with_service_revisions(Box::new(EcsServiceRevisions::new(
            aws_sdk_ecs::Client::new(&config),
        )))
    }

    /// A repository with one image tagged `v1`, scanned with these findings (`None`: never
    /// scanned); returns (repository, digest).
    async fn image(&self, stem: &str, findings: Option<Value>) -> (String, String) {
        let repo = common::unique_repo(stem);
        self.emu.create_repo(&repo).await;
        let digest = self.emu.push(&repo, "v1", ManifestKind::DockerV2).await;
        if let Some(f) = findings {
            self.emu.seed(&repo, &digest, "COMPLETE", f);
            self.emu.start_scan(&repo, &digest).await;
        }
        (repo, digest)
    }

    /// A revision of service `web` in cluster `prod` running these containers.
    fn revision(&self, id: &str, containers: &[(&str, &str, Option<&str>)]) -> String {
        let arn = revision_arn("prod", "web", id);
        self.ecs.set(&arn, containers);
        arn
    }

    /// The registry was only read: no tag change, no archive.
    fn assert_read_only(&self) {
        for op in ["PutImage", "BatchDeleteImage", "UpdateImageStorageClass"] {
            assert_eq!(self.proxy.count(op), 0, "the hook called {op}");
        }
    }
}

fn home() -> Home {
    Home::from_function_arn("arn:aws:lambda:us-east-1:123456789012:function:ecr-scan-gate").unwrap()
}

/// The hook's answer at `now_s`, exactly as the function returns it.
async fn ask(app: &App<EcrRegistry>, event: &Value, now_s: i64) -> Value {
    ask_as("test", app, event, now_s).await
}

async fn ask_as(request_id: &str, app: &App<EcrRegistry>, event: &Value, now_s: i64) -> Value {
    let home = home();
    let cx = Context {
        request_id,
        function_name: "ecr-scan-gate",
        today: TODAY,
        now_s,
        deadline: Deadline::none(),
        home: Ok(&home),
    };
    match app::handle(app, event, cx).await.unwrap() {
        Output::EcsHook(answer) => serde_json::to_value(answer).unwrap(),
        other => panic!("not a hook answer: {other:?}"),
    }
}

fn clean() -> Value {
    basic_findings(vec![])
}

fn critical() -> Value {
    basic_findings(vec![basic_finding(
        "CVE-2024-0001",
        "CRITICAL",
        "openssl",
        "3.0.1",
    )])
}

fn qtag(digest: &str) -> String {
    format!("quarantine-{}", digest.trim_start_matches("sha256:"))
}

#[tokio::test]
async fn a_passing_image_succeeds_without_an_alert_or_a_change() {
    let w = World::start().await;
    let (repo, digest) = w.image("hook-pass", Some(clean())).await;
    let image = ecr_image(&repo, "v1");
    let arn = w.revision("1", &[("app", &image, Some(&digest))]);
    let app = w.app("{}").await;
    let answer = ask(&app, &hook_event(&arn, "PRE_SCALE_UP", None), NOW).await;
    assert_eq!(answer, json!({"hookStatus": "SUCCEEDED"}));
    assert!(w.slack.requests().is_empty(), "no alert on SUCCEEDED");
    assert_eq!(w.emu.tags(&repo, &digest).await, vec!["v1".to_string()]);
    assert_eq!(w.proxy.count("DescribeServiceRevisions"), 1);
    w.assert_read_only();
}

#[tokio::test]
async fn a_failing_image_fails_with_one_alert_and_one_decision_line() {
    let w = World::start().await;
    let (repo, digest) = w.image("hook-fail", Some(critical())).await;
    let (ok_repo, ok_digest) = w.image("hook-side", Some(clean())).await;
    let image = ecr_image(&repo, "v1");
    let sidecar = ecr_image(&ok_repo, "v1");
    let arn = w.revision(
        "2",
        &[
            ("app", &image, Some(&digest)),
            ("sidecar", &sidecar, Some(&ok_digest)),
        ],
    );
    let app = w.app("{}").await;
    let event = hook_event(&arn, "PRE_SCALE_UP", None);
    let answer = ask_as("one-line-please", &app, &event, NOW).await;
    assert_eq!(answer, json!({"hookStatus": "FAILED"}));

    let sent = w.slack.requests();
    assert_eq!(sent.len(), 1, "one alert");
    let body = &sent[0].body;
    for named in [
        "service web (cluster prod)",
        "container app",
        image.as_str(),
        "CVE-2024-0001",
    ] {
        assert!(body.contains(named), "the alert lacks {named:?}: {body}");
    }
    assert!(!body.contains("container sidecar"), "{body}");
    // The hook does not quarantine: the function does that on the scan's own event.
    assert_eq!(w.emu.tags(&repo, &digest).await, vec!["v1".to_string()]);
    w.assert_read_only();

    let text = logs().text();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"request_id\":\"one-line-please\""))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].contains("ecs hook decision"), "{}", lines[0]);
    let line: Value = serde_json::from_str(lines[0]).unwrap();
    let fields = &line["fields"];
    assert_eq!(fields["lifecycle_stage"], "PRE_SCALE_UP");
    assert_eq!(fields["service"], "web (cluster prod)");
    assert_eq!(fields["hook_status"], "FAILED");
    assert_eq!(line["level"], "WARN");
    let images = fields["images"].as_str().unwrap();
    assert!(
        images.contains("container app") && images.contains("blocked: "),
        "{images}"
    );
    assert!(
        images.contains("container sidecar") && images.contains("deployable (PASS)"),
        "{images}"
    );
    assert_eq!(fields["alert"], "slack: sent");
}

#[tokio::test]
async fn an_image_that_carries_the_quarantine_tag_fails() {
    let w = World::start().await;
    // Clean by the policy now, but quarantined: blocked until the function releases it.
    let (repo, digest) = w.image("hook-qtag", Some(clean())).await;
    w.emu.add_tag(&repo, &digest, &qtag(&digest)).await;
    let image = ecr_image(&repo, "v1");
    let arn = w.revision("3", &[("app", &image, Some(&digest))]);
    let app = w.app("{}").await;
    let answer = ask(&app, &hook_event(&arn, "PRE_SCALE_UP", None), NOW).await;
    assert_eq!(answer, json!({"hookStatus": "FAILED"}));
    let sent = w.slack.requests();
    assert_eq!(sent.len(), 1);
    let payload = sent[0].json();
    let title = payload["text"].as_str().unwrap();
    assert!(
        title.contains("FAIL")
            && title.contains("ECS deployment refused (service web (cluster prod), container app)")
            && title.contains("already quarantined"),
        "{title}"
    );
    assert!(sent[0].body.contains("quarantine tag"), "{}", sent[0].body);
    let mut tags = vec![qtag(&digest), "v1".to_string()];
    tags.sort();
    assert_eq!(w.emu.tags(&repo, &digest).await, tags);
    w.assert_read_only();
}

#[tokio::test]
async fn an_archived_image_fails_whatever_its_verdict() {
    let w = World::start().await;
    // ECR archive answered at the proxy as the ECR API Reference documents it (common::archive).
    let archive = common::archive::Archive::install(&w.proxy);
    let (repo, digest) = w.image("hook-arch", Some(clean())).await;
    archive.set_status(&digest, "ARCHIVED");
    let image = ecr_image(&repo, "v1");
    let arn = w.revision("8", &[("app", &image, Some(&digest))]);
    let app = w.app("{}").await;
    let answer = ask(&app, &hook_event(&arn, "PRE_SCALE_UP", None), NOW).await;
    assert_eq!(answer, json!({"hookStatus": "FAILED"}));
    let sent = w.slack.requests();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].body.contains("archived"), "{}", sent[0].body);
    w.assert_read_only();
}

#[tokio::test]
async fn dry_run_refuses_nothing_and_says_what_it_would_have_answered() {
    let w = World::start().await;
    let (repo, digest) = w.image("hook-dry", Some(critical())).await;
    let image = ecr_image(&repo, "v1");
    let arn = w.revision("9", &[("app", &image, Some(&digest))]);
    let app = w
        .app_with(
            "{}",
            Settings {
                dry_run: true,
                ..Settings::default()
            },
        )
        .await;
    let event = hook_event(&arn, "PRE_SCALE_UP", None);
    let answer = ask_as("dry-run-hook", &app, &event, NOW).await;
    assert_eq!(answer, json!({"hookStatus": "SUCCEEDED"}));
    assert!(w.slack.requests().is_empty(), "no alert under DRY_RUN");
    let text = logs().text();
    let line = text
        .lines()
        .find(|l| l.contains("\"request_id\":\"dry-run-hook\""))
        .unwrap_or_default();
    assert!(
        line.contains("DRY_RUN: answered SUCCEEDED instead of FAILED"),
        "{text}"
    );
    assert!(line.contains("blocked: "), "{line}");
    w.assert_read_only();
}

#[tokio::test]
async fn an_unscanned_image_waits_then_on_scan_failure_decides() {
    let w = World::start().await;
    let (repo, digest) = w.image("hook-wait", None).await;
    let image = ecr_image(&repo, "v1");
    let arn = w.revision("4", &[("app", &image, Some(&digest))]);

    for (policy, after_wait, alerts) in [
        (r#"{"ecs_hook": {"max_wait_s": 120}}"#, "SUCCEEDED", 0),
        (
            r#"{"ecs_hook": {"max_wait_s": 120}, "on_scan_failure": "block"}"#,
            "FAILED",
            1,
        ),
    ] {
        let app = w.app(policy).await;
        let before = w.slack.requests().len();
        // First call: the wait starts now.
        let first = ask(&app, &hook_event(&arn, "PRE_SCALE_UP", None), NOW).await;
        assert_eq!(
            first,
            json!({"hookStatus": "IN_PROGRESS", "callBackDelay": 30,
                   "hookDetails": {"waiting_since": WAITING_SINCE}})
        );
        // ECS passes the details back (with a service's own, which are kept).
        let details = json!({"waiting_since": WAITING_SINCE, "team": "payments"});
        let again = hook_event(&arn, "PRE_SCALE_UP", Some(details.clone()));
        let second = ask(&app, &again, NOW + 90).await;
        assert_eq!(
            second,
            json!({"hookStatus": "IN_PROGRESS", "callBackDelay": 30, "hookDetails": details}),
            "{policy}"
        );
        // max_wait_s has passed since waiting_since: the policy decides.
        let last = ask(&app, &again, NOW + 120).await;
        assert_eq!(last, json!({"hookStatus": after_wait}), "{policy}");
        assert_eq!(w.slack.requests().len() - before, alerts, "{policy}");
    }
    let sent = w.slack.requests();
    assert!(sent[0].body.contains("container app"), "{}", sent[0].body);
    assert_eq!(w.emu.tags(&repo, &digest).await, vec!["v1".to_string()]);
    w.assert_read_only();
}

#[tokio::test]
async fn images_outside_ecr_follow_non_ecr() {
    let w = World::start().await;
    let (repo, digest) = w.image("hook-mixed", Some(clean())).await;
    let image = ecr_image(&repo, "v1");
    let public = "public.ecr.aws/nginx/nginx:1.27";
    let hub = "busybox:1.36";
    let outside = format!("sha256:{}", "e".repeat(64));
    let arn = w.revision(
        "5",
        &[
            ("app", &image, Some(&digest)),
            ("proxy", public, Some(&outside)),
            ("init", hub, Some(&outside)),
        ],
    );
    let event = hook_event(&arn, "POST_TEST_TRAFFIC_SHIFT", None);
    let allow = w.app("{}").await;
    assert_eq!(
        ask(&allow, &event, NOW).await,
        json!({"hookStatus": "SUCCEEDED"})
    );
    assert!(w.slack.requests().is_empty());

    let block = w.app(r#"{"ecs_hook": {"non_ecr": "block"}}"#).await;
    assert_eq!(
        ask(&block, &event, NOW).await,
        json!({"hookStatus": "FAILED"})
    );
    let sent = w.slack.requests();
    assert_eq!(sent.len(), 1, "one alert for both images outside ECR");
    let body = &sent[0].body;
    for named in ["container proxy", public, "container init", hub, "non_ecr"] {
        assert!(body.contains(named), "the alert lacks {named:?}: {body}");
    }
    w.assert_read_only();
}

#[tokio::test]
async fn a_revision_that_cannot_be_read_is_retried_then_fails_closed() {
    let w = World::start().await;
    let app = w.app(r#"{"ecs_hook": {"max_wait_s": 300}}"#).await;
    // ECS does not know the revision: `failures` [{reason MISSING}].
    let unknown = revision_arn("prod", "web", "404");
    let event = hook_event(&unknown, "PRE_SCALE_UP", None);
    let first = ask(&app, &event, NOW).await;
    assert_eq!(first["hookStatus"], "IN_PROGRESS", "{first}");
    assert_eq!(first["hookDetails"]["waiting_since"], WAITING_SINCE);
    let late = hook_event(
        &unknown,
        "PRE_SCALE_UP",
        Some(json!({"waiting_since": WAITING_SINCE})),
    );
    assert_eq!(
        ask(&app, &late, NOW + 300).await,
        json!({"hookStatus": "FAILED"})
    );
    // Access denied (the role lacks ecs:DescribeServiceRevisions): the same.
    let (repo, digest) = w.image("hook-denied", Some(clean())).await;
    let image = ecr_image(&repo, "v1");
    let arn = w.revision("6", &[("app", &image, Some(&digest))]);
    w.proxy
        .inject(Some("DescribeServiceRevisions"), Fault::AccessDenied, 2);
    let denied = ask(&app, &hook_event(&arn, "PRE_SCALE_UP", None), NOW).await;
    assert_eq!(denied["hookStatus"], "IN_PROGRESS", "{denied}");
    let late = hook_event(
        &arn,
        "PRE_SCALE_UP",
        Some(json!({"waiting_since": WAITING_SINCE})),
    );
    assert_eq!(
        ask(&app, &late, NOW + 300).await,
        json!({"hookStatus": "FAILED"})
    );
    // Once readable, the image decides.
    assert_eq!(
        ask(&app, &late, NOW + 30).await,
        json!({"hookStatus": "SUCCEEDED"})
    );
    // A service of another account: FAILED at once, ECS not even asked.
    let calls = w.proxy.count("DescribeServiceRevisions");
    let elsewhere = unknown.replace("123456789012", "999999999999");
    assert_eq!(
        ask(&app, &hook_event(&elsewhere, "PRE_SCALE_UP", None), NOW).await,
        json!({"hookStatus": "FAILED"})
    );
    assert_eq!(w.proxy.count("DescribeServiceRevisions"), calls);
    assert!(w.slack.requests().is_empty(), "no image to name: no alert");
    w.assert_read_only();
}

#[tokio::test]
async fn an_image_of_another_account_is_judged_there_through_the_member_role() {
    let w = World::start().await;
    let member = in_account(&w.emu, MEMBER).await;
    let repo = common::unique_repo("hook-member");
    member.create_repo(&repo).await;
    let digest = member.push(&repo, "v1", ManifestKind::DockerV2).await;
    member.start_scan(&repo, &digest).await;
    seed_in(&member, MEMBER, &repo, &digest, critical());
    let image = format!(
        "{MEMBER}.dkr.ecr.{}.amazonaws.com/{repo}:v1",
        common::REGION
    );
    let arn = w.revision("7", &[("app", &image, Some(&digest))]);
    let event = hook_event(&arn, "PRE_SCALE_UP", None);

    // Without member accounts: blocked, and the reason says why.
    let alone = w.app("{}").await;
    assert_eq!(
        ask(&alone, &event, NOW).await,
        json!({"hookStatus": "FAILED"})
    );
    let sent = w.slack.requests();
    assert!(
        sent[0].body.contains("MEMBER_ROLE_NAME"),
        "{}",
        sent[0].body
    );

    // With the member account allowed: judged in its registry (its CRITICAL finding).
    let config = common::sdk_config(&w.proxy.endpoint).await;
    let members = MemberConfig::from_lookup(|k| match k {
        "MEMBER_ROLE_NAME" => Some("ecr-scan-gate-member".to_string()),
        "MEMBER_ACCOUNTS" => Some(MEMBER.to_string()),
        _ => None,
    })
    .unwrap()
    .unwrap();
    let hub =
        w.app("{}")
            .await
            .with_members(MemberRegistries::new(&config, members, "quarantine-"));
    w.proxy.reset_counts();
    assert_eq!(
        ask(&hub, &event, NOW).await,
        json!({"hookStatus": "FAILED"})
    );
    assert!(w.proxy.count("AssumeRole") >= 1, "{:?}", w.proxy.counts());
    let sent = w.slack.requests();
    let body = &sent.last().unwrap().body;
    assert!(
        body.contains("CVE-2024-0001") && body.contains(MEMBER),
        "{body}"
    );
    w.assert_read_only();
}

#[tokio::test]
async fn the_sample_event_is_a_hook_payload() {
    let w = World::start().await;
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/events/ecs-lifecycle-hook.json"
    ))
    .unwrap();
    let event: Value = serde_json::from_str(&text).unwrap();
    let arn = event["executionDetails"]["targetServiceRevisionArn"]
        .as_str()
        .unwrap();
    let (repo, digest) = w.image("hook-sample", Some(clean())).await;
    let image = ecr_image(&repo, "v1");
    w.ecs.set(arn, &[("web", &image, Some(&digest))]);
    let app = w.app("{}").await;
    assert_eq!(
        ask(&app, &event, NOW).await,
        json!({"hookStatus": "SUCCEEDED"})
    );
}
