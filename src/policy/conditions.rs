//! Risk conditions (`fail_if` / `warn_if`): rules judged on each finding rather than on the
//! counts. A condition holds for a finding when every key it has holds; a finding that lacks
//! the data a key needs (basic scanning has no exploit or fix data) does not meet that key.

use crate::domain::severity::{Counts, Severity};
use crate::policy::glob::glob_match;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How many findings that meet a condition an evaluation names (per `fail_if` and `warn_if`);
/// the rest are counted.
pub const MAX_HITS: usize = 5;

/// One condition of `fail_if` or `warn_if`. Every key is optional, but at least one is needed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("minProperties" = 1))]
pub struct Condition {
    /// The finding's severity is this or higher (UNDEFINED and UNTRIAGED are the lowest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_at_least: Option<Severity>,
    /// Enhanced scanning's `exploitAvailable` is YES (`true`) or NO (`false`). Basic findings
    /// never meet this key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exploit_available: Option<bool>,
    /// Enhanced scanning's `fixAvailable` is YES or PARTIAL (`true`), or NO (`false`). Basic
    /// findings never meet this key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix_available: Option<bool>,
    /// The finding's score is at least this: enhanced `score`; basic `CVSS3_SCORE`, else
    /// `CVSS2_SCORE`. A finding without a score does not meet it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 10.0))]
    pub score_at_least: Option<f64>,
    /// Glob on the vulnerability id, e.g. `CVE-2021-44228` or `GHSA-*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub vulnerability: Option<String>,
    /// Glob on the package name, e.g. `log4j-core` or `openssl*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub package: Option<String>,
}

/// What a condition looks at in one finding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Facts<'a> {
    /// The vulnerability id; `None` for findings the registry counted but did not list.
    pub id: Option<&'a str>,
    pub severity: Severity,
    pub package: Option<&'a str>,
    /// `Some(true)` for YES or PARTIAL, `Some(false)` for NO, `None` when the scan does not say.
    pub fix_available: Option<bool>,
    pub exploit_available: Option<bool>,
    pub score: Option<f64>,
}

/// Severity as a rank for `severity_at_least`: CRITICAL 5 … INFORMATIONAL 1, the two
/// "not yet rated" severities 0.
pub fn rank(s: Severity) -> u8 {
    match s {
        Severity::Critical => 5,
        Severity::High => 4,
        Severity::Medium => 3,
        Severity::Low => 2,
        Severity::Informational => 1,
        Severity::Undefined | Severity::Untriaged => 0,
    }
}

impl Condition {
    pub fn is_empty(&self) -> bool {
        *self == Condition::default()
    }

    pub fn holds(&self, f: &Facts<'_>) -> bool {
        self.severity_at_least
            .is_none_or(|s| rank(f.severity) >= rank(s))
            && self
                .exploit_available
                .is_none_or(|want| f.exploit_available == Some(want))
            && self
                .fix_available
                .is_none_or(|want| f.fix_available == Some(want))
            && self
                .score_at_least
                .is_none_or(|min| f.score.is_some_and(|s| s >= min))
            && self
                .vulnerability
                .as_deref()
                .is_none_or(|g| f.id.is_some_and(|id| glob_match(g, id)))
            && self
                .package
                .as_deref()
                .is_none_or(|g| f.package.is_some_and(|p| glob_match(g, p)))
    }

    /// Whether a finding counted in `counts` could meet this condition. Only the severity can be
    /// read from counts: with `severity_at_least`, some finding of that severity or higher must
    /// be counted; without it, any finding could meet the condition.
    pub fn may_hold_given(&self, counts: &Counts) -> bool {
        match self.severity_at_least {
            Some(min) => counts.iter().any(|(s, n)| n > 0 && rank(s) >= rank(min)),
            None => counts.total() > 0,
        }
    }

    /// The facts this condition looked at, for the reason: `HIGH, exploit available`.
    pub fn describe(&self, f: &Facts<'_>) -> String {
        let mut parts = vec![f.severity.to_string()];
        match self.exploit_available {
            Some(true) => parts.push("exploit available".to_string()),
            Some(false) => parts.push("no known exploit".to_string()),
            None => {}
        }
        match self.fix_available {
            Some(true) => parts.push("fix available".to_string()),
            Some(false) => parts.push("no fix".to_string()),
            None => {}
        }
        if let (Some(_), Some(score)) = (self.score_at_least, f.score) {
            parts.push(format!("score {score}"));
        }
        if let (Some(_), Some(p)) = (&self.package, f.package) {
            parts.push(format!("package {p}"));
        }
        parts.join(", ")
    }

    /// Checks the values; the error names the key (`score_at_least: ...`).
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.is_empty() {
            return Err((
                "",
                "has no keys: a condition needs at least one (an empty one would hold for every \
                 finding; to mean any finding, say {\"severity_at_least\": \"UNDEFINED\"})"
                    .to_string(),
            ));
        }
        if let Some(s) = self.score_at_least {
            if !(0.0..=10.0).contains(&s) {
                return Err((
                    "score_at_least",
                    format!("must be between 0 and 10 (a CVSS score), got {s}"),
                ));
            }
        }
        for (key, g) in [
            ("vulnerability", &self.vulnerability),
            ("package", &self.package),
        ] {
            if let Some(g) = g {
                crate::policy::glob::validate(g).map_err(|p| (key, p))?;
            }
        }
        Ok(())
    }
}

/// The conditions in force for one repository, with the policy field they come from
/// (`fail_if`, or `repositories[2].fail_if` for an override's own).
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionSet<'a> {
    pub conditions: &'a [Condition],
    pub field: String,
}

impl<'a> ConditionSet<'a> {
    /// The index of the first condition the finding meets.
    pub fn first_met(&self, f: &Facts<'_>) -> Option<usize> {
        self.conditions.iter().position(|c| c.holds(f))
    }

    pub fn may_hold_given(&self, counts: &Counts) -> bool {
        self.conditions.iter().any(|c| c.may_hold_given(counts))
    }
}

/// One finding that met a condition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConditionHit {
    /// The vulnerability id.
    pub finding: String,
    pub severity: Severity,
    /// The policy field of the condition: `fail_if[0]`, `repositories[1].warn_if[2]`.
    pub condition: String,
    /// The facts the condition looked at: `HIGH, exploit available`.
    pub detail: String,
}

impl ConditionHit {
    /// `CVE-2024-1234 (HIGH, exploit available) meets fail_if[0]`.
    pub fn reason(&self) -> String {
        format!(
            "{} ({}) meets {}",
            self.finding, self.detail, self.condition
        )
    }
}

/// The findings that met `fail_if` / `warn_if` conditions in one evaluation: the most severe
/// few by name, all of them counted.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ConditionHits {
    pub fail_if: Vec<ConditionHit>,
    /// Findings that met a `fail_if` condition (named or not).
    pub fail_if_findings: u64,
    pub warn_if: Vec<ConditionHit>,
    pub warn_if_findings: u64,
}

impl ConditionHits {
    pub fn is_empty(&self) -> bool {
        self.fail_if_findings == 0 && self.warn_if_findings == 0
    }

    /// Records a hit; keeps the [`MAX_HITS`] most severe, the first of equals.
    pub fn record(&mut self, fail: bool, hit: ConditionHit) {
        let (list, n) = if fail {
            (&mut self.fail_if, &mut self.fail_if_findings)
        } else {
            (&mut self.warn_if, &mut self.warn_if_findings)
        };
        *n += 1;
        if list.len() < MAX_HITS {
            list.push(hit);
        } else if let Some((i, least)) = list
            .iter()
            .enumerate()
            .min_by_key(|(i, h)| (rank(h.severity), std::cmp::Reverse(*i)))
        {
            if rank(hit.severity) > rank(least.severity) {
                list.remove(i);
                list.push(hit);
            }
        }
    }

    /// The reasons for one side: every named hit, then how many more there were.
    pub fn reasons(&self, fail: bool) -> Vec<String> {
        let (list, n, field) = if fail {
            (&self.fail_if, self.fail_if_findings, "fail_if")
        } else {
            (&self.warn_if, self.warn_if_findings, "warn_if")
        };
        let mut out: Vec<String> = list.iter().map(ConditionHit::reason).collect();
        let more = n.saturating_sub(list.len() as u64);
        if more > 0 {
            let noun = if more == 1 { "finding" } else { "findings" };
            out.push(format!("and {more} more {noun} meet {field} conditions"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(sev: Severity) -> Facts<'static> {
        Facts {
            id: Some("CVE-2024-1234"),
            severity: sev,
            package: Some("openssl-libs"),
            fix_available: Some(true),
            exploit_available: Some(true),
            score: Some(8.1),
        }
    }

    fn cond(json: &str) -> Condition {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn every_key_must_hold() {
        let c = cond(r#"{"severity_at_least": "HIGH", "exploit_available": true}"#);
        assert!(c.holds(&facts(Severity::High)));
        assert!(c.holds(&facts(Severity::Critical)));
        assert!(!c.holds(&facts(Severity::Medium)));
        let no_exploit = Facts {
            exploit_available: Some(false),
            ..facts(Severity::Critical)
        };
        assert!(!c.holds(&no_exploit));
        assert!(cond(r#"{"exploit_available": false}"#).holds(&no_exploit));
    }

    #[test]
    fn missing_data_never_meets_a_key() {
        // A basic finding: no exploit, no fix data, no package, no score.
        let basic = Facts {
            id: Some("CVE-2024-1234"),
            severity: Severity::Critical,
            package: None,
            fix_available: None,
            exploit_available: None,
            score: None,
        };
        for key in [
            r#"{"exploit_available": true}"#,
            r#"{"exploit_available": false}"#,
            r#"{"fix_available": true}"#,
            r#"{"fix_available": false}"#,
            r#"{"score_at_least": 0}"#,
            r#"{"package": "*"}"#,
        ] {
            assert!(!cond(key).holds(&basic), "{key}");
        }
        assert!(cond(r#"{"vulnerability": "CVE-2024-*"}"#).holds(&basic));
        let unlisted = Facts { id: None, ..basic };
        assert!(!cond(r#"{"vulnerability": "*"}"#).holds(&unlisted));
        assert!(cond(r#"{"severity_at_least": "HIGH"}"#).holds(&unlisted));
    }

    #[test]
    fn score_package_and_vulnerability() {
        let f = facts(Severity::Medium);
        assert!(cond(r#"{"score_at_least": 8.1}"#).holds(&f));
        assert!(!cond(r#"{"score_at_least": 8.2}"#).holds(&f));
        assert!(cond(r#"{"package": "openssl*"}"#).holds(&f));
        assert!(!cond(r#"{"package": "openssl"}"#).holds(&f));
        assert!(cond(r#"{"vulnerability": "CVE-2024-1234"}"#).holds(&f));
        assert!(!cond(r#"{"vulnerability": "GHSA-*"}"#).holds(&f));
    }

    #[test]
    fn unrated_severities_are_the_lowest() {
        let c = cond(r#"{"severity_at_least": "INFORMATIONAL"}"#);
        assert!(!c.holds(&facts(Severity::Untriaged)));
        assert!(!c.holds(&facts(Severity::Undefined)));
        assert!(cond(r#"{"severity_at_least": "UNDEFINED"}"#).holds(&facts(Severity::Untriaged)));
    }

    #[test]
    fn counts_prove_only_what_severity_allows() {
        let mut counts = Counts::default();
        counts.set(Severity::Medium, 4);
        assert!(!cond(r#"{"severity_at_least": "HIGH", "package": "x"}"#).may_hold_given(&counts));
        assert!(cond(r#"{"severity_at_least": "MEDIUM"}"#).may_hold_given(&counts));
        assert!(cond(r#"{"package": "x"}"#).may_hold_given(&counts));
        assert!(!cond(r#"{"package": "x"}"#).may_hold_given(&Counts::default()));
    }

    #[test]
    fn reason_names_the_finding_and_the_condition() {
        let c = cond(r#"{"severity_at_least": "HIGH", "exploit_available": true}"#);
        let f = facts(Severity::High);
        let hit = ConditionHit {
            finding: "CVE-2024-1234".to_string(),
            severity: f.severity,
            condition: "fail_if[0]".to_string(),
            detail: c.describe(&f),
        };
        assert_eq!(
            hit.reason(),
            "CVE-2024-1234 (HIGH, exploit available) meets fail_if[0]"
        );
        let c = cond(r#"{"package": "openssl*", "score_at_least": 7}"#);
        assert_eq!(c.describe(&f), "HIGH, score 8.1, package openssl-libs");
    }

    #[test]
    fn hits_keep_the_most_severe_and_count_the_rest() {
        let mut hits = ConditionHits::default();
        let hit = |id: &str, severity| ConditionHit {
            finding: id.to_string(),
            severity,
            condition: "fail_if[0]".into(),
            detail: String::new(),
        };
        for i in 0..7 {
            hits.record(true, hit(&format!("CVE-LOW-{i}"), Severity::Low));
        }
        hits.record(true, hit("CVE-CRIT", Severity::Critical));
        assert_eq!(hits.fail_if_findings, 8);
        assert_eq!(hits.fail_if.len(), MAX_HITS);
        assert!(hits.fail_if.iter().any(|h| h.finding == "CVE-CRIT"));
        let reasons = hits.reasons(true);
        assert_eq!(reasons.len(), MAX_HITS + 1);
        assert_eq!(
            reasons[MAX_HITS],
            "and 3 more findings meet fail_if conditions"
        );
        assert!(hits.reasons(false).is_empty());
    }

    #[test]
    fn validation_names_the_key() {
        assert_eq!(Condition::default().validate().unwrap_err().0, "");
        assert_eq!(
            cond(r#"{"score_at_least": 11}"#).validate().unwrap_err().0,
            "score_at_least"
        );
        assert_eq!(
            cond(r#"{"package": ""}"#).validate().unwrap_err().0,
            "package"
        );
        assert!(cond(r#"{"severity_at_least": "LOW"}"#).validate().is_ok());
    }
}
