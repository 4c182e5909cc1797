//! ecr-scan-gate-check's details: the quarantine prefix shared with the function, the image it
//! was asked about, the policy source and hash, JSON on every path, the usage line and the
//! poll interval's floor, the SARIF log and the job summary. Run as a process against the moto
//! server.

mod common;

use common::{basic_finding, basic_findings, Emulator, ManifestKind};
use serde_json::Value;
use std::process::{Command, Output};

fn run(endpoint: &str, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecr-scan-gate-check"));
    cmd.args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", common::REGION)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("GATE_POLICY")
        .env_remove("GATE_POLICY_FILE")
        .env_remove("GATE_POLICY_PARAMETER")
        .env_remove("QUARANTINE_TAG_PREFIX")
        // On a GitHub runner the check would append to the job's summary.
        .env_remove("GITHUB_STEP_SUMMARY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run ecr-scan-gate-check")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn medium() -> Value {
    basic_findings(vec![basic_finding(
        "CVE-2019-5188",
        "MEDIUM",
        "e2fsprogs",
        "1.44.1",
    )])
}

/// Item 9: an image the function quarantined under QUARANTINE_TAG_PREFIX=blocked- is blocked
/// for the check that reads the same variable; the report names the tag it was asked about.
#[tokio::test]
async fn the_check_reads_the_quarantine_prefix_like_the_function_and_names_the_image_asked() {
    let emu = Emulator::start().await;
    let repo = common::unique_repo("cli-prefix");
    emu.create_repo(&repo).await;
    let digest = emu.push(&repo, "v1", ManifestKind::DockerV2).await;
    emu.add_tag(&repo, &digest, "latest").await;
    emu.seed(&repo, &digest, "COMPLETE", medium());
    emu.start_scan(&repo, &digest).await;
    emu.add_tag(
        &repo,
        &digest,
        &format!("blocked-{}", digest.trim_start_matches("sha256:")),
    )
    .await;
    let env = [("QUARANTINE_TAG_PREFIX", "blocked-")];
    let o = run(&emu.endpoint, &env, &[&repo, "--tag", "latest"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let first = stdout(&o).lines().next().unwrap_or_default().to_string();
    assert!(
        first.starts_with(&format!("BLOCKED: {repo}:latest ")),
        "{first}"
    );
    let o = run(
        &emu.endpoint,
        &[],
        &[&repo, "--tag", "latest", "--output", "json"],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "another prefix: not this gate's quarantine"
    );
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["image"], format!("{repo}:latest"));
}

/// Issue 12, item 7: the policy's source and a short hash; a warning on the built-in default.
#[tokio::test]
async fn the_report_names_the_policy_source_and_hash_and_warns_on_the_default() {
    let emu = Emulator::start().await;
    let repo = common::unique_repo("cli-policy");
    emu.create_repo(&repo).await;
    let digest = emu.push(&repo, "v1", ManifestKind::DockerV2).await;
    emu.seed(&repo, &digest, "COMPLETE", medium());
    emu.start_scan(&repo, &digest).await;
    let o = run(
        &emu.endpoint,
        &[],
        &[&repo, "--digest", &digest, "--output", "json"],
    );
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["policy"]["built_in_default"], true);
    assert_eq!(report["policy"]["hash"].as_str().map(str::len), Some(12));
    assert!(
        report["warnings"][0]
            .as_str()
            .unwrap()
            .contains("built-in default"),
        "{report}"
    );
    let o = run(
        &emu.endpoint,
        &[("GATE_POLICY", r#"{"fail": {"CRITICAL": 1}}"#)],
        &[&repo, "--digest", &digest],
    );
    let text = stdout(&o);
    assert!(text.contains("policy: GATE_POLICY (hash "), "{text}");
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("warning"),
        "no warning with a policy set"
    );
}

/// Issue 12, item 7: `--output json` prints JSON on every path, errors included.
#[tokio::test]
async fn json_output_is_json_on_every_path() {
    let emu = Emulator::start().await;
    for (env, args) in [
        (vec![], vec!["demo-api", "--output", "json"]), // neither --tag nor --digest
        (
            vec![],
            vec!["demo-api", "--digest", "sha256:nope", "--output", "json"],
        ),
        (
            vec![("GATE_POLICY", "{\"fail\": {\"BAD\": 1}}")],
            vec!["demo-api", "--tag", "v1", "--output", "json"],
        ),
        (
            vec![],
            vec!["no-such-repo", "--tag", "v1", "--output", "json"],
        ),
    ] {
        let o = run(&emu.endpoint, &env, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let report: Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", stdout(&o)));
        assert_eq!(report["decision"], "undecided", "{report}");
        assert!(
            report["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{report}"
        );
    }
}

/// Issue 12, item 7 and issue 10: the usage line, the poll interval's floor, `--wait 1h30m`.
#[test]
fn usage_shows_tag_or_digest_and_the_poll_interval_has_a_floor() {
    let o = run("http://127.0.0.1:9", &[], &["--help"]);
    let help = stdout(&o);
    assert!(help.contains("<--tag <TAG>|--digest <DIGEST>>"), "{help}");
    let o = run(
        "http://127.0.0.1:9",
        &[],
        &["demo-api", "--tag", "v1", "--poll-interval", "1s"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("at least 5s"));
    let o = run(
        "http://127.0.0.1:9",
        &[],
        &["demo-api", "--tag", "v1", "--wait", "1h30m", "--help"],
    );
    assert_eq!(o.status.code(), Some(0), "1h30m parses");
}

fn results(log: &Value) -> Vec<(String, String)> {
    log["runs"][0]["results"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| (r["ruleId"].to_string(), r["level"].to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Issue 23: `--output sarif` keeps the exit codes, levels findings by what they do, and lists
/// more findings than the JSON's top 20; the summary is appended to GITHUB_STEP_SUMMARY.
#[tokio::test]
async fn sarif_output_keeps_exit_codes_and_the_summary_is_appended() {
    let emu = Emulator::start().await;
    let repo = common::unique_repo("cli-sarif");
    emu.create_repo(&repo).await;
    let digest = emu.push(&repo, "v1", ManifestKind::DockerV2).await;
    let mut findings = vec![
        basic_finding("CVE-2024-0001", "CRITICAL", "openssl", "3.0.1"),
        basic_finding("CVE-2024-0002", "HIGH", "curl", "7.88.1"),
    ];
    for i in 0..23 {
        findings.push(basic_finding(
            &format!("CVE-2019-{i:04}"),
            "LOW",
            "e2fsprogs",
            "1.44.1",
        ));
    }
    emu.seed(&repo, &digest, "COMPLETE", basic_findings(findings));
    emu.start_scan(&repo, &digest).await;
    let dir = std::env::temp_dir().join(format!("gate-{repo}"));
    std::fs::create_dir_all(&dir).unwrap();
    let summary = dir.join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let summary_env = [("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())];

    let o = run(
        &emu.endpoint,
        &summary_env,
        &[&repo, "--digest", &digest, "--output", "sarif"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let log: Value = serde_json::from_slice(&o.stdout).unwrap();
    let levels = results(&log);
    assert_eq!(levels.len(), 25, "every finding, not the top 20");
    assert_eq!(levels[0], ("\"CVE-2024-0001\"".into(), "\"error\"".into()));
    assert_eq!(
        levels[1],
        ("\"CVE-2024-0002\"".into(), "\"warning\"".into())
    );
    assert!(
        levels[2..].iter().all(|(_, l)| l == "\"note\""),
        "{levels:?}"
    );
    assert_eq!(
        log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        format!("{repo}@{digest}")
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("BLOCKED"));
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with(&format!(
            "earlier step\n### ecr-scan-gate-check: BLOCKED {repo}@{digest}\n"
        )),
        "{text}"
    );
    assert!(text.contains("| fails | [CVE-2024-0001]"), "{text}");
    assert!(
        text.contains("The 20 most important of 25 findings that count"),
        "{text}"
    );

    // JSON with --sarif-file: the same exit code, the JSON's usual 20, the file's 25.
    let sarif = dir.join("gate.sarif");
    let o = run(
        &emu.endpoint,
        &[],
        &[
            &repo,
            "--digest",
            &digest,
            "--output",
            "json",
            "--sarif-file",
            sarif.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        report["evaluation"]["findings"]["top"]
            .as_array()
            .map(Vec::len),
        Some(20)
    );
    let log: Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    assert_eq!(results(&log).len(), 25);
    std::fs::remove_dir_all(&dir).unwrap();

    // A usage error with --output sarif: still a log, of a run that did not succeed.
    let o = run(&emu.endpoint, &[], &["demo-api", "--output", "sarif"]);
    assert_eq!(o.status.code(), Some(2));
    let log: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        log["runs"][0]["invocations"][0]["executionSuccessful"],
        false
    );
}
