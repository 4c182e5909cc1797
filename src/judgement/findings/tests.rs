use super::*;

fn f(id: &str, sev: Severity, fix: FixState, score: Option<f64>) -> Finding {
    Finding {
        id: id.into(),
        severity: sev,
        package: Some("pkg".into()),
        installed_version: Some("1.0".into()),
        fixed_version: None,
        fix_available: fix,
        exploit_available: None,
        score,
        link: None,
    }
}

fn policy(json: &str) -> Policy {
    Policy::from_json(json).unwrap()
}

#[test]
fn counts_every_active_finding() {
    let p = Policy::default();
    let mut t = FindingsTally::new(&p, "demo-api", "2026-11-27");
    t.add(f("CVE-1", Severity::Critical, FixState::Yes, None), true);
    t.add(f("CVE-2", Severity::High, FixState::Yes, None), true);
    t.add(f("CVE-3", Severity::Critical, FixState::Yes, None), false);
    let r = t.finish(None);
    assert_eq!(r.counts.get(Severity::Critical), 1);
    assert_eq!(r.counts.get(Severity::High), 1);
    assert_eq!(r.read, 3);
    assert_eq!(r.inactive, 1);
}

#[test]
fn allowlist_applies_by_id_and_repository_and_reports_unused() {
    let p = policy(
        r#"{"allowlist": [
            {"id": "CVE-1", "repository": "demo-*", "reason": "accepted"},
            {"id": "CVE-2", "repository": "other-*", "reason": "elsewhere"},
            {"id": "CVE-9", "reason": "stale"}]}"#,
    );
    let mut t = FindingsTally::new(&p, "demo-api", "2026-11-27");
    t.add(f("CVE-1", Severity::Critical, FixState::Yes, None), true);
    t.add(f("CVE-2", Severity::Critical, FixState::Yes, None), true);
    let r = t.finish(None);
    assert_eq!(
        r.counts.get(Severity::Critical),
        1,
        "CVE-2's entry is for other-*"
    );
    assert_eq!(r.allowlisted, 1);
    assert_eq!(r.allowlist.applied.len(), 1);
    assert_eq!(r.allowlist.applied[0].id, "CVE-1");
    assert_eq!(r.allowlist.unused, vec!["CVE-9".to_string()]);
}

#[test]
fn expired_entry_counts_again_and_is_named() {
    let p = policy(
        r#"{"allowlist": [{"id": "CVE-1", "expires": "2026-11-26", "reason": "until the fix"}]}"#,
    );
    let mut t = FindingsTally::new(&p, "demo-api", "2026-11-27");
    t.add(f("CVE-1", Severity::Critical, FixState::Yes, None), true);
    let r = t.finish(None);
    assert_eq!(r.counts.get(Severity::Critical), 1);
    assert_eq!(r.allowlist.expired.len(), 1);
    assert_eq!(
        r.allowlist.expired[0].expires.as_deref(),
        Some("2026-11-26")
    );
    assert!(r.allowlist.applied.is_empty());
}

#[test]
fn ignore_unfixed_drops_only_findings_known_to_have_no_fix() {
    let p = policy(r#"{"ignore_unfixed": true}"#);
    let mut t = FindingsTally::new(&p, "demo-api", "2026-11-27");
    t.add(f("CVE-1", Severity::Critical, FixState::No, None), true);
    t.add(
        f("CVE-2", Severity::Critical, FixState::Unknown, None),
        true,
    );
    t.add(
        f("CVE-3", Severity::Critical, FixState::Partial, None),
        true,
    );
    let r = t.finish(None);
    assert_eq!(r.counts.get(Severity::Critical), 2);
    assert_eq!(r.unfixed_ignored, 1);
}

#[test]
fn unlisted_findings_count() {
    let p = Policy::default();
    let mut t = FindingsTally::new(&p, "demo-api", "2026-11-27");
    t.add(f("CVE-1", Severity::High, FixState::Yes, None), true);
    let mut reported = Counts::default();
    reported.set(Severity::High, 1);
    reported.set(Severity::Critical, 2);
    let r = t.finish(Some(&reported));
    assert_eq!(r.counts.get(Severity::Critical), 2);
    assert_eq!(r.unlisted.get(Severity::Critical), 2);
    assert_eq!(r.counts.get(Severity::High), 1);
}

fn exploitable(id: &str, sev: Severity, exploit: Option<bool>) -> Finding {
    Finding {
        exploit_available: exploit,
        ..f(id, sev, FixState::Yes, Some(8.0))
    }
}

#[test]
fn conditions_are_judged_after_the_allowlist_and_named() {
    let p = policy(
        r#"{"fail": {}, "warn": {},
            "fail_if": [{"severity_at_least": "HIGH", "exploit_available": true}],
            "warn_if": [{"package": "pkg"}],
            "allowlist": [{"id": "CVE-ALLOWED", "reason": "accepted"}]}"#,
    );
    let mut t = FindingsTally::new(&p, "demo-api", "2026-11-27");
    t.add(
        exploitable("CVE-ALLOWED", Severity::Critical, Some(true)),
        true,
    );
    t.add(
        exploitable("CVE-INACTIVE", Severity::Critical, Some(true)),
        false,
    );
    assert!(!t.fail_certain());
    t.add(exploitable("CVE-NO", Severity::High, Some(false)), true);
    assert!(!t.fail_certain());
    t.add(exploitable("CVE-YES", Severity::High, Some(true)), true);
    assert!(t.fail_certain());
    let r = t.finish(None);
    assert_eq!(r.conditions.fail_if_findings, 1);
    assert_eq!(
        r.conditions.reasons(true),
        vec!["CVE-YES (HIGH, exploit available) meets fail_if[0]".to_string()]
    );
    // Both counting findings are in package `pkg`; the allowlisted one is not.
    assert_eq!(r.conditions.warn_if_findings, 2);
    assert_eq!(r.counts.get(Severity::Critical), 0, "counts are unchanged");
}

#[test]
fn fail_certain_covers_thresholds_too() {
    let p = policy(r#"{"fail": {"HIGH": 2}}"#);
    let mut t = FindingsTally::new(&p, "demo-api", "2026-11-27");
    t.add(f("CVE-1", Severity::High, FixState::Yes, None), true);
    assert!(!t.fail_certain());
    t.add(f("CVE-2", Severity::High, FixState::Yes, None), true);
    assert!(t.fail_certain());
}

#[test]
fn unlisted_findings_meet_severity_only_conditions() {
    let p = policy(
        r#"{"fail": {}, "fail_if": [{"severity_at_least": "HIGH", "package": "x"}, {"severity_at_least": "CRITICAL"}]}"#,
    );
    let t = FindingsTally::new(&p, "demo-api", "2026-11-27");
    let mut reported = Counts::default();
    reported.set(Severity::Critical, 2);
    let r = t.finish(Some(&reported));
    assert_eq!(
        r.conditions.reasons(true),
        vec!["2 unlisted CRITICAL findings (CRITICAL) meets fail_if[1]".to_string()]
    );
}

#[test]
fn top_keeps_the_most_important_in_order() {
    let p = Policy::default();
    let mut t = FindingsTally::new(&p, "demo-api", "2026-11-27");
    for i in 0..1000 {
        t.add(
            f(
                &format!("CVE-LOW-{i:04}"),
                Severity::Low,
                FixState::Yes,
                Some(3.0),
            ),
            true,
        );
    }
    t.add(
        f("CVE-HIGH", Severity::High, FixState::Yes, Some(7.0)),
        true,
    );
    t.add(
        f("CVE-CRIT-A", Severity::Critical, FixState::Yes, Some(9.0)),
        true,
    );
    t.add(
        f("CVE-CRIT-B", Severity::Critical, FixState::Yes, Some(9.8)),
        true,
    );
    let r = t.finish(None);
    assert_eq!(r.top.len(), TOP_FINDINGS);
    let ids: Vec<&str> = r.top.iter().take(4).map(|f| f.id.as_str()).collect();
    assert_eq!(
        ids,
        ["CVE-CRIT-B", "CVE-CRIT-A", "CVE-HIGH", "CVE-LOW-0000"]
    );
    assert_eq!(r.counts.get(Severity::Low), 1000);
}

fn in_package(id: &str, sev: Severity, package: &str) -> Finding {
    Finding {
        package: Some(package.into()),
        ..f(id, sev, FixState::Yes, None)
    }
}

#[test]
fn a_package_entry_accepts_every_vulnerability_of_the_package_only() {
    let p = policy(
        r#"{"allowlist": [
            {"package": "linux-libc-*", "reason": "kernel headers, no kernel in the image", "expires": "2026-12-31"},
            {"id": "CVE-7", "package": "openssl", "reason": "only in openssl"}]}"#,
    );
    let mut t = FindingsTally::new(&p, "demo-api", "2026-11-27");
    t.add(
        in_package("CVE-1", Severity::Critical, "linux-libc-dev"),
        true,
    );
    t.add(in_package("CVE-2", Severity::High, "linux-libc-dev"), true);
    t.add(in_package("CVE-3", Severity::Critical, "curl"), true);
    t.add(in_package("CVE-7", Severity::Critical, "openssl"), true);
    t.add(in_package("CVE-7", Severity::Critical, "libssl3"), true);
    t.add(
        Finding {
            package: None,
            ..f("CVE-8", Severity::Critical, FixState::Yes, None)
        },
        true,
    );
    let r = t.finish(None);
    assert_eq!(r.allowlisted, 3, "{r:?}");
    assert_eq!(
        r.counts.get(Severity::Critical),
        3,
        "curl, libssl3, no package"
    );
    let applied: Vec<(&str, u64)> = r
        .allowlist
        .applied
        .iter()
        .map(|u| (u.id.as_str(), u.findings))
        .collect();
    assert_eq!(
        applied,
        vec![("package linux-libc-*", 2), ("CVE-7 in package openssl", 1)]
    );
}

#[test]
fn an_expired_package_entry_counts_again() {
    let p = policy(
        r#"{"allowlist": [{"package": "linux-libc-dev", "reason": "r", "expires": "2026-11-26"}]}"#,
    );
    let mut t = FindingsTally::new(&p, "demo-api", "2026-11-27");
    t.add(
        in_package("CVE-1", Severity::Critical, "linux-libc-dev"),
        true,
    );
    let r = t.finish(None);
    assert_eq!(r.counts.get(Severity::Critical), 1);
    assert_eq!(r.allowlist.expired[0].id, "package linux-libc-dev");
}

const DIGEST: &str = "sha256:a80c9cdd6659e2978d1d06ff335ee32800ed82aeff2d5d4091c13abbbcb4380d";

#[test]
fn a_vex_statement_about_the_image_removes_the_finding_and_is_reported() {
    let p = policy(&format!(
        r#"{{"vex": [{{"@id": "https://example.com/vex/1", "statements": [
            {{"vulnerability": {{"name": "CVE-1"}}, "products": ["pkg:oci/demo-api@{DIGEST}"],
              "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}},
            {{"vulnerability": {{"name": "CVE-2"}}, "products": ["pkg:oci/demo-api@{DIGEST}"],
              "status": "under_investigation"}}]}}]}}"#
    ));
    let digest = crate::domain::image::Digest::parse(DIGEST).unwrap();
    let mut t = FindingsTally::new(&p, "demo-api", "2026-11-27").for_image(Some(&digest));
    t.add(f("CVE-1", Severity::Critical, FixState::Yes, None), true);
    t.add(f("CVE-1", Severity::High, FixState::Yes, None), true);
    t.add(f("CVE-2", Severity::Critical, FixState::Yes, None), true);
    let r = t.finish(None);
    assert_eq!(r.vex_excused, 2);
    assert_eq!(
        r.counts.get(Severity::Critical),
        1,
        "under_investigation removes nothing"
    );
    assert_eq!(r.vex.len(), 1);
    let reason = r.vex[0].reason();
    assert!(
        reason.starts_with("2 findings excused by VEX https://example.com/vex/1 statement 0 (CVE-1 not_affected: vulnerable_code_not_in_execute_path; vex[0])"),
        "{reason}"
    );
    // Another image (no digest known): the statement is about one image only.
    let mut t = FindingsTally::new(&p, "demo-api", "2026-11-27");
    t.add(f("CVE-1", Severity::Critical, FixState::Yes, None), true);
    assert_eq!(t.finish(None).vex_excused, 0);
}

#[test]
fn a_teams_exceptions_excuse_only_in_its_repositories() {
    let mut p = policy("{}");
    let team = crate::policy::exceptions::parse_exceptions(
        r#"{"repositories": ["team-a/*"],
            "allowlist": [{"id": "CVE-1", "reason": "team a accepts it"}]}"#,
        "/gate/exceptions/team-a",
    )
    .unwrap();
    p.add_exceptions(team);
    let mut t = FindingsTally::new(&p, "team-a/api", "2026-11-27");
    t.add(f("CVE-1", Severity::Critical, FixState::Yes, None), true);
    let r = t.finish(None);
    assert_eq!(r.allowlisted, 1);
    assert_eq!(
        r.allowlist.applied[0].id,
        "CVE-1 (exceptions /gate/exceptions/team-a)"
    );
    let mut t = FindingsTally::new(&p, "team-b/api", "2026-11-27");
    t.add(f("CVE-1", Severity::Critical, FixState::Yes, None), true);
    let r = t.finish(None);
    assert_eq!(r.allowlisted, 0, "team a cannot excuse team b's findings");
    assert_eq!(r.counts.get(Severity::Critical), 1);
}
