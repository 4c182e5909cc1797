//! The registry report (`{"report": {}}`) on the moto server: the digest reaches SNS (a
//! subscribed queue) and Slack (a loopback receiver), the response carries the same, and the
//! operator CLI lists the same images.

mod alert_support;
mod common;

use alert_support::{Reply, SlackReceiver};
use common::{Emulator, ManifestKind, TODAY};
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::adapters::aws::sns::SnsNotifier;
use ecr_scan_gate::adapters::slack_webhook::{RetryPolicy, SlackNotifier, WebhookUrl};
use ecr_scan_gate::engine::gate::Gate;
use ecr_scan_gate::engine::ports::Deadline;
use ecr_scan_gate::engine::settings::Settings;
use ecr_scan_gate::entry::app;
use ecr_scan_gate::entry::app::{App, Context, Output, RegistryOutcome};
use ecr_scan_gate::policy::document::Policy;
use ecr_scan_gate::render::alert::AlertOptions;
use serde_json::{json, Value};
use std::process::Command;

const POLICY: &str = r#"{"allowlist": [
  {"id": "CVE-2024-0001", "expires": "2026-11-20", "reason": "expired last week"},
  {"id": "CVE-2024-0002", "repository": "demo-*", "expires": "2026-12-02", "reason": "vendor fix due"},
  {"id": "CVE-2024-0003", "expires": "2027-06-30", "reason": "far away"},
  {"id": "CVE-2024-0004", "reason": "no expiry"}
]}"#;

struct Registry {
    emu: Emulator,
    repo: String,
    quarantined: String,
}

async fn registry() -> Registry {
    let emu = Emulator::start().await;
    let repo = common::unique_repo("report");
    emu.create_repo(&repo).await;
    let quarantined = emu.push(&repo, "v1", ManifestKind::DockerV2).await;
    let qtag = format!("quarantine-{}", quarantined.trim_start_matches("sha256:"));
    emu.add_tag(&repo, &quarantined, &qtag).await;
    emu.push(&repo, "v2", ManifestKind::DockerV2).await;
    Registry {
        emu,
        repo,
        quarantined,
    }
}

fn cx() -> Context<'static> {
    Context {
        request_id: "test",
        function_name: "ecr-scan-gate",
        today: TODAY,
        now_s: 0,
        deadline: Deadline::none(),
        home: Err("no function ARN: one account"),
    }
}

fn ours(images: &Value, repo: &str) -> Vec<Value> {
    images
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["repository"] == repo)
        .cloned()
        .collect()
}

#[tokio::test]
async fn the_report_sends_one_digest_of_quarantined_images_and_due_allowlist_entries_to_sns_and_slack(
) {
    let r = registry().await;
    let tq = r
        .emu
        .topic_with_queue(&common::unique_repo("report-topic"), None)
        .await;
    let slack = SlackReceiver::start(vec![], Reply::ok()).await;
    let options = AlertOptions::default();
    let gate = Gate::new(
        EcrRegistry::new(r.emu.ecr.clone(), "quarantine-"),
        Policy::from_json(POLICY).unwrap(),
        Settings::default(),
    )
    .with_notifier(Box::new(SnsNotifier::new(
        r.emu.sns(),
        &tq.topic_arn,
        options.clone(),
    )))
    .with_notifier(Box::new(
        SlackNotifier::new(
            WebhookUrl::parse(&slack.url).unwrap(),
            options,
            RetryPolicy::default(),
        )
        .unwrap(),
    ));
    let app = App::new(gate);
    let cx = cx();
    let out = app::handle(&app, &json!({"report": {}}), cx)
        .await
        .expect("reported");
    assert!(matches!(
        out,
        Output::Registry(RegistryOutcome::Reported(_))
    ));
    let response = serde_json::to_value(&out).unwrap();
    assert_eq!(response["outcome"], "reported");
    assert_eq!(response["date"], TODAY);
    let mine = ours(&response["quarantined"], &r.repo);
    assert_eq!(mine.len(), 1, "{response}");
    assert_eq!(mine[0]["digest"], r.quarantined);
    let mut tags: Vec<String> = serde_json::from_value(mine[0]["tags"].clone()).unwrap();
    tags.sort();
    assert_eq!(tags[1], "v1");
    assert!(mine[0]["pushed_at"].as_str().unwrap().ends_with('Z'));
    let due: Vec<(&str, bool)> = response["allowlist"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["id"].as_str().unwrap(), a["expired"].as_bool().unwrap()))
        .collect();
    assert_eq!(due, vec![("CVE-2024-0001", true), ("CVE-2024-0002", false)]);
    assert_eq!(
        response["alerts"],
        json!([{"channel": "sns", "status": "done"}, {"channel": "slack", "status": "done"}])
    );

    // SNS: one message with the same content.
    let sent = r.emu.sent_notifications(&tq.topic_arn);
    assert_eq!(sent.len(), 1);
    let (message, subject, _) = &sent[0];
    assert!(subject
        .as_deref()
        .unwrap()
        .starts_with("ecr-scan-gate report 2026-11-27: "));
    let doc: Value = serde_json::from_str(message).unwrap();
    let body: Value = serde_json::from_str(doc["default"].as_str().unwrap()).unwrap();
    assert_eq!(body["kind"], "report");
    assert_eq!(ours(&body["quarantined"], &r.repo), mine);
    assert_eq!(body["allowlist"], response["allowlist"]);
    // Slack: one message naming the image and the entries.
    let posts = slack.requests();
    assert_eq!(posts.len(), 1);
    let text = posts[0].json().to_string();
    assert!(text.contains(&r.repo), "{text}");
    assert!(text.contains("CVE-2024-0001") && text.contains("CVE-2024-0002"));
    assert!(!text.contains("CVE-2024-0003"), "not due yet");
}

#[tokio::test]
async fn the_cli_lists_the_quarantined_images_as_a_table_and_as_json() {
    let r = registry().await;
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ecr-scan-gate-check"))
            .args(args)
            .env("AWS_ENDPOINT_URL", &r.emu.endpoint)
            .env("AWS_REGION", common::REGION)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env_remove("QUARANTINE_TAG_PREFIX")
            .output()
            .expect("run ecr-scan-gate-check")
    };
    let out = run(&["quarantined", "--repository", &r.repo, "--output", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let images = doc["quarantined"].as_array().unwrap();
    assert_eq!(images.len(), 1, "{doc}");
    assert_eq!(images[0]["digest"], r.quarantined);
    assert_eq!(images[0]["repository"], r.repo);
    assert_eq!(doc["errors"], json!([]));

    let out = run(&["quarantined", "--repository", &r.repo]);
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("REPOSITORY"), "{table}");
    assert!(
        lines[1].starts_with(&r.repo) && lines[1].contains(&r.quarantined),
        "{table}"
    );
    assert_eq!(lines[2], "1 quarantined image(s)");

    // The pipeline's check is unchanged beside the new subcommand.
    let out = run(&[&r.repo, "--tag", "v2"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "v2 was never scanned: undecided"
    );
}

/// Slack refuses the report (404 no_service) while SNS takes it: the invocation succeeds, so
/// Lambda does not retry it and SNS does not get the report twice; the response names the
/// failed channel. When no channel took it, the invocation fails (a retry sends nothing twice).
#[tokio::test]
async fn a_channel_that_failed_does_not_make_the_report_go_twice_on_the_others() {
    let r = registry().await;
    let tq = r
        .emu
        .topic_with_queue(&common::unique_repo("report-partial"), None)
        .await;
    let slack = SlackReceiver::start(vec![], Reply::status(404, "no_service")).await;
    let options = AlertOptions::default();
    let slack_notifier = || {
        SlackNotifier::new(
            WebhookUrl::parse(&slack.url).unwrap(),
            AlertOptions::default(),
            RetryPolicy::default(),
        )
        .unwrap()
    };
    let gate = Gate::new(
        EcrRegistry::new(r.emu.ecr.clone(), "quarantine-"),
        Policy::from_json(POLICY).unwrap(),
        Settings::default(),
    )
    .with_notifier(Box::new(SnsNotifier::new(
        r.emu.sns(),
        &tq.topic_arn,
        options,
    )))
    .with_notifier(Box::new(slack_notifier()));
    let app = App::new(gate);
    let cx = cx();
    let out = app::handle(&app, &json!({"report": {}}), cx)
        .await
        .expect("SNS took it: not a failure to retry");
    let response = serde_json::to_value(&out).unwrap();
    assert_eq!(
        response["alerts"][0],
        json!({"channel": "sns", "status": "done"})
    );
    assert_eq!(response["alerts"][1]["channel"], "slack");
    assert_eq!(response["alerts"][1]["status"], "failed");
    assert_eq!(r.emu.sent_notifications(&tq.topic_arn).len(), 1);

    // Slack alone, refusing: nothing was sent, so the invocation fails and is retried.
    let only_slack = App::new(
        Gate::new(
            EcrRegistry::new(r.emu.ecr.clone(), "quarantine-"),
            Policy::from_json(POLICY).unwrap(),
            Settings::default(),
        )
        .with_notifier(Box::new(slack_notifier())),
    );
    let err = app::handle(&only_slack, &json!({"report": {}}), cx)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "ReportNotSent");
    assert!(err.to_string().contains("slack"), "{err}");
}
