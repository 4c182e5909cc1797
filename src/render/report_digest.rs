//! The registry report's digest (`{"report": {}}`) as an SNS message and a Slack payload:
//! every quarantined image and the allowlist entries that expired or expire soon. Pure.

use super::alert::{
    slack_escape_max, slack_limits as L, truncate_chars, SCHEMA_VERSION, SNS_MAX_BYTES,
};
use super::sns_message::SnsMessage;
use crate::judgement::registry_report::{AllowlistDue, QuarantinedImage, Report};
use serde_json::{json, Value};
use std::fmt::Write;

/// `ecr-scan-gate report 2026-11-27: 3 quarantined, 1 allowlist entry due`.
pub fn report_subject(r: &Report) -> String {
    let due = r.allowlist.len();
    truncate_chars(
        &format!(
            "ecr-scan-gate report {}: {} quarantined, {} allowlist entr{} due",
            r.date,
            r.quarantined.len(),
            due,
            if due == 1 { "y" } else { "ies" }
        ),
        super::alert::SUBJECT_MAX_CHARS,
    )
}

fn image_line(i: &QuarantinedImage) -> String {
    format!(
        "{}  tags {}  {}  pushed {}",
        i.repository,
        i.tags.join(","),
        i.digest,
        i.pushed_at.as_deref().unwrap_or("-")
    )
}

fn allowlist_line(a: &AllowlistDue) -> String {
    let when = if a.expired {
        format!("expired on {}", a.expires)
    } else if a.days_left == 0 {
        format!("expires today ({})", a.expires)
    } else {
        format!("expires on {} (in {} days)", a.expires, a.days_left)
    };
    let scope = a
        .repository
        .as_deref()
        .map(|r| format!(" [{r}]"))
        .unwrap_or_default();
    format!("{}{scope}: {when}; {}", a.id, a.reason)
}

/// The e-mail text, listing at most `cap` images and entries.
pub fn report_text(r: &Report, cap: usize) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "{}\n", report_subject(r));
    let _ = writeln!(t, "Quarantined images ({}):", r.quarantined.len());
    for i in r.quarantined.iter().take(cap) {
        let _ = writeln!(t, "  {}", image_line(i));
    }
    if r.quarantined.len() > cap {
        let _ = writeln!(t, "  ... and {} more", r.quarantined.len() - cap);
    }
    let _ = writeln!(
        t,
        "\nAllowlist entries expired or expiring within {} days ({}):",
        crate::policy::document::EXPIRY_NOTICE_DAYS,
        r.allowlist.len()
    );
    for a in r.allowlist.iter().take(cap) {
        let _ = writeln!(t, "  {}", allowlist_line(a));
    }
    if r.allowlist.len() > cap {
        let _ = writeln!(t, "  ... and {} more", r.allowlist.len() - cap);
    }
    if !r.errors.is_empty() {
        let _ = writeln!(t, "\nIncomplete: {}", r.errors.join("; "));
    }
    t
}

/// The SNS message of a report, under SNS's size limit (lists cut, largest first, until it
/// fits; the body says how many were left out).
pub fn report_sns_message(r: &Report) -> SnsMessage {
    report_sns_message_within(r, SNS_MAX_BYTES)
}

pub fn report_sns_message_within(r: &Report, max_bytes: usize) -> SnsMessage {
    let subject = report_subject(r);
    let attributes = vec![("kind", "report".to_string())];
    let total = r.quarantined.len().max(r.allowlist.len());
    let mut cap = total;
    loop {
        let mut body = json!({
            "schema_version": SCHEMA_VERSION,
            "kind": "report",
            "date": r.date,
            "quarantined_count": r.quarantined.len(),
            "quarantined": r.quarantined.iter().take(cap).collect::<Vec<_>>(),
            "allowlist_count": r.allowlist.len(),
            "allowlist": r.allowlist.iter().take(cap).collect::<Vec<_>>(),
            "errors": r.errors,
        });
        if cap < total {
            body["truncated"] = json!(true);
        }
        let message =
            json!({"default": body.to_string(), "email": report_text(r, cap)}).to_string();
        let msg = SnsMessage {
            subject: subject.clone(),
            message,
            attributes: attributes.clone(),
            truncated: cap < total,
        };
        if msg.size() <= max_bytes || cap == 0 {
            return msg;
        }
        cap /= 2;
    }
}

fn section(text: String) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

/// Lines packed into sections of at most Slack's section length, at most `max_sections`.
fn sections(lines: &[String], max_sections: usize) -> (Vec<Value>, usize) {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut shown = 0;
    for line in lines {
        if current.chars().count() + line.chars().count() + 1 > L::SECTION_TEXT {
            if out.len() + 1 == max_sections {
                break;
            }
            out.push(section(std::mem::take(&mut current)));
        }
        current.push_str(line);
        current.push('\n');
        shown += 1;
    }
    if !current.is_empty() {
        out.push(section(current));
    }
    (out, lines.len() - shown)
}

/// The Slack payload of a report, within Slack's limits, every value escaped.
pub fn report_slack_payload(r: &Report) -> Value {
    let esc = slack_escape_max;
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": esc(&format!("Registry report {}", r.date), L::HEADER_TEXT), "emoji": true}
    })];
    blocks.push(section(esc(&report_subject(r), 500)));
    let images: Vec<String> = r
        .quarantined
        .iter()
        .map(|i| {
            format!(
                "• *{}* `{}` {} (pushed {})",
                esc(&i.repository, 256),
                esc(i.digest.short(), 80),
                esc(&i.tags.join(", "), 600),
                esc(i.pushed_at.as_deref().unwrap_or("-"), 40)
            )
        })
        .collect();
    let entries: Vec<String> = r
        .allowlist
        .iter()
        .map(|a| format!("• {}", esc(&allowlist_line(a), 800)))
        .collect();
    let mut omitted = 0;
    for (title, lines, budget) in [
        ("Quarantined images", &images, 30),
        ("Allowlist entries expired or expiring soon", &entries, 10),
    ] {
        blocks.push(section(format!("*{title}* ({})", lines.len())));
        let (secs, left) = sections(lines, budget);
        blocks.extend(secs);
        omitted += left;
    }
    if omitted > 0 || !r.errors.is_empty() {
        let mut note = String::new();
        if omitted > 0 {
            note.push_str(&format!(
                "{omitted} more not shown (see the SNS message or the function's response). "
            ));
        }
        if !r.errors.is_empty() {
            note.push_str(&format!("Incomplete: {}", r.errors.join("; ")));
        }
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": esc(&note, L::SECTION_TEXT)}]}));
    }
    blocks.truncate(L::BLOCKS);
    json!({"text": esc(&report_subject(r), L::FALLBACK_TEXT), "blocks": blocks})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::image::Digest;

    fn image(n: usize, repo: &str) -> QuarantinedImage {
        QuarantinedImage {
            repository: repo.to_string(),
            digest: Digest::parse(&format!("sha256:{:064x}", n)).unwrap(),
            tags: vec![format!("quarantine-{n:064x}"), format!("v{n}")],
            pushed_at: Some("2026-11-20T10:00:00Z".to_string()),
        }
    }

    fn report(images: usize) -> Report {
        Report {
            date: "2026-11-27".to_string(),
            quarantined: (0..images).map(|n| image(n, "team/<!channel>")).collect(),
            allowlist: vec![AllowlistDue {
                id: "CVE-2024-0001".to_string(),
                repository: Some("demo-*".to_string()),
                expires: "2026-11-20".to_string(),
                reason: "no fix upstream".to_string(),
                days_left: -7,
                expired: true,
            }],
            errors: Vec::new(),
        }
    }

    #[test]
    fn the_sns_digest_lists_every_image_and_entry() {
        let msg = report_sns_message(&report(2));
        assert_eq!(
            msg.subject,
            "ecr-scan-gate report 2026-11-27: 2 quarantined, 1 allowlist entry due"
        );
        let body = msg.body();
        assert_eq!(body["kind"], "report");
        assert_eq!(body["quarantined"].as_array().map(Vec::len), Some(2));
        assert_eq!(body["quarantined"][1]["tags"][1], "v1");
        assert_eq!(body["allowlist"][0]["expired"], true);
        assert!(msg
            .email()
            .contains("CVE-2024-0001 [demo-*]: expired on 2026-11-20"));
        assert!(!msg.truncated);
    }

    #[test]
    fn a_large_digest_is_cut_to_the_sns_limit_and_says_so() {
        let msg = report_sns_message_within(&report(2000), 20_000);
        assert!(msg.size() <= 20_000, "{}", msg.size());
        assert!(msg.truncated);
        let body = msg.body();
        assert_eq!(body["quarantined_count"], 2000);
        assert_eq!(body["truncated"], true);
        assert!(msg.email().contains("more"));
    }

    #[test]
    fn the_slack_digest_escapes_and_stays_within_limits() {
        let payload = report_slack_payload(&report(2000));
        let violations = crate::render::slack_blocks::slack_limit_violations(&payload);
        assert!(violations.is_empty(), "{violations:?}");
        let text = payload.to_string();
        assert!(!text.contains("<!channel>"), "unescaped mention");
        assert!(text.contains("&lt;!channel&gt;"));
        assert!(text.contains("more not shown"));
    }
}
