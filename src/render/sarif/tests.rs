//! The SARIF log from plain values. Its validity against the SARIF 2.1.0 schema is checked on
//! the real binary's output by tests/action/test_sarif.py.

use super::*;
use crate::domain::image::Digest;
use crate::domain::scan::Trigger;
use crate::domain::severity::Counts;
use crate::judgement::evaluation::{Basis, Evaluation};
use crate::judgement::findings::FindingsReport;
use crate::judgement::judge::judge;
use crate::policy::document::Policy;

pub(crate) const DIGEST: &str =
    "sha256:a80c9cdd6659f1dd8a3c2b7b3f9e5b5ad1b76a4e5a5d2c7d3c8e9f0a1b2c4380";

pub(crate) fn finding(id: &str, sev: Severity, package: &str) -> Finding {
    Finding {
        id: id.into(),
        severity: sev,
        package: Some(package.into()),
        installed_version: Some("1.0".into()),
        fixed_version: None,
        fix_available: FixState::Unknown,
        exploit_available: None,
        score: None,
        link: None,
    }
}

/// The evaluation of `demo-api@DIGEST` with these counting findings, judged by `policy` on
/// their counts.
pub(crate) fn evaluation(policy: &Policy, findings: Vec<Finding>) -> Evaluation {
    let mut counts = Counts::default();
    findings.iter().for_each(|f| counts.add(f.severity, 1));
    let (verdict, reasons) = judge(&policy.thresholds_for("demo-api"), &counts);
    Evaluation {
        verdict,
        repository: "demo-api".into(),
        digest: Some(Digest::parse(DIGEST).unwrap()),
        tags: vec!["v1".into()],
        trigger: Trigger::DirectInvoke,
        counts,
        highest_severity: counts.highest(),
        reasons,
        basis: Basis::Findings,
        scan_status: Some("COMPLETE".into()),
        findings: Some(FindingsReport {
            counts,
            read: findings.len() as u64,
            top: findings,
            ..FindingsReport::default()
        }),
        actions: Vec::new(),
        dry_run: false,
        region: None,
        account: None,
    }
}

pub(crate) fn outcome<'a>(
    ev: &'a Evaluation,
    p: &'a Policy,
    decision: &'a str,
) -> CheckOutcome<'a> {
    CheckOutcome {
        repository: "demo-api",
        image: "demo-api:v1",
        decision,
        exit_code: match decision {
            "deployable" => 0,
            "blocked" => 1,
            _ => 2,
        },
        archived: false,
        message: "the message",
        policy: Some(("GATE_POLICY", "0123456789ab")),
        warnings: &[],
        evaluation: Some(ev),
        thresholds: Some(p.thresholds_for("demo-api")),
    }
}

const TOOL: Tool<'static> = Tool {
    version: "0.1.0",
    information_uri: "https://github.com/your-org/ecr-scan-gate",
};

fn levels(log: &Value) -> Vec<(String, String)> {
    log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap().to_string(),
                r["level"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_failing_image_errors_on_what_fails_it_and_warns_on_what_warns() {
    let p = Policy::default(); // fail CRITICAL >= 1, warn HIGH >= 1
    let mut crit = finding("CVE-2024-0001", Severity::Critical, "openssl");
    crit.link = Some("https://nvd.nist.gov/vuln/detail/CVE-2024-0001".into());
    crit.fixed_version = Some("3.0.7".into());
    crit.fix_available = FixState::Yes;
    let ev = evaluation(
        &p,
        vec![
            crit,
            finding("CVE-2024-0001", Severity::Critical, "libssl3"),
            finding("CVE-2024-0002", Severity::High, "curl"),
            finding("CVE-2024-0003", Severity::Medium, "zlib"),
            finding("CVE-2024-0004", Severity::Informational, "bash"),
        ],
    );
    let log = sarif_log(&outcome(&ev, &p, "blocked"), &TOOL);
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(log["$schema"], SCHEMA_URI);
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "ecr-scan-gate");
    assert_eq!(run["tool"]["driver"]["version"], "0.1.0");
    assert_eq!(
        levels(&log),
        [
            ("CVE-2024-0001", "error"),
            ("CVE-2024-0001", "error"),
            ("CVE-2024-0002", "warning"),
            ("CVE-2024-0003", "note"),
            ("CVE-2024-0004", "note"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    // One rule per vulnerability id; both results of CVE-2024-0001 point at it.
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "CVE-2024-0001",
            "CVE-2024-0002",
            "CVE-2024-0003",
            "CVE-2024-0004"
        ]
    );
    assert_eq!(run["results"][1]["ruleIndex"], 0);
    assert_eq!(run["results"][2]["ruleIndex"], 1);
    let r0 = &rules[0];
    assert_eq!(
        r0["shortDescription"]["text"],
        "CVE-2024-0001: CRITICAL vulnerability in openssl, libssl3"
    );
    assert_eq!(
        r0["helpUri"],
        "https://nvd.nist.gov/vuln/detail/CVE-2024-0001"
    );
    assert_eq!(r0["defaultConfiguration"]["level"], "error");
    assert_eq!(r0["properties"]["security-severity"], "9.5");
    assert_eq!(rules[1]["properties"]["security-severity"], "8.0");
    assert_eq!(rules[2]["properties"]["security-severity"], "5.5");
    assert!(rules[3]["properties"].get("security-severity").is_none());
    assert!(rules[1].get("helpUri").is_none(), "no advisory link given");
    assert!(r0["properties"]["tags"]
        .as_array()
        .unwrap()
        .contains(&json!("security")));
    // The location is the judged image; the message says why it fails.
    let res = &run["results"][0];
    assert_eq!(
        res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        format!("demo-api@{DIGEST}")
    );
    assert_eq!(
        res["locations"][0]["physicalLocation"]["region"]["startLine"],
        1
    );
    let msg = res["message"]["text"].as_str().unwrap();
    assert!(
        msg.starts_with("CVE-2024-0001 (CRITICAL) in openssl 1.0, fixed in 3.0.7. Fails the image: 2 CRITICAL counted (policy: fail at 1 or more)."),
        "{msg}"
    );
    assert_eq!(
        res["partialFingerprints"][FINGERPRINT_KEY],
        format!("demo-api@{DIGEST}|CVE-2024-0001|openssl|1.0")
    );
    assert_ne!(
        res["partialFingerprints"], run["results"][1]["partialFingerprints"],
        "two packages, two alerts"
    );
    assert_eq!(run["automationDetails"]["id"], "ecr-scan-gate/demo-api/");
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
    assert_eq!(run["invocations"][0]["exitCode"], 1);
    assert_eq!(run["properties"]["verdict"], "FAIL");
    assert_eq!(run["properties"]["policy"]["hash"], "0123456789ab");
    assert!(run["properties"].get("resultsCut").is_none());
}

#[test]
fn a_passing_image_lists_its_findings_as_notes() {
    let p = Policy::default();
    let ev = evaluation(
        &p,
        vec![finding("CVE-2019-5188", Severity::Medium, "e2fsprogs")],
    );
    let log = sarif_log(&outcome(&ev, &p, "deployable"), &TOOL);
    assert_eq!(
        levels(&log),
        [("CVE-2019-5188".to_string(), "note".to_string())]
    );
    assert_eq!(log["runs"][0]["invocations"][0]["exitCode"], 0);
}

#[test]
fn results_are_bounded_and_the_run_says_how_many_counted() {
    let p = Policy::default();
    let many: Vec<Finding> = (0..MAX_RESULTS + 5)
        .map(|i| finding(&format!("CVE-2024-{i:05}"), Severity::Low, "pkg"))
        .collect();
    let ev = evaluation(&p, many);
    let log = sarif_log(&outcome(&ev, &p, "deployable"), &TOOL);
    let run = &log["runs"][0];
    assert_eq!(run["results"].as_array().unwrap().len(), MAX_RESULTS);
    assert_eq!(
        run["properties"]["resultsCut"],
        format!(
            "the {MAX_RESULTS} most important of {} counting findings are listed",
            MAX_RESULTS + 5
        )
    );
}

#[test]
fn an_image_not_judged_is_a_run_without_results_that_did_not_succeed() {
    let warnings = vec!["no policy is set".to_string()];
    let o = CheckOutcome {
        repository: "",
        image: "",
        decision: "undecided",
        exit_code: 2,
        archived: false,
        message: "give --tag or --digest",
        policy: None,
        warnings: &warnings,
        evaluation: None,
        thresholds: None,
    };
    let log = sarif_log(&o, &TOOL);
    let run = &log["runs"][0];
    assert_eq!(run["results"], json!([]));
    assert_eq!(run["tool"]["driver"]["rules"], json!([]));
    assert!(run.get("automationDetails").is_none(), "no repository");
    let inv = &run["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    assert_eq!(inv["exitCode"], 2);
    assert_eq!(inv["toolExecutionNotifications"][0]["level"], "warning");
    assert_eq!(inv["toolExecutionNotifications"][1]["level"], "error");
    assert_eq!(
        inv["toolExecutionNotifications"][1]["message"]["text"],
        "give --tag or --digest"
    );
}

#[test]
fn the_security_severity_follows_the_gates_severity_into_githubs_bands() {
    // GitHub: > 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
    for (sev, band) in [
        (Severity::Critical, 9.0..=10.0),
        (Severity::High, 7.0..=8.9),
        (Severity::Medium, 4.0..=6.9),
        (Severity::Low, 0.1..=3.9),
    ] {
        let s: f64 = security_severity(sev).unwrap().parse().unwrap();
        assert!(band.contains(&s) && s != 9.0, "{sev}: {s}");
    }
}
