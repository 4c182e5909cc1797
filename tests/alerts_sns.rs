//! SNS alerts through the emulator: a real SnsNotifier publishes to a topic that an SQS queue
//! is subscribed to; the test reads the queue like any consumer would.

mod alert_support;
mod common;

use common::{image_with_critical_findings, unique_repo, Emulator, TODAY};
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::adapters::aws::sns::SnsNotifier;
use ecr_scan_gate::engine::gate::Gate;
use ecr_scan_gate::engine::settings::Settings;
use ecr_scan_gate::judgement::evaluation::{Action, ActionStatus, Response};
use ecr_scan_gate::policy::document::Policy;
use ecr_scan_gate::render::alert::AlertOptions;
use serde_json::Value;

fn gate(emu: &Emulator, topic_arn: &str) -> Gate<EcrRegistry> {
    Gate::new(
        EcrRegistry::new(emu.ecr.clone(), "quarantine-"),
        Policy::default(),
        Settings::default(),
    )
    .with_notifier(Box::new(SnsNotifier::new(
        emu.sns(),
        topic_arn,
        AlertOptions {
            quarantine_prefix: "quarantine-".into(),
            default_region: Some("us-east-1".into()),
            ..AlertOptions::default()
        },
    )))
}

#[tokio::test]
async fn failing_image_alert_reaches_a_subscribed_queue_with_subject_attributes_and_versioned_body()
{
    let emu = Emulator::start().await;
    let (repo, digest, event) = image_with_critical_findings(&emu, "sns-alert", 2).await;
    let tq = emu
        .topic_with_queue(&unique_repo("gate-alerts"), None)
        .await;

    let response = gate(&emu, &tq.topic_arn)
        .handle(&event, TODAY)
        .await
        .unwrap();
    let Response::Evaluated(ev) = response else {
        panic!("not evaluated")
    };
    assert!(
        ev.actions.contains(&Action::Alert {
            channel: "sns".into(),
            status: ActionStatus::Done
        }),
        "{:?}",
        ev.actions
    );

    let envelopes = emu.receive_envelopes(&tq.queue_url, 5).await;
    assert_eq!(envelopes.len(), 1, "{envelopes:?}");
    let env = &envelopes[0];
    assert_eq!(
        env["Subject"],
        // The quarantine starts once FAIL is certain, before the alert is rendered.
        format!("CRITICAL FAIL {repo}:v1.4.2: quarantined")
    );
    for (name, want) in [
        ("verdict", "FAIL"),
        ("severity", "CRITICAL"),
        ("repository", repo.as_str()),
    ] {
        assert_eq!(env["MessageAttributes"][name]["Type"], "String", "{name}");
        assert_eq!(env["MessageAttributes"][name]["Value"], want, "{name}");
    }
    let body: Value =
        serde_json::from_str(env["Message"].as_str().unwrap()).expect("the body is JSON");
    assert_eq!(body["schema_version"], 1);
    assert_eq!(body["source"], "ecr-scan-gate");
    assert_eq!(body["verdict"], "FAIL");
    assert_eq!(body["repository"], repo.as_str());
    assert_eq!(body["digest"], digest.as_str());
    assert_eq!(body["tags"], serde_json::json!(["v1.4.2"]));
    assert_eq!(body["counts"]["CRITICAL"], 2);
    assert_eq!(body["findings"]["top"].as_array().unwrap().len(), 2);
    assert_eq!(body["findings"]["top"][0]["package"], "openssl");
    assert_eq!(
        body["scan_results_url"],
        format!("https://us-east-1.console.aws.amazon.com/ecr/repositories/private/123456789012/{repo}/_/image/{digest}/scan-results?region=us-east-1")
    );

    // The e-mail text, as SNS received it (e-mail subscribers get this key).
    let sent = emu.sent_notifications(&tq.topic_arn);
    assert_eq!(sent.len(), 1);
    let structured: Value = serde_json::from_str(&sent[0].0).unwrap();
    let email = structured["email"].as_str().expect("an email text");
    assert!(
        email.starts_with(&format!(
            "{repo}:v1.4.2 failed the gate and must not be deployed."
        )),
        "{email}"
    );
    assert!(
        email.contains("- CVE-2026-1000 CRITICAL openssl 3.0.11-1~deb12u1 -> fix unknown"),
        "{email}"
    );
}

#[tokio::test]
async fn message_attributes_drive_subscription_filter_policies() {
    let emu = Emulator::start().await;
    let (_, _, event) = image_with_critical_findings(&emu, "sns-filter", 1).await;
    let fails = emu
        .topic_with_queue(
            &unique_repo("gate-fail-only"),
            Some(r#"{"verdict": ["FAIL"], "severity": ["CRITICAL"]}"#),
        )
        .await;
    let passes = emu
        .subscribed_queue(
            &fails.topic_arn,
            &unique_repo("gate-pass-only"),
            Some(r#"{"verdict": ["PASS"]}"#),
        )
        .await;

    gate(&emu, &fails.topic_arn)
        .handle(&event, TODAY)
        .await
        .unwrap();

    assert_eq!(emu.receive_envelopes(&fails.queue_url, 5).await.len(), 1);
    assert_eq!(
        emu.receive_envelopes(&passes, 1).await.len(),
        0,
        "the PASS-only queue got a FAIL alert"
    );
}
