use super::*;

const TODAY: &str = "2026-11-27";

fn warnings(json: &str) -> Vec<PolicyWarning> {
    let policy = Policy::from_json(json).unwrap();
    policy_warnings(&policy, TODAY)
}

fn codes(json: &str) -> Vec<(String, &'static str)> {
    warnings(json)
        .into_iter()
        .map(|w| (w.field, w.code))
        .collect()
}

#[test]
fn the_default_and_a_sensible_policy_have_no_warnings() {
    assert!(warnings("{}").is_empty());
    assert!(warnings(
        r#"{"fail": {"CRITICAL": 1, "HIGH": 5}, "warn": {"HIGH": 1},
            "fail_if": [{"severity_at_least": "HIGH", "exploit_available": true}],
            "warn_if": [{"package": "openssl*", "fix_available": true}],
            "allowlist": [{"id": "CVE-1", "expires": "2027-06-30", "reason": "r"}],
            "strip_tags": ["latest", "prod-*"],
            "repositories": [{"match": "legacy-*", "fail": {"CRITICAL": 5}}, {"match": "*", "warn": {}}]}"#
    )
    .is_empty());
}

#[test]
fn no_fail_rule_at_all() {
    assert_eq!(
        codes(r#"{"fail": {}}"#),
        vec![("fail".to_string(), "no_fail_rule")]
    );
    // fail_if alone is a fail rule.
    assert!(codes(r#"{"fail": {}, "fail_if": [{"severity_at_least": "CRITICAL"}]}"#).is_empty());
    // An override can take both away for its repositories.
    assert_eq!(
        codes(r#"{"repositories": [{"match": "sandbox-*", "fail": {}}]}"#),
        vec![("repositories[0]".to_string(), "no_fail_rule")]
    );
    let w = &warnings(r#"{"fail": {}}"#)[0];
    assert!(
        w.message.contains("no image can ever fail"),
        "{}",
        w.message
    );
}

#[test]
fn warn_threshold_at_or_above_the_fail_threshold_never_applies() {
    // warn HIGH 10 with fail HIGH 1: 10 HIGH have failed long before.
    let w = warnings(r#"{"fail": {"HIGH": 1}, "warn": {"HIGH": 10}}"#);
    assert_eq!(w.len(), 1);
    assert_eq!(
        (w[0].field.as_str(), w[0].code),
        ("warn.HIGH", "warn_never_applies")
    );
    assert!(w[0].message.contains("fail.HIGH is 1"), "{}", w[0].message);
    // Equal counts: fail wins, warn never shows.
    assert_eq!(
        codes(r#"{"fail": {"HIGH": 3}, "warn": {"HIGH": 3}}"#).len(),
        1
    );
    // warn below fail is the useful shape; other severities do not interact.
    assert!(codes(r#"{"fail": {"HIGH": 5}, "warn": {"HIGH": 1}}"#).is_empty());
    assert!(
        codes(r#"{"fail": {"CRITICAL": 1}, "warn": {"CRITICAL": 1, "HIGH": 1}}"#)
            .contains(&("warn.CRITICAL".to_string(), "warn_never_applies"))
    );
    // In an override, against the fail in force there.
    assert_eq!(
        codes(r#"{"repositories": [{"match": "x-*", "warn": {"CRITICAL": 2}}]}"#),
        vec![(
            "repositories[0].warn.CRITICAL".to_string(),
            "warn_never_applies"
        )]
    );
}

#[test]
fn warn_if_covered_by_a_fail_if_never_applies() {
    let c = codes(
        r#"{"fail_if": [{"severity_at_least": "HIGH"}],
            "warn_if": [{"severity_at_least": "CRITICAL", "package": "openssl*"},
                        {"severity_at_least": "MEDIUM"},
                        {"package": "log4j*", "severity_at_least": "HIGH", "exploit_available": true}]}"#,
    );
    assert_eq!(
        c,
        vec![
            ("warn_if[0]".to_string(), "warn_never_applies"),
            ("warn_if[2]".to_string(), "warn_never_applies")
        ]
    );
    // The fail_if asks for more (an exploit): the warn_if still has work to do.
    assert!(codes(
        r#"{"fail_if": [{"severity_at_least": "HIGH", "exploit_available": true}],
            "warn_if": [{"severity_at_least": "HIGH"}]}"#
    )
    .is_empty());
    assert!(!codes(
        r#"{"fail_if": [{"package": "openssl*"}], "warn_if": [{"package": "openssl-libs"}]}"#
    )
    .is_empty());
}

#[test]
fn a_strip_pattern_that_matches_every_tag() {
    assert_eq!(
        codes(r#"{"strip_tags": ["latest", "*"]}"#),
        vec![("strip_tags[1]".to_string(), "strip_matches_every_tag")]
    );
    assert_eq!(codes(r#"{"strip_tags": ["?*"]}"#).len(), 1);
    assert!(codes(r#"{"strip_tags": ["v*", "latest"]}"#).is_empty());
}

#[test]
fn allowlist_entries_expired_or_expiring_within_14_days() {
    let c = codes(
        r#"{"allowlist": [
            {"id": "CVE-OLD", "expires": "2020-01-31", "reason": "r"},
            {"id": "CVE-LAST-DAY", "expires": "2026-11-27", "reason": "r"},
            {"id": "CVE-SOON", "expires": "2026-12-11", "reason": "r"},
            {"id": "CVE-LATER", "expires": "2026-12-12", "reason": "r"},
            {"id": "CVE-FOREVER", "reason": "r"}]}"#,
    );
    assert_eq!(
        c,
        vec![
            ("allowlist[0].expires".to_string(), "allowlist_expired"),
            ("allowlist[1].expires".to_string(), "allowlist_expires_soon"),
            ("allowlist[2].expires".to_string(), "allowlist_expires_soon"),
        ]
    );
    let w =
        warnings(r#"{"allowlist": [{"id": "CVE-OLD", "expires": "2026-11-26", "reason": "r"}]}"#);
    assert!(
        w[0].message.contains("expired 1 day ago"),
        "{}",
        w[0].message
    );
    let w = warnings(r#"{"allowlist": [{"id": "CVE-S", "expires": "2026-12-11", "reason": "r"}]}"#);
    assert!(w[0].message.contains("14 more days"), "{}", w[0].message);
}

#[test]
fn overrides_that_can_never_match() {
    let c = codes(
        r#"{"repositories": [
            {"match": "Legacy-*", "fail": {"CRITICAL": 5}},
            {"match": "team/", "fail": {"CRITICAL": 5}},
            {"match": "-api*", "fail": {"CRITICAL": 5}},
            {"match": "ok-*", "fail": {"CRITICAL": 5}}]}"#,
    );
    assert_eq!(
        c,
        vec![
            (
                "repositories[0].match".to_string(),
                "override_never_matches"
            ),
            (
                "repositories[1].match".to_string(),
                "override_never_matches"
            ),
            (
                "repositories[2].match".to_string(),
                "override_never_matches"
            ),
        ]
    );
}

#[test]
fn overrides_shadowed_by_an_earlier_one() {
    let c = codes(
        r#"{"repositories": [
            {"match": "*", "fail": {"CRITICAL": 2}},
            {"match": "legacy-*", "fail": {"CRITICAL": 5}}]}"#,
    );
    assert_eq!(
        c,
        vec![("repositories[1].match".to_string(), "override_shadowed")]
    );
    let c = codes(
        r#"{"repositories": [
            {"match": "team-*", "fail": {"CRITICAL": 2}},
            {"match": "team-payments", "fail": {"CRITICAL": 5}},
            {"match": "other-*", "fail": {"CRITICAL": 5}}]}"#,
    );
    assert_eq!(
        c,
        vec![("repositories[1].match".to_string(), "override_shadowed")]
    );
    // The more specific first is right.
    assert!(codes(
        r#"{"repositories": [{"match": "team-payments", "fail": {}, "fail_if": [{"package": "x"}]},
                             {"match": "team-*", "fail": {"CRITICAL": 2}}]}"#
    )
    .is_empty());
}

#[test]
fn validation_reports_the_error_or_the_warnings() {
    let v = validate_document(r#"{"fial": {"CRITICAL": 1}}"#, TODAY);
    assert!(!v.valid);
    let e = v.error.unwrap();
    assert!(
        e.contains("fial") && e.contains("did you mean `fail`?"),
        "{e}"
    );
    let v = validate_document(r#"{"strip_tags": ["*"]}"#, TODAY);
    assert!(v.valid && v.error.is_none());
    assert_eq!(v.warnings.len(), 1);
}

#[test]
fn day_numbers() {
    assert_eq!(day_number("1970-01-01"), Some(0));
    assert_eq!(day_number("2000-03-01"), Some(11_017));
    assert_eq!(
        day_number("2028-03-01").unwrap() - day_number("2028-02-28").unwrap(),
        2
    );
    assert_eq!(day_number("garbage"), None);
}

#[test]
fn archive_warns_of_the_storage_charge_and_always_of_running_services() {
    let codes = |doc: &str| -> Vec<(&'static str, String, String)> {
        policy_warnings(&Policy::from_json(doc).unwrap(), TODAY)
            .into_iter()
            .map(|w| (w.code, w.field, w.message))
            .collect()
    };
    assert!(codes("{}").is_empty());
    assert!(codes(r#"{"block": {"archive": "off"}}"#).is_empty());
    let unused = codes(r#"{"block": {"archive": "unused", "in_use_days": 14}}"#);
    assert_eq!(unused.len(), 1, "{unused:?}");
    assert_eq!(unused[0].0, "archive_storage_charge");
    assert_eq!(unused[0].1, "block.archive");
    assert!(unused[0].2.contains("90 days") && unused[0].2.contains("14 days"));
    let always = codes(r#"{"block": {"archive": "always"}}"#);
    assert_eq!(always.len(), 1, "{always:?}");
    assert_eq!(always[0].0, "archive_in_use");
    assert!(always[0].2.contains("cannot scale out"), "{}", always[0].2);
    assert!(always[0].2.contains("90 days"), "{}", always[0].2);
}

#[test]
fn documents_near_the_ssm_limits_are_named() {
    assert!(size_warnings(3000, "").is_empty());
    assert_eq!(size_warnings(3900, "")[0].code, "document_near_limit");
    let w = &size_warnings(5000, "/gate/exceptions/team-a")[0];
    assert_eq!(w.code, "document_needs_advanced_tier");
    assert_eq!(w.field, "/gate/exceptions/team-a");
    assert!(w.message.contains("5000") && w.message.contains("Advanced"));
    assert_eq!(size_warnings(9000, "")[0].code, "document_too_large");
    // Through validate_document, on the text as written.
    let padded = format!(
        r#"{{"allowlist": [{{"id": "CVE-1", "reason": "{}"}}]}}"#,
        "r".repeat(4200)
    );
    let v = validate_document(&padded, TODAY);
    assert!(v.valid);
    assert!(v
        .warnings
        .iter()
        .any(|w| w.code == "document_needs_advanced_tier"));
}

#[test]
fn exceptions_documents_are_validated_with_the_functions_reader() {
    let ok = validate_exceptions(
        r#"{"repositories": ["team-a/*"], "allowlist": [{"package": "linux-libc-dev", "reason": "r", "expires": "2026-11-30"}]}"#,
        "team-a.json",
        TODAY,
    );
    assert!(ok.valid, "{ok:?}");
    assert!(
        ok.warnings
            .iter()
            .any(|w| w.code == "allowlist_expires_soon"),
        "{ok:?}"
    );
    let bad = validate_exceptions(r#"{"allowlist": []}"#, "team-b.json", TODAY);
    assert!(!bad.valid);
    assert!(bad.error.unwrap().starts_with("exceptions team-b.json"));
}

#[test]
fn a_vex_statement_about_no_image_is_a_warning() {
    let v = validate_document(
        r#"{"vex": [{"@id": "https://openvex.dev/docs/example/vex-9fb3463de1b57", "statements": [
            {"vulnerability": {"name": "CVE-2023-12345"},
             "products": [{"@id": "pkg:apk/wolfi/git@2.39.0-r1?arch=armv7"}], "status": "fixed"}]}]}"#,
        TODAY,
    );
    assert!(v.valid, "{v:?}");
    assert_eq!(v.warnings[0].code, "vex_product_is_no_image");
    assert_eq!(v.warnings[0].field, "vex[0].statements[0]");
}
