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
    /// The fix as people read it: the fixed version; `no fix` when the scanner says there is
    /// none; `fix unknown` when it does not say (basic scanning has no fix data).
    pub fn fix_text(&self) -> String {
        match (&self.fixed_version, self.fix_available) {
            (Some(v), _) => v.clone(),
            (None, FixState::No) => "no fix".to_string(),
            (None, FixState::Yes | FixState::Partial) => "fixed version not named".to_string(),
            (None, FixState::Unknown) => "fix unknown".to_string(),
        }
    }

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

/// A VEX statement that removed findings in one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VexUse {
    /// The document's `@id`.
    pub document: String,
    /// Where the document was read (`vex[0]`, `parameter /vex/base`, `exceptions /path/team`).
    pub source: String,
    /// The statement's position in the document, from 0.
    pub statement: usize,
    pub vulnerability: String,
    pub status: crate::policy::vex::VexStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    pub findings: u64,
}

impl VexUse {
    /// For a verdict's reasons: `1 finding excused by VEX https://… statement 0 (CVE-1
    /// not_affected: vulnerable_code_not_in_execute_path; exceptions /gate/team-a)`.
    pub fn reason(&self) -> String {
        let why = self
            .justification
            .as_deref()
            .map(|j| format!(": {}", crate::domain::image::truncate(j, 200)))
            .unwrap_or_default();
        format!(
            "{} finding{} excused by VEX {} statement {} ({} {}{why}; {})",
            self.findings,
            plural(self.findings),
            self.document,
            self.statement,
            self.vulnerability,
            self.status.as_str(),
            self.source
        )
    }
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
    /// Findings removed by a VEX statement (`not_affected`, `fixed`) about the image.
    #[serde(skip_serializing_if = "is_zero")]
    pub vex_excused: u64,
    /// The VEX statements that removed them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vex: Vec<VexUse>,
    /// Findings without a fix that `ignore_unfixed` left out.
    pub unfixed_ignored: u64,
    /// Findings the registry counted but did not list: they count, unjudged.
    pub unlisted: Counts,
    pub allowlist: AllowlistReport,
    /// The most important counting findings, most important first: at most [`TOP_FINDINGS`],
    /// or as many as [`FindingsTally::keep_top`] asked for.
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
    /// Entries that apply to this repository and name a package but no id.
    by_package: Vec<usize>,
    /// Every entry that applies to this repository, in policy order.
    applicable: Vec<usize>,
    repository: String,
    /// The image's digest, for VEX products that name one.
    digest: Option<String>,
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
        let mut by_package = Vec::new();
        let mut applicable = Vec::new();
        for (i, e) in policy.allowlist.iter().enumerate() {
            if !e.applies_to_repository(repository) {
                continue;
            }
            applicable.push(i);
            match e.id.as_deref() {
                Some(id) => entries.entry(id).or_default().push(i),
                None => by_package.push(i),
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
            by_package,
            applicable,
            repository: repository.to_string(),
            digest: None,
            hits: vec![0; policy.allowlist.len()],
            seen: Counts::default(),
            report: FindingsReport::default(),
            top: BinaryHeap::with_capacity(TOP_FINDINGS + 1),
            top_n: TOP_FINDINGS,
            fail_signal: None,
        }
    }

    /// Keeps the `n` most important counting findings in the report's `top` instead of
    /// [`TOP_FINDINGS`]: the check's SARIF log lists up to 1000 (`crate::render::sarif`).
    pub fn keep_top(&mut self, n: usize) {
        self.top_n = n;
    }

    /// The image's digest, so that VEX statements about one image by digest apply.
    pub fn for_image(mut self, digest: Option<&crate::domain::image::Digest>) -> Self {
        self.digest = digest.map(|d| d.to_string());
        self
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
        let package = finding.package.as_deref();
        let allowlist = &self.policy.allowlist;
        let candidates: Vec<usize> = self
            .entries
            .get(finding.id.as_str())
            .into_iter()
            .flatten()
            .chain(self.by_package.iter())
            .copied()
            .filter(|i| allowlist[*i].applies_to_package(package))
            .collect();
        if !candidates.is_empty() {
            // A valid entry wins over an expired one.
            let valid = candidates
                .iter()
                .copied()
                .find(|i| !allowlist[*i].is_expired(&self.today));
            match valid {
                Some(i) => {
                    self.hits[i] += 1;
                    self.report.allowlisted += 1;
                    return;
                }
                None => candidates.iter().for_each(|i| self.hits[*i] += 1),
            }
        }
        if self.excused_by_vex(&finding) {
            return;
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

    /// Whether a VEX statement about this image removes the finding (and records it).
    fn excused_by_vex(&mut self, finding: &Finding) -> bool {
        if self.policy.vex.is_empty() {
            return false;
        }
        let image = crate::policy::vex::VexImage {
            repository: &self.repository,
            digest: self.digest.as_deref(),
        };
        let Some(d) = crate::policy::vex::decide(
            &self.policy.vex,
            &finding.id,
            finding.package.as_deref(),
            finding.installed_version.as_deref(),
            image,
        ) else {
            return false;
        };
        if !d.statement.status.excuses() {
            return false;
        }
        self.report.vex_excused += 1;
        let (document, statement) = (&d.document.id, d.statement.index);
        match self.report.vex.iter_mut().find(|u| {
            &u.document == document && u.statement == statement && u.source == d.document.source
        }) {
            Some(u) => u.findings += 1,
            None => self.report.vex.push(VexUse {
                document: document.clone(),
                source: d.document.source.clone(),
                statement,
                vulnerability: d.statement.vulnerability.clone(),
                status: d.statement.status,
                justification: d.statement.justification.clone(),
                findings: 1,
            }),
        }
        true
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
        for &i in &self.applicable {
            let e = &self.policy.allowlist[i];
            let use_ = AllowlistUse {
                id: e.label(),
                expires: e.expires.clone(),
                reason: e.reason.clone(),
                findings: self.hits[i],
            };
            if e.is_expired(&self.today) {
                if self.hits[i] > 0 {
                    self.report.allowlist.expired.push(use_);
                } else {
                    self.report.allowlist.unused.push(e.label());
                }
            } else if self.hits[i] > 0 {
                self.report.allowlist.applied.push(use_);
            } else {
                self.report.allowlist.unused.push(e.label());
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

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests;
