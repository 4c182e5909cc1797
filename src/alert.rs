//! What an alert says, rendered from an [`Evaluation`] with no I/O: the SNS subject, e-mail
//! text, versioned JSON body and message attributes, and the Slack Block Kit payload.
//!
//! Alerts run at the same time as the registry actions (`Gate::act`), so an alert reports the
//! actions as they stand when it is sent: usually "in progress". The function's response, its
//! log line and its metrics record the outcome.

use crate::event::Trigger;
use crate::findings::Finding;
use crate::handler::{Action, ActionStatus, Evaluation};
use crate::severity::Severity;
use crate::verdict::Verdict;
use serde::Serialize;
use serde_json::{json, Value};

/// Version of the JSON body; a consumer checks it before reading the rest.
pub const SCHEMA_VERSION: u32 = 1;
/// SNS's limit on a published message (body, subject and attributes together).
pub const SNS_MAX_BYTES: usize = 262_144;
/// SNS subjects must be shorter than 100 characters.
pub const SUBJECT_MAX_CHARS: usize = 99;

/// Slack's limits on a message (NOTES.md, Block Kit reference).
pub mod slack_limits {
    pub const BLOCKS: usize = 50;
    pub const HEADER_TEXT: usize = 150;
    pub const SECTION_TEXT: usize = 3000;
    pub const FIELDS: usize = 10;
    pub const FIELD_TEXT: usize = 2000;
    pub const CONTEXT_ELEMENTS: usize = 10;
    pub const BUTTON_TEXT: usize = 75;
    pub const URL: usize = 3000;
    /// What this crate allows the top-level `text` fallback (Slack truncates at 40,000).
    pub const FALLBACK_TEXT: usize = 3000;
}

/// What the renderer needs besides the evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertOptions {
    /// Tags with this prefix are the gate's own, not names of the image.
    pub quarantine_prefix: String,
    /// Region for the console link when the event did not say (a direct invoke).
    pub default_region: Option<String>,
}

impl Default for AlertOptions {
    fn default() -> Self {
        AlertOptions {
            quarantine_prefix: crate::handler::Settings::default().quarantine_prefix,
            default_region: None,
        }
    }
}

/// Why the alert is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    Fail,
    Error,
    Warn,
    Pass,
    /// The image no longer fails and its quarantine tag is (being) removed.
    Release,
    /// Inspector found a new vulnerability in an image that is already quarantined.
    NewFinding,
}

/// The facts every rendering shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub kind: AlertKind,
    /// `repository:tag` or `repository@sha256:…`.
    pub image: String,
    /// Highest severity after the policy, or `NONE`.
    pub severity: &'static str,
    /// Inspector's new finding (id, severity) when that triggered the evaluation.
    pub new_finding: Option<(String, Option<Severity>)>,
    pub already_quarantined: bool,
    /// What was done, short: `quarantining`, `already quarantined`, `released`, `no action`.
    pub outcome: String,
    pub scan_results_url: Option<String>,
}

pub fn summarize(ev: &Evaluation, opts: &AlertOptions) -> Summary {
    let quarantine = ev.actions.iter().find_map(|a| match a {
        Action::Quarantine { tag, status } => Some((tag, status)),
        _ => None,
    });
    let release = ev.actions.iter().find_map(|a| match a {
        Action::Release { status, .. } => Some(status),
        _ => None,
    });
    let already_quarantined = match quarantine {
        Some((tag, status)) => ev.tags.contains(tag) || *status == ActionStatus::AlreadyDone,
        None => false,
    };
    let new_finding = match &ev.trigger {
        Trigger::EnhancedFinding {
            vulnerability_id,
            severity,
        } => Some((vulnerability_id.clone(), *severity)),
        _ => None,
    };
    let outcome = if let Some((_, status)) = quarantine {
        match status {
            ActionStatus::Planned if already_quarantined => "already quarantined".to_string(),
            ActionStatus::Planned => "quarantining".to_string(),
            ActionStatus::Done => "quarantined".to_string(),
            ActionStatus::AlreadyDone => "already quarantined".to_string(),
            ActionStatus::DryRun => "would quarantine (dry run)".to_string(),
            ActionStatus::Skipped { .. } => "not quarantined".to_string(),
            ActionStatus::Failed { .. } => "quarantine FAILED".to_string(),
        }
    } else if let Some(status) = release {
        match status {
            ActionStatus::Planned => "releasing".to_string(),
            ActionStatus::Done => "released".to_string(),
            ActionStatus::AlreadyDone => "already released".to_string(),
            ActionStatus::DryRun => "would release (dry run)".to_string(),
            ActionStatus::Skipped { .. } => "still quarantined, release skipped".to_string(),
            ActionStatus::Failed { .. } => "release FAILED".to_string(),
        }
    } else {
        match ev.verdict {
            Verdict::Fail if ev.digest.is_none() => "not quarantined: digest unknown".to_string(),
            Verdict::Fail => "not quarantined".to_string(),
            Verdict::Error if ev.digest.is_none() => "image not found".to_string(),
            Verdict::Error => "alert only".to_string(),
            Verdict::Warn | Verdict::Pass => "no action".to_string(),
        }
    };
    let kind = if new_finding.is_some() && already_quarantined && ev.verdict == Verdict::Fail {
        AlertKind::NewFinding
    } else if release.is_some_and(|s| !matches!(s, ActionStatus::Skipped { .. })) {
        AlertKind::Release
    } else {
        match ev.verdict {
            Verdict::Fail => AlertKind::Fail,
            Verdict::Error => AlertKind::Error,
            Verdict::Warn => AlertKind::Warn,
            Verdict::Pass => AlertKind::Pass,
        }
    };
    Summary {
        kind,
        image: ev.image_name(&opts.quarantine_prefix),
        severity: ev.highest_severity.map(Severity::as_str).unwrap_or("NONE"),
        new_finding,
        already_quarantined,
        outcome,
        scan_results_url: scan_results_url(ev, opts.default_region.as_deref()),
    }
}

/// The ECR console page of the image's scan results; without the account, the region's
/// repository list. `None` when no region is known.
pub fn scan_results_url(ev: &Evaluation, default_region: Option<&str>) -> Option<String> {
    let valid_region = |r: &&str| {
        !r.is_empty()
            && r.len() <= 32
            && r.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let region = ev
        .region
        .as_deref()
        .filter(valid_region)
        .or(default_region.filter(valid_region))?;
    let account = ev
        .account
        .as_deref()
        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()));
    // A `Digest` is validated by its type; the repository is checked again here, so the URL
    // (put as is into a Slack link and button) never carries anything but ECR's name characters.
    let repository_ok = crate::event::validate_repository_name(&ev.repository).is_ok();
    Some(match (account, &ev.digest) {
        (Some(account), Some(digest)) if repository_ok => format!(
            "https://{region}.console.aws.amazon.com/ecr/repositories/private/{account}/{}/_/image/{digest}/scan-results?region={region}",
            ev.repository
        ),
        _ => format!("https://{region}.console.aws.amazon.com/ecr/repositories?region={region}"),
    })
}

// ---------------------------------------------------------------------------------------------
// Text helpers

/// At most `max` characters of `s`, ending in `…` when cut.
pub fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Slack's escaping of a value from outside: `&`, `<`, `>` become entities, so `<!channel>`
/// or `<@U123>` in a tag is shown as text and pings nobody.
pub fn slack_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes `s` and cuts the escaped text at `max` characters without splitting an entity.
pub fn slack_escape_max(s: &str, max: usize) -> String {
    let escaped = slack_escape(s);
    if escaped.chars().count() <= max {
        return escaped;
    }
    let mut out = String::new();
    let mut len = 0;
    for c in s.chars() {
        let piece = slack_escape(c.encode_utf8(&mut [0u8; 4]));
        let n = piece.chars().count();
        if len + n > max.saturating_sub(1) {
            break;
        }
        out.push_str(&piece);
        len += n;
    }
    out.push('…');
    out
}

/// SNS subjects are ASCII without control characters: anything else becomes `?`.
fn ascii_only(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

fn ascii_truncate(s: &str, max: usize) -> String {
    let s = ascii_only(s);
    if s.len() <= max {
        return s;
    }
    let keep = max.saturating_sub(3);
    format!("{}...", &s[..keep])
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The title of the alert: `CRITICAL FAIL demo-api:v1: quarantining`. `image_budget` bounds
/// the image name (in characters); ASCII is not enforced here.
fn title(ev: &Evaluation, s: &Summary, image: &str) -> String {
    match (&s.kind, &s.new_finding) {
        (AlertKind::NewFinding, Some((id, sev))) => {
            let sev = sev.map(|v| format!("{v} ")).unwrap_or_default();
            format!("NEW {sev}{id} in {image}: {}", s.outcome)
        }
        (AlertKind::Error, _) => {
            let status = ev.scan_status.as_deref().unwrap_or("unknown");
            format!("ERROR {image}: scan {status}, {}", s.outcome)
        }
        (AlertKind::Pass | AlertKind::Release, _) => format!("PASS {image}: {}", s.outcome),
        (_, Some((id, _))) => format!(
            "{} {} {image}: new {id}, {}",
            s.severity, ev.verdict, s.outcome
        ),
        _ => format!("{} {} {image}: {}", s.severity, ev.verdict, s.outcome),
    }
}

/// The SNS subject: ASCII, under 100 characters; the image name is cut first.
pub fn subject(ev: &Evaluation, opts: &AlertOptions) -> String {
    let s = summarize(ev, opts);
    subject_of(ev, &s)
}

fn subject_of(ev: &Evaluation, s: &Summary) -> String {
    let image = ascii_only(&s.image);
    let full = ascii_only(&title(ev, s, &image));
    if full.len() <= SUBJECT_MAX_CHARS {
        return full;
    }
    let rest = full.len() - image.len();
    let budget = SUBJECT_MAX_CHARS.saturating_sub(rest).max(12);
    let cut = ascii_truncate(&image, budget);
    ascii_truncate(&title(ev, s, &cut), SUBJECT_MAX_CHARS)
}

/// How an action reads in an alert.
pub fn describe_action(a: &Action) -> String {
    let status = a.status().text("in progress");
    match a {
        Action::Quarantine { tag, .. } => format!("add quarantine tag {tag} ({status})"),
        Action::Strip { tags, .. } if tags.is_empty() => {
            format!("remove deployable tags (policy strip_tags) once quarantined ({status})")
        }
        Action::Strip { tags, .. } => format!("remove tags {} ({status})", tags.join(", ")),
        Action::Release { tag, .. } => format!("release: remove quarantine tag {tag} ({status})"),
        Action::Alert { channel, .. } => format!("alert via {channel} ({status})"),
    }
}

fn trigger_text(t: &Trigger) -> String {
    match t {
        Trigger::BasicScan => "ECR basic scan completed".to_string(),
        Trigger::EnhancedScan => "Inspector initial scan completed".to_string(),
        Trigger::EnhancedFinding {
            vulnerability_id,
            severity,
        } => {
            let sev = severity.map(|s| format!(" ({s})")).unwrap_or_default();
            format!("Inspector reported a new finding {vulnerability_id}{sev}")
        }
        Trigger::DirectInvoke => "re-evaluation requested by an operator".to_string(),
    }
}

fn verdict_sentence(ev: &Evaluation, s: &Summary) -> String {
    match s.kind {
        AlertKind::NewFinding => format!(
            "{} has a new finding; the image is already quarantined and must not be deployed.",
            s.image
        ),
        AlertKind::Fail => format!("{} failed the gate and must not be deployed.", s.image),
        AlertKind::Error => format!(
            "{} could not be judged: its scan did not complete ({}).",
            s.image,
            ev.scan_status.as_deref().unwrap_or("no scan result")
        ),
        AlertKind::Warn => format!("{} passed with warnings.", s.image),
        AlertKind::Pass => format!("{} passed the gate.", s.image),
        AlertKind::Release => format!(
            "{} passes the gate now; its quarantine tag is removed.",
            s.image
        ),
    }
}

fn finding_line(f: &Finding, cap: usize) -> String {
    let t = |v: &Option<String>| v.as_deref().map(|s| truncate_chars(s, cap));
    let package = t(&f.package).unwrap_or_else(|| "(package unknown)".to_string());
    let installed = t(&f.installed_version).unwrap_or_else(|| "?".to_string());
    let fixed = t(&f.fixed_version).unwrap_or_else(|| "no fix".to_string());
    format!(
        "{} {} {package} {installed} -> {fixed}",
        truncate_chars(&f.id, cap),
        f.severity
    )
}

// ---------------------------------------------------------------------------------------------
// SNS

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
    let attributes = vec![
        ("verdict", ev.verdict.as_str().to_string()),
        ("severity", s.severity.to_string()),
        ("repository", ev.repository.clone()),
    ];
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

fn capped<T: Clone>(items: &[T], cap: usize) -> (Vec<T>, usize) {
    let kept: Vec<T> = items.iter().take(cap).cloned().collect();
    let omitted = items.len() - kept.len();
    (kept, omitted)
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

// ---------------------------------------------------------------------------------------------
// Slack

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
                    let fixed = x
                        .fixed_version
                        .as_deref()
                        .map(|v| esc(v, 80))
                        .unwrap_or_else(|| "no fix".to_string());
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
