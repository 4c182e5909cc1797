//! Findings from either scanner, normalised, and the tally that judges them one by one against
//! the policy. The tally keeps counts and the top few findings, never the whole list, so memory
//! stays flat however large the scan result.

use crate::domain::severity::{Counts, Severity};
use crate::judgement::judge::reaches;
use crate::policy::conditions::{ConditionHit, ConditionHits, ConditionSet, Facts};
use crate::policy::document::{Policy, Thresholds};
use serde::Serialize;
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};

/// How many findings an evaluation keeps for the report and the alerts.
pub const TOP_FINDINGS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FixState {
    Yes,
    No,
    Partial,
    /// Basic scanning does not say.
    Unknown,
}

/// One vulnerability finding, the same for basic and enhanced scanning.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub id: String,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installed_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_version: Option<String>,
    pub fix_available: FixState,
    /// Enhanced `exploitAvailable` (YES / NO); basic scanning does not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exploit_available: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl Finding {
    /// What a `fail_if` / `warn_if` condition looks at.
    pub fn facts(&self) -> Facts<'_> {
        Facts {
            id: Some(&self.id),
            severity: self.severity,
            package: self.package.as_deref(),
            fix_available: match self.fix_available {
                FixState::Yes | FixState::Partial => Some(true),
                FixState::No => Some(false),
                FixState::Unknown => None,
            },
            exploit_available: self.exploit_available,
            score: self.score,
        }
    }
}

/// Ordering for "top findings": highest severity, then highest score, then id.
struct Ranked(Finding);

impl Ranked {
    fn key(&self) -> (Reverse<Severity>, i64, &str) {
        let score = self.0.score.map(|s| (s * 1000.0) as i64).unwrap_or(-1);
        (Reverse(self.0.severity), score, self.0.id.as_str())
    }
}
impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        // Greater = more important; ties broken on the id in reverse so the order is total.
        let (sa, ca, ia) = self.key();
        let (sb, cb, ib) = other.key();
        sa.cmp(&sb).then(ca.cmp(&cb)).then_with(|| ib.cmp(ia))
    }
}

/// Allowlist use in one evaluation.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AllowlistReport {
    /// Entries that suppressed findings here.
    pub applied: Vec<AllowlistUse>,
    /// Entries whose expiry date has passed: their findings counted again.
    pub expired: Vec<AllowlistUse>,
    /// Entries for this repository that matched no finding (candidates for removal).
    pub unused: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AllowlistUse {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    pub reason: String,
    pub findings: u64,
}

/// What reading the findings produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FindingsReport {
    /// Findings that count, by severity, after allowlist and `ignore_unfixed`.
    pub counts: Counts,
    /// Findings read from the registry, any status.
    pub read: u64,
    /// Enhanced findings not `ACTIVE` (suppressed or closed in Inspector).
    pub inactive: u64,
    /// Findings suppressed by a valid allowlist entry.
    pub allowlisted: u64,
    /// Findings without a fix that `ignore_unfixed` left out.
    pub unfixed_ignored: u64,
    /// Findings the registry counted but did not list: they count, unjudged.
    pub unlisted: Counts,
    pub allowlist: AllowlistReport,
    /// The most important counting findings, at most [`TOP_FINDINGS`].
    pub top: Vec<Finding>,
    /// Counting findings that met a `fail_if` / `warn_if` condition.
    #[serde(skip_serializing_if = "ConditionHits::is_empty")]
    pub conditions: ConditionHits,
}

/// What the tally calls once FAIL is certain: the gate starts the quarantine (the tally itself
/// knows nothing of tasks or channels).
pub type FailSignal = Box<dyn FnOnce() + Send>;

/// Judges findings one at a time as pages arrive.
pub struct FindingsTally<'p> {
    policy: &'p Policy,
    today: String,
    /// Allowlist entries that apply to this repository, by vulnerability id → entry indexes.
    entries: HashMap<&'p str, Vec<usize>>,
    hits: Vec<u64>,
    seen: Counts,
    report: FindingsReport,
    top: BinaryHeap<Reverse<Ranked>>,
    top_n: usize,
    /// The fail thresholds and the conditions in force for this repository.
    fail: &'p Thresholds,
    fail_if: ConditionSet<'p>,
    warn_if: ConditionSet<'p>,
    /// Called once when FAIL becomes certain (see [`FindingsTally::signal_fail_certain`]).
    fail_signal: Option<FailSignal>,
}

impl<'p> FindingsTally<'p> {
    pub fn new(policy: &'p Policy, repository: &str, today: &str) -> Self {
        let mut entries: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, e) in policy.allowlist.iter().enumerate() {
            if e.applies_to_repository(repository) {
                entries.entry(e.id.as_str()).or_default().push(i);
            }
        }
        let effective = policy.thresholds_for(repository);
        FindingsTally {
            fail: effective.fail,
            fail_if: effective.fail_if,
            warn_if: effective.warn_if,
            policy,
            today: today.to_string(),
            entries,
            hits: vec![0; policy.allowlist.len()],
            seen: Counts::default(),
            report: FindingsReport::default(),
            top: BinaryHeap::with_capacity(TOP_FINDINGS + 1),
            top_n: TOP_FINDINGS,
            fail_signal: None,
        }
    }

    /// Calls `signal` as soon as FAIL is certain ([`FindingsTally::fail_certain`]: a fail
    /// threshold reached or a `fail_if` condition met). Counts only grow as more findings are
    /// read (the allowlist and `ignore_unfixed` act per finding), so the quarantine can start
    /// while the remaining pages are read.
    pub fn signal_fail_certain(&mut self, signal: FailSignal) {
        self.fail_signal = Some(signal);
    }

    /// Adds one finding. `active` is false for enhanced findings Inspector has suppressed or
    /// closed; basic findings are always active.
    pub fn add(&mut self, finding: Finding, active: bool) {
        self.report.read += 1;
        self.seen.add(finding.severity, 1);
        if !active {
            self.report.inactive += 1;
            return;
        }
        if let Some(indexes) = self.entries.get(finding.id.as_str()) {
            // A valid entry wins over an expired one for the same id.
            let valid = indexes
                .iter()
                .copied()
                .find(|i| !self.policy.allowlist[*i].is_expired(&self.today));
            match valid {
                Some(i) => {
                    self.hits[i] += 1;
                    self.report.allowlisted += 1;
                    return;
                }
                None => indexes.iter().for_each(|i| self.hits[*i] += 1),
            }
        }
        if self.policy.ignore_unfixed && finding.fix_available == FixState::No {
            self.report.unfixed_ignored += 1;
            return;
        }
        self.report.counts.add(finding.severity, 1);
        self.judge_conditions(&finding.id, &finding.facts());
        if self.fail_signal.is_some() && self.fail_certain() {
            if let Some(signal) = self.fail_signal.take() {
                signal();
            }
        }
        self.top.push(Reverse(Ranked(finding)));
        if self.top.len() > self.top_n {
            self.top.pop();
        }
    }

    /// Records the finding against the first `fail_if` and the first `warn_if` condition it meets.
    fn judge_conditions(&mut self, name: &str, facts: &Facts<'_>) {
        for (fail, set) in [(true, &self.fail_if), (false, &self.warn_if)] {
            if let Some(i) = set.first_met(facts) {
                let hit = ConditionHit {
                    finding: name.to_string(),
                    severity: facts.severity,
                    condition: format!("{}[{i}]", set.field),
                    detail: set.conditions[i].describe(facts),
                };
                self.report.conditions.record(fail, hit);
            }
        }
    }

    /// Whether the image fails whatever findings are still to come: the counts so far reach a
    /// fail threshold, or a finding met a `fail_if` condition. Counts only grow as findings are
    /// added, so a caller may act on FAIL before the last page is read.
    pub fn fail_certain(&self) -> bool {
        self.report.conditions.fail_if_findings > 0 || reaches(self.fail, &self.report.counts)
    }

    /// Closes the tally. `reported` are the registry's own counts: findings it counted but did
    /// not list cannot be allowlisted, so they count as they are.
    pub fn finish(mut self, reported: Option<&Counts>) -> FindingsReport {
        if let Some(reported) = reported {
            for (sev, n) in reported.iter() {
                let missing = n.saturating_sub(self.seen.get(sev));
                if missing > 0 {
                    self.report.unlisted.add(sev, missing);
                    self.report.counts.add(sev, missing);
                    // Only their severity is known: a condition that asks for nothing else
                    // (`severity_at_least` alone) is met by them.
                    let name = format!("{missing} unlisted {sev} finding{}", plural(missing));
                    self.judge_conditions(
                        &name,
                        &Facts {
                            id: None,
                            severity: sev,
                            package: None,
                            fix_available: None,
                            exploit_available: None,
                            score: None,
                        },
                    );
                }
            }
        }
        for (i, e) in self.policy.allowlist.iter().enumerate() {
            if !self
                .entries
                .get(e.id.as_str())
                .is_some_and(|v| v.contains(&i))
            {
                continue;
            }
            let use_ = AllowlistUse {
                id: e.id.clone(),
                expires: e.expires.clone(),
                reason: e.reason.clone(),
                findings: self.hits[i],
            };
            if e.is_expired(&self.today) {
                if self.hits[i] > 0 {
                    self.report.allowlist.expired.push(use_);
                } else {
                    self.report.allowlist.unused.push(e.id.clone());
                }
            } else if self.hits[i] > 0 {
                self.report.allowlist.applied.push(use_);
            } else {
                self.report.allowlist.unused.push(e.id.clone());
            }
        }
        // Ascending `Reverse` order is most important first.
        self.report.top = self
            .top
            .into_sorted_vec()
            .into_iter()
            .map(|Reverse(r)| r.0)
            .collect();
        self.report
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
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
}
