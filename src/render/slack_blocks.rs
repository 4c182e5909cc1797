//! The Slack rendering of an alert: Block Kit blocks and a plain `text` fallback, within
//! Slack's limits, every value from outside escaped.

use super::alert::*;
use crate::domain::severity::Severity;
use crate::judgement::evaluation::{Action, Evaluation};
use serde_json::{json, Value};

fn mrkdwn(text: String) -> Value {
    json!({"type": "mrkdwn", "text": text})
}

fn section(text: String) -> Value {
    json!({"type": "section", "text": mrkdwn(text)})
}

/// A link `<url|text>` when the URL is plainly safe to put in one, else the escaped text.
fn slack_link(url: Option<&str>, text: &str, max_text: usize) -> String {
    let text = slack_escape_max(text, max_text);
    match url {
        Some(u)
            if (u.starts_with("https://") || u.starts_with("http://"))
                && u.len() <= 500
                && !u
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || "<>|&\"".contains(c)) =>
        {
            format!("<{u}|{text}>")
        }
        _ => text,
    }
}

/// Packs lines into section texts of at most `max` characters, at most `max_sections` of
/// them; what does not fit is counted in a last line.
fn pack_lines(lines: &[String], max: usize, max_sections: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for (i, line) in lines.iter().enumerate() {
        let line = truncate_chars(line, max);
        let needed = current.chars().count() + line.chars().count() + 1;
        if !current.is_empty() && needed > max {
            if out.len() + 1 == max_sections {
                let more = format!("\n… and {} more", lines.len() - i);
                // Make room for the note within the section's limit.
                let room = max.saturating_sub(more.chars().count());
                let mut kept = truncate_chars(&current, room);
                kept.push_str(&more);
                out.push(kept);
                return out;
            }
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&line);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn severity_mark(s: Severity) -> &'static str {
    match s {
        Severity::Critical => ":red_circle:",
        Severity::High => ":large_orange_circle:",
        Severity::Medium => ":large_yellow_circle:",
        _ => ":white_circle:",
    }
}

/// The Slack webhook payload: Block Kit blocks and a plain `text` fallback, within Slack's
/// limits, every value from outside escaped.
pub fn slack_payload(ev: &Evaluation, opts: &AlertOptions) -> Value {
    use slack_limits as L;
    let s = summarize(ev, opts);
    let esc = slack_escape_max;
    let mut blocks: Vec<Value> = Vec::new();

    let header = match (&s.kind, &s.new_finding) {
        (AlertKind::NewFinding, Some((id, sev))) => format!(
            "NEW {}{}: {}",
            sev.map(|v| format!("{v} ")).unwrap_or_default(),
            truncate_chars(id, 60),
            ev.repository
        ),
        (AlertKind::Error, _) => format!("SCAN ERROR: {}", ev.repository),
        (AlertKind::Release, _) => format!("RELEASED: {}", ev.repository),
        _ => format!("{} {}: {}", s.severity, ev.verdict, ev.repository),
    };
    let header = match &s.location {
        Some(at) => format!("{header} in {at}"),
        None => header,
    };
    blocks.push(json!({
        "type": "header",
        "text": {"type": "plain_text", "text": esc(&header, L::HEADER_TEXT), "emoji": true}
    }));

    let mut intro = esc(&verdict_sentence(ev, &s), 1500);
    if let Some((id, sev)) = &s.new_finding {
        intro.push_str(&format!(
            "\n*New finding:* {}{}",
            esc(id, 200),
            sev.map(|v| format!(" ({v})")).unwrap_or_default()
        ));
    }
    blocks.push(section(truncate_chars(&intro, L::SECTION_TEXT)));

    let tags = if ev.tags.is_empty() {
        "(none)".to_string()
    } else {
        let (shown, omitted) = capped(&ev.tags, 20);
        let mut t = shown
            .iter()
            .map(|x| slack_escape(x))
            .collect::<Vec<_>>()
            .join(", ");
        if omitted > 0 {
            t.push_str(&format!(" and {omitted} more"));
        }
        t
    };
    let field = |label: &str, value: String| {
        let label = format!("*{label}*\n");
        let room = L::FIELD_TEXT - label.chars().count();
        mrkdwn(format!("{label}{}", truncate_chars(&value, room)))
    };
    let digest = ev
        .digest
        .as_ref()
        .map(|d| format!("`{}`", d.short()))
        .unwrap_or_else(|| "unknown".to_string());
    let mut fields = vec![
        field("Repository", esc(&ev.repository, 500)),
        field("Tags", tags),
        field("Digest", digest),
        field(
            "Verdict",
            format!("{} (highest severity {})", ev.verdict, s.severity),
        ),
        field("Trigger", esc(&trigger_text(&ev.trigger), 500)),
    ];
    if s.location.is_some() {
        if let Some(a) = &ev.account {
            fields.push(field("Account", esc(a, 100)));
        }
    }
    if let Some(r) = &ev.region {
        fields.push(field("Region", esc(r, 100)));
    }
    fields.truncate(L::FIELDS);
    blocks.push(json!({"type": "section", "fields": fields}));

    let counts: Vec<String> = ev
        .counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(sev, n)| format!("{} *{sev}* {n}", severity_mark(sev)))
        .collect();
    let counts = if counts.is_empty() {
        "no counting findings".to_string()
    } else {
        counts.join("   ")
    };
    blocks.push(section(truncate_chars(
        &format!("*Findings (after the policy)*\n{counts}"),
        L::SECTION_TEXT,
    )));

    if !ev.reasons.is_empty() {
        let lines: Vec<String> = ev
            .reasons
            .iter()
            .map(|r| format!("• {}", esc(r, 500)))
            .collect();
        let mut packed = pack_lines(&lines, L::SECTION_TEXT - 8, 1);
        if let Some(first) = packed.first_mut() {
            *first = format!("*Why*\n{first}");
        }
        blocks.extend(packed.into_iter().map(section));
    }

    if let Some(f) = &ev.findings {
        if !f.top.is_empty() {
            let lines: Vec<String> = f
                .top
                .iter()
                .map(|x| {
                    let package = x
                        .package
                        .as_deref()
                        .map(|p| esc(p, 100))
                        .unwrap_or_else(|| "(package unknown)".to_string());
                    let installed = x
                        .installed_version
                        .as_deref()
                        .map(|v| esc(v, 80))
                        .unwrap_or_else(|| "?".to_string());
                    let fixed = esc(&x.fix_text(), 80);
                    format!(
                        "• {} *{}* `{package}` {installed} → {fixed}",
                        slack_link(x.link.as_deref(), &x.id, 100),
                        x.severity
                    )
                })
                .collect();
            blocks.push(json!({"type": "divider"}));
            blocks.push(section(format!(
                "*Top findings* ({} of {} counting)",
                f.top.len(),
                ev.counts.total()
            )));
            blocks.extend(
                pack_lines(&lines, L::SECTION_TEXT, 5)
                    .into_iter()
                    .map(section),
            );
        }
    }

    let registry: Vec<String> = ev
        .actions
        .iter()
        .filter(|a| !matches!(a, Action::Alert { .. }))
        .map(|a| format!("• {}", esc(&describe_action(a), 600)))
        .collect();
    let actions_text = if registry.is_empty() {
        "• none".to_string()
    } else {
        registry.join("\n")
    };
    blocks.push(section(truncate_chars(
        &format!("*Actions* (carried out with this alert)\n{actions_text}"),
        L::SECTION_TEXT,
    )));

    if let Some(url) = s.scan_results_url.as_deref().filter(|u| u.len() <= L::URL) {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": {"type": "plain_text", "text": "Scan results in the ECR console"},
                "url": url,
                "action_id": "open_scan_results"
            }]
        }));
    }

    let mut context = vec![format!("ecr-scan-gate · {}", s.outcome)];
    if let Some(at) = &s.location {
        context.push(format!("account/region {at}"));
    }
    if ev.dry_run {
        context.push("DRY RUN: nothing was changed".to_string());
    }
    blocks.push(json!({
        "type": "context",
        "elements": context.into_iter().take(L::CONTEXT_ELEMENTS).map(|c| mrkdwn(esc(&c, 500))).collect::<Vec<_>>()
    }));
    blocks.truncate(L::BLOCKS);

    let text = esc(&subject_text(ev, &s), L::FALLBACK_TEXT);
    json!({"text": text, "blocks": blocks})
}

/// The fallback text: the title with the full image name (not ASCII-restricted).
fn subject_text(ev: &Evaluation, s: &Summary) -> String {
    title(ev, s, &truncate_chars(&s.image, 600))
}

/// Every Slack limit this payload breaks (empty when it is within them). Tests use it.
pub fn slack_limit_violations(payload: &Value) -> Vec<String> {
    use slack_limits as L;
    let mut v = Vec::new();
    let len = |x: &Value| x.as_str().map(|s| s.chars().count()).unwrap_or(0);
    if len(&payload["text"]) > L::FALLBACK_TEXT {
        v.push("text fallback too long".to_string());
    }
    let blocks = payload["blocks"].as_array().cloned().unwrap_or_default();
    if blocks.len() > L::BLOCKS {
        v.push(format!("{} blocks", blocks.len()));
    }
    for (i, b) in blocks.iter().enumerate() {
        match b["type"].as_str() {
            Some("header") if len(&b["text"]["text"]) > L::HEADER_TEXT => v.push(format!(
                "block {i}: header {} chars",
                len(&b["text"]["text"])
            )),
            Some("section") => {
                if len(&b["text"]["text"]) > L::SECTION_TEXT {
                    v.push(format!(
                        "block {i}: section text {} chars",
                        len(&b["text"]["text"])
                    ));
                }
                let fields = b["fields"].as_array().cloned().unwrap_or_default();
                if fields.len() > L::FIELDS {
                    v.push(format!("block {i}: {} fields", fields.len()));
                }
                for f in &fields {
                    if len(&f["text"]) > L::FIELD_TEXT {
                        v.push(format!("block {i}: field {} chars", len(&f["text"])));
                    }
                }
                if b["text"].is_null() && fields.is_empty() {
                    v.push(format!("block {i}: section without text or fields"));
                }
            }
            Some("context") => {
                let n = b["elements"].as_array().map(Vec::len).unwrap_or(0);
                if n > L::CONTEXT_ELEMENTS || n == 0 {
                    v.push(format!("block {i}: {n} context elements"));
                }
            }
            Some("actions") => {
                for e in b["elements"].as_array().cloned().unwrap_or_default() {
                    if len(&e["text"]["text"]) > L::BUTTON_TEXT {
                        v.push(format!("block {i}: button text too long"));
                    }
                    if len(&e["url"]) > L::URL {
                        v.push(format!("block {i}: button url too long"));
                    }
                }
            }
            _ => {}
        }
    }
    v
}
