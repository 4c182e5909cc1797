//! Hostile input: arbitrary JSON and bytes never panic the event or policy parsers; oversized
//! events, 100 000 findings, 128-character tags with unusual characters, nested repository names.

mod fakes;

use ecr_scan_gate::domain::severity::Severity;
use ecr_scan_gate::engine::gate::Gate;
use ecr_scan_gate::engine::settings::Settings;
use ecr_scan_gate::entry::event;
use ecr_scan_gate::entry::event::Event;
use ecr_scan_gate::judgement::evaluation::Response;
use ecr_scan_gate::judgement::findings::{Finding, FindingsTally, FixState};
use ecr_scan_gate::policy::document::Policy;
use fakes::EmptyRegistry;
use proptest::prelude::*;
use serde_json::{json, Value};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        prop_oneof![
            Just("sha256:".to_string()),
            Just("COMPLETE".to_string()),
            Just("aws.ecr".to_string()),
            Just("ECR Image Scan".to_string()),
            Just("arn:aws:ecr:us-east-1:1:repository/".to_string()),
            "[0-9a-f]{64}".prop_map(|h| format!("sha256:{h}")),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    ".{0,12}".boxed(),
                    prop::sample::select(vec![
                        "source",
                        "detail-type",
                        "detail",
                        "scan-status",
                        "repository-name",
                        "image-digest",
                        "image-tags",
                        "finding-severity-counts",
                        "resources",
                        "type",
                        "details",
                        "awsEcrContainerImage",
                        "imageHash",
                        "repositoryName",
                        "status",
                        "repository",
                        "tag",
                        "digest",
                    ])
                    .prop_map(str::to_string)
                    .boxed(),
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A valid event with one field replaced by arbitrary JSON.
fn mutated_event() -> impl Strategy<Value = Value> {
    let fields = prop::sample::select(vec![
        "/source",
        "/detail-type",
        "/detail",
        "/detail/scan-status",
        "/detail/repository-name",
        "/detail/image-digest",
        "/detail/image-tags",
        "/detail/finding-severity-counts",
        "/detail/finding-severity-counts/CRITICAL",
    ]);
    (fields, arb_json()).prop_map(|(path, value)| {
        let mut e = json!({
            "source": "aws.ecr", "detail-type": "ECR Image Scan", "region": "us-east-1",
            "detail": {"scan-status": "COMPLETE", "repository-name": "demo-api",
                       "image-digest": format!("sha256:{}", "a".repeat(64)), "image-tags": ["v1"],
                       "finding-severity-counts": {"CRITICAL": 1}}
        });
        if let Some(slot) = e.pointer_mut(path) {
            *slot = value;
        }
        e
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_panics_the_event_parser(v in arb_json()) {
        let _ = event::parse(&v);
    }

    #[test]
    fn a_mutated_event_parses_or_names_a_field(v in mutated_event()) {
        match event::parse(&v) {
            Ok(_) => {}
            Err(e) => {
                let quoted = format!("`{}`", e.field);
                prop_assert!(!e.field.is_empty() && e.to_string().contains(&quoted), "{}", e);
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
            let _ = event::parse(&v);
        }
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = Policy::from_json(text);
        }
    }

    #[test]
    fn arbitrary_policy_documents_never_panic(v in arb_json()) {
        let _ = Policy::from_json(&v.to_string());
    }

    #[test]
    fn arbitrary_direct_invokes_never_panic(repo in ".{0,300}", tag in ".{0,400}") {
        let _ = event::parse(&json!({"repository": repo, "tag": tag}));
        let _ = event::parse(&json!({"repository": repo, "digest": tag}));
    }
}

#[test]
fn an_oversized_event_is_handled_without_trouble() {
    let tags: Vec<String> = (0..20_000).map(|i| format!("t{i:0>120}")).collect();
    let v = json!({"source": "aws.ecr", "detail-type": "ECR Image Scan",
        "detail": {"scan-status": "COMPLETE", "repository-name": "demo-api",
                   "image-digest": format!("sha256:{}", "b".repeat(64)), "image-tags": tags,
                   "finding-severity-counts": {"LOW": 1}}});
    assert!(v.to_string().len() > 2_000_000);
    let Ok(Event::Scan(e)) = event::parse(&v) else {
        panic!("not parsed")
    };
    assert_eq!(e.tags.len(), 20_000);
    let huge = json!({"source": "aws.ecr", "detail-type": "x".repeat(1_000_000)});
    let Ok(Event::Ignored(reason)) = event::parse(&huge) else {
        panic!("not ignored")
    };
    assert!(
        reason.len() < 400,
        "the reason quotes at most a bounded part of the input"
    );
}

#[test]
fn a_hundred_thousand_findings_keep_bounded_top_and_exact_counts() {
    let policy = Policy::from_json(
        r#"{"allowlist": [{"id": "CVE-0-7", "reason": "r"}], "ignore_unfixed": true}"#,
    )
    .unwrap();
    let mut tally = FindingsTally::new(&policy, "demo-api", "2026-11-27");
    for i in 0..100_000u32 {
        let severity = Severity::ALL[(i % 7) as usize];
        tally.add(
            Finding {
                id: format!("CVE-0-{}", i % 1000),
                severity,
                package: Some(format!("pkg{i}")),
                installed_version: Some("1".into()),
                fixed_version: None,
                fix_available: if i % 10 == 0 {
                    FixState::No
                } else {
                    FixState::Yes
                },
                exploit_available: None,
                score: Some((i % 100) as f64 / 10.0),
                link: None,
            },
            true,
        );
    }
    let r = tally.finish(None);
    assert_eq!(r.read, 100_000);
    assert_eq!(
        r.top.len(),
        ecr_scan_gate::judgement::findings::TOP_FINDINGS
    );
    assert!(r.top.iter().all(|f| f.severity == Severity::Critical));
    assert_eq!(r.allowlisted, 100, "CVE-0-7 appears once per 1000 findings");
    assert_eq!(
        r.unfixed_ignored + r.allowlisted + r.counts.total(),
        100_000
    );
}

#[tokio::test]
async fn long_and_unusual_tags_and_nested_names_go_through_the_handler() {
    let gate = Gate::new(
        EmptyRegistry::default(),
        Policy::default(),
        Settings::default(),
    );
    let long_tag = "v".repeat(128);
    let odd = [
        "<!channel>",
        "a&b",
        "tag_with.dots-and-dashes",
        "ünïcödé",
        "<@U123>",
    ];
    let mut tags = vec![long_tag.clone()];
    tags.extend(odd.iter().map(|s| s.to_string()));
    let v = json!({"source": "aws.inspector2", "detail-type": "Inspector2 Scan",
        "detail": {"scan-status": "INITIAL_SCAN_COMPLETE",
                   "repository-name": "arn:aws:ecr:us-east-1:123456789012:repository/a/b/c/d-e_f.g",
                   "image-digest": format!("sha256:{}", "c".repeat(64)), "image-tags": tags,
                   "finding-severity-counts": {"LOW": 2, "TOTAL": 2}}});
    let Response::Evaluated(ev) = gate.handle(&v, "2026-11-27").await.unwrap() else {
        panic!()
    };
    assert_eq!(ev.repository, "a/b/c/d-e_f.g");
    assert_eq!(ev.tags[0], long_tag);
    assert_eq!(ev.tags.len(), 6);
}
