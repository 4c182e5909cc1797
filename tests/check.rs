//! `ecr-scan-gate-check`, the deploy pipeline's command, run as a process against the moto
//! server: every exit code, the wait, and the quarantine state.

mod common;

use common::proxy::FaultProxy;
use common::{basic_finding, basic_findings, Emulator, ManifestKind};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(endpoint: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ecr-scan-gate-check"))
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", common::REGION)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("GATE_POLICY")
        .env_remove("GATE_POLICY_FILE")
        .env_remove("GATE_POLICY_PARAMETER")
        .env_remove("QUARANTINE_TAG_PREFIX")
        // On a GitHub runner the check would append to the job's summary.
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .expect("run ecr-scan-gate-check")
}

/// A policy document in a file of its own for this repository.
fn policy_file(repo: &str, json: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gate-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{repo}.json"));
    std::fs::write(&file, json).unwrap();
    file
}

fn run_with_policy(endpoint: &str, repo: &str, digest: &str, policy: &Path) -> Output {
    let policy = policy.to_str().unwrap();
    run(
        endpoint,
        &[repo, "--digest", digest, "--policy-file", policy],
    )
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

async fn image(emu: &Emulator, stem: &str, findings: Option<Value>) -> (String, String) {
    let repo = common::unique_repo(stem);
    emu.create_repo(&repo).await;
    let digest = emu.push(&repo, "v1", ManifestKind::DockerV2).await;
    if let Some(f) = findings {
        emu.seed(&repo, &digest, "COMPLETE", f);
        emu.start_scan(&repo, &digest).await;
    }
    (repo, digest)
}

fn medium() -> Value {
    basic_findings(vec![basic_finding(
        "CVE-2019-5188",
        "MEDIUM",
        "e2fsprogs",
        "1.44.1",
    )])
}

fn critical() -> Value {
    basic_findings(vec![basic_finding(
        "CVE-2024-0001",
        "CRITICAL",
        "openssl",
        "3.0.1",
    )])
}

#[tokio::test]
async fn a_clean_image_is_deployable_exit_0() {
    let emu = Emulator::start().await;
    let (repo, digest) = image(&emu, "chk-clean", Some(medium())).await;
    let o = run(&emu.endpoint, &[&repo, "--digest", &digest]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).starts_with(&format!("DEPLOYABLE: {repo}@{digest}")),
        "{}",
        text(&o)
    );
}

#[tokio::test]
async fn a_critical_image_is_blocked_exit_1_and_named_by_tag() {
    let emu = Emulator::start().await;
    let (repo, _) = image(&emu, "chk-crit", Some(critical())).await;
    let o = run(&emu.endpoint, &[&repo, "--tag", "v1"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("BLOCKED") && t.contains("1 CRITICAL finding"),
        "{t}"
    );
    assert!(
        t.contains("CRITICAL CVE-2024-0001 openssl 3.0.1 -> fix unknown"),
        "{t}"
    );
}

#[tokio::test]
async fn a_quarantined_image_stays_blocked_even_if_the_policy_passes_it() {
    let emu = Emulator::start().await;
    let (repo, digest) = image(&emu, "chk-quar", Some(medium())).await;
    let qtag = format!("quarantine-{}", digest.trim_start_matches("sha256:"));
    emu.add_tag(&repo, &digest, &qtag).await;
    let o = run(
        &emu.endpoint,
        &[&repo, "--digest", &digest, "--output", "json"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["decision"], "blocked");
    assert_eq!(report["exit_code"], 1);
    assert!(
        report["message"].as_str().unwrap().contains(&qtag),
        "{report}"
    );
    assert_eq!(report["evaluation"]["verdict"], "PASS");
}

#[tokio::test]
async fn no_scan_and_no_wait_is_undecided_exit_2() {
    let emu = Emulator::start().await;
    let (repo, digest) = image(&emu, "chk-noscan", None).await;
    let o = run(&emu.endpoint, &[&repo, "--digest", &digest]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("the scan is not complete (status SCAN_NOT_FOUND)"),
        "{}",
        text(&o)
    );
}

/// The wait is read from the answers, not from the clock: the check looks at the start and once
/// more at the end of its wait (two reads of the findings at the proxy), and says how long it
/// waited (at least the wait: a bound from below, which a loaded runner cannot break).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_a_scan_that_never_comes_times_out_exit_2() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let (repo, digest) = image(&emu, "chk-timeout", None).await;
    let endpoint = proxy.endpoint.clone();
    let o = tokio::task::spawn_blocking(move || {
        run(
            &endpoint,
            &[
                &repo,
                "--digest",
                &digest,
                "--wait",
                "1s",
                "--poll-interval",
                "5s",
                "--output",
                "json",
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["decision"], "undecided");
    assert!(
        report["message"]
            .as_str()
            .unwrap()
            .starts_with("timed out after 1s waiting for the scan"),
        "{report}"
    );
    assert!(
        report["waited_seconds"].as_f64().unwrap() >= 1.0,
        "{report}"
    );
    assert_eq!(
        proxy.count(LOOK),
        2,
        "one look at the start, the last at the end of the 1 s wait (not one poll of 5 s later): {:?}",
        proxy.sequence()
    );
}

/// What a look of the check reads: the image's scan findings.
const LOOK: &str = "DescribeImageScanFindings";

/// The scan completes while the check waits: the test holds one of the check's later looks at
/// the proxy, completes the scan meanwhile, then lets the look go on. No sleep decides the order:
/// the first look has been answered (no scan yet) before the held one starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_sees_a_scan_that_completes_meanwhile() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let (repo, digest) = image(&emu, "chk-wait", None).await;
    let endpoint = proxy.endpoint.clone();
    let (r, d) = (repo.clone(), digest.clone());
    let checker = tokio::task::spawn_blocking(move || {
        run(
            &endpoint,
            &[
                &r,
                "--digest",
                &d,
                "--wait",
                "60s",
                "--poll-interval",
                "5s",
                "--output",
                "json",
            ],
        )
    });
    // The first look reached the proxy; the next one is held.
    tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while proxy.count(LOOK) == 0 && !checker.is_finished() {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the check's first look");
    assert!(!checker.is_finished(), "the check ended before it waited");
    let later = proxy.hold(LOOK);
    tokio::time::timeout(std::time::Duration::from_secs(60), later.arrived())
        .await
        .expect("the check looks again while it waits");
    let looks_before = proxy.count(LOOK);
    emu.seed(&repo, &digest, "COMPLETE", critical());
    emu.start_scan(&repo, &digest).await;
    later.release();
    let o = checker.await.unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["decision"], "blocked", "{report}");
    assert!(
        looks_before >= 2,
        "it looked again after a scan-less answer"
    );
    assert!(
        report["waited_seconds"].as_f64().unwrap() >= 5.0,
        "it waited at least one poll interval (5 s): {report}"
    );
}

#[tokio::test]
async fn a_policy_file_is_applied() {
    let emu = Emulator::start().await;
    let (repo, digest) = image(&emu, "chk-policy", Some(critical())).await;
    let file = policy_file(
        &repo,
        r#"{"allowlist": [{"id": "CVE-2024-0001", "reason": "not reachable"}]}"#,
    );
    let o = run_with_policy(&emu.endpoint, &repo, &digest, &file);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let file = policy_file(&repo, r#"{"fail": {"CRTICAL": 1}}"#);
    let o = run_with_policy(&emu.endpoint, &repo, &digest, &file);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("fail.CRTICAL"), "{}", text(&o));
}

#[tokio::test]
async fn a_failed_scan_is_undecided_or_blocked_when_failing_closed() {
    let emu = Emulator::start().await;
    let repo = common::unique_repo("chk-failed");
    emu.create_repo(&repo).await;
    let digest = emu.push(&repo, "v1", ManifestKind::DockerV2).await;
    emu.seed(&repo, &digest, "FAILED", Value::Null);
    emu.start_scan(&repo, &digest).await;
    let o = run(&emu.endpoint, &[&repo, "--digest", &digest]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("scan status FAILED"), "{}", text(&o));
    // Asked the same way again (moto keeps one seeded result per way of asking).
    let file = policy_file(&repo, r#"{"on_scan_failure": "block"}"#);
    let o = run_with_policy(&emu.endpoint, &repo, &digest, &file);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

#[tokio::test]
async fn bad_arguments_are_undecided_with_a_message() {
    let emu = Emulator::start().await;
    let o = run(&emu.endpoint, &["demo-api", "--digest", "sha256:1234"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("--digest must be `sha256:` followed by 64"),
        "{}",
        text(&o)
    );
    let o = run(&emu.endpoint, &["Not A Repo", "--tag", "v1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("repository is not a valid ECR repository name"),
        "{}",
        text(&o)
    );
    let o = run(
        &emu.endpoint,
        &["demo-api", "--tag", "v1", "--wait", "soon"],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "clap's usage error is exit 2 too: {}",
        text(&o)
    );
}

#[test]
fn the_deploy_workflow_checks_between_push_and_deploy() {
    let wf = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/github-actions/deploy.yml"
    ))
    .unwrap();
    let at = |needle: &str| {
        wf.find(needle)
            .unwrap_or_else(|| panic!("deploy.yml lacks {needle:?}"))
    };
    let push = at("docker push $ECR_REGISTRY/$ECR_REPOSITORY:$IMAGE_TAG");
    let check = at("uses: your-org/ecr-scan-gate@v");
    let latest = at("docker push $ECR_REGISTRY/$ECR_REPOSITORY:latest");
    let deploy = at("aws ecs update-service");
    assert!(
        push < check && check < latest && latest < deploy,
        "order: push {push}, check {check}, latest {latest}, deploy {deploy}"
    );
}

/// A check without ecr:BatchGetImage cannot tell an image index from an image: it says so,
/// instead of judging a multi-arch image without its platforms in silence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_manifest_read_is_named_in_the_warnings() {
    let emu = Emulator::start().await;
    let proxy = common::proxy::FaultProxy::start(&emu.endpoint).await;
    let repo = common::unique_repo("check-denied");
    emu.create_repo(&repo).await;
    let (digest, _amd64, _arm64) = emu.push_multi_arch(&repo, [None, None], &["latest"]).await;
    proxy.inject(
        Some("BatchGetImage"),
        common::proxy::Fault::AccessDenied,
        100,
    );
    // The proxy runs on this test's runtime: the check runs off it.
    let endpoint = proxy.endpoint.clone();
    let o = tokio::task::spawn_blocking(move || {
        run(&endpoint, &[&repo, "--digest", &digest, "--output", "json"])
    })
    .await
    .unwrap();
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("ecr:BatchGetImage"), "{report}");
    assert!(
        warnings.contains("platform images were not judged"),
        "{report}"
    );
    assert!(proxy.count("BatchGetImage") >= 1, "{:?}", proxy.counts());
}
