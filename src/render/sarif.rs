//! The check's outcome as a SARIF 2.1.0 log (`ecr-scan-gate-check --output sarif`,
//! `--sarif-file`), for GitHub code scanning (`github/codeql-action/upload-sarif`). Pure.
//!
//! One run; one rule per vulnerability id; one result per counting finding (after the policy:
//! allowlisted findings, findings `ignore_unfixed` drops and findings Inspector suppressed or
//! closed are left out, and counted in the run's properties). A result's level is `error` when
//! the finding fails the image, `warning` when it warns it, `note` otherwise. Its location is
//! the judged image, `repository@sha256:…`. docs/check.md says why each choice.

use super::check_outcome::{advisory_link, md, CheckOutcome, Effect};
use crate::domain::severity::Severity;
use crate::judgement::findings::{Finding, FixState};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// The most results one log holds (the most important findings first); the run's properties
/// say when more findings counted. GitHub takes up to 25,000 results per run.
pub const MAX_RESULTS: usize = 1000;

/// The schema the log declares: the OASIS SARIF 2.1.0 JSON schema.
pub const SCHEMA_URI: &str =
    "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json";

/// The partial fingerprint's key (GitHub tracks an alert across runs by it).
pub const FINGERPRINT_KEY: &str = "ecrScanGate/v1";

/// The tool, as the log's driver names it.
#[derive(Debug, Clone, Copy)]
pub struct Tool<'a> {
    pub version: &'a str,
    pub information_uri: &'a str,
}

/// `properties.security-severity` as GitHub reads it (a number from 0.0 to 10.0, as a string),
/// from the severity the gate judged by, so GitHub's Critical / High / Medium / Low match the
/// gate's: over 9.0 is critical, 7.0 to 8.9 high, 4.0 to 6.9 medium, 0.1 to 3.9 low. The
/// severities with no rating (INFORMATIONAL, UNDEFINED, UNTRIAGED) get none.
pub fn security_severity(s: Severity) -> Option<&'static str> {
    match s {
        Severity::Critical => Some("9.5"),
        Severity::High => Some("8.0"),
        Severity::Medium => Some("5.5"),
        Severity::Low => Some("2.0"),
        Severity::Informational | Severity::Undefined | Severity::Untriaged => None,
    }
}

/// The artifact location of every result: the judged image as `repository@sha256:…` (for an
/// image index, the platform image that decided), else the image as it was asked about.
pub fn artifact_uri(o: &CheckOutcome<'_>) -> String {
    match o.evaluation {
        Some(ev) => match &ev.digest {
            Some(d) => format!("{}@{d}", ev.repository),
            None => o.image.to_string(),
        },
        None => o.image.to_string(),
    }
}

/// One rule: a vulnerability id and what this image has of it.
struct Rule<'f> {
    id: &'f str,
    severity: Severity,
    level: &'static str,
    link: Option<&'f str>,
    findings: Vec<&'f Finding>,
}

fn rank(level: &str) -> u8 {
    match level {
        "error" => 3,
        "warning" => 2,
        _ => 1,
    }
}

/// The SARIF log of the check's outcome.
pub fn sarif_log(o: &CheckOutcome<'_>, tool: &Tool<'_>) -> Value {
    let findings = o.findings();
    let listed = &findings[..findings.len().min(MAX_RESULTS)];
    let uri = artifact_uri(o);
    let mut rules: Vec<Rule<'_>> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut results = Vec::with_capacity(listed.len());
    for f in listed {
        let effect = o.effect(f);
        let i = *index.entry(f.id.as_str()).or_insert_with(|| {
            rules.push(Rule {
                id: &f.id,
                severity: f.severity,
                level: "note",
                link: None,
                findings: Vec::new(),
            });
            rules.len() - 1
        });
        let rule = &mut rules[i];
        // Severities order highest first.
        rule.severity = rule.severity.min(f.severity);
        if rank(effect.level()) > rank(rule.level) {
            rule.level = effect.level();
        }
        rule.link = rule.link.or_else(|| advisory_link(f));
        rule.findings.push(f);
        results.push(result(f, i, &effect, &uri));
    }
    let mut run = json!({
        "tool": {"driver": {
            "name": "ecr-scan-gate",
            "version": tool.version,
            "semanticVersion": tool.version,
            "informationUri": tool.information_uri,
            "rules": rules.iter().map(rule_json).collect::<Vec<_>>(),
        }},
        "invocations": [invocation(o)],
        "results": results,
        "properties": run_properties(o, listed.len()),
    });
    if !o.repository.is_empty() {
        // One analysis category per repository: the alerts of two images checked in one
        // workflow do not replace each other.
        run["automationDetails"] = json!({"id": format!("ecr-scan-gate/{}/", o.repository)});
    }
    json!({"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]})
}

fn packages(rule: &Rule<'_>) -> String {
    let mut names: Vec<&str> = Vec::new();
    for f in &rule.findings {
        let p = f.package.as_deref().unwrap_or("an unnamed package");
        if !names.contains(&p) {
            names.push(p);
        }
    }
    match names.len() {
        0..=3 => names.join(", "),
        n => format!("{} and {} more", names[..3].join(", "), n - 3),
    }
}

fn fix_text(f: &Finding) -> String {
    match (&f.fixed_version, f.fix_available) {
        (Some(v), _) => format!("fixed in {v}"),
        (None, FixState::No) => "no fix yet".to_string(),
        (None, _) => "no fixed version known".to_string(),
    }
}

fn rule_json(rule: &Rule<'_>) -> Value {
    let short = format!(
        "{}: {} vulnerability in {}",
        rule.id,
        rule.severity,
        packages(rule)
    );
    let mut text = format!(
        "{} ({}), found by the Amazon ECR image scan, in:\n",
        rule.id, rule.severity
    );
    let mut markdown = format!(
        "**{}** ({}), found by the Amazon ECR image scan.\n\n| package | installed | fix |\n|---|---|---|\n",
        md(rule.id),
        rule.severity
    );
    for f in &rule.findings {
        let pkg = f.package.as_deref().unwrap_or("?");
        let installed = f.installed_version.as_deref().unwrap_or("?");
        text.push_str(&format!("- {pkg} {installed}: {}\n", fix_text(f)));
        markdown.push_str(&format!(
            "| {} | {} | {} |\n",
            md(pkg),
            md(installed),
            md(&fix_text(f))
        ));
    }
    if let Some(link) = rule.link {
        text.push_str(&format!("Advisory: {link}\n"));
        markdown.push_str(&format!("\nAdvisory: <{link}>\n"));
    }
    let mut properties = json!({
        "tags": ["security", "vulnerability", rule.severity.as_str()],
    });
    if let Some(s) = security_severity(rule.severity) {
        properties["security-severity"] = json!(s);
    }
    let mut r = json!({
        "id": rule.id,
        "shortDescription": {"text": short},
        "fullDescription": {"text": format!("{short}, found by the Amazon ECR image scan.")},
        "help": {"text": text, "markdown": markdown},
        "defaultConfiguration": {"level": rule.level},
        "properties": properties,
    });
    if let Some(link) = rule.link {
        r["helpUri"] = json!(link);
    }
    r
}

fn result(f: &Finding, rule_index: usize, effect: &Effect, uri: &str) -> Value {
    let pkg = f.package.as_deref().unwrap_or("an unnamed package");
    let installed = f
        .installed_version
        .as_deref()
        .unwrap_or("(version unknown)");
    let what = match effect {
        Effect::Fails(why) => format!(" Fails the image: {why}."),
        Effect::Warns(why) => format!(" Warns: {why}."),
        Effect::Counts => String::new(),
    };
    let message = format!(
        "{} ({}) in {pkg} {installed}, {}.{what}",
        f.id,
        f.severity,
        fix_text(f)
    );
    let mut properties = Map::new();
    properties.insert("severity".into(), json!(f.severity));
    for (key, value) in [
        ("package", &f.package),
        ("installedVersion", &f.installed_version),
        ("fixedVersion", &f.fixed_version),
    ] {
        if let Some(v) = value {
            properties.insert(key.into(), json!(v));
        }
    }
    properties.insert("fixAvailable".into(), json!(f.fix_available));
    if let Some(e) = f.exploit_available {
        properties.insert("exploitAvailable".into(), json!(e));
    }
    if let Some(s) = f.score.filter(|s| s.is_finite()) {
        properties.insert("score".into(), json!(s));
    }
    if let Some(why) = effect.reason() {
        properties.insert("policy".into(), json!(why));
    }
    json!({
        "ruleId": f.id,
        "ruleIndex": rule_index,
        "level": effect.level(),
        "message": {"text": message},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": uri},
            "region": {"startLine": 1},
        }}],
        "partialFingerprints": {FINGERPRINT_KEY: format!(
            "{uri}|{}|{}|{}",
            f.id,
            f.package.as_deref().unwrap_or(""),
            f.installed_version.as_deref().unwrap_or("")
        )},
        "properties": properties,
    })
}

fn invocation(o: &CheckOutcome<'_>) -> Value {
    let mut notes: Vec<Value> = o
        .warnings
        .iter()
        .map(|w| json!({"level": "warning", "message": {"text": w}}))
        .collect();
    let undecided = o.decision == "undecided";
    notes.push(json!({
        "level": if undecided { "error" } else { "note" },
        "message": {"text": o.message},
    }));
    json!({
        // The check ran to a decision; undecided (exit 2) is a run that could not judge.
        "executionSuccessful": !undecided,
        "exitCode": o.exit_code,
        "toolExecutionNotifications": notes,
    })
}

fn run_properties(o: &CheckOutcome<'_>, listed: usize) -> Value {
    let mut p = json!({
        "image": o.image,
        "artifact": artifact_uri(o),
        "decision": o.decision,
        "exitCode": o.exit_code,
        "message": o.message,
    });
    if o.archived {
        p["archived"] = json!(true);
    }
    if let Some((source, hash)) = o.policy {
        p["policy"] = json!({"source": source, "hash": hash});
    }
    let Some(ev) = o.evaluation else {
        return p;
    };
    p["verdict"] = json!(ev.verdict);
    p["reasons"] = json!(ev.reasons);
    p["counts"] = json!(ev.counts);
    if let Some(r) = &ev.findings {
        // What the findings' tally says, as `--output json` has it (`evaluation.findings`): the
        // findings left out (allowlisted, excused, ignored, inactive) are counted there.
        let mut tally = json!(r);
        if let Some(t) = tally.as_object_mut() {
            t.remove("top");
        }
        p["findings"] = tally;
    }
    let counting = o.counting_listed();
    if (listed as u64) < counting {
        p["resultsCut"] = json!(format!(
            "the {listed} most important of {counting} counting findings are listed"
        ));
    }
    p
}

#[cfg(test)]
pub(crate) mod tests;
