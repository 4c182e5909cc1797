//! Findings from either scanner, normalised, and the tally that judges them one by one against
//! the policy. The tally keeps counts and the top few findings, never the whole list, so memory
//! stays flat however large the scan result.

use crate::policy::Policy;
use crate::severity::{Counts, Severity};
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
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
}

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
    /// Fires once when the findings counted so far reach a fail threshold (see
    /// [`FindingsTally::signal_fail_certain`]).
    fail_certain: Option<(crate::verdict::Thresholds, tokio::sync::oneshot::Sender<()>)>,
}

impl<'p> FindingsTally<'p> {
    pub fn new(policy: &'p Policy, repository: &str, today: &str) -> Self {
        let mut entries: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, e) in policy.allowlist.iter().enumerate() {
            if e.applies_to_repository(repository) {
                entries.entry(e.id.as_str()).or_default().push(i);
            }
        }
        FindingsTally {
            policy,
            today: today.to_string(),
            entries,
            hits: vec![0; policy.allowlist.len()],
            seen: Counts::default(),
            report: FindingsReport::default(),
            top: BinaryHeap::with_capacity(TOP_FINDINGS + 1),
            top_n: TOP_FINDINGS,
            fail_certain: None,
        }
    }

    /// Sends on `tx` as soon as the findings counted so far reach one of the `fail`
    /// thresholds. Counts only grow as more findings are read (the allowlist and
    /// `ignore_unfixed` act per finding), so FAIL is then certain and the quarantine can start
    /// while the remaining pages are read.
    pub fn signal_fail_certain(
        &mut self,
        fail: crate::verdict::Thresholds,
        tx: tokio::sync::oneshot::Sender<()>,
    ) {
        self.fail_certain = Some((fail, tx));
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
        let reached = self.fail_certain.as_ref().is_some_and(|(fail, _)| {
            fail.get(&finding.severity)
                .is_some_and(|min| self.report.counts.get(finding.severity) >= *min)
        });
        if reached {
            if let Some((_, tx)) = self.fail_certain.take() {
                // The receiver may be gone (no early quarantine wanted): nothing to do then.
                let _ = tx.send(());
            }
        }
        self.top.push(Reverse(Ranked(finding)));
        if self.top.len() > self.top_n {
            self.top.pop();
        }
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
