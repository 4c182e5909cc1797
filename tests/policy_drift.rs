//! A policy rewritten outside Terraform: the function compares the SHA-256 of the document it
//! read from the policy parameter with GATE_POLICY_REVISION (what Terraform stored), keeps
//! judging with the document, and sends one notice on every channel (moto's SSM and SNS, Slack
//! as a loopback HTTP server).

mod alert_support;
mod common;

use alert_support::{Reply, SlackReceiver};
use common::Emulator;
use ecr_scan_gate::adapters::aws::sns::SnsNotifier;
use ecr_scan_gate::adapters::aws::ssm::SsmParameters;
use ecr_scan_gate::adapters::slack_webhook::{RetryPolicy, SlackNotifier, WebhookUrl};
use ecr_scan_gate::engine::ports::Notifier;
use ecr_scan_gate::entry::config::{
    announce, load_policy_revised, policy_drift, revision_of, Config,
};
use ecr_scan_gate::render::alert::AlertOptions;
use std::sync::Arc;
use std::time::Duration;

#[test]
fn the_revision_is_terraforms_formula() {
    // Terraform: substr(sha256(""), 0, 16).
    assert_eq!(revision_of(""), "e3b0c44298fc1c14");
    assert_eq!(revision_of("{}"), "44136fa355b3678a");
}

#[tokio::test]
async fn a_policy_changed_outside_terraform_is_judged_and_announced_once_on_every_channel() {
    let emu = Emulator::start().await;
    let name = format!("/{}/policy", common::unique_repo("drift"));
    let stored_by_terraform = r#"{"fail":{"CRITICAL":1}}"#;
    let rewritten = r#"{"fail":{"CRITICAL":100}}"#;
    emu.put_secure_parameter(&name, rewritten).await;
    let config = Config::from_lookup(|k| match k {
        "GATE_POLICY_PARAMETER" => Some(name.clone()),
        "GATE_POLICY_REVISION" => Some(revision_of(stored_by_terraform)),
        _ => None,
    })
    .unwrap();
    let ssm = SsmParameters::new(aws_sdk_ssm::Client::new(&emu.config));
    let (policy, revision) = load_policy_revised(&config.policy_source, Some(&ssm))
        .await
        .unwrap();
    // The gate judges with what it read.
    assert_eq!(
        policy
            .fail
            .get(&ecr_scan_gate::domain::severity::Severity::Critical),
        Some(&100)
    );
    assert_eq!(revision.as_deref(), Some(revision_of(rewritten).as_str()));
    let notice = policy_drift(&config, revision.as_deref()).expect("a drift");
    assert!(notice.text.contains(&name), "{}", notice.text);
    assert!(notice.text.contains(&revision_of(stored_by_terraform)));

    let slack = SlackReceiver::start(vec![], Reply::ok()).await;
    let topic = emu
        .topic_with_queue(&common::unique_repo("drift"), None)
        .await;
    let notifiers: Vec<Arc<dyn Notifier>> = vec![
        Arc::new(SnsNotifier::new(
            aws_sdk_sns::Client::new(&emu.config),
            &topic.topic_arn,
            AlertOptions::default(),
        )),
        Arc::new(
            SlackNotifier::new(
                WebhookUrl::parse(&slack.url).unwrap(),
                AlertOptions::default(),
                RetryPolicy::default(),
            )
            .unwrap(),
        ),
    ];
    let sent = announce(&notifiers, &notice, Duration::from_secs(5)).await;
    assert!(sent.iter().all(|(_, r)| r.is_ok()), "{sent:?}");
    let posts = slack.requests();
    assert_eq!(posts.len(), 1);
    assert!(posts[0]
        .body
        .contains("the policy was changed outside Terraform"));
    let published = emu.sent_notifications(&topic.topic_arn);
    assert_eq!(published.len(), 1);
    assert_eq!(
        published[0].1.as_deref(),
        Some("ecr-scan-gate: the policy was changed outside Terraform")
    );

    // What Terraform stored: no notice.
    emu.put_secure_parameter(&name, stored_by_terraform).await;
    let (_, revision) = load_policy_revised(&config.policy_source, Some(&ssm))
        .await
        .unwrap();
    assert!(policy_drift(&config, revision.as_deref()).is_none());
}
