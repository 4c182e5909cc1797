//! The fast path: when may the event's own counts decide PASS without reading a finding?
//!
//! Inspector's `Inspector2 Scan` event lists only CRITICAL, HIGH and MEDIUM counts beside
//! `TOTAL` (AWS's own sample: TOTAL 158, listed 130). The findings that `TOTAL` counts but no
//! listed key does could be of any severity the event left out, so the fast path assumes the
//! worst: it passes only when no threshold could be reached even if every unlisted finding had
//! the severity that threshold counts. Otherwise the findings are read.

use crate::domain::severity::{Counts, Severity};
use crate::domain::verdict::Verdict;
use crate::judgement::judge::judge;
use crate::policy::document::EffectiveThresholds;

/// Whether the counts pass every threshold even in the worst case for the `unlisted` findings
/// (counted by the event's `TOTAL` but under no severity it lists).
pub fn counts_pass(thresholds: &EffectiveThresholds<'_>, counts: &Counts, unlisted: u64) -> bool {
    if judge(thresholds, counts).0 != Verdict::Pass {
        return false;
    }
    if unlisted == 0 {
        return true;
    }
    let could_reach = |t: &crate::policy::document::Thresholds| {
        Severity::ALL.into_iter().any(|s| {
            t.get(&s)
                .is_some_and(|min| counts.get(s).saturating_add(unlisted) >= *min)
        })
    };
    !could_reach(thresholds.fail) && !could_reach(thresholds.warn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::document::Policy;

    fn counts(pairs: &[(Severity, u64)]) -> Counts {
        let mut c = Counts::default();
        pairs.iter().for_each(|(s, n)| c.set(*s, *n));
        c
    }

    #[test]
    fn unlisted_findings_that_could_reach_a_low_threshold_force_a_read() {
        let p = Policy::from_json(r#"{"fail": {"LOW": 5}, "warn": {}}"#).unwrap();
        let t = p.thresholds_for("demo-api");
        // AWS's sample: TOTAL 158, listed 130 (no LOW key): 28 findings of unknown severity.
        let listed = counts(&[(Severity::Medium, 130)]);
        assert!(!counts_pass(&t, &listed, 28));
        assert!(
            counts_pass(&t, &listed, 0),
            "nothing unlisted: the counts decide"
        );
        assert!(counts_pass(&t, &listed, 4), "4 unlisted cannot reach LOW 5");
    }

    #[test]
    fn a_policy_on_listed_severities_only_keeps_the_fast_path() {
        let p = Policy::from_json(r#"{"fail": {"CRITICAL": 1}, "warn": {"HIGH": 200}}"#).unwrap();
        let t = p.thresholds_for("demo-api");
        let listed = counts(&[(Severity::Medium, 130)]);
        // 28 unlisted could be CRITICAL as far as the counts say, but Inspector lists CRITICAL:
        // the worst case is still judged, so the read happens.
        assert!(!counts_pass(&t, &listed, 28));
        let p = Policy::from_json(r#"{"fail": {"CRITICAL": 100}, "warn": {"HIGH": 200}}"#).unwrap();
        let t = p.thresholds_for("demo-api");
        assert!(counts_pass(&t, &listed, 28));
    }

    #[test]
    fn counts_that_fail_are_never_a_fast_pass() {
        let p = Policy::default();
        let t = p.thresholds_for("demo-api");
        assert!(!counts_pass(&t, &counts(&[(Severity::Critical, 1)]), 0));
    }
}
