//! Every file of `events/` through the real handler, against a registry that has none of the
//! images: each gives the outcome `events/expected.json` names, and the fast path, ignored and
//! malformed events make no registry call at all.

mod fakes;

use ecr_scan_gate::domain::image::ImageRef;
use ecr_scan_gate::domain::scan::Trigger;
use ecr_scan_gate::domain::severity::Severity;
use ecr_scan_gate::engine::gate::Gate;
use ecr_scan_gate::engine::settings::Settings;
use ecr_scan_gate::entry::event;
use ecr_scan_gate::entry::event::Event;
use ecr_scan_gate::judgement::evaluation::{Basis, Response};
use ecr_scan_gate::policy::document::Policy;
use fakes::EmptyRegistry;
use serde_json::Value;
use std::path::Path;

fn events_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/events"))
}

fn load(name: &str) -> Value {
    let text =
        std::fs::read_to_string(events_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn expected() -> serde_json::Map<String, Value> {
    match load("expected.json") {
        Value::Object(m) => m,
        other => panic!("expected.json is not an object: {other}"),
    }
}

#[test]
fn every_event_file_has_an_expectation_and_every_expectation_a_file() {
    let exp = expected();
    let mut files = Vec::new();
    for dir in [events_dir().to_path_buf(), events_dir().join("aws-docs")] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json")
                && path.file_name().is_some_and(|n| n != "expected.json")
            {
                files.push(
                    path.strip_prefix(events_dir())
                        .unwrap()
                        .to_string_lossy()
                        .to_string(),
                );
            }
        }
    }
    files.sort();
    let mut named: Vec<String> = exp.keys().cloned().collect();
    named.sort();
    assert_eq!(files, named);
    assert!(files.len() >= 20, "{files:?}");
}

#[tokio::test]
async fn every_event_file_gives_its_expected_outcome() {
    let gate = Gate::new(
        EmptyRegistry::default(),
        Policy::default(),
        Settings::default(),
    );
    for (name, want) in expected() {
        if want.get("hookStatus").is_some() {
            // The ECS deployment lifecycle hook's payload: answered by its own entry, not by
            // the gate (tests/ecs_hook.rs, the_sample_event_is_a_hook_payload).
            continue;
        }
        gate.registry.reset();
        let input = load(&name);
        let got = gate.handle(&input, "2026-11-27").await;
        if let Some(err) = want.get("error").and_then(Value::as_str) {
            let e = got.expect_err(&format!("{name}: must be an error"));
            assert!(
                e.to_string().contains(err),
                "{name}: error {e:?} lacks {err:?}"
            );
            assert_eq!(
                gate.registry.calls(),
                0,
                "{name}: malformed input made a registry call"
            );
            continue;
        }
        let got = serde_json::to_value(got.unwrap_or_else(|e| panic!("{name}: {e}"))).unwrap();
        assert_eq!(got["outcome"], want["outcome"], "{name}: {got}");
        for key in ["verdict", "repository", "basis"] {
            if let Some(w) = want.get(key) {
                assert_eq!(&got[key], w, "{name}: {key} in {got}");
            }
        }
        if let Some(fragment) = want.get("reason_contains").and_then(Value::as_str) {
            let reasons = got["reasons"].to_string();
            assert!(
                reasons.contains(fragment),
                "{name}: reasons {reasons} lack {fragment:?}"
            );
        }
        if got["outcome"] == "ignored" || got["basis"] == "event_counts" {
            assert_eq!(gate.registry.calls(), 0, "{name}: needs no registry call");
        }
        if got["outcome"] == "evaluated" {
            for key in [
                "verdict",
                "repository",
                "digest",
                "counts",
                "reasons",
                "actions",
            ] {
                assert!(
                    got.get(key).is_some(),
                    "{name}: response lacks {key}: {got}"
                );
            }
        }
    }
}

#[test]
fn basic_sample_has_empty_tags_and_only_nonzero_counts() {
    // The AWS sample's digest is a placeholder (60 hex digits); with a real one it parses.
    let mut v = load("aws-docs/ecr-image-scan-basic-complete.json");
    v["detail"]["image-digest"] = Value::from(format!("sha256:{}", "ab".repeat(32)));
    let Event::Scan(e) = event::parse(&v).unwrap() else {
        panic!("not a scan")
    };
    assert_eq!(e.repository, "my-repository-name");
    assert!(e.tags.is_empty());
    let c = e.counts.unwrap();
    assert_eq!(c.get(Severity::Critical), 10);
    assert_eq!(c.get(Severity::Medium), 9);
    assert_eq!(c.get(Severity::High), 0, "a missing severity key is 0");
    assert_eq!(e.trigger, Trigger::BasicScan);
}

#[test]
fn inspector_scan_takes_the_name_from_the_arn_and_drops_total() {
    let mut v = load("aws-docs/inspector2-scan-initial-complete.json");
    v["detail"]["image-digest"] = Value::from(format!("sha256:{}", "cd".repeat(32)));
    let Event::Scan(e) = event::parse(&v).unwrap() else {
        panic!("not a scan")
    };
    assert_eq!(e.repository, "amazon/amazon-ecs-sample");
    assert_eq!(e.tags, vec!["latest".to_string()]);
    let c = e.counts.unwrap();
    assert_eq!(c.get(Severity::Critical), 7);
    assert_eq!(c.total(), 7 + 61 + 62, "TOTAL is not a severity");
    assert_eq!(e.trigger, Trigger::EnhancedScan);
}

#[test]
fn nested_repository_names_keep_their_slashes() {
    let Event::Scan(e) = event::parse(&load("inspector2-scan-nested-repository.json")).unwrap()
    else {
        panic!("not a scan")
    };
    assert_eq!(e.repository, "team/payments/api");
}

#[test]
fn inspector_finding_names_the_cve() {
    let Event::Scan(e) = event::parse(&load("inspector2-finding-active.json")).unwrap() else {
        panic!("not a scan")
    };
    assert_eq!(e.repository, "demo-api");
    assert_eq!(
        e.trigger,
        Trigger::EnhancedFinding {
            vulnerability_id: "CVE-2019-17498".into(),
            severity: Some(Severity::Medium)
        }
    );
    assert!(
        e.counts.is_none(),
        "a finding event has no counts: the findings are read"
    );
}

/// An Inspector delegated administrator (the hub) receives its members' findings with its own
/// account in the envelope: the image is routed by the account the finding names.
#[test]
fn an_inspector_event_is_routed_by_the_images_own_account_not_the_envelopes() {
    let mut finding = load("inspector2-finding-active.json");
    finding["account"] = Value::from("999999999999");
    finding["detail"]["awsAccountId"] = Value::from("111111111111");
    let Event::Scan(e) = event::parse(&finding).unwrap() else {
        panic!("not a scan")
    };
    assert_eq!(e.account.as_deref(), Some("111111111111"));

    // The scan event names its repository by ARN: its account and region are the image's.
    let mut scan = load("aws-docs/inspector2-scan-initial-complete.json");
    scan["detail"]["image-digest"] = Value::from(format!("sha256:{}", "cd".repeat(32)));
    scan["account"] = Value::from("999999999999");
    scan["region"] = Value::from("us-east-1");
    scan["detail"]["repository-name"] =
        Value::from("arn:aws:ecr:eu-west-1:222222222222:repository/amazon/amazon-ecs-sample");
    let Event::Scan(e) = event::parse(&scan).unwrap() else {
        panic!("not a scan")
    };
    assert_eq!(e.account.as_deref(), Some("222222222222"));
    assert_eq!(e.region.as_deref(), Some("eu-west-1"));
    assert_eq!(e.repository, "amazon/amazon-ecs-sample");

    // Where the event names nothing else, the envelope's account stands.
    let ecr = load("ecr-scan-critical.json");
    let Event::Scan(e) = event::parse(&ecr).unwrap() else {
        panic!("not a scan")
    };
    assert_eq!(e.account.as_deref(), Some("123456789012"));
}

#[test]
fn direct_invoke_by_tag_or_digest() {
    let Event::Scan(e) = event::parse(&load("direct-invoke-tag.json")).unwrap() else {
        panic!()
    };
    assert_eq!(e.image, ImageRef::Tag("latest".into()));
    assert_eq!(e.trigger, Trigger::DirectInvoke);
    let Event::Scan(e) = event::parse(&load("direct-invoke-digest.json")).unwrap() else {
        panic!()
    };
    assert!(matches!(e.image, ImageRef::Digest(_)));
}

#[test]
fn malformed_input_names_the_field() {
    let cases = [
        (
            r#"{"source": "aws.ecr", "detail-type": "ECR Image Scan"}"#,
            "`detail` is missing",
        ),
        (
            r#"{"source": "aws.ecr", "detail-type": 7}"#,
            "`detail-type` must be a string",
        ),
        (
            r#"{"source": "aws.ecr", "detail-type": "ECR Image Scan", "detail": {"scan-status": "COMPLETE", "repository-name": "demo-api", "image-digest": "sha256:ABCDEF"}}"#,
            "`detail.image-digest`",
        ),
        (
            r#"{"source": "aws.ecr", "detail-type": "ECR Image Scan", "detail": {"scan-status": "COMPLETE", "repository-name": "Demo API", "image-digest": "x"}}"#,
            "`detail.repository-name` is not a valid ECR repository name",
        ),
        (
            r#"{"source": "aws.ecr", "detail-type": "ECR Image Scan", "detail": {"scan-status": "COMPLETE", "repository-name": "demo-api", "image-digest": "sha256:0000000000000000000000000000000000000000000000000000000000000000", "image-tags": ["ok", 5]}}"#,
            "`detail.image-tags[1]` must be a string",
        ),
        (
            r#"{"repository": 12, "tag": "latest"}"#,
            "`repository` must be a string",
        ),
        (
            r#"{"repository": "demo-api", "tag": "has space"}"#,
            "`tag` contains spaces",
        ),
    ];
    for (input, want) in cases {
        let v: Value = serde_json::from_str(input).unwrap();
        let e = event::parse(&v).expect_err(input).to_string();
        assert!(e.contains(want), "{input}: {e:?} lacks {want:?}");
    }
}

#[test]
fn non_objects_and_strangers_are_ignored_not_errors() {
    for input in ["null", "[]", "\"hello\"", "42", "{}", r#"{"Records": []}"#] {
        let v: Value = serde_json::from_str(input).unwrap();
        assert!(matches!(event::parse(&v), Ok(Event::Ignored(_))), "{input}");
    }
}

#[tokio::test]
async fn fast_path_passes_without_any_registry_call() {
    let gate = Gate::new(
        EmptyRegistry::default(),
        Policy::default(),
        Settings::default(),
    );
    let r = gate
        .handle(&load("ecr-scan-clean.json"), "2026-11-27")
        .await
        .unwrap();
    let Response::Evaluated(ev) = r else {
        panic!("not evaluated")
    };
    assert_eq!(ev.basis, Basis::EventCounts);
    assert_eq!(ev.counts.get(Severity::Medium), 3);
    assert!(ev.actions.is_empty());
    assert_eq!(gate.registry.calls(), 0);
}
