//! The gate policy (the policy document of the README): thresholds, allowlist, overrides, and what a failed scan
//! means. Parsed strictly — an unknown key is a typo that would silently weaken the gate — and
//! validated once at start, with an error that names the bad field.

use crate::severity::Severity;
use crate::verdict::Verdict;
pub use crate::verdict::{EffectiveThresholds, Thresholds};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("invalid policy{}: {problem}", source_suffix(.source_name))]
    Invalid {
        source_name: String,
        problem: String,
    },
}

fn source_suffix(source: &str) -> String {
    if source.is_empty() {
        String::new()
    } else {
        format!(" ({source})")
    }
}

impl PolicyError {
    fn at(field: impl std::fmt::Display, problem: impl std::fmt::Display) -> PolicyError {
        PolicyError::Invalid {
            source_name: String::new(),
            problem: format!("`{field}` {problem}"),
        }
    }

    /// Names where the policy came from (`GATE_POLICY`, a file, an SSM parameter).
    pub fn from_source(self, source: &str) -> PolicyError {
        match self {
            PolicyError::Invalid { problem, .. } => PolicyError::Invalid {
                source_name: source.to_string(),
                problem,
            },
        }
    }
}

/// What a scan that could not run means for the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnScanFailure {
    /// Verdict ERROR, alert, leave the image alone.
    #[default]
    Alert,
    /// Verdict ERROR, alert and quarantine (fail closed).
    Block,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AllowlistEntry {
    pub id: String,
    pub repository: Option<String>,
    /// Last day (UTC, inclusive) the entry applies, `YYYY-MM-DD`.
    pub expires: Option<String>,
    pub reason: String,
}

impl AllowlistEntry {
    pub fn applies_to_repository(&self, repository: &str) -> bool {
        self.repository
            .as_deref()
            .is_none_or(|g| glob_match(g, repository))
    }

    pub fn is_expired(&self, today: &str) -> bool {
        self.expires.as_deref().is_some_and(|e| today > e)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryOverride {
    pub pattern: String,
    pub fail: Option<Thresholds>,
    pub warn: Option<Thresholds>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub fail: Thresholds,
    pub warn: Thresholds,
    pub allowlist: Vec<AllowlistEntry>,
    pub ignore_unfixed: bool,
    pub on_scan_failure: OnScanFailure,
    pub notify: Vec<Verdict>,
    pub strip_tags: Vec<String>,
    pub repositories: Vec<RepositoryOverride>,
}

impl Default for Policy {
    /// The design's rule: one CRITICAL fails, one HIGH warns.
    fn default() -> Self {
        Policy {
            fail: BTreeMap::from([(Severity::Critical, 1)]),
            warn: BTreeMap::from([(Severity::High, 1)]),
            allowlist: Vec::new(),
            ignore_unfixed: false,
            on_scan_failure: OnScanFailure::Alert,
            notify: vec![Verdict::Fail, Verdict::Error],
            strip_tags: Vec::new(),
            repositories: Vec::new(),
        }
    }
}

impl Policy {
    pub fn from_json(text: &str) -> Result<Policy, PolicyError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let doc: PolicyDoc = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path.is_empty() || path == "." {
                PolicyError::Invalid {
                    source_name: String::new(),
                    problem: inner.to_string(),
                }
            } else {
                PolicyError::at(path, inner)
            }
        })?;
        doc.validate()
    }

    /// The first override whose pattern matches the repository replaces `fail` / `warn`.
    pub fn thresholds_for(&self, repository: &str) -> EffectiveThresholds<'_> {
        let found = self
            .repositories
            .iter()
            .find(|o| glob_match(&o.pattern, repository));
        EffectiveThresholds {
            fail: found.and_then(|o| o.fail.as_ref()).unwrap_or(&self.fail),
            warn: found.and_then(|o| o.warn.as_ref()).unwrap_or(&self.warn),
            matched_override: found.map(|o| o.pattern.as_str()),
        }
    }

    pub fn notifies(&self, verdict: Verdict) -> bool {
        self.notify.contains(&verdict)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyDoc {
    fail: Option<BTreeMap<String, i64>>,
    warn: Option<BTreeMap<String, i64>>,
    #[serde(default)]
    allowlist: Vec<AllowlistDoc>,
    #[serde(default)]
    ignore_unfixed: bool,
    #[serde(default)]
    on_scan_failure: OnScanFailure,
    notify: Option<Vec<Verdict>>,
    #[serde(default)]
    strip_tags: Vec<String>,
    #[serde(default)]
    repositories: Vec<OverrideDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowlistDoc {
    id: String,
    repository: Option<String>,
    expires: Option<String>,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideDoc {
    #[serde(rename = "match")]
    pattern: String,
    fail: Option<BTreeMap<String, i64>>,
    warn: Option<BTreeMap<String, i64>>,
}

impl PolicyDoc {
    fn validate(self) -> Result<Policy, PolicyError> {
        let defaults = Policy::default();
        let fail = match self.fail {
            Some(t) => thresholds(t, "fail")?,
            None => defaults.fail,
        };
        let warn = match self.warn {
            Some(t) => thresholds(t, "warn")?,
            None => defaults.warn,
        };
        let mut allowlist = Vec::with_capacity(self.allowlist.len());
        for (i, e) in self.allowlist.into_iter().enumerate() {
            let at = |k: &str| format!("allowlist[{i}].{k}");
            let id = e.id.trim().to_string();
            if id.is_empty() {
                return Err(PolicyError::at(at("id"), "is empty"));
            }
            if e.reason.trim().is_empty() {
                return Err(PolicyError::at(
                    at("reason"),
                    "is empty: say why the finding is accepted, so the entry can be reviewed",
                ));
            }
            if let Some(g) = &e.repository {
                validate_glob(g).map_err(|p| PolicyError::at(at("repository"), p))?;
            }
            if let Some(d) = &e.expires {
                validate_date(d).map_err(|p| PolicyError::at(at("expires"), p))?;
            }
            allowlist.push(AllowlistEntry {
                id,
                repository: e.repository,
                expires: e.expires,
                reason: e.reason,
            });
        }
        for (i, g) in self.strip_tags.iter().enumerate() {
            validate_glob(g).map_err(|p| PolicyError::at(format!("strip_tags[{i}]"), p))?;
        }
        let mut repositories = Vec::with_capacity(self.repositories.len());
        for (i, o) in self.repositories.into_iter().enumerate() {
            validate_glob(&o.pattern)
                .map_err(|p| PolicyError::at(format!("repositories[{i}].match"), p))?;
            repositories.push(RepositoryOverride {
                pattern: o.pattern,
                fail: o
                    .fail
                    .map(|t| thresholds(t, &format!("repositories[{i}].fail")))
                    .transpose()?,
                warn: o
                    .warn
                    .map(|t| thresholds(t, &format!("repositories[{i}].warn")))
                    .transpose()?,
            });
        }
        Ok(Policy {
            fail,
            warn,
            allowlist,
            ignore_unfixed: self.ignore_unfixed,
            on_scan_failure: self.on_scan_failure,
            notify: self.notify.unwrap_or(defaults.notify),
            strip_tags: self.strip_tags,
            repositories,
        })
    }
}

fn thresholds(raw: BTreeMap<String, i64>, field: &str) -> Result<Thresholds, PolicyError> {
    let mut out = Thresholds::new();
    for (name, n) in raw {
        let sev = Severity::parse(&name).ok_or_else(|| {
            PolicyError::at(
                format!("{field}.{name}"),
                "is not a severity (CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNDEFINED, UNTRIAGED)",
            )
        })?;
        if n < 1 {
            return Err(PolicyError::at(
                format!("{field}.{name}"),
                format!("must be at least 1 (it is the number of findings that trips the threshold), got {n}"),
            ));
        }
        out.insert(sev, n as u64);
    }
    Ok(out)
}

fn validate_glob(g: &str) -> Result<(), String> {
    if g.is_empty() {
        return Err("is empty".to_string());
    }
    if g.len() > 256 {
        return Err(format!("is longer than 256 characters ({})", g.len()));
    }
    Ok(())
}

/// `YYYY-MM-DD` with a real month and day.
fn validate_date(d: &str) -> Result<(), String> {
    let bad = || {
        format!(
            "must be a date YYYY-MM-DD, got {:?}",
            crate::event::truncate(d, 40)
        )
    };
    let b = d.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| d.get(r).and_then(|s| s.parse::<u32>().ok());
    let (Some(y), Some(m), Some(day)) = (num(0..4), num(5..7), num(8..10)) else {
        return Err(bad());
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if day == 0 || day > days {
        return Err(bad());
    }
    Ok(())
}

/// Shell-style glob: `*` matches any run of characters (including `/`), `?` one character.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Today's date in UTC as `YYYY-MM-DD`.
pub fn today_utc() -> String {
    use aws_smithy_types::date_time::{DateTime, Format};
    let now = DateTime::from(std::time::SystemTime::now());
    now.fmt(Format::DateTime)
        .map(|s| s.chars().take(10).collect())
        .unwrap_or_else(|_| "1970-01-01".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(err(r#"{"allowlist": [{"id": "CVE-1", "reason": " "}]}"#)
            .contains("allowlist[0].reason"));
        assert!(err(r#"{"allowlist": [{"id": "CVE-1"}]}"#).contains("reason"));
        assert!(err(r#"{"on_scan_failure": "explode"}"#).contains("on_scan_failure"));
        assert!(err(r#"{"notify": ["FAIL", "LOUD"]}"#).contains("notify"));
        assert!(
            err(r#"{"repositories": [{"match": "x", "fial": {}}]}"#).contains("repositories[0]")
        );
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
    fn expiry_is_inclusive() {
        let e = AllowlistEntry {
            id: "CVE-1".into(),
            repository: None,
            expires: Some("2027-01-31".into()),
            reason: "r".into(),
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
}
