//! The policy tools of `ecr-scan-gate-check`, run as a process: `policy validate` (exit codes,
//! the field named, warnings on stderr, `--output json`) and `policy schema` (the checked-in
//! docs/policy.schema.json is current), `policy validate --exceptions`, and what `quarantined`
//! prints when nothing can be listed (a fault proxy answers AccessDenied; no emulator).

mod common;

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ecr-scan-gate-check"))
        .args(args)
        .env_remove("GATE_POLICY")
        .env_remove("GATE_POLICY_FILE")
        .env_remove("GATE_POLICY_PARAMETER")
        .output()
        .expect("run ecr-scan-gate-check")
}

fn file(name: &str, json: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gate-policy-tools-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join(name);
    std::fs::write(&f, json).unwrap();
    f
}

fn validate(name: &str, json: &str, extra: &[&str]) -> Output {
    let f = file(name, json);
    let mut args = vec![
        "policy",
        "validate",
        f.to_str().unwrap(),
        "--today",
        "2026-11-27",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn a_valid_policy_exits_0_with_its_warnings_on_stderr() {
    let o = validate(
        "warned.json",
        r#"{"fail": {}, "strip_tags": ["*"],
            "allowlist": [{"id": "CVE-2020-1", "expires": "2020-01-31", "reason": "r"}]}"#,
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("valid policy (3 warnings)"),
        "{}",
        stdout(&o)
    );
    let err = stderr(&o);
    assert_eq!(
        err.lines().filter(|l| l.starts_with("warning: ")).count(),
        3,
        "{err}"
    );
    assert!(err.contains("warning: `fail` "), "{err}");
    assert!(err.contains("warning: `strip_tags[0]` "), "{err}");
    assert!(err.contains("warning: `allowlist[0].expires` "), "{err}");

    let clean = validate("clean.json", "{}", &[]);
    assert_eq!(clean.status.code(), Some(0));
    assert!(stderr(&clean).is_empty(), "{}", stderr(&clean));
}

#[test]
fn an_invalid_policy_exits_1_naming_the_field_and_a_suggestion() {
    let o = validate(
        "typo.json",
        r#"{"fail_if": [{"severity_at_least": "HIGH", "exploit_availble": true}]}"#,
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("invalid policy"), "{err}");
    assert!(err.contains("fail_if[0]"), "{err}");
    assert!(err.contains("did you mean `exploit_available`?"), "{err}");
    assert!(stdout(&o).is_empty());
}

#[test]
fn json_output_carries_validity_error_and_warnings() {
    let o = validate(
        "json-ok.json",
        r#"{"fail": {"HIGH": 1}, "warn": {"HIGH": 10}}"#,
        &["--output", "json"],
    );
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["warnings"][0]["field"], "warn.HIGH");
    assert_eq!(v["warnings"][0]["code"], "warn_never_applies");

    let o = validate(
        "json-bad.json",
        r#"{"fail": {"HIHG": 1}}"#,
        &["--output", "json"],
    );
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], false);
    let e = v["error"].as_str().unwrap();
    assert!(
        e.contains("fail.HIHG") && e.contains("did you mean `HIGH`?"),
        "{e}"
    );
}

#[test]
fn an_unreadable_file_exits_2() {
    let o = run(&["policy", "validate", "/nonexistent/policy.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/policy.json"));
}

#[test]
fn the_checked_in_schema_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/policy.schema.json");
    let checked_in: Value = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let generated = ecr_scan_gate::policy::document::json_schema();
    assert!(
        checked_in == generated,
        "docs/policy.schema.json is not the schema of the policy types. Regenerate it:\n  \
         cargo run --bin ecr-scan-gate-check -- policy schema > docs/policy.schema.json"
    );
    let o = run(&["policy", "schema"]);
    assert_eq!(o.status.code(), Some(0));
    let printed: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(printed, generated);
}

#[test]
fn the_bare_check_form_still_parses() {
    // No AWS here: a bad digest is refused before any call, exit 2, as before the subcommands.
    let o = run(&["demo-api", "--digest", "sha256:nothex"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--digest"), "{}", stderr(&o));
    let o = run(&["check", "policy", "--digest", "sha256:nothex"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--digest"), "{}", stderr(&o));
}

#[test]
fn the_checked_in_exceptions_schema_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/exceptions.schema.json");
    let checked_in: Value = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let generated = ecr_scan_gate::policy::exceptions::exceptions_schema();
    assert!(
        checked_in == generated,
        "docs/exceptions.schema.json is not the schema of the exceptions types. Regenerate it:\n  \
         cargo run --bin ecr-scan-gate-check -- policy schema --exceptions > docs/exceptions.schema.json"
    );
    // The policy's schema names the new keys.
    let policy = ecr_scan_gate::policy::document::json_schema();
    let props = &policy["properties"];
    for key in ["vex", "block", "ecs_hook", "allowlist"] {
        assert!(
            props.get(key).is_some(),
            "{key} missing from the policy schema"
        );
    }
    let text = policy.to_string();
    assert!(
        text.contains("\"package\""),
        "allowlist entries may name a package"
    );
}

#[test]
fn validate_checks_team_exceptions_documents_in_a_directory() {
    let dir = std::env::temp_dir().join(format!("gate-exceptions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("team-a.json"),
        r#"{"repositories": ["team-a/*"], "allowlist": [{"package": "linux-libc-dev", "reason": "headers"}]}"#,
    )
    .unwrap();
    std::fs::write(dir.join("notes.txt"), "not a document").unwrap();
    let policy = file("policy-for-exceptions.json", "{}");
    let ok = run(&[
        "policy",
        "validate",
        policy.to_str().unwrap(),
        "--exceptions",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(
        stdout(&ok).contains("team-a.json: valid exceptions document"),
        "{}",
        stdout(&ok)
    );
    std::fs::write(
        dir.join("team-b.json"),
        r#"{"repositories": ["team-b/*"], "vex": [{"@id": "v", "statements": [
            {"vulnerability": "CVE-1", "products": ["pkg:oci/b"], "status": "not_affected"}]}]}"#,
    )
    .unwrap();
    let bad = run(&[
        "policy",
        "validate",
        policy.to_str().unwrap(),
        "--exceptions",
        dir.to_str().unwrap(),
        "--output",
        "json",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!(v["policy"]["valid"], true);
    let docs = v["exceptions"].as_array().unwrap();
    assert_eq!(docs.len(), 2, "{v}");
    assert_eq!(docs[1]["valid"], false);
    assert!(
        docs[1]["error"]
            .as_str()
            .unwrap()
            .contains("team-b.json vex[0] (v) statements[0]"),
        "{v}"
    );
}

#[test]
fn json_output_and_plain_words_for_what_is_not_a_policy() {
    let o = run(&[
        "policy",
        "validate",
        "/nonexistent/policy.json",
        "--output",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&o.stdout).expect("JSON even when unreadable");
    assert_eq!(v["valid"], false);
    assert!(v["error"]
        .as_str()
        .unwrap()
        .contains("/nonexistent/policy.json"));
    for (name, text, says) in [
        ("list.json", "[]", "must be a JSON object"),
        ("cut.json", r#"{"fail": {"#, "ends too early"),
        ("garbage.json", "fail: 1", "is not valid JSON"),
    ] {
        let o = validate(name, text, &["--output", "json"]);
        assert_eq!(o.status.code(), Some(1), "{name}");
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        let e = v["error"].as_str().unwrap();
        assert!(e.contains(says), "{name}: {e}");
        assert!(
            !e.contains("PolicyDoc") && !e.contains("`?`"),
            "{name}: {e}"
        );
    }
}

/// Without credentials (AWS answers AccessDenied to every call), nothing is listed: no table
/// of "0 quarantined images" before the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarantined_says_nothing_was_listed_when_nothing_could_be() {
    let proxy = common::proxy::FaultProxy::start("http://127.0.0.1:9").await;
    proxy.inject(None, common::proxy::Fault::AccessDenied, 1000);
    let endpoint = proxy.endpoint.clone();
    let o = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_ecr-scan-gate-check"))
            .args(["quarantined"])
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stdout(&o).trim().is_empty(),
        "no table of 0 images: {}",
        stdout(&o)
    );
    assert!(
        stderr(&o).contains("ERROR: ECR DescribeRepositories"),
        "{}",
        stderr(&o)
    );
}
