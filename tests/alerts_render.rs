//! Alert rendering with plain values: the SNS subject, body and attributes, the Slack payload,
//! escaping, Slack's limits and SNS's size limit.

mod alert_support;

use alert_support::{failing, finding, DIGEST};
use ecr_scan_gate::domain::scan::Trigger;
use ecr_scan_gate::domain::severity::Severity;
use ecr_scan_gate::domain::verdict::Verdict;
use ecr_scan_gate::judgement::evaluation::{Action, ActionStatus};
use ecr_scan_gate::render::alert::{scan_results_url, subject, AlertOptions, SNS_MAX_BYTES};
use ecr_scan_gate::render::slack_blocks::{slack_limit_violations, slack_payload};
use ecr_scan_gate::render::sns_message::{sns_message, sns_message_within};
use serde_json::Value;

fn opts() -> AlertOptions {
    AlertOptions::default()
}

/// Every string in a JSON value.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

#[test]
fn subject_states_severity_verdict_image_and_action() {
    let ev = failing(3, 2);
    assert_eq!(
        subject(&ev, &opts()),
        "CRITICAL FAIL demo-api:v1.4.2: quarantining"
    );
}

#[test]
fn subject_stays_ascii_and_under_100_characters_for_the_longest_names() {
    let mut ev = failing(1, 0);
    ev.repository = format!("{}/{}", "a".repeat(120), "b".repeat(130));
    ev.tags = vec![format!("{}é{}", "t".repeat(150), "u".repeat(148))];
    let s = subject(&ev, &opts());
    assert!(s.chars().count() < 100, "{} chars: {s}", s.len());
    assert!(
        s.is_ascii() && !s.chars().any(|c| c.is_ascii_control()),
        "{s}"
    );
    assert!(s.starts_with("CRITICAL FAIL aaaa"), "{s}");
    assert!(
        s.ends_with(": quarantining"),
        "the action survives the cut: {s}"
    );
}

#[test]
fn new_critical_finding_on_a_quarantined_image_is_announced_as_new_naming_the_cve() {
    let mut ev = failing(2, 0);
    let quarantine_tag = format!("quarantine-{}", &DIGEST["sha256:".len()..]);
    ev.tags.push(quarantine_tag);
    ev.trigger = Trigger::EnhancedFinding {
        vulnerability_id: "CVE-2026-31337".into(),
        severity: Some(Severity::Critical),
    };
    assert_eq!(
        subject(&ev, &opts()),
        "NEW CRITICAL CVE-2026-31337 in demo-api:v1.4.2: already quarantined"
    );
    let slack = slack_payload(&ev, &opts());
    assert_eq!(
        slack["blocks"][0]["text"]["text"],
        "NEW CRITICAL CVE-2026-31337: demo-api"
    );
    let body = sns_message(&ev, &opts()).body();
    assert_eq!(body["alert"], "new_finding");
    assert_eq!(body["new_finding"]["vulnerability_id"], "CVE-2026-31337");
    assert_eq!(body["already_quarantined"], true);
}

#[test]
fn new_finding_on_an_image_not_yet_quarantined_names_the_cve_too() {
    let mut ev = failing(1, 0);
    ev.trigger = Trigger::EnhancedFinding {
        vulnerability_id: "CVE-2026-0042".into(),
        severity: Some(Severity::Critical),
    };
    assert_eq!(
        subject(&ev, &opts()),
        "CRITICAL FAIL demo-api:v1.4.2: new CVE-2026-0042, quarantining"
    );
    assert_eq!(sns_message(&ev, &opts()).body()["alert"], "fail");
}

#[test]
fn release_and_scan_error_have_their_own_subjects() {
    let mut ev = failing(0, 0);
    ev.verdict = Verdict::Pass;
    ev.highest_severity = None;
    ev.actions = vec![Action::Release {
        tag: "quarantine-x".into(),
        status: ActionStatus::Planned,
    }];
    assert_eq!(subject(&ev, &opts()), "PASS demo-api:v1.4.2: releasing");
    // A release after a WARN (an allowlisted Critical, HIGH left) says WARN, not PASS.
    let mut warned = ev.clone();
    warned.verdict = Verdict::Warn;
    assert_eq!(subject(&warned, &opts()), "WARN demo-api:v1.4.2: releasing");
    assert_eq!(
        slack_payload(&ev, &opts())["blocks"][0]["text"]["text"],
        "RELEASED: demo-api"
    );
    assert_eq!(sns_message(&ev, &opts()).body()["alert"], "release");

    let mut ev = failing(0, 0);
    ev.verdict = Verdict::Error;
    ev.highest_severity = None;
    ev.findings = None;
    ev.scan_status = Some("UNSUPPORTED_IMAGE".into());
    ev.actions.clear();
    assert_eq!(
        subject(&ev, &opts()),
        "ERROR demo-api:v1.4.2: scan UNSUPPORTED_IMAGE, alert only"
    );
    let attrs = sns_message(&ev, &opts()).attributes;
    assert!(
        attrs.contains(&("severity", "NONE".to_string())),
        "{attrs:?}"
    );
}

#[test]
fn sns_body_is_versioned_json_and_the_email_text_reads_as_a_report() {
    let ev = failing(3, 40);
    let msg = sns_message(&ev, &opts());
    assert!(!msg.truncated);
    assert_eq!(
        msg.attributes,
        vec![
            ("verdict", "FAIL".to_string()),
            ("severity", "CRITICAL".to_string()),
            ("repository", "demo-api".to_string())
        ]
    );
    let body = msg.body();
    assert_eq!(body["schema_version"], 1);
    assert_eq!(body["verdict"], "FAIL");
    assert_eq!(body["highest_severity"], "CRITICAL");
    assert_eq!(body["digest"], DIGEST);
    assert_eq!(body["counts"]["CRITICAL"], 3);
    assert_eq!(body["counts"]["HIGH"], 40);
    assert_eq!(body["findings"]["top"].as_array().unwrap().len(), 20);
    assert_eq!(body["findings"]["top"][0]["id"], "CVE-2026-1000");
    assert_eq!(body["actions"][0]["action"], "quarantine");
    assert_eq!(body["actions"][0]["status"], "planned");
    assert_eq!(body["truncated"], false);
    let email = msg.email();
    for want in [
        "demo-api:v1.4.2 failed the gate and must not be deployed.",
        "Tags:       v1.4.2, latest",
        &format!("Digest:     {DIGEST}"),
        "Findings:   CRITICAL 3, HIGH 40",
        "- CRITICAL 3 >= 1 (fail threshold)",
        "Top findings (20 shown of 43 counting):",
        "- CVE-2026-1000 CRITICAL openssl 3.0.11-1~deb12u1 -> 3.0.15-1~deb12u1",
        "- CVE-2025-2000 HIGH libxml2 2.9.14+dfsg-1.3 -> no fix",
        "add quarantine tag quarantine-5d0da3dc",
        "Scan results: https://us-east-1.console.aws.amazon.com/ecr/repositories/private/123456789012/demo-api/_/image/sha256:5d0da3dc",
    ] {
        assert!(email.contains(want), "e-mail lacks {want:?}:\n{email}");
    }
}

#[test]
fn sns_message_drops_findings_to_fit_the_limit_and_says_so() {
    let ev = failing(30, 0);
    let full = sns_message(&ev, &opts());
    let limit = full.size() - 1;
    let cut = sns_message_within(&ev, &opts(), limit);
    assert!(cut.size() <= limit);
    assert!(cut.truncated);
    let body = cut.body();
    let shown = body["findings"]["top_shown"].as_u64().unwrap();
    assert!(shown < 20, "{shown}");
    assert_eq!(
        body["findings"]["top"].as_array().unwrap().len() as u64,
        shown
    );
    assert!(body["notes"][0]
        .as_str()
        .unwrap()
        .contains("left out to stay under SNS's 256 KB"));
    assert!(
        cut.email().contains("left out to stay under SNS's 256 KB"),
        "{}",
        cut.email()
    );
}

#[test]
fn sns_message_with_enormous_tag_and_reason_lists_stays_under_256_kb() {
    let mut ev = failing(5000, 12000);
    ev.tags = (0..1000)
        .map(|i| format!("{i}-{}", "x".repeat(295)))
        .collect();
    ev.reasons = (0..500)
        .map(|i| format!("{i} {}", "r\"<&".repeat(500)))
        .collect();
    let msg = sns_message(&ev, &opts());
    assert!(msg.size() <= SNS_MAX_BYTES, "{} bytes", msg.size());
    assert!(msg.truncated);
    let body = msg.body();
    assert_eq!(body["schema_version"], 1, "the body still parses");
    assert_eq!(body["counts"]["CRITICAL"], 5000);
    assert!(body["tags_omitted"].as_u64().unwrap() > 0);
    assert!(msg.subject.len() < 100);
}

#[test]
fn slack_payload_has_the_report_in_blocks_and_a_plain_fallback() {
    let ev = failing(3, 2);
    let p = slack_payload(&ev, &opts());
    assert_eq!(p["text"], "CRITICAL FAIL demo-api:v1.4.2: quarantining");
    assert_eq!(p["blocks"][0]["type"], "header");
    assert_eq!(p["blocks"][0]["text"]["text"], "CRITICAL FAIL: demo-api");
    let mut all = Vec::new();
    strings(&p, &mut all);
    let text = all.join("\n");
    for want in [
        "v1.4.2, latest",
        "`sha256:5d0da3dc9764`",
        "*CRITICAL* 3",
        "*HIGH* 2",
        "<https://nvd.nist.gov/vuln/detail/CVE-2026-1000|CVE-2026-1000> *CRITICAL* `openssl` 3.0.11-1~deb12u1 → 3.0.15-1~deb12u1",
        "`libxml2` 2.9.14+dfsg-1.3 → no fix",
        "add quarantine tag quarantine-5d0da3dc",
        "remove deployable tags",
    ] {
        assert!(text.contains(want), "payload lacks {want:?}:\n{text}");
    }
    let button = p["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "actions")
        .expect("a button to the scan results");
    assert_eq!(
        button["elements"][0]["url"],
        format!("https://us-east-1.console.aws.amazon.com/ecr/repositories/private/123456789012/demo-api/_/image/{DIGEST}/scan-results?region=us-east-1")
    );
    assert!(
        slack_limit_violations(&p).is_empty(),
        "{:?}",
        slack_limit_violations(&p)
    );
}

#[test]
fn slack_payload_for_thousands_of_findings_and_huge_names_stays_within_slack_limits() {
    let mut ev = failing(4000, 25000);
    assert!(slack_limit_violations(&slack_payload(&ev, &opts())).is_empty());
    ev.repository = format!("{}/{}", "r".repeat(120), "s".repeat(135));
    ev.tags = (0..1000)
        .map(|i| format!("{i}<{}>&", "t".repeat(290)))
        .collect();
    ev.reasons = (0..300)
        .map(|i| format!("{i} {}", "why&".repeat(300)))
        .collect();
    if let Some(f) = ev.findings.as_mut() {
        for x in &mut f.top {
            x.package = Some("p<>&".repeat(200));
            x.installed_version = Some("1".repeat(300));
            x.fixed_version = Some("2".repeat(300));
            x.id = format!("{}{}", x.id, "-<long>".repeat(100));
        }
    }
    if let Some(Action::Strip { tags, .. }) = ev.actions.get_mut(1) {
        *tags = ev.tags.clone();
    }
    let p = slack_payload(&ev, &opts());
    assert_eq!(slack_limit_violations(&p), Vec::<String>::new());
    assert!(p["blocks"].as_array().unwrap().len() <= 50);
}

#[test]
fn slack_limit_check_itself_catches_an_oversized_payload() {
    let mut p = slack_payload(&failing(1, 0), &opts());
    p["blocks"][0]["text"]["text"] = Value::String("h".repeat(151));
    p["blocks"][1]["text"]["text"] = Value::String("s".repeat(3001));
    let v = slack_limit_violations(&p);
    assert_eq!(v.len(), 2, "{v:?}");
}

#[test]
fn injection_in_tags_repository_and_package_names_comes_out_escaped() {
    let corpus = [
        "<!channel>",
        "<@U123>",
        "<https://x|y>",
        "a&b",
        "<!here|here>",
    ];
    let mut ev = failing(2, 0);
    ev.repository = "team/<!channel>&<@U123>".into();
    ev.tags = corpus.iter().map(|s| s.to_string()).collect();
    ev.reasons.push("<!subteam^S123> & <#C123>".into());
    if let Some(f) = ev.findings.as_mut() {
        f.top[0].package = Some("<!channel>".into());
        f.top[0].installed_version = Some("<@U123>".into());
        f.top[0].fixed_version = Some("<https://x|y>".into());
        f.top[1].id = "<!everyone>".into();
        f.top[1].link = Some("https://evil.example/|<!channel>".into());
    }
    let p = slack_payload(&ev, &opts());
    let mut all = Vec::new();
    strings(&p, &mut all);
    for s in &all {
        // The only `<` left are the links this crate made to the findings' own pages.
        for (i, _) in s.match_indices('<') {
            assert!(
                s[i..].starts_with("<https://nvd.nist.gov/vuln/detail/CVE-"),
                "unescaped `<` in {s:?}"
            );
        }
        for (i, _) in s.match_indices('&') {
            let rest = &s[i..];
            assert!(
                rest.starts_with("&amp;") || rest.starts_with("&lt;") || rest.starts_with("&gt;"),
                "bare `&` in {s:?}"
            );
        }
    }
    let text = all.join("\n");
    for escaped in [
        "&lt;!channel&gt;",
        "&lt;@U123&gt;",
        "&lt;https://x|y&gt;",
        "a&amp;b",
        "&lt;!everyone&gt;",
    ] {
        assert!(text.contains(escaped), "{escaped} missing:\n{text}");
    }
    assert!(p["text"]
        .as_str()
        .unwrap()
        .contains("team/&lt;!channel&gt;&amp;&lt;@U123&gt;"));
}

#[test]
fn console_link_needs_region_and_account_else_falls_back() {
    let mut ev = failing(1, 0);
    assert!(scan_results_url(&ev, None)
        .unwrap()
        .ends_with("/scan-results?region=us-east-1"));
    ev.account = None;
    assert_eq!(
        scan_results_url(&ev, None).unwrap(),
        "https://us-east-1.console.aws.amazon.com/ecr/repositories?region=us-east-1"
    );
    ev.region = None; // a direct invoke
    assert_eq!(scan_results_url(&ev, None), None);
    assert_eq!(
        scan_results_url(&ev, Some("eu-west-1")).unwrap(),
        "https://eu-west-1.console.aws.amazon.com/ecr/repositories?region=eu-west-1"
    );
    ev.region = Some("us-east-1/../../evil".into());
    assert_eq!(
        scan_results_url(&ev, None),
        None,
        "a strange region is not put in a URL"
    );
    let p = slack_payload(&ev, &opts());
    assert!(!p["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["type"] == "actions"));
}

#[test]
fn finding_ids_are_linked_only_to_plain_urls() {
    let mut ev = failing(2, 0);
    if let Some(f) = ev.findings.as_mut() {
        f.top[1].link = Some("javascript:alert(1)".into());
    }
    let p = slack_payload(&ev, &opts());
    let mut all = Vec::new();
    strings(&p, &mut all);
    let text = all.join("\n");
    assert!(text.contains("<https://nvd.nist.gov/vuln/detail/CVE-2026-1000|CVE-2026-1000>"));
    assert!(!text.contains("javascript:"));
    assert!(text.contains("• CVE-2026-1001 *CRITICAL*"), "{text}");
}

#[test]
fn an_unfixed_finding_reads_no_fix() {
    let f = finding("CVE-1", Severity::High, "zlib", "1.2", None);
    let mut ev = failing(0, 0);
    ev.findings.as_mut().unwrap().top = vec![f];
    assert!(sns_message(&ev, &opts())
        .email()
        .contains("CVE-1 HIGH zlib 1.2 -> no fix"));
}
