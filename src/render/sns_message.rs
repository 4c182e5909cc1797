//! The SNS rendering of an alert: one `MessageStructure=json` document with an e-mail text and a
//! versioned JSON body, under SNS's size limit.

use super::alert::*;
use crate::judgement::evaluation::{Action, Evaluation};
use crate::judgement::findings::Finding;
use serde_json::{json, Value};

/// How much detail an SNS message carries; reduced step by step until it fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Detail {
    findings: usize,
    /// At most this many tags, reasons, allowlist entries.
    list_cap: usize,
    /// At most this many characters per value from outside.
    text_cap: usize,
}

/// One SNS publish: `message` is the `MessageStructure=json` document.
#[derive(Debug, Clone, PartialEq)]
pub struct SnsMessage {
    pub subject: String,
    /// `{"default": <JSON body as a string>, "email": <text>}`.
    pub message: String,
    /// String message attributes for subscription filter policies.
    pub attributes: Vec<(&'static str, String)>,
    /// Findings (or other lists) were left out to stay under the size limit.
    pub truncated: bool,
}

impl SnsMessage {
    /// Bytes SNS counts against its limit: message, subject and attributes.
    pub fn size(&self) -> usize {
        self.message.len()
            + self.subject.len()
            + self
                .attributes
                .iter()
                .map(|(k, v)| k.len() + v.len() + "String".len())
                .sum::<usize>()
    }

    /// The JSON body (`default`), parsed.
    pub fn body(&self) -> Value {
        serde_json::from_str::<Value>(&self.message)
            .ok()
            .and_then(|m| m.get("default").and_then(Value::as_str).map(str::to_string))
            .and_then(|d| serde_json::from_str(&d).ok())
            .unwrap_or(Value::Null)
    }

    /// The e-mail text.
    pub fn email(&self) -> String {
        serde_json::from_str::<Value>(&self.message)
            .ok()
            .and_then(|m| m.get("email").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default()
    }
}

/// The SNS message of an evaluation, under SNS's size limit.
pub fn sns_message(ev: &Evaluation, opts: &AlertOptions) -> SnsMessage {
    sns_message_within(ev, opts, SNS_MAX_BYTES)
}

/// As [`sns_message`] with another limit (tests use small ones). Detail is dropped in this
/// order until the message fits: findings (halved each step), then list lengths and long
/// values; the body then says what was left out.
pub fn sns_message_within(ev: &Evaluation, opts: &AlertOptions, max_bytes: usize) -> SnsMessage {
    let s = summarize(ev, opts);
    let subject = subject_of(ev, &s);
    let mut attributes = vec![
        ("verdict", ev.verdict.as_str().to_string()),
        ("severity", s.severity.to_string()),
        ("repository", ev.repository.clone()),
    ];
    if s.location.is_some() {
        // A subscription filter policy can pick one member account's alerts.
        if let Some(account) = &ev.account {
            attributes.push(("account", account.clone()));
        }
    }
    let all = ev.findings.as_ref().map(|f| f.top.len()).unwrap_or(0);
    let mut detail = Detail {
        findings: all,
        list_cap: 100,
        text_cap: 2000,
    };
    loop {
        let msg = render_sns(ev, &s, &subject, &attributes, detail, all);
        if msg.size() <= max_bytes {
            return msg;
        }
        detail = if detail.findings > 0 {
            Detail {
                findings: detail.findings / 2,
                ..detail
            }
        } else if detail.list_cap > 5 || detail.text_cap > 100 {
            Detail {
                findings: 0,
                list_cap: (detail.list_cap / 4).max(5),
                text_cap: (detail.text_cap / 4).max(100),
            }
        } else {
            return minimal_sns(ev, &s, &subject, attributes);
        };
    }
}

fn render_sns(
    ev: &Evaluation,
    s: &Summary,
    subject: &str,
    attributes: &[(&'static str, String)],
    d: Detail,
    all_findings: usize,
) -> SnsMessage {
    let cut = |v: &str| truncate_chars(v, d.text_cap);
    let (tags, tags_omitted) = capped(&ev.tags, d.list_cap);
    let tags: Vec<String> = tags.iter().map(|t| cut(t)).collect();
    let (reasons, reasons_omitted) = capped(&ev.reasons, d.list_cap);
    let reasons: Vec<String> = reasons.iter().map(|r| cut(r)).collect();
    let counting = ev.counts.total();
    let shown: Vec<&Finding> = ev
        .findings
        .as_ref()
        .map(|f| f.top.iter().take(d.findings).collect())
        .unwrap_or_default();
    let truncated =
        shown.len() < all_findings || tags_omitted > 0 || reasons_omitted > 0 || d.text_cap < 2000;
    let mut notes = Vec::new();
    if shown.len() < all_findings {
        notes.push(format!(
            "{} of the top {all_findings} findings left out to stay under SNS's 256 KB message limit",
            all_findings - shown.len()
        ));
    }
    if tags_omitted > 0 || reasons_omitted > 0 || d.text_cap < 2000 {
        notes.push(format!(
            "lists and long values shortened to stay under SNS's message limit ({tags_omitted} tags, {reasons_omitted} reasons left out)"
        ));
    }
    let findings_json = ev.findings.as_ref().map(|f| {
        let top: Vec<Value> = shown
            .iter()
            .map(|x| {
                json!({
                    "id": cut(&x.id),
                    "severity": x.severity,
                    "package": x.package.as_deref().map(cut),
                    "installed_version": x.installed_version.as_deref().map(cut),
                    "fixed_version": x.fixed_version.as_deref().map(cut),
                    "fix_available": x.fix_available,
                    "score": x.score,
                    "link": x.link.as_deref().map(cut),
                })
            })
            .collect();
        let (expired, _) = capped(&f.allowlist.expired, d.list_cap);
        let (unused, unused_omitted) = capped(&f.allowlist.unused, d.list_cap);
        json!({
            "read": f.read,
            "counting": counting,
            "allowlisted": f.allowlisted,
            "inactive": f.inactive,
            "unfixed_ignored": f.unfixed_ignored,
            "top": top,
            "top_shown": shown.len(),
            "top_kept": all_findings,
            "allowlist_expired": expired.iter().map(|e| json!({
                "id": cut(&e.id), "expires": e.expires, "reason": cut(&e.reason), "findings": e.findings
            })).collect::<Vec<_>>(),
            "allowlist_unused": unused.iter().map(|u| cut(u)).collect::<Vec<_>>(),
            "allowlist_unused_omitted": unused_omitted,
        })
    });
    let actions: Vec<Value> = ev
        .actions
        .iter()
        .map(|a| {
            let mut v = serde_json::to_value(a).unwrap_or(Value::Null);
            if let Some(obj) = v.as_object_mut() {
                for key in ["error", "reason"] {
                    if let Some(Value::String(t)) = obj.get_mut(key) {
                        *t = cut(t);
                    }
                }
            }
            v
        })
        .collect();
    let body = json!({
        "schema_version": SCHEMA_VERSION,
        "source": "ecr-scan-gate",
        "alert": s.kind,
        "subject": subject,
        "verdict": ev.verdict,
        "highest_severity": ev.highest_severity,
        "repository": ev.repository,
        "image": cut(&s.image),
        "digest": ev.digest,
        "tags": tags,
        "tags_omitted": tags_omitted,
        "account": ev.account,
        "region": ev.region,
        "trigger": ev.trigger,
        "new_finding": s.new_finding.as_ref().map(|(id, sev)| json!({"vulnerability_id": id, "severity": sev})),
        "already_quarantined": s.already_quarantined,
        "outcome": s.outcome,
        "counts": ev.counts,
        "basis": ev.basis,
        "scan_status": ev.scan_status,
        "reasons": reasons,
        "reasons_omitted": reasons_omitted,
        "actions": actions,
        "findings": findings_json,
        "scan_results_url": s.scan_results_url,
        "dry_run": ev.dry_run,
        "truncated": truncated,
        "notes": notes,
    });
    let email = email_text(ev, s, &tags, tags_omitted, &reasons, &shown, &notes, d);
    let message = json!({"default": body.to_string(), "email": email}).to_string();
    SnsMessage {
        subject: subject.to_string(),
        message,
        attributes: attributes.to_vec(),
        truncated,
    }
}

#[allow(clippy::too_many_arguments)]
fn email_text(
    ev: &Evaluation,
    s: &Summary,
    tags: &[String],
    tags_omitted: usize,
    reasons: &[String],
    shown: &[&Finding],
    notes: &[String],
    d: Detail,
) -> String {
    use std::fmt::Write;
    let mut t = String::new();
    let _ = writeln!(t, "{}", verdict_sentence(ev, s));
    let _ = writeln!(t);
    let _ = writeln!(t, "Repository: {}", ev.repository);
    let tag_line = if tags.is_empty() {
        "(none)".to_string()
    } else if tags_omitted > 0 {
        format!("{} and {tags_omitted} more", tags.join(", "))
    } else {
        tags.join(", ")
    };
    let _ = writeln!(t, "Tags:       {tag_line}");
    let _ = writeln!(
        t,
        "Digest:     {}",
        ev.digest.as_ref().map(|d| d.as_str()).unwrap_or("unknown")
    );
    if s.location.is_some() {
        if let Some(a) = &ev.account {
            let _ = writeln!(t, "Account:    {a}");
        }
    }
    if let Some(r) = &ev.region {
        let _ = writeln!(t, "Region:     {r}");
    }
    let _ = writeln!(t, "Trigger:    {}", trigger_text(&ev.trigger));
    let _ = writeln!(
        t,
        "Verdict:    {} (highest severity {})",
        ev.verdict, s.severity
    );
    let _ = writeln!(
        t,
        "Findings:   {} (counting after the policy)",
        ev.counts.summary()
    );
    if !reasons.is_empty() {
        let _ = writeln!(t, "\nWhy:");
        for r in reasons {
            let _ = writeln!(t, "- {r}");
        }
    }
    let _ = writeln!(
        t,
        "\nActions (carried out at the same time as this alert; the function's log has the outcome):"
    );
    let registry: Vec<&Action> = ev
        .actions
        .iter()
        .filter(|a| !matches!(a, Action::Alert { .. }))
        .collect();
    if registry.is_empty() {
        let _ = writeln!(t, "- none");
    }
    for a in registry {
        let _ = writeln!(t, "- {}", truncate_chars(&describe_action(a), d.text_cap));
    }
    if let Some(f) = &ev.findings {
        let _ = writeln!(
            t,
            "\nTop findings ({} shown of {} counting):",
            shown.len(),
            ev.counts.total()
        );
        for x in shown {
            let _ = write!(t, "- {}", finding_line(x, d.text_cap.min(200)));
            if let Some(link) = &x.link {
                let _ = write!(t, "  {}", truncate_chars(link, d.text_cap.min(500)));
            }
            let _ = writeln!(t);
        }
        if f.allowlisted > 0 {
            let _ = writeln!(
                t,
                "({} suppressed by the allowlist)",
                plural(f.allowlisted, "finding", "findings")
            );
        }
    }
    for n in notes {
        let _ = writeln!(t, "\nNote: {n}.");
    }
    if let Some(url) = &s.scan_results_url {
        let _ = writeln!(t, "\nScan results: {url}");
    }
    let _ = writeln!(
        t,
        "\n--\necr-scan-gate. Subscriptions other than e-mail receive this alert as JSON (schema_version {SCHEMA_VERSION})."
    );
    t
}

fn minimal_sns(
    ev: &Evaluation,
    s: &Summary,
    subject: &str,
    attributes: Vec<(&'static str, String)>,
) -> SnsMessage {
    let note = "the alert was too large for SNS: only the verdict and counts are included";
    let body = json!({
        "schema_version": SCHEMA_VERSION,
        "source": "ecr-scan-gate",
        "alert": s.kind,
        "subject": subject,
        "verdict": ev.verdict,
        "highest_severity": ev.highest_severity,
        "repository": ev.repository,
        "digest": ev.digest,
        "counts": ev.counts,
        "outcome": s.outcome,
        "scan_results_url": s.scan_results_url,
        "dry_run": ev.dry_run,
        "truncated": true,
        "notes": [note],
    });
    let email = format!(
        "{subject}\n\nFindings: {}\nNote: {note}.\n{}",
        ev.counts.summary(),
        s.scan_results_url
            .as_deref()
            .map(|u| format!("Scan results: {u}\n"))
            .unwrap_or_default()
    );
    SnsMessage {
        subject: subject.to_string(),
        message: json!({"default": body.to_string(), "email": email}).to_string(),
        attributes,
        truncated: true,
    }
}
