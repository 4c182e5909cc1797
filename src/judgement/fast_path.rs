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
use crate::policy::document::{EffectiveThresholds, Policy};

/// Findings a source counts under no severity it names (an event's `TOTAL` beyond its keys,
/// Inspector's `all` beyond the severities it names): `n` of them, each of any severity in
/// `among`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unlisted<'a> {
    pub n: u64,
    pub among: &'a [Severity],
}

impl Unlisted<'static> {
    /// `n` findings of any severity at all.
    pub fn any(n: u64) -> Unlisted<'static> {
        Unlisted {
            n,
            among: &Severity::ALL,
        }
    }
}

impl Unlisted<'_> {
    /// The severities they may have; all of them when the source named every severity and
    /// still counted more (a count that does not add up proves nothing).
    fn severities(&self) -> &[Severity] {
        if self.among.is_empty() {
            &Severity::ALL
        } else {
            self.among
        }
    }
}

/// Whether counts prove PASS under the repository's policy with no finding read: no threshold
/// can be reached even in the worst case for the unlisted findings, and no finding counted
/// can meet a `fail_if` / `warn_if` condition (the unlisted ones taken at the worst severity
/// they may have). The one place this is decided: the event's counts, the listing's summary,
/// Inspector's counts.
pub fn counts_prove_pass(
    policy: &Policy,
    repository: &str,
    counts: &Counts,
    unlisted: Unlisted<'_>,
) -> bool {
    let mut worst = *counts;
    if let Some(s) = unlisted.severities().iter().min() {
        worst.add(*s, unlisted.n);
    }
    counts_pass(&policy.thresholds_for(repository), counts, unlisted)
        && !policy.counts_can_meet_conditions(repository, &worst)
}

/// Whether the counts pass every threshold even in the worst case for the `unlisted` findings.
pub fn counts_pass(
    thresholds: &EffectiveThresholds<'_>,
    counts: &Counts,
    unlisted: Unlisted<'_>,
) -> bool {
    if judge(thresholds, counts).0 != Verdict::Pass {
        return false;
    }
    if unlisted.n == 0 {
        return true;
    }
    let could_reach = |t: &crate::policy::document::Thresholds| {
        unlisted.severities().iter().any(|s| {
            t.get(s)
                .is_some_and(|min| counts.get(*s).saturating_add(unlisted.n) >= *min)
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
        assert!(!counts_pass(&t, &listed, Unlisted::any(28)));
        assert!(
            counts_pass(&t, &listed, Unlisted::any(0)),
            "nothing unlisted: the counts decide"
        );
        assert!(
            counts_pass(&t, &listed, Unlisted::any(4)),
            "4 unlisted cannot reach LOW 5"
        );
    }

    #[test]
    fn a_policy_on_listed_severities_only_keeps_the_fast_path() {
        let p = Policy::from_json(r#"{"fail": {"CRITICAL": 1}, "warn": {"HIGH": 200}}"#).unwrap();
        let t = p.thresholds_for("demo-api");
        let listed = counts(&[(Severity::Medium, 130)]);
        // 28 unlisted could be CRITICAL as far as the counts say, but Inspector lists CRITICAL:
        // the worst case is still judged, so the read happens.
        assert!(!counts_pass(&t, &listed, Unlisted::any(28)));
        let p = Policy::from_json(r#"{"fail": {"CRITICAL": 100}, "warn": {"HIGH": 200}}"#).unwrap();
        let t = p.thresholds_for("demo-api");
        assert!(counts_pass(&t, &listed, Unlisted::any(28)));
    }

    #[test]
    fn counts_that_fail_are_never_a_fast_pass() {
        let p = Policy::default();
        let t = p.thresholds_for("demo-api");
        assert!(!counts_pass(
            &t,
            &counts(&[(Severity::Critical, 1)]),
            Unlisted::any(0)
        ));
    }
}
