use super::*;
use crate::domain::date::{today_utc, validate_date};

fn err(text: &str) -> String {
    Policy::from_json(text).unwrap_err().to_string()
}

#[test]
fn empty_document_is_the_design_default() {
    let p = Policy::from_json("{}").unwrap();
    assert_eq!(p, Policy::default());
    assert_eq!(p.fail.get(&Severity::Critical), Some(&1));
    assert_eq!(p.warn.get(&Severity::High), Some(&1));
    assert_eq!(p.notify, vec![Verdict::Fail, Verdict::Error]);
}

#[test]
fn spec_example_parses() {
    let p = Policy::from_json(
        r#"{"fail": {"CRITICAL": 1}, "warn": {"HIGH": 1},
            "allowlist": [{"id": "CVE-2024-0001", "repository": "demo-*", "expires": "2027-01-31", "reason": "no fix upstream"}],
            "ignore_unfixed": false, "on_scan_failure": "alert", "notify": ["FAIL", "ERROR"],
            "strip_tags": [], "repositories": [{"match": "legacy-*", "fail": {"CRITICAL": 5}}]}"#,
    )
    .unwrap();
    assert_eq!(p.allowlist[0].expires.as_deref(), Some("2027-01-31"));
    assert_eq!(
        p.thresholds_for("legacy-app").fail.get(&Severity::Critical),
        Some(&5)
    );
    assert_eq!(
        p.thresholds_for("legacy-app").matched_override,
        Some("legacy-*")
    );
    assert_eq!(
        p.thresholds_for("demo-api").fail.get(&Severity::Critical),
        Some(&1)
    );
    // An override without `warn` keeps the top-level `warn`.
    assert_eq!(
        p.thresholds_for("legacy-app").warn.get(&Severity::High),
        Some(&1)
    );
}

#[test]
fn errors_name_the_bad_field() {
    assert!(
        err(r#"{"fial": {}}"#).contains("fial"),
        "{}",
        err(r#"{"fial": {}}"#)
    );
    assert!(err(r#"{"fail": {"CRTICAL": 1}}"#).contains("fail.CRTICAL"));
    assert!(err(r#"{"fail": {"CRITICAL": 0}}"#).contains("fail.CRITICAL"));
    assert!(err(r#"{"fail": {"HIGH": "ten"}}"#).contains("fail.HIGH"));
    assert!(
        err(r#"{"allowlist": [{"id": "CVE-1", "reason": "x", "expires": "2027-02-30"}]}"#)
            .contains("allowlist[0].expires")
    );
    assert!(
        err(r#"{"allowlist": [{"id": "CVE-1", "reason": " "}]}"#).contains("allowlist[0].reason")
    );
    assert!(err(r#"{"allowlist": [{"id": "CVE-1"}]}"#).contains("reason"));
    assert!(err(r#"{"on_scan_failure": "explode"}"#).contains("on_scan_failure"));
    assert!(err(r#"{"notify": ["FAIL", "LOUD"]}"#).contains("notify"));
    assert!(err(r#"{"repositories": [{"match": "x", "fial": {}}]}"#).contains("repositories[0]"));
    assert!(
        err(r#"{"repositories": [{"match": "x", "fail": {"LOW": -1}}]}"#)
            .contains("repositories[0].fail.LOW")
    );
    assert!(err("not json").contains("expected"));
}

#[test]
fn source_is_named() {
    let e = Policy::from_json("{\"x\":1}")
        .unwrap_err()
        .from_source("GATE_POLICY_FILE=/etc/p.json");
    assert!(
        e.to_string().contains("GATE_POLICY_FILE=/etc/p.json"),
        "{e}"
    );
}

#[test]
fn glob_semantics() {
    assert!(glob_match("demo-*", "demo-api"));
    assert!(glob_match("*", "team/app"));
    assert!(glob_match("team/*", "team/a/b"));
    assert!(glob_match("v?.*", "v1.2"));
    assert!(!glob_match("demo-*", "prod-demo-api"));
    assert!(!glob_match("latest", "latest2"));
    assert!(glob_match("*-rc*", "v1.0-rc1"));
    assert!(glob_match("a*b*c", "aXXbYYc"));
    assert!(!glob_match("a*b*c", "aXXbYY"));
}

#[test]
fn conditions_parse_and_overrides_replace_them() {
    let p = Policy::from_json(
        r#"{"fail_if": [{"severity_at_least": "HIGH", "exploit_available": true}],
            "warn_if": [{"package": "openssl*", "fix_available": true}],
            "repositories": [
                {"match": "legacy-*", "fail_if": [{"vulnerability": "CVE-2021-44228"}]},
                {"match": "batch-*", "fail": {"CRITICAL": 3}}]}"#,
    )
    .unwrap();
    let top = p.thresholds_for("demo-api");
    assert_eq!(top.fail_if.field, "fail_if");
    assert_eq!(top.fail_if.conditions.len(), 1);
    let legacy = p.thresholds_for("legacy-app");
    assert_eq!(legacy.fail_if.field, "repositories[0].fail_if");
    assert_eq!(
        legacy.fail_if.conditions[0].vulnerability.as_deref(),
        Some("CVE-2021-44228")
    );
    // The override sets no warn_if: the top-level one stays.
    assert_eq!(legacy.warn_if.field, "warn_if");
    // An override without conditions keeps the top-level ones.
    assert_eq!(p.thresholds_for("batch-x").fail_if.field, "fail_if");
}

#[test]
fn condition_errors_name_the_field() {
    assert!(err(r#"{"fail_if": [{}]}"#).contains("`fail_if[0]` has no keys"));
    assert!(err(r#"{"warn_if": [{"score_at_least": 12}]}"#)
        .contains("`warn_if[0].score_at_least` must be between 0 and 10"));
    assert!(err(r#"{"fail_if": [{"severity_at_least": "HIHG"}]}"#).contains("did you mean `HIGH`?"));
    let e = err(r#"{"fail_if": [{"exploitable": true}]}"#);
    assert!(e.contains("fail_if[0]") && e.contains("exploitable"), "{e}");
    assert!(
        err(r#"{"repositories": [{"match": "x", "warn_if": [{"package": ""}]}]}"#)
            .contains("`repositories[0].warn_if[0].package` is empty")
    );
}

#[test]
fn mistyped_keys_get_a_suggestion() {
    let e = err(r#"{"failif": [{"severity_at_least": "HIGH"}]}"#);
    assert!(e.contains("did you mean `fail_if`?"), "{e}");
    let e = err(r#"{"allowlist": [{"id": "CVE-1", "reason": "r", "expiers": "2027-01-01"}]}"#);
    assert!(
        e.contains("allowlist[0]") && e.contains("did you mean `expires`?"),
        "{e}"
    );
    assert!(err(r#"{"fail": {"CRTICAL": 1}}"#).contains("did you mean `CRITICAL`?"));
    assert!(!err(r#"{"something_else": 1}"#).contains("did you mean"));
}

#[test]
fn counts_prove_a_condition_cannot_be_met_only_by_severity() {
    let p = Policy::from_json(
        r#"{"fail_if": [{"severity_at_least": "HIGH", "exploit_available": true}],
            "repositories": [{"match": "pkg-*", "fail_if": [{"package": "log4j*"}]}]}"#,
    )
    .unwrap();
    let mut medium = Counts::default();
    medium.set(Severity::Medium, 3);
    let mut high = Counts::default();
    high.set(Severity::High, 1);
    assert!(!p.counts_can_meet_conditions("demo-api", &medium));
    assert!(p.counts_can_meet_conditions("demo-api", &high));
    // No severity_at_least: any finding may be the one.
    assert!(p.counts_can_meet_conditions("pkg-a", &medium));
    assert!(!p.counts_can_meet_conditions("pkg-a", &Counts::default()));
    assert!(!Policy::default().counts_can_meet_conditions("x", &high));
}

#[test]
fn the_schema_forbids_unknown_keys_everywhere() {
    let s = json_schema();
    assert_eq!(s["additionalProperties"], false);
    let defs = s["$defs"].as_object().unwrap();
    for name in ["Condition", "AllowlistDoc", "OverrideDoc"] {
        assert_eq!(defs[name]["additionalProperties"], false, "{name}");
    }
    assert_eq!(defs["Condition"]["minProperties"], 1);
    assert_eq!(
        s["properties"]["fail"]["propertyNames"]["enum"][0],
        "CRITICAL"
    );
}

#[test]
fn expiry_is_inclusive() {
    let e = crate::policy::exceptions::AllowlistEntry {
        id: Some("CVE-1".into()),
        package: None,
        repository: None,
        expires: Some("2027-01-31".into()),
        reason: "r".into(),
        scope: Vec::new(),
        source: None,
    };
    assert!(!e.is_expired("2027-01-31"));
    assert!(e.is_expired("2027-02-01"));
    assert!(!e.is_expired("2026-12-31"));
}

#[test]
fn dates_are_checked() {
    assert!(validate_date("2028-02-29").is_ok());
    assert!(validate_date("2027-02-29").is_err());
    assert!(validate_date("2027-13-01").is_err());
    assert!(validate_date("27-01-01").is_err());
    assert!(validate_date("2027/01/01").is_err());
}

#[test]
fn today_is_a_valid_date() {
    assert!(validate_date(&today_utc()).is_ok(), "{}", today_utc());
}

#[test]
fn block_and_ecs_hook_default_to_tag_only_and_allow_with_600_s() {
    use crate::policy::enforcement::{ArchiveMode, NonEcr};
    let p = Policy::from_json("{}").unwrap();
    assert_eq!(p.block.archive, ArchiveMode::Off);
    assert_eq!(p.block.in_use_days, 30);
    assert_eq!(p.ecs_hook.max_wait_s, 600);
    assert_eq!(p.ecs_hook.non_ecr, NonEcr::Allow);
    let p = Policy::from_json(
        r#"{"block": {"archive": "always", "in_use_days": 7},
            "ecs_hook": {"max_wait_s": 0, "non_ecr": "block"}}"#,
    )
    .unwrap();
    assert_eq!(p.block.archive, ArchiveMode::Always);
    assert_eq!(p.block.in_use_days, 7);
    assert_eq!(p.ecs_hook.max_wait_s, 0);
    assert_eq!(p.ecs_hook.non_ecr, NonEcr::Block);
}

#[test]
fn bad_block_and_ecs_hook_keys_name_the_field() {
    let err = |doc: &str| Policy::from_json(doc).unwrap_err().to_string();
    assert!(err(r#"{"block": {"archive": "never"}}"#).contains("`block.archive`"));
    assert!(err(r#"{"block": {"in_use_days": 0}}"#)
        .contains("`block.in_use_days` must be between 1 and 3650"));
    assert!(err(r#"{"block": {"archiv": "unused"}}"#).contains("archiv"));
    assert!(err(r#"{"ecs_hook": {"max_wait_s": -1}}"#).contains("`ecs_hook.max_wait_s`"));
    assert!(err(r#"{"ecs_hook": {"non_ecr": "deny"}}"#).contains("`ecs_hook.non_ecr`"));
}
