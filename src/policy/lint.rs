//! Foot-guns in a valid policy: rules that are accepted but almost certainly not what the
//! author meant. `ecr-scan-gate-check policy validate` prints them; the function logs them once
//! at start. None of them stops anything.

use crate::domain::date::day_number;
use crate::policy::conditions::{rank, Condition};
use crate::policy::document::{Policy, Thresholds, EXPIRY_NOTICE_DAYS};
use crate::policy::glob::{covers, has_wildcards, matches_every_nonempty};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyWarning {
    /// The policy field the warning is about: `warn.HIGH`, `allowlist[2].expires`.
    pub field: String,
    /// A stable name for the kind of warning.
    pub code: &'static str,
    pub message: String,
}

impl std::fmt::Display for PolicyWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` {} [{}]", self.field, self.message, self.code)
    }
}

/// What `policy validate` says about one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Validation {
    pub valid: bool,
    /// Why the document is invalid: the same message the function stops with, naming the field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub warnings: Vec<PolicyWarning>,
}

/// What an SSM Standard parameter holds; the Terraform stores a longer policy as an Advanced
/// parameter, which holds [`ADVANCED_PARAMETER_LIMIT`] and is charged.
pub const STANDARD_PARAMETER_LIMIT: usize = 4096;
pub const ADVANCED_PARAMETER_LIMIT: usize = 8192;

/// Parses the document with the function's own parser, then looks for foot-guns.
pub fn validate_document(text: &str, today: &str) -> Validation {
    match Policy::from_json(text) {
        Ok(policy) => {
            let mut warnings = size_warnings(text.len(), "");
            warnings.extend(policy_warnings(&policy, today));
            vex_warnings(&policy.vex, &mut warnings);
            Validation {
                valid: true,
                error: None,
                warnings,
            }
        }
        Err(e) => Validation {
            valid: false,
            error: Some(e.to_string()),
            warnings: Vec::new(),
        },
    }
}

/// A `not_affected` / `fixed` statement whose products name no OCI image excuses nothing.
fn vex_warnings(docs: &[crate::policy::vex::VexDocument], out: &mut Vec<PolicyWarning>) {
    for (i, doc) in docs.iter().enumerate() {
        for s in crate::policy::vex::statements_about_no_image(doc) {
            warning(
                out,
                format!("vex[{i}].statements[{s}]"),
                "vex_product_is_no_image",
                format!(
                    "({}) names no OCI image of this registry (pkg:oci/NAME@sha256:… or pkg:oci/NAME?repository_url=…): it excuses nothing here",
                    doc.id
                ),
            );
        }
    }
}

/// Warnings about a document's length near the SSM parameter limits; `field` names the
/// document (empty: the policy).
pub fn size_warnings(len: usize, field: &str) -> Vec<PolicyWarning> {
    let field = if field.is_empty() {
        "(document)"
    } else {
        field
    }
    .to_string();
    let mut out = Vec::new();
    if len > ADVANCED_PARAMETER_LIMIT {
        warning(
            &mut out,
            field,
            "document_too_large",
            format!(
                "is {len} characters: more than an SSM parameter holds ({ADVANCED_PARAMETER_LIMIT}, Advanced tier); move exceptions into teams' documents under EXCEPTIONS_PARAMETER_PATH, or VEX documents into their own parameters"
            ),
        );
    } else if len > STANDARD_PARAMETER_LIMIT {
        warning(
            &mut out,
            field,
            "document_needs_advanced_tier",
            format!(
                "is {len} characters: more than an SSM Standard parameter holds ({STANDARD_PARAMETER_LIMIT}); it is stored as an Advanced parameter (up to {ADVANCED_PARAMETER_LIMIT}, charged per parameter and month)"
            ),
        );
    } else if len * 10 > STANDARD_PARAMETER_LIMIT * 9 {
        warning(
            &mut out,
            field,
            "document_near_limit",
            format!(
                "is {len} characters, near the {STANDARD_PARAMETER_LIMIT} an SSM Standard parameter holds; beyond, it needs the Advanced tier"
            ),
        );
    }
    out
}

/// Checks one team's exceptions document with the function's own reader; `name` names it.
pub fn validate_exceptions(text: &str, name: &str, today: &str) -> Validation {
    match crate::policy::exceptions::parse_exceptions(text, name) {
        Ok(x) => {
            let mut warnings = size_warnings(text.len(), name);
            let as_policy = Policy {
                allowlist: x.allowlist,
                fail: Thresholds::new(),
                ..Policy::default()
            };
            warnings.extend(
                policy_warnings(&as_policy, today)
                    .into_iter()
                    .filter(|w| w.code.starts_with("allowlist")),
            );
            vex_warnings(&x.vex, &mut warnings);
            Validation {
                valid: true,
                error: None,
                warnings,
            }
        }
        Err(e) => Validation {
            valid: false,
            error: Some(e),
            warnings: Vec::new(),
        },
    }
}

/// Every warning about `policy`, in the order of the document. `today` is `YYYY-MM-DD` (UTC).
pub fn policy_warnings(policy: &Policy, today: &str) -> Vec<PolicyWarning> {
    let mut out = Vec::new();
    no_fail_rule(policy, &mut out);
    dead_warn_rules(policy, &mut out);
    strip_everything(policy, &mut out);
    allowlist_expiry(policy, today, &mut out);
    overrides_that_never_match(policy, &mut out);
    archive_costs(policy, &mut out);
    out
}

/// Archiving is a hard block with a price: ECR charges archived storage for at least 90 days,
/// and `always` also archives images that running services pull.
fn archive_costs(p: &Policy, out: &mut Vec<PolicyWarning>) {
    use crate::policy::enforcement::ArchiveMode;
    let charge = "ECR charges archived images for a minimum of 90 days of storage, even when they are restored or deleted sooner";
    match p.block.archive {
        ArchiveMode::Off => {}
        ArchiveMode::Unused => warning(
            out,
            "block.archive".to_string(),
            "archive_storage_charge",
            format!("`unused` archives failing images nobody pulled in {} days: {charge}", p.block.in_use_days),
        ),
        ArchiveMode::Always => warning(
            out,
            "block.archive".to_string(),
            "archive_in_use",
            format!(
                "`always` archives failing images that running services use: ECR then answers 404 to their pulls, so a service cannot scale out or replace a task (ECS), nor a pod restart on a new node (EKS), until the image is fixed or restored; `unused` leaves images in use running. {charge}"
            ),
        ),
    }
}

fn warning(out: &mut Vec<PolicyWarning>, field: String, code: &'static str, message: String) {
    if !out.iter().any(|w| w.field == field && w.code == code) {
        out.push(PolicyWarning {
            field,
            code,
            message,
        });
    }
}

/// The rules in force at the top level and for each override (what `thresholds_for` gives),
/// with the field each part comes from.
struct Scope<'a> {
    name: String,
    fail: (&'a Thresholds, String),
    warn: (&'a Thresholds, String),
    fail_if: (&'a [Condition], String),
    warn_if: (&'a [Condition], String),
}

fn scopes(p: &Policy) -> Vec<Scope<'_>> {
    let mut out = vec![Scope {
        name: "the top level".to_string(),
        fail: (&p.fail, "fail".into()),
        warn: (&p.warn, "warn".into()),
        fail_if: (&p.fail_if, "fail_if".into()),
        warn_if: (&p.warn_if, "warn_if".into()),
    }];
    for (i, o) in p.repositories.iter().enumerate() {
        let at = |k: &str| format!("repositories[{i}].{k}");
        out.push(Scope {
            name: format!("repositories[{i}] ({:?})", o.pattern),
            fail: match &o.fail {
                Some(t) => (t, at("fail")),
                None => (&p.fail, "fail".into()),
            },
            warn: match &o.warn {
                Some(t) => (t, at("warn")),
                None => (&p.warn, "warn".into()),
            },
            fail_if: match &o.fail_if {
                Some(c) => (c, at("fail_if")),
                None => (&p.fail_if, "fail_if".into()),
            },
            warn_if: match &o.warn_if {
                Some(c) => (c, at("warn_if")),
                None => (&p.warn_if, "warn_if".into()),
            },
        });
    }
    out
}

/// No fail threshold and no `fail_if`: the gate can never fail an image.
fn no_fail_rule(p: &Policy, out: &mut Vec<PolicyWarning>) {
    for (i, s) in scopes(p).iter().enumerate() {
        if s.fail.0.is_empty() && s.fail_if.0.is_empty() {
            let field = if i == 0 {
                s.fail.1.clone()
            } else {
                format!("repositories[{}]", i - 1)
            };
            warning(
                out,
                field,
                "no_fail_rule",
                format!(
                    "leaves {} with no fail threshold and no fail_if condition: no image can ever \
                     fail, so nothing is quarantined",
                    s.name
                ),
            );
        }
    }
}

/// A warn rule that can never decide the verdict because a fail rule always trips with it.
///
/// Thresholds count one severity each, so `warn.S = n` is dead when `fail.S = m` with
/// `m <= n`: any count that reaches `n` has reached `m`, and the image fails instead. (`warn
/// HIGH 1` with `fail HIGH 5` is the useful shape: it warns from 1 to 4.) A `warn_if`
/// condition is dead when a `fail_if` condition holds for every finding it holds for: each
/// key of the `fail_if` condition is also in the `warn_if` one and at least as strict there.
fn dead_warn_rules(p: &Policy, out: &mut Vec<PolicyWarning>) {
    for s in scopes(p) {
        for (sev, n) in s.warn.0 {
            if let Some(m) = s.fail.0.get(sev).filter(|m| **m <= *n) {
                warning(
                    out,
                    format!("{}.{sev}", s.warn.1),
                    "warn_never_applies",
                    format!(
                        "({n}) can never make an image WARN: {}.{sev} is {m}, so {n} or more {sev} \
                         findings fail first; set the warn count below the fail count or remove it",
                        s.fail.1
                    ),
                );
            }
        }
        for (i, w) in s.warn_if.0.iter().enumerate() {
            if let Some(j) = s.fail_if.0.iter().position(|f| implies(w, f)) {
                warning(
                    out,
                    format!("{}[{i}]", s.warn_if.1),
                    "warn_never_applies",
                    format!(
                        "can never make an image WARN: every finding it holds for also meets {}[{j}], \
                         which fails the image",
                        s.fail_if.1
                    ),
                );
            }
        }
    }
}

/// Whether every finding meeting `w` also meets `f`.
fn implies(w: &Condition, f: &Condition) -> bool {
    let sev = |c: &Condition| c.severity_at_least.map(rank).unwrap_or(0);
    let glob = |f: &Option<String>, w: &Option<String>| match (f, w) {
        (None, _) => true,
        (Some(f), Some(w)) => covers(f, w),
        (Some(_), None) => false,
    };
    sev(w) >= sev(f)
        && (f.exploit_available.is_none() || f.exploit_available == w.exploit_available)
        && (f.fix_available.is_none() || f.fix_available == w.fix_available)
        && match (f.score_at_least, w.score_at_least) {
            (None, _) => true,
            (Some(fs), Some(ws)) => ws >= fs,
            (Some(_), None) => false,
        }
        && glob(&f.vulnerability, &w.vulnerability)
        && glob(&f.package, &w.package)
}

fn strip_everything(p: &Policy, out: &mut Vec<PolicyWarning>) {
    for (i, g) in p.strip_tags.iter().enumerate() {
        if matches_every_nonempty(g) {
            warning(
                out,
                format!("strip_tags[{i}]"),
                "strip_matches_every_tag",
                format!(
                    "({g:?}) matches every tag: a failing image keeps only its quarantine tag, so it \
                     cannot be released without tagging it again; name the deployable tags \
                     (e.g. \"latest\", \"prod-*\")"
                ),
            );
        }
    }
}

fn allowlist_expiry(p: &Policy, today: &str, out: &mut Vec<PolicyWarning>) {
    let Some(now) = day_number(today) else {
        return;
    };
    for (i, e) in p.allowlist.iter().enumerate() {
        let Some(expires) = e.expires.as_deref() else {
            continue;
        };
        let Some(last) = day_number(expires) else {
            continue;
        };
        let left = last - now;
        let field = format!("allowlist[{i}].expires");
        if left < 0 {
            warning(
                out,
                field,
                "allowlist_expired",
                format!(
                    "({expires}): the entry for {} expired {} day{} ago and no longer applies; \
                     renew it with a new date or remove it",
                    e.label(),
                    -left,
                    if left == -1 { "" } else { "s" }
                ),
            );
        } else if left <= EXPIRY_NOTICE_DAYS {
            let when = match left {
                0 => "today is its last day".to_string(),
                1 => "it applies until tomorrow".to_string(),
                n => format!("it applies for {n} more days"),
            };
            warning(
                out,
                field,
                "allowlist_expires_soon",
                format!(
                    "({expires}): the entry for {} expires soon ({when}); then its findings count again",
                    e.label()
                ),
            );
        }
    }
}

fn overrides_that_never_match(p: &Policy, out: &mut Vec<PolicyWarning>) {
    for (i, o) in p.repositories.iter().enumerate() {
        let field = format!("repositories[{i}].match");
        if let Err(why) = impossible_repository_pattern(&o.pattern) {
            warning(
                out,
                field,
                "override_never_matches",
                format!("({:?}) can match no repository name: {why}", o.pattern),
            );
            continue;
        }
        if let Some(j) = p.repositories[..i]
            .iter()
            .position(|earlier| covers(&earlier.pattern, &o.pattern))
        {
            let earlier = &p.repositories[j].pattern;
            warning(
                out,
                field,
                "override_shadowed",
                format!(
                    "({:?}) never applies: repositories[{j}] ({earlier:?}) comes first and matches \
                     every repository this one matches (the first match wins); move it up or remove it",
                    o.pattern
                ),
            );
        }
    }
}

/// Why no ECR repository name (lower-case letters, digits, `._-`, components separated by `/`,
/// each starting and ending with a letter or digit) can match this glob, if that is provable.
pub fn impossible_repository_pattern(pattern: &str) -> Result<(), String> {
    if !has_wildcards(pattern) {
        return crate::domain::image::validate_repository_name(pattern).map_err(|p| {
            p.trim_start_matches("is ")
                .split(':')
                .next()
                .unwrap_or("")
                .to_string()
        });
    }
    if let Some(c) = pattern
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/*?".contains(*c)))
    {
        return Err(format!(
            "{c:?} never occurs in a repository name (lower-case letters, digits, `._-/` only)"
        ));
    }
    let literal_separator = |c: Option<char>| c.is_some_and(|c| "._-/".contains(c));
    if literal_separator(pattern.chars().next()) {
        return Err("a repository name starts with a letter or digit".to_string());
    }
    if literal_separator(pattern.chars().last()) {
        return Err("a repository name ends with a letter or digit".to_string());
    }
    for sep in ["//", "/.", "/_", "/-", "./", "_/", "-/"] {
        if pattern.contains(sep) {
            return Err(format!(
                "{sep:?}: each `/`-separated part starts and ends with a letter or digit"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
