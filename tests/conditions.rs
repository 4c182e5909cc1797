//! Risk conditions (`fail_if` / `warn_if`) on the emulator: moto serves seeded basic and
//! enhanced DescribeImageScanFindings responses to the real SDK client, through the counting
//! proxy so the fast path can be seen making no call.

mod common;

use common::proxy::FaultProxy;
use common::{basic_finding, basic_findings, ecr_scan_event, enhanced_sample_findings, Emulator};
use common::{ManifestKind, TODAY};
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::domain::verdict::Verdict;
use ecr_scan_gate::engine::gate::Gate;
use ecr_scan_gate::engine::settings::Settings;
use ecr_scan_gate::judgement::evaluation::{Action, Basis, Evaluation, Response};
use ecr_scan_gate::policy::document::Policy;
use ecr_scan_gate::render::alert::AlertOptions;
use ecr_scan_gate::render::slack_blocks::slack_payload;
use ecr_scan_gate::render::sns_message::sns_message;
use serde_json::{json, Value};

/// A gate on the emulator through a counting proxy.
async fn gate(emu: &Emulator, proxy: &FaultProxy, policy: &str) -> Gate<EcrRegistry> {
    let config = common::sdk_config(&proxy.endpoint).await;
    let _ = emu;
    Gate::new(
        EcrRegistry::new(aws_sdk_ecr::Client::new(&config), "quarantine-"),
        Policy::from_json(policy).expect("test policy"),
        Settings::default(),
    )
}

async fn evaluate(gate: &Gate<EcrRegistry>, input: &Value) -> Evaluation {
    match gate.handle(input, TODAY).await.expect("handled") {
        Response::Evaluated(ev) => *ev,
        other => panic!("not evaluated: {other:?}"),
    }
}

/// A repository `stem-…` with one image whose scan is seeded with `findings`.
async fn image(emu: &Emulator, stem: &str, findings: Value) -> (String, String) {
    let repo = common::unique_repo(stem);
    emu.create_repo(&repo).await;
    let digest = emu.push(&repo, "v1", ManifestKind::DockerV2).await;
    emu.seed(&repo, &digest, "COMPLETE", findings);
    emu.start_scan(&repo, &digest).await;
    (repo, digest)
}

/// The AWS sample enhanced finding (CVE-2022-49043, HIGH, libxml2, score 8.1, fix NO),
/// with `exploitAvailable` set.
fn enhanced_high(exploit: &str) -> Value {
    let mut findings = enhanced_sample_findings();
    findings["enhancedFindings"][0]["exploitAvailable"] = json!(exploit);
    findings
}

fn event(repo: &str, digest: &str, counts: Value) -> Value {
    ecr_scan_event(repo, digest, &["v1"], counts, "COMPLETE")
}

fn quarantined(ev: &Evaluation) -> bool {
    ev.actions
        .iter()
        .any(|a| matches!(a, Action::Quarantine { .. }))
}

/// No threshold can trip: only the conditions decide.
const EXPLOITABLE_HIGH_FAILS: &str = r#"{"fail": {}, "warn": {},
    "fail_if": [{"severity_at_least": "HIGH", "exploit_available": true}]}"#;

#[tokio::test]
async fn an_exploitable_high_enhanced_finding_fails_and_the_reason_reaches_the_alerts() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let (repo, digest) = image(&emu, "exploit-yes", enhanced_high("YES")).await;
    let gate = gate(&emu, &proxy, EXPLOITABLE_HIGH_FAILS).await;
    let ev = evaluate(&gate, &event(&repo, &digest, json!({"HIGH": 1}))).await;

    assert_eq!(ev.verdict, Verdict::Fail, "{:?}", ev.reasons);
    let reason = "CVE-2022-49043 (HIGH, exploit available) meets fail_if[0]";
    assert_eq!(ev.reasons, vec![reason.to_string()]);
    assert!(quarantined(&ev));
    assert_eq!(
        ev.counts
            .get(ecr_scan_gate::domain::severity::Severity::High),
        1
    );
    let hits = &ev.findings.as_ref().unwrap().conditions;
    assert_eq!(hits.fail_if_findings, 1);
    assert_eq!(
        ev.findings.as_ref().unwrap().top[0].exploit_available,
        Some(true)
    );

    let opts = AlertOptions::default();
    let slack = slack_payload(&ev, &opts).to_string();
    assert!(slack.contains(reason), "{slack}");
    let sns = sns_message(&ev, &opts);
    assert_eq!(sns.body()["reasons"][0], reason);
    assert!(sns.email().contains(reason), "{}", sns.email());
}

#[tokio::test]
async fn the_same_high_without_an_exploit_passes() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let (repo, digest) = image(&emu, "exploit-no", enhanced_high("NO")).await;
    let gate = gate(&emu, &proxy, EXPLOITABLE_HIGH_FAILS).await;
    let ev = evaluate(&gate, &event(&repo, &digest, json!({"HIGH": 1}))).await;
    assert_eq!(ev.verdict, Verdict::Pass, "{:?}", ev.reasons);
    assert_eq!(
        ev.basis,
        Basis::Findings,
        "a HIGH could have met the condition"
    );
    assert!(!quarantined(&ev));
    assert_eq!(
        ev.findings.as_ref().unwrap().top[0].exploit_available,
        Some(false)
    );
}

#[tokio::test]
async fn basic_findings_never_meet_exploit_available() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let findings = basic_findings(vec![basic_finding(
        "CVE-2024-0001",
        "CRITICAL",
        "openssl",
        "3.0.1",
    )]);
    let (repo, digest) = image(&emu, "basic-exploit", findings).await;
    for policy in [
        EXPLOITABLE_HIGH_FAILS,
        r#"{"fail": {}, "warn": {}, "fail_if": [{"exploit_available": false}]}"#,
    ] {
        let gate = gate(&emu, &proxy, policy).await;
        let ev = evaluate(&gate, &event(&repo, &digest, json!({"CRITICAL": 1}))).await;
        assert_eq!(ev.verdict, Verdict::Pass, "{policy}: {:?}", ev.reasons);
        assert_eq!(ev.basis, Basis::Findings);
        assert_eq!(ev.findings.as_ref().unwrap().top[0].exploit_available, None);
    }
}

#[tokio::test]
async fn score_at_least_reads_cvss3_on_basic_and_score_on_enhanced() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    // Basic: the helper's finding carries CVSS3_SCORE 9.8.
    let basic = basic_findings(vec![basic_finding(
        "CVE-2024-0002",
        "MEDIUM",
        "zlib",
        "1.2",
    )]);
    let (basic_repo, basic_digest) = image(&emu, "score-basic", basic).await;
    // Enhanced: score 8.1.
    let (enh_repo, enh_digest) = image(&emu, "score-enhanced", enhanced_high("NO")).await;

    let at = |min: f64| {
        format!(r#"{{"fail": {{}}, "warn": {{}}, "warn_if": [{{"score_at_least": {min}}}]}}"#)
    };
    let cases = [
        (&basic_repo, &basic_digest, 9.8, Verdict::Warn),
        (&basic_repo, &basic_digest, 9.9, Verdict::Pass),
        (&enh_repo, &enh_digest, 8.1, Verdict::Warn),
        (&enh_repo, &enh_digest, 8.2, Verdict::Pass),
    ];
    for (repo, digest, min, want) in cases {
        let gate = gate(&emu, &proxy, &at(min)).await;
        let ev = evaluate(&gate, &event(repo, digest, json!({"MEDIUM": 1}))).await;
        assert_eq!(
            ev.verdict, want,
            "{repo} score_at_least {min}: {:?}",
            ev.reasons
        );
    }
    let gate = gate(&emu, &proxy, &at(9.0)).await;
    let ev = evaluate(
        &gate,
        &event(&basic_repo, &basic_digest, json!({"MEDIUM": 1})),
    )
    .await;
    assert_eq!(
        ev.reasons,
        vec!["CVE-2024-0002 (MEDIUM, score 9.8) meets warn_if[0]".to_string()]
    );
}

#[tokio::test]
async fn a_package_glob_fails_an_enhanced_finding_below_critical() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let (repo, digest) = image(&emu, "package", enhanced_high("NO")).await;
    let gate_for = |p: &'static str| gate(&emu, &proxy, p);
    let ev = evaluate(
        &gate_for(r#"{"fail_if": [{"package": "libxml*"}]}"#).await,
        &event(&repo, &digest, json!({"HIGH": 1})),
    )
    .await;
    assert_eq!(ev.verdict, Verdict::Fail);
    assert_eq!(
        ev.reasons,
        vec!["CVE-2022-49043 (HIGH, package libxml2) meets fail_if[0]".to_string()]
    );
    let ev = evaluate(
        &gate_for(r#"{"fail_if": [{"package": "openssl*"}]}"#).await,
        &event(&repo, &digest, json!({"HIGH": 1})),
    )
    .await;
    assert_eq!(ev.verdict, Verdict::Warn, "the default warn HIGH 1 only");
}

#[tokio::test]
async fn a_repository_override_replaces_the_top_level_conditions() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let (repo, digest) = image(&emu, "override", enhanced_high("YES")).await;
    // The override names this repository (its name starts with `override-`) and carries an
    // empty fail_if: the top-level one no longer applies to it.
    let policy = r#"{"fail": {}, "warn": {},
        "fail_if": [{"severity_at_least": "HIGH", "exploit_available": true}],
        "repositories": [{"match": "override-*", "fail_if": [], "warn_if": [{"vulnerability": "CVE-2022-*"}]}]}"#;
    let ev = evaluate(
        &gate(&emu, &proxy, policy).await,
        &event(&repo, &digest, json!({"HIGH": 1})),
    )
    .await;
    assert_eq!(ev.verdict, Verdict::Warn, "{:?}", ev.reasons);
    assert_eq!(
        ev.reasons,
        vec!["CVE-2022-49043 (HIGH) meets repositories[0].warn_if[0]".to_string()]
    );
}

#[tokio::test]
async fn an_allowlisted_finding_meets_no_condition() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let (repo, digest) = image(&emu, "allowlisted", enhanced_high("YES")).await;
    let policy = r#"{"fail": {}, "warn": {},
        "fail_if": [{"severity_at_least": "HIGH", "exploit_available": true}],
        "allowlist": [{"id": "CVE-2022-49043", "reason": "not reachable in this image"}]}"#;
    let ev = evaluate(
        &gate(&emu, &proxy, policy).await,
        &event(&repo, &digest, json!({"HIGH": 1})),
    )
    .await;
    assert_eq!(ev.verdict, Verdict::Pass, "{:?}", ev.reasons);
    let report = ev.findings.as_ref().unwrap();
    assert_eq!(report.allowlisted, 1);
    assert!(report.conditions.is_empty());
}

#[tokio::test]
async fn the_fast_path_holds_only_where_counts_prove_no_condition_can_be_met() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let findings = basic_findings(vec![basic_finding(
        "CVE-2024-0003",
        "MEDIUM",
        "log4j-core",
        "2.14",
    )]);
    let (repo, digest) = image(&emu, "fast", findings).await;
    let medium = event(&repo, &digest, json!({"MEDIUM": 1}));

    // severity_at_least HIGH cannot be met by MEDIUM findings: PASS on the counts, no call.
    let gate_high = gate(&emu, &proxy, EXPLOITABLE_HIGH_FAILS).await;
    proxy.reset_counts();
    let ev = evaluate(&gate_high, &medium).await;
    assert_eq!((ev.verdict, ev.basis), (Verdict::Pass, Basis::EventCounts));
    assert_eq!(proxy.count("DescribeImageScanFindings"), 0);

    // No severity_at_least: any finding may meet it, so the findings are read — and it does.
    let gate_pkg = gate(
        &emu,
        &proxy,
        r#"{"fail": {}, "warn": {}, "fail_if": [{"package": "log4j*"}]}"#,
    )
    .await;
    proxy.reset_counts();
    let ev = evaluate(&gate_pkg, &medium).await;
    assert_eq!((ev.verdict, ev.basis), (Verdict::Fail, Basis::Findings));
    assert_eq!(proxy.count("DescribeImageScanFindings"), 1);

    // Zero findings prove it even without severity_at_least.
    proxy.reset_counts();
    let ev = evaluate(&gate_pkg, &event(&repo, &digest, json!({}))).await;
    assert_eq!((ev.verdict, ev.basis), (Verdict::Pass, Basis::EventCounts));
    assert_eq!(proxy.count("DescribeImageScanFindings"), 0);

    // A warn_if can turn a PASS into a WARN, so it needs the findings just the same.
    let gate_warn = gate(
        &emu,
        &proxy,
        r#"{"fail": {}, "warn": {}, "warn_if": [{"severity_at_least": "MEDIUM"}]}"#,
    )
    .await;
    proxy.reset_counts();
    let ev = evaluate(&gate_warn, &medium).await;
    assert_eq!((ev.verdict, ev.basis), (Verdict::Warn, Basis::Findings));
    assert_eq!(proxy.count("DescribeImageScanFindings"), 1);
}
