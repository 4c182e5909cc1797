//! Exceptions as teams write them, on the moto server through the real SSM and ECR clients:
//! OpenVEX documents named by the policy (`{"parameter": …}`), teams' exceptions documents
//! under `EXCEPTIONS_PARAMETER_PATH` (GetParametersByPath, recursive, decrypted, every page),
//! each able to excuse findings only in the repositories it names; a bad document is refused
//! alone, naming its parameter: its exceptions do not apply (fail closed), the others do.

mod common;

use common::{basic_finding, basic_findings, Emulator, ManifestKind, TODAY};
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::adapters::aws::ssm::SsmParameters;
use ecr_scan_gate::domain::image::{Digest, ImageRef};
use ecr_scan_gate::domain::scan::ScanEvent;
use ecr_scan_gate::domain::verdict::Verdict;
use ecr_scan_gate::engine::gate::Gate;
use ecr_scan_gate::engine::ports::Deadline;
use ecr_scan_gate::engine::settings::Settings;
use ecr_scan_gate::entry::config::complete_policy;
use ecr_scan_gate::judgement::evaluation::Evaluation;
use ecr_scan_gate::policy::document::Policy;
use serde_json::json;

/// An image `v1` with one CRITICAL finding CVE-2024-45491 in `expat` and one in `linux-libc-dev`.
async fn failing_image(emu: &Emulator, repo: &str) -> String {
    emu.create_repo(repo).await;
    let digest = emu.push(repo, "v1", ManifestKind::DockerV2).await;
    emu.start_scan(repo, &digest).await;
    emu.seed(
        repo,
        &digest,
        "COMPLETE",
        basic_findings(vec![
            basic_finding("CVE-2024-45491", "CRITICAL", "expat", "2.5.0-1"),
            basic_finding("CVE-2024-50001", "CRITICAL", "linux-libc-dev", "6.1.0-1"),
        ]),
    );
    digest
}

async fn judge(emu: &Emulator, policy: Policy, repo: &str, digest: &str) -> Evaluation {
    let gate = Gate::new(
        EcrRegistry::new(aws_sdk_ecr::Client::new(&emu.config), "quarantine-"),
        policy,
        Settings {
            dry_run: true,
            ..Settings::default()
        },
    );
    let event = ScanEvent::direct(
        repo.to_string(),
        ImageRef::Digest(Digest::parse(digest).unwrap()),
    );
    gate.evaluate(&event, TODAY, Deadline::none())
        .await
        .unwrap()
}

fn ssm(emu: &Emulator) -> SsmParameters {
    SsmParameters::new(aws_sdk_ssm::Client::new(&emu.config))
}

#[tokio::test]
async fn team_exceptions_and_a_vex_parameter_excuse_findings_in_their_repositories_only() {
    let emu = Emulator::start().await;
    let stem = common::unique_repo("exc");
    let (team_a, team_b) = (format!("{stem}/team-a/api"), format!("{stem}/team-b/api"));
    let a = failing_image(&emu, &team_a).await;
    let b = failing_image(&emu, &team_b).await;
    let path = format!("/{stem}/exceptions/");
    // Team A: kernel headers by package, and a VEX statement about its image by digest.
    emu.put_secure_parameter(
        &format!("{path}team-a"),
        &json!({
            "repositories": [format!("{stem}/team-a/*")],
            "allowlist": [{"package": "linux-libc-*", "reason": "kernel headers: no kernel in a container",
                           "expires": "2027-06-30"}],
        })
        .to_string(),
    )
    .await;
    // The security team's VEX document, named by the policy.
    let vex_name = format!("/{stem}/vex/security");
    emu.put_secure_parameter(
        &vex_name,
        &json!({
            "@context": "https://openvex.dev/ns/v0.2.0",
            "@id": "https://example.com/vex/security-2026-11",
            "author": "security team",
            "timestamp": "2026-11-20T09:00:00Z",
            "version": 1,
            "statements": [{
                "vulnerability": {"name": "CVE-2024-45491"},
                "products": [{"@id": format!("pkg:oci/api@{}", a.replace(':', "%3A"))}],
                "status": "not_affected",
                "justification": "vulnerable_code_not_in_execute_path"
            }]
        })
        .to_string(),
    )
    .await;
    let mut policy =
        Policy::from_json(&json!({"vex": [{"parameter": vex_name}]}).to_string()).unwrap();
    let refused = complete_policy(&mut policy, Some(&path), Some(&ssm(&emu)))
        .await
        .unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    assert!(policy.vex_parameters.is_empty());

    let ev = judge(&emu, policy.clone(), &team_a, &a).await;
    assert_eq!(ev.verdict, Verdict::Pass, "{:?}", ev.reasons);
    let reasons = ev.reasons.join("\n");
    assert!(
        reasons.contains("1 finding excused by VEX https://example.com/vex/security-2026-11 statement 0 (CVE-2024-45491 not_affected: vulnerable_code_not_in_execute_path; parameter "),
        "{reasons}"
    );
    let findings = ev.findings.as_ref().unwrap();
    assert_eq!(findings.allowlisted, 1);
    assert_eq!(findings.vex_excused, 1);
    assert!(findings.allowlist.applied[0]
        .id
        .contains(&format!("package linux-libc-* (exceptions {path}team-a)")));

    // Team B's image: team A's exceptions do not reach it, and the VEX statement names team
    // A's image only.
    let ev = judge(&emu, policy, &team_b, &b).await;
    assert_eq!(ev.verdict, Verdict::Fail, "{:?}", ev.reasons);
    assert_eq!(
        ev.counts
            .get(ecr_scan_gate::domain::severity::Severity::Critical),
        2
    );
}

#[tokio::test]
async fn every_page_of_the_path_is_read() {
    let emu = Emulator::start().await;
    let stem = common::unique_repo("exc-pages");
    let path = format!("/{stem}/exceptions/");
    // The SSM API answers at most 10 parameters a page: 23 teams, nested one level deeper too.
    for i in 0..23 {
        let name = if i % 2 == 0 {
            format!("{path}team-{i:02}")
        } else {
            format!("{path}nested/team-{i:02}")
        };
        emu.put_secure_parameter(
            &name,
            &json!({"repositories": [format!("team-{i:02}/*")],
                    "allowlist": [{"id": format!("CVE-2026-{i:04}"), "reason": "team decision"}]})
            .to_string(),
        )
        .await;
    }
    let proxy = common::proxy::FaultProxy::start(&emu.endpoint).await;
    let config = common::sdk_config(&proxy.endpoint).await;
    let through_proxy = SsmParameters::new(aws_sdk_ssm::Client::new(&config));
    let mut policy = Policy::default();
    complete_policy(&mut policy, Some(&path), Some(&through_proxy))
        .await
        .unwrap();
    assert_eq!(policy.allowlist.len(), 23);
    assert!(
        proxy.count("GetParametersByPath") >= 3,
        "23 parameters take 3 pages of 10: {:?}",
        proxy.counts()
    );
}

#[tokio::test]
async fn a_bad_document_is_refused_alone_naming_its_parameter() {
    let emu = Emulator::start().await;
    let stem = common::unique_repo("exc-bad");
    let path = format!("/{stem}/exceptions/");
    emu.put_secure_parameter(
        &format!("{path}team-good"),
        &json!({"repositories": ["good/*"], "allowlist": [{"id": "CVE-1", "reason": "ok"}]})
            .to_string(),
    )
    .await;
    emu.put_secure_parameter(
        &format!("{path}team-typo"),
        &json!({"repositories": ["typo/*"], "allowlist": [{"id": "CVE-1", "reson": "typo"}]})
            .to_string(),
    )
    .await;
    let mut policy = Policy::default();
    let refused = complete_policy(&mut policy, Some(&path), Some(&ssm(&emu)))
        .await
        .unwrap();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].contains(&format!("exceptions {path}team-typo")),
        "{refused:?}"
    );
    assert!(refused[0].contains("reson"), "{refused:?}");
    assert!(refused[0].contains("do not apply"), "{refused:?}");
    // The good team's entry applies; the refused one excuses nothing.
    assert_eq!(policy.allowlist.len(), 1);
    assert!(policy.allowlist[0].applies_to_repository("good/api"));
    assert!(!policy
        .allowlist
        .iter()
        .any(|e| e.applies_to_repository("typo/api")));

    // A VEX parameter that is not there, or not a valid VEX document: refused, named.
    let name = format!("/{stem}/vex/bad");
    emu.put_secure_parameter(&name, r#"{"@id": "x", "statements": [{"vulnerability": "CVE-1", "products": ["pkg:oci/a"], "status": "not_affected"}]}"#).await;
    let mut policy = Policy::from_json(
        &json!({"vex": [{"parameter": "/nowhere/vex"}, {"parameter": name}]}).to_string(),
    )
    .unwrap();
    let refused = complete_policy(&mut policy, None, Some(&ssm(&emu)))
        .await
        .unwrap();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(
        refused[0].contains("/nowhere/vex") && refused[0].contains("not found"),
        "{refused:?}"
    );
    assert!(
        refused[1].contains(&format!("parameter {name}")) && refused[1].contains("justification"),
        "{refused:?}"
    );
    assert!(policy.vex.is_empty());
}

#[tokio::test]
async fn the_check_reads_the_same_exceptions_and_names_a_refused_document() {
    let emu = Emulator::start().await;
    let stem = common::unique_repo("exc-check");
    let repo = format!("{stem}/team-a/api");
    let digest = failing_image(&emu, &repo).await;
    let path = format!("/{stem}/exceptions/");
    emu.put_secure_parameter(
        &format!("{path}team-a"),
        &json!({"repositories": [format!("{stem}/team-a/*")],
                "allowlist": [{"package": "*", "reason": "team a accepts everything (test)"}]})
        .to_string(),
    )
    .await;
    emu.put_secure_parameter(&format!("{path}team-z"), "{not json")
        .await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ecr-scan-gate-check"))
        .args([
            repo.as_str(),
            "--digest",
            digest.as_str(),
            "--output",
            "json",
        ])
        .env("AWS_ENDPOINT_URL", &emu.endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("EXCEPTIONS_PARAMETER_PATH", &path)
        .env_remove("GATE_POLICY")
        .env_remove("GATE_POLICY_FILE")
        .env_remove("GATE_POLICY_PARAMETER")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["decision"], "deployable", "{report}");
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains(&format!("exceptions {path}team-z")),
        "{warnings}"
    );
}
