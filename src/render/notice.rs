//! A notice (`crate::judgement::notice`) as SNS and Slack carry it.

use crate::judgement::notice::Notice;
use crate::render::sns_message::SnsMessage;
use serde_json::{json, Value};

/// The SNS message: a JSON body for programs (`kind` `notice`), the text for e-mail.
pub fn notice_sns_message(n: &Notice) -> SnsMessage {
    let body = json!({"schema_version": 1, "kind": "notice", "title": n.title, "text": n.text});
    let message = json!({
        "default": body.to_string(),
        "email": format!("{}\n\n{}\n", n.title, n.text),
    });
    SnsMessage {
        subject: n.title.chars().filter(char::is_ascii).take(99).collect(),
        message: message.to_string(),
        attributes: vec![("kind", "notice".to_string())],
        truncated: false,
    }
}

/// The Slack message.
pub fn notice_slack_payload(n: &Notice) -> Value {
    json!({
        "text": n.title,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": n.title.chars().take(150).collect::<String>()}},
            {"type": "section", "text": {"type": "mrkdwn", "text": n.text.chars().take(3000).collect::<String>()}},
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_channels_carry_the_title_and_the_text() {
        let n = Notice {
            title: "ecr-scan-gate: the policy was changed outside Terraform".to_string(),
            text: "GATE_POLICY_PARAMETER=/gate/policy holds revision b; Terraform stored a"
                .to_string(),
        };
        let sns = notice_sns_message(&n);
        assert_eq!(sns.subject, n.title);
        let m: Value = serde_json::from_str(&sns.message).unwrap();
        let body: Value = serde_json::from_str(m["default"].as_str().unwrap()).unwrap();
        assert_eq!(body["kind"], "notice");
        assert!(m["email"].as_str().unwrap().contains("revision b"));
        let slack = notice_slack_payload(&n);
        assert_eq!(slack["text"], n.title);
        assert!(slack.to_string().contains("revision b"));
    }
}
