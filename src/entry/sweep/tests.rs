use super::*;
use crate::domain::severity::Severity;
use serde_json::json;

fn counts(pairs: &[(Severity, u64)]) -> Counts {
    let mut c = Counts::default();
    for (s, n) in pairs {
        c.add(*s, *n);
    }
    c
}

fn tags(t: &[&str]) -> Vec<String> {
    t.iter().map(|s| s.to_string()).collect()
}

fn image(status: Option<&str>, c: Option<Counts>, t: &[&str]) -> ImageSummary {
    ImageSummary {
        digest: Digest::parse(&format!("sha256:{}", "c".repeat(64))).unwrap(),
        tags: tags(t),
        pushed_at: Some(1_000_000),
        scan_status: status.map(str::to_string),
        severity_counts: c,
        storage: crate::domain::storage::Storage::active(),
        is_index: false,
    }
}

#[test]
fn the_summary_passes_only_where_the_counts_prove_no_condition_can_be_met() {
    // Below every threshold, but one MEDIUM may be exploitable: the findings must be read.
    let policy = Policy::from_json(
        r#"{"fail_if": [{"severity_at_least": "MEDIUM", "exploit_available": true}]}"#,
    )
    .unwrap();
    let medium = counts(&[(Severity::Medium, 1)]);
    assert!(!summary_passes(&policy, "api", &medium));
    // Only LOW findings: no finding can meet a MEDIUM-and-above condition.
    let low = counts(&[(Severity::Low, 7)]);
    assert!(summary_passes(&policy, "api", &low));
}

#[test]
fn sweep_accounts_and_regions_are_checked_naming_the_field() {
    let err = |v: serde_json::Value| SweepRequest::parse(&v).unwrap_err().to_string();
    assert!(err(json!({"accounts": []})).contains("`sweep.accounts`"));
    assert!(err(json!({"accounts": ["111111111111", "x"]})).contains("`sweep.accounts[1]`"));
    assert!(err(json!({"regions": ["moon-1"]})).contains("`sweep.regions[0]`"));
    let ok = SweepRequest::parse(&json!({"accounts": ["111111111111"], "regions": ["eu-west-1"]}))
        .unwrap();
    assert!(ok.names_places());
    assert!(!SweepRequest::default().names_places());
}

#[test]
fn the_summary_passes_only_below_every_threshold_of_the_repository() {
    let policy = Policy::from_json(
        r#"{"fail": {"CRITICAL": 1}, "warn": {"HIGH": 1},
            "repositories": [{"match": "legacy-*", "fail": {"CRITICAL": 5}, "warn": {"HIGH": 50}}]}"#,
    )
    .unwrap();
    let medium = counts(&[(Severity::Medium, 30)]);
    assert!(summary_passes(&policy, "api", &medium));
    let critical = counts(&[(Severity::Critical, 2)]);
    assert!(!summary_passes(&policy, "api", &critical));
    // A warn threshold reached is a closer look too (WARN is a verdict of its own).
    let high = counts(&[(Severity::High, 1)]);
    assert!(!summary_passes(&policy, "api", &high));
    // The repository's override is what counts.
    assert!(summary_passes(&policy, "legacy-app", &critical));
}

#[test]
fn triage_by_scan_status() {
    let policy = Policy::default();
    let p = "quarantine-";
    let clean = Some(Counts::default());
    let t = |status, c| triage(&policy, "api", &image(status, c, &["v1"]), None, p);
    assert_eq!(t(Some("COMPLETE"), clean), Triage::PassedBySummary);
    assert_eq!(t(Some("ACTIVE"), clean), Triage::PassedBySummary);
    assert_eq!(
        t(Some("COMPLETE"), Some(counts(&[(Severity::Critical, 1)]))),
        Triage::CloserLook
    );
    assert_eq!(
        t(Some("COMPLETE"), None),
        Triage::CloserLook,
        "no counts: look"
    );
    assert_eq!(t(Some("FAILED"), clean), Triage::CloserLook);
    assert_eq!(t(Some("UNSUPPORTED_IMAGE"), None), Triage::CloserLook);
    // No status and no summary (enhanced scanning on real ECR): the scan result decides.
    assert_eq!(t(None, None), Triage::CloserLook);
    assert_eq!(t(Some("IN_PROGRESS"), None), Triage::Unscanned);
    // A quarantined image may be due for release: never passed on its summary, never
    // counted unscanned before its quarantine tag is looked at.
    let own_tag = format!("quarantine-{}", "c".repeat(64));
    let quarantined = |status| {
        triage(
            &policy,
            "api",
            &image(status, clean, &["v1", &own_tag]),
            None,
            p,
        )
    };
    assert_eq!(quarantined(Some("COMPLETE")), Triage::CloserLook);
    assert_eq!(quarantined(Some("IN_PROGRESS")), Triage::CloserLook);
    // A user's tag that merely starts with the prefix is no quarantine.
    let user = image(Some("COMPLETE"), clean, &["v1", "quarantine-test"]);
    assert_eq!(
        triage(&policy, "api", &user, None, p),
        Triage::PassedBySummary
    );
    // An image index has no scan of its own: judged through its platform images.
    let index = ImageSummary {
        is_index: true,
        ..image(None, None, &["v1"])
    };
    assert_eq!(triage(&policy, "api", &index, None, p), Triage::CloserLook);
    // Amazon Inspector's counts decide an image the listing does not summarise, where they
    // prove a PASS even with every unnamed finding at its worst.
    let enhanced = |critical, unlisted| {
        let mut counts = Counts::default();
        counts.add(Severity::Critical, critical);
        crate::engine::ports::EnhancedCounts {
            counts,
            unlisted,
            unnamed: Vec::new(),
        }
    };
    let unsummarised = image(None, None, &["v1"]);
    let t = |c| triage(&policy, "api", &unsummarised, Some(&c), p);
    assert_eq!(t(enhanced(0, 0)), Triage::PassedBySummary);
    assert_eq!(t(enhanced(1, 0)), Triage::CloserLook);
    assert_eq!(
        t(enhanced(0, 3)),
        Triage::CloserLook,
        "3 unnamed may be CRITICAL"
    );
    // Inspector named CRITICAL, HIGH and MEDIUM: the 3 others are LOW at worst.
    let low_at_worst = crate::engine::ports::EnhancedCounts {
        unnamed: vec![Severity::Low, Severity::Informational, Severity::Untriaged],
        ..enhanced(0, 3)
    };
    assert_eq!(t(low_at_worst), Triage::PassedBySummary);
    // Never for a quarantined image.
    let q = image(None, None, &["v1", &own_tag]);
    assert_eq!(
        triage(&policy, "api", &q, Some(&enhanced(0, 0)), p),
        Triage::CloserLook
    );
    // An image whose only tag is its quarantine tag is in scope, and looked at.
    let only_q = image(Some("COMPLETE"), clean, &[&own_tag]);
    assert!(in_window(&only_q, None));
    assert_eq!(triage(&policy, "api", &only_q, None, p), Triage::CloserLook);
}

#[test]
fn the_push_window_keeps_recent_and_undated_images() {
    let mut i = image(None, None, &["v1"]);
    assert!(in_window(&i, Some(999_999)));
    assert!(!in_window(&i, Some(1_000_001)));
    i.pushed_at = None;
    assert!(in_window(&i, Some(1_000_001)));
    i.tags.clear();
    assert!(!in_window(&i, None), "untagged images are out of scope");
}

#[test]
fn the_request_reads_every_key_and_names_a_bad_one() {
    assert_eq!(
        SweepRequest::parse(&json!({})).unwrap(),
        SweepRequest::default()
    );
    assert_eq!(SweepRequest::default().repositories, vec!["*".to_string()]);
    let r = SweepRequest::parse(
        &json!({"repositories": ["team-*"], "pushed_within_days": 30, "start_scans": true}),
    )
    .unwrap();
    assert_eq!(r.repositories, vec!["team-*".to_string()]);
    assert_eq!((r.pushed_within_days, r.start_scans), (Some(30), true));
    let err = |v: serde_json::Value| SweepRequest::parse(&v).unwrap_err().to_string();
    assert_eq!(
        err(json!({"repository": ["x"]})),
        "invalid event: `sweep.repository` unknown field `repository`, expected one of \
         `repositories`, `pushed_within_days`, `start_scans`, `accounts`, `regions`, `resume_at`"
    );
    assert!(err(json!({"start_scans": "yes"})).starts_with("invalid event: `sweep.start_scans`"));
    assert!(
        err(json!({"repositories": []})).contains("`sweep.repositories` must be a non-empty list")
    );
    assert!(err(json!({"pushed_within_days": -1}))
        .starts_with("invalid event: `sweep.pushed_within_days`"));
    assert!(err(json!([1])).starts_with("invalid event: `sweep` must be an object"));
}

#[test]
fn the_queue_body_is_the_direct_invoke_plus_sweep_true() {
    let body = QueueBody {
        repository: "team/api".to_string(),
        digest: format!("sha256:{}", "a".repeat(64)),
        sweep: true,
        account: None,
        region: None,
    };
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        json!({"repository": "team/api", "digest": format!("sha256:{}", "a".repeat(64)), "sweep": true})
    );
    let with_account = QueueBody {
        account: Some("111111111111".to_string()),
        region: Some("eu-west-1".to_string()),
        ..body
    };
    let v = serde_json::to_value(&with_account).unwrap();
    assert_eq!(
        (v["account"].as_str(), v["region"].as_str()),
        (Some("111111111111"), Some("eu-west-1"))
    );
}

#[test]
fn an_inline_sweep_starts_at_another_repository_each_day_and_a_continuation_at_its_cursor() {
    let repos: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
    let names = |v: Vec<&String>| {
        v.into_iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("")
    };
    // Consecutive days start at consecutive repositories: no tail is starved.
    let starts: Vec<String> = ["2026-11-27", "2026-11-28", "2026-11-29"]
        .iter()
        .map(|d| names(sweep_order(&repos, None, false, d)))
        .collect();
    let mut firsts: Vec<char> = starts.iter().filter_map(|s| s.chars().next()).collect();
    firsts.sort();
    assert_eq!(firsts, vec!['a', 'b', 'c'], "{starts:?}");
    assert!(starts.iter().all(|s| s.len() == 3));
    // A queued sweep goes in name order; its continuation from the cursor's repository on.
    assert_eq!(names(sweep_order(&repos, None, true, "2026-11-28")), "abc");
    let cursor = Cursor::at(None, "b", Some("t".into()));
    assert_eq!(
        names(sweep_order(&repos, Some(&cursor), true, "2026-11-28")),
        "bc"
    );
}

#[test]
fn a_continuation_cursor_is_checked_naming_the_field() {
    let err = |v: serde_json::Value| SweepRequest::parse(&v).unwrap_err().to_string();
    assert!(err(json!({"resume_at": {"repository": "Bad Name"}}))
        .contains("`sweep.resume_at.repository`"));
    assert!(
        err(json!({"resume_at": {"repository": "team-api", "account": "x"}}))
            .contains("`sweep.resume_at.account`")
    );
    let ok = SweepRequest::parse(&json!({"resume_at": {"repository": "team/api", "token": "t"}}))
        .unwrap();
    assert_eq!(ok.resume_at.unwrap().token.as_deref(), Some("t"));
}
