//! Judging: what the counts, and the findings that met a condition, mean under the thresholds
//! in force: the verdict and its reasons.

use crate::domain::severity::Counts;
use crate::domain::verdict::Verdict;
use crate::policy::conditions::ConditionHits;
use crate::policy::document::{EffectiveThresholds, Thresholds};

/// Whether the counts reach any of these thresholds.
pub fn reaches(thresholds: &Thresholds, counts: &Counts) -> bool {
    thresholds.iter().any(|(sev, min)| counts.get(*sev) >= *min)
}

/// Applies thresholds to counts alone (no finding was read, so no condition was judged):
/// FAIL if any fail threshold is reached, else WARN if any warn threshold is, else PASS.
pub fn judge(thresholds: &EffectiveThresholds<'_>, counts: &Counts) -> (Verdict, Vec<String>) {
    judge_findings(thresholds, counts, &ConditionHits::default())
}

/// Applies thresholds to counts and takes the findings that met `fail_if` / `warn_if`: FAIL if
/// a fail threshold is reached or a finding met a `fail_if` condition, else WARN likewise, else
/// PASS. The reasons name every threshold reached and the findings that met a condition.
pub fn judge_findings(
    thresholds: &EffectiveThresholds<'_>,
    counts: &Counts,
    hits: &ConditionHits,
) -> (Verdict, Vec<String>) {
    let scope = thresholds
        .matched_override
        .map(|p| format!(", repository override {p:?}"))
        .unwrap_or_default();
    let reached = |t: &Thresholds, kind: &str| -> Vec<String> {
        t.iter()
            .filter(|(sev, min)| counts.get(**sev) >= **min)
            .map(|(sev, min)| {
                let n = counts.get(*sev);
                let noun = if n == 1 { "finding" } else { "findings" };
                format!("{n} {sev} {noun} (policy: {kind} at {min} or more{scope})")
            })
            .collect()
    };
    let mut fail = reached(thresholds.fail, "fail");
    fail.extend(hits.reasons(true));
    if !fail.is_empty() {
        return (Verdict::Fail, fail);
    }
    let mut warn = reached(thresholds.warn, "warn");
    warn.extend(hits.reasons(false));
    if !warn.is_empty() {
        return (Verdict::Warn, warn);
    }
    let conditions =
        if thresholds.fail_if.conditions.is_empty() && thresholds.warn_if.conditions.is_empty() {
            ""
        } else {
            " and no condition met"
        };
    (
        Verdict::Pass,
        vec![format!(
            "no threshold reached{conditions} (findings: {})",
            counts.summary()
        )],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::severity::Severity;
    use crate::policy::document::Policy;

    fn counts(pairs: &[(Severity, u64)]) -> Counts {
        let mut c = Counts::default();
        pairs.iter().for_each(|(s, n)| c.set(*s, *n));
        c
    }

    #[test]
    fn default_policy_fails_on_one_critical_and_warns_on_one_high() {
        let p = Policy::default();
        let t = p.thresholds_for("demo-api");
        let (v, r) = judge(&t, &counts(&[(Severity::Critical, 1), (Severity::High, 3)]));
        assert_eq!(v, Verdict::Fail);
        assert_eq!(
            r,
            vec!["1 CRITICAL finding (policy: fail at 1 or more)".to_string()]
        );
        let (v, r) = judge(&t, &counts(&[(Severity::High, 3)]));
        assert_eq!(v, Verdict::Warn);
        assert!(r[0].starts_with("3 HIGH findings"), "{r:?}");
        let (v, r) = judge(&t, &counts(&[(Severity::Medium, 40)]));
        assert_eq!(v, Verdict::Pass);
        assert_eq!(
            r,
            vec!["no threshold reached (findings: MEDIUM 40)".to_string()]
        );
    }

    #[test]
    fn thresholds_are_at_least_not_more_than() {
        let p = Policy::from_json(r#"{"fail": {"HIGH": 10}, "warn": {}}"#).unwrap();
        let t = p.thresholds_for("x");
        assert_eq!(judge(&t, &counts(&[(Severity::High, 9)])).0, Verdict::Pass);
        assert_eq!(judge(&t, &counts(&[(Severity::High, 10)])).0, Verdict::Fail);
        // The document replaced `fail`: CRITICAL no longer fails on its own.
        assert_eq!(
            judge(&t, &counts(&[(Severity::Critical, 1)])).0,
            Verdict::Pass
        );
    }

    #[test]
    fn override_is_named_in_the_reason() {
        let p = Policy::from_json(
            r#"{"repositories": [{"match": "legacy-*", "fail": {"CRITICAL": 5}}]}"#,
        )
        .unwrap();
        let t = p.thresholds_for("legacy-billing");
        let (v, _) = judge(&t, &counts(&[(Severity::Critical, 4)]));
        assert_eq!(
            v,
            Verdict::Pass,
            "4 < 5 and no HIGH: the override leaves nothing reached"
        );
        let (v, r) = judge(&t, &counts(&[(Severity::Critical, 5)]));
        assert_eq!(v, Verdict::Fail);
        assert!(r[0].contains("repository override \"legacy-*\""), "{r:?}");
    }
}
