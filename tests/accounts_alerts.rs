//! Alerts of a hub with member accounts, with plain values: the title, the Slack header, fields
//! and context, the e-mail and the SNS `account` attribute name the image's account and region;
//! without member accounts the alerts are as they were.

mod alert_support;

use alert_support::failing;
use ecr_scan_gate::judgement::evaluation::Evaluation;
use ecr_scan_gate::render::alert::AlertOptions;
use ecr_scan_gate::render::slack_blocks::{slack_limit_violations, slack_payload};
use ecr_scan_gate::render::sns_message::sns_message;
use serde_json::Value;

fn hub() -> AlertOptions {
    AlertOptions {
        default_region: Some("us-east-1".into()),
        name_account: true,
        ..AlertOptions::default()
    }
}

fn in_member() -> Evaluation {
    let mut ev = failing(3, 2);
    ev.account = Some("111111111111".into());
    ev.region = Some("eu-west-1".into());
    ev
}

fn slack_texts(payload: &Value) -> String {
    payload.to_string()
}

#[test]
fn a_hubs_alert_names_the_account_and_region_everywhere() {
    let ev = in_member();
    let msg = sns_message(&ev, &hub());
    assert_eq!(
        msg.subject,
        "CRITICAL FAIL demo-api:v1.4.2 in 111111111111/eu-west-1: quarantining"
    );
    assert!(msg
        .attributes
        .contains(&("account", "111111111111".to_string())));
    assert_eq!(msg.body()["account"], "111111111111");
    assert_eq!(msg.body()["region"], "eu-west-1");
    let email = msg.email();
    assert!(email.contains("Account:    111111111111"), "{email}");
    assert!(email.contains("Region:     eu-west-1"), "{email}");

    let payload = slack_payload(&ev, &hub());
    assert_eq!(slack_limit_violations(&payload), Vec::<String>::new());
    let header = payload["blocks"][0]["text"]["text"].as_str().unwrap();
    assert_eq!(header, "CRITICAL FAIL: demo-api in 111111111111/eu-west-1");
    let fields = payload["blocks"][2]["fields"].to_string();
    assert!(fields.contains("*Account*\\n111111111111"), "{fields}");
    let context = payload["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "context")
        .unwrap()
        .to_string();
    assert!(
        context.contains("account/region 111111111111/eu-west-1"),
        "{context}"
    );
    assert!(payload["text"]
        .as_str()
        .unwrap()
        .contains("in 111111111111/eu-west-1"));
}

#[test]
fn the_location_survives_the_cut_of_a_long_subject() {
    let mut ev = in_member();
    ev.repository = format!("{}/{}", "a".repeat(120), "b".repeat(130));
    ev.tags = vec!["t".repeat(300)];
    let s = sns_message(&ev, &hub()).subject;
    assert!(s.len() < 100, "{} chars: {s}", s.len());
    assert!(
        s.ends_with(" in 111111111111/eu-west-1: quarantining"),
        "{s}"
    );
}

#[test]
fn without_member_accounts_alerts_do_not_change() {
    let ev = in_member();
    let single = AlertOptions {
        default_region: Some("us-east-1".into()),
        ..AlertOptions::default()
    };
    let msg = sns_message(&ev, &single);
    assert_eq!(msg.subject, "CRITICAL FAIL demo-api:v1.4.2: quarantining");
    assert!(msg.attributes.iter().all(|(k, _)| *k != "account"));
    assert!(!msg.email().contains("Account:"));
    let payload = slack_payload(&ev, &single);
    assert!(!slack_texts(&payload).contains("*Account*"));
    assert_eq!(
        payload["blocks"][0]["text"]["text"],
        "CRITICAL FAIL: demo-api"
    );
}

#[test]
fn an_account_that_is_no_account_id_is_not_named() {
    let mut ev = in_member();
    ev.account = Some("<!channel>".into());
    let msg = sns_message(&ev, &hub());
    assert_eq!(msg.subject, "CRITICAL FAIL demo-api:v1.4.2: quarantining");
    assert!(msg.attributes.iter().all(|(k, _)| *k != "account"));
    assert!(!slack_texts(&slack_payload(&ev, &hub())).contains("<!channel>"));
}
