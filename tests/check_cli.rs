//! ecr-scan-gate-check's details: the quarantine prefix shared with the function, the image it
//! was asked about, the policy source and hash, JSON on every path, the usage line and the
//! poll interval's floor. Run as a process against the moto server.

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
        .env_remove("QUARANTINE_TAG_PREFIX");
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
