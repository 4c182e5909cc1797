//! Prints what an alert looks like: the SNS publish (subject, attributes, e-mail text, JSON
//! body) and the Slack webhook payload, rendered by the crate from a sample FAIL evaluation.
//!
//!     cargo run --example alert_preview

#[path = "../tests/alert_support/mod.rs"]
mod alert_support;

use ecr_scan_gate::render::alert::AlertOptions;
use ecr_scan_gate::render::slack_blocks::slack_payload;
use ecr_scan_gate::render::sns_message::sns_message;

fn main() {
    let ev = alert_support::failing(2, 3);
    let opts = AlertOptions::default();
    let sns = sns_message(&ev, &opts);
    println!("=== SNS Subject\n{}\n", sns.subject);
    println!("=== SNS MessageAttributes (String)");
    for (k, v) in &sns.attributes {
        println!("{k} = {v}");
    }
    println!("\n=== SNS e-mail text (key `email`)\n{}", sns.email());
    println!(
        "=== SNS JSON body (key `default`: SQS, Lambda, HTTPS subscribers)\n{}\n",
        serde_json::to_string_pretty(&sns.body()).unwrap_or_default()
    );
    println!(
        "=== Slack webhook payload\n{}",
        serde_json::to_string_pretty(&slack_payload(&ev, &opts)).unwrap_or_default()
    );
}
