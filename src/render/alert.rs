//! What an alert says, rendered from an [`Evaluation`] with no I/O: the SNS subject, e-mail
//! text, versioned JSON body and message attributes, and the Slack Block Kit payload.
//!
//! Alerts run at the same time as the registry actions (`Gate::act`), so an alert reports the
//! actions as they stand when it is sent: usually "in progress". The function's response, its
//! log line and its metrics record the outcome.

use crate::domain::scan::Trigger;
use crate::domain::severity::Severity;
use crate::domain::verdict::Verdict;
use crate::judgement::evaluation::{Action, ActionStatus, Evaluation};
use crate::judgement::findings::Finding;
use serde::Serialize;

/// Version of the JSON body; a consumer checks it before reading the rest.
pub const SCHEMA_VERSION: u32 = 1;
/// SNS's limit on a published message (body, subject and attributes together).
pub const SNS_MAX_BYTES: usize = 262_144;
/// SNS subjects must be shorter than 100 characters.
pub const SUBJECT_MAX_CHARS: usize = 99;

/// Slack's limits on a message (Slack's Block Kit reference).
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
    /// Hub and member accounts (`MEMBER_ROLE_NAME`): alerts from many accounts reach one
    /// channel, so the title, the Slack fields and context, the e-mail and the SNS `account`
    /// attribute name the image's account and region. Off: alerts are as in one account.
    pub name_account: bool,
}

impl Default for AlertOptions {
    fn default() -> Self {
        AlertOptions {
            quarantine_prefix: crate::domain::quarantine::DEFAULT_PREFIX.to_string(),
            default_region: None,
            name_account: false,
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
    /// `111111111111/eu-west-1`: the image's account and region, with
    /// [`AlertOptions::name_account`] and a known account.
    pub location: Option<String>,
}

/// The image's account (a valid id only) and region, as alerts name them.
pub fn location(ev: &Evaluation, opts: &AlertOptions) -> Option<String> {
    if !opts.name_account {
        return None;
    }
    let account = ev
        .account
        .as_deref()
        .filter(|a| crate::domain::image::is_account_id(a))?;
    let region = ev
        .region
        .as_deref()
        .filter(|r| crate::domain::image::validate_region(r).is_ok())
        .or(opts.default_region.as_deref());
    Some(match region {
        Some(r) => format!("{account}/{r}"),
        None => account.to_string(),
    })
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
            ActionStatus::Pending { .. } => "quarantine pending".to_string(),
        }
    } else if let Some(status) = release {
        match status {
            ActionStatus::Planned => "releasing".to_string(),
            ActionStatus::Done => "released".to_string(),
            ActionStatus::AlreadyDone => "already released".to_string(),
            ActionStatus::DryRun => "would release (dry run)".to_string(),
            ActionStatus::Skipped { .. } => "still quarantined, release skipped".to_string(),
            ActionStatus::Failed { .. } => "release FAILED".to_string(),
            ActionStatus::Pending { .. } => "restoring, release pending".to_string(),
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
    // The ECS hook refuses a deployment; it changes nothing in the registry.
    let outcome = match &ev.trigger {
        Trigger::EcsDeployment {
            service, container, ..
        } => {
            let refused =
                format!("ECS deployment refused (service {service}, container {container})");
            if already_quarantined {
                format!("{refused}, already quarantined")
            } else {
                refused
            }
        }
        _ => outcome,
    };
    // The hard block, where the policy asks for it (block.archive).
    let archive = ev.actions.iter().find_map(|a| match a {
        Action::Archive { status } => Some(status),
        _ => None,
    });
    let outcome = match archive {
        Some(ActionStatus::Done | ActionStatus::AlreadyDone) => format!("{outcome}, archived"),
        Some(ActionStatus::Planned) => format!("{outcome}, archiving"),
        Some(ActionStatus::DryRun) => format!("{outcome}, would archive (dry run)"),
        Some(ActionStatus::Skipped { reason }) if reason.contains("in use") => {
            format!("{outcome}, in use: tag only")
        }
        Some(ActionStatus::Failed { .. }) => format!("{outcome}, archive FAILED"),
        _ => outcome,
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
        location: location(ev, opts),
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
    let repository_ok = crate::domain::image::validate_repository_name(&ev.repository).is_ok();
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

pub(crate) fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The title of the alert: `CRITICAL FAIL demo-api:v1: quarantining`. `image_budget` bounds
/// the image name (in characters); ASCII is not enforced here.
pub(crate) fn title(ev: &Evaluation, s: &Summary, image: &str) -> String {
    let located;
    let image = match &s.location {
        Some(at) => {
            located = format!("{image} in {at}");
            located.as_str()
        }
        None => image,
    };
    match (&s.kind, &s.new_finding) {
        (AlertKind::NewFinding, Some((id, sev))) => {
            let sev = sev.map(|v| format!("{v} ")).unwrap_or_default();
            format!("NEW {sev}{id} in {image}: {}", s.outcome)
        }
        (AlertKind::Error, _) => {
            let status = ev.scan_status.as_deref().unwrap_or("unknown");
            format!("ERROR {image}: scan {status}, {}", s.outcome)
        }
        // A release follows a PASS or a WARN: the title says which.
        (AlertKind::Pass | AlertKind::Release, _) => {
            format!("{} {image}: {}", ev.verdict, s.outcome)
        }
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

pub(crate) fn subject_of(ev: &Evaluation, s: &Summary) -> String {
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
        Action::IndexLookup { .. } => {
            format!("look up the image indexes (multi-arch images) that list this image ({status})")
        }
        Action::Archive { .. } => {
            format!("archive: ECR answers 404 to every pull of the image ({status})")
        }
        Action::Restore { .. } => {
            format!("restore from the archive (ECR answers ACTIVATING, then ACTIVE) ({status})")
        }
        Action::OnIndex {
            index,
            index_tags,
            change,
        } => format!(
            "on {}: {}",
            Action::index_text(index, index_tags),
            describe_action(change)
        ),
    }
}

pub(crate) fn trigger_text(t: &Trigger) -> String {
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
        Trigger::Sweep => "registry sweep: the image's state changed".to_string(),
        Trigger::EcsDeployment {
            service,
            container,
            image,
        } => format!(
            "ECS deployment refused: service {service}, container {container}, image {image}"
        ),
    }
}

pub(crate) fn verdict_sentence(ev: &Evaluation, s: &Summary) -> String {
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

pub(crate) fn finding_line(f: &Finding, cap: usize) -> String {
    let t = |v: &Option<String>| v.as_deref().map(|s| truncate_chars(s, cap));
    let package = t(&f.package).unwrap_or_else(|| "(package unknown)".to_string());
    let installed = t(&f.installed_version).unwrap_or_else(|| "?".to_string());
    let fixed = truncate_chars(&f.fix_text(), cap);
    format!(
        "{} {} {package} {installed} -> {fixed}",
        truncate_chars(&f.id, cap),
        f.severity
    )
}

/// The first `cap` items and how many were left out.
pub(crate) fn capped<T: Clone>(items: &[T], cap: usize) -> (Vec<T>, usize) {
    let kept: Vec<T> = items.iter().take(cap).cloned().collect();
    let omitted = items.len() - kept.len();
    (kept, omitted)
}
