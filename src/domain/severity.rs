//! Severities and per-severity counts, shared by basic (ECR) and enhanced (Inspector) scanning.

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// A finding's severity, highest first. Basic scanning says `UNDEFINED` where Inspector says
/// `UNTRIAGED`; both are kept so counts match what the console shows.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Informational,
    Undefined,
    Untriaged,
}

impl Severity {
    pub const ALL: [Severity; 7] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Informational,
        Severity::Undefined,
        Severity::Untriaged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "CRITICAL",
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
            Severity::Informational => "INFORMATIONAL",
            Severity::Undefined => "UNDEFINED",
            Severity::Untriaged => "UNTRIAGED",
        }
    }

    /// Parses the upper-case name AWS uses. Unknown names give `None`.
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|sev| sev.as_str() == s)
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Number of findings per severity. Serialised with every severity present (zeros included),
/// so a consumer never has to guess whether a missing key means 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts([u64; 7]);

impl Counts {
    pub fn get(&self, severity: Severity) -> u64 {
        self.0[severity.index()]
    }

    pub fn set(&mut self, severity: Severity, n: u64) {
        self.0[severity.index()] = n;
    }

    pub fn add(&mut self, severity: Severity, n: u64) {
        let slot = &mut self.0[severity.index()];
        *slot = slot.saturating_add(n);
    }

    pub fn total(&self) -> u64 {
        self.0.iter().fold(0u64, |acc, n| acc.saturating_add(*n))
    }

    /// The highest severity with at least one finding.
    pub fn highest(&self) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| self.get(*s) > 0)
    }

    pub fn iter(&self) -> impl Iterator<Item = (Severity, u64)> + '_ {
        Severity::ALL.into_iter().map(|s| (s, self.get(s)))
    }

    /// Short human form, non-zero severities only: `CRITICAL 3, HIGH 1` (or `none`).
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| format!("{s} {n}"))
            .collect();
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join(", ")
        }
    }
}

impl Serialize for Counts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(7))?;
        for (sev, n) in self.iter() {
            map.serialize_entry(sev.as_str(), &n)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trips_every_severity_and_rejects_others() {
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
        }
        assert_eq!(Severity::parse("critical"), None);
        assert_eq!(Severity::parse("TOTAL"), None);
    }

    #[test]
    fn highest_and_summary_skip_zeros() {
        let mut c = Counts::default();
        assert_eq!(c.highest(), None);
        assert_eq!(c.summary(), "none");
        c.add(Severity::Medium, 2);
        c.add(Severity::High, 1);
        assert_eq!(c.highest(), Some(Severity::High));
        assert_eq!(c.summary(), "HIGH 1, MEDIUM 2");
        assert_eq!(c.total(), 3);
    }

    #[test]
    fn serialises_all_severities_with_zeros() {
        let mut c = Counts::default();
        c.set(Severity::Critical, 4);
        let v = serde_json::to_value(c).unwrap();
        assert_eq!(v["CRITICAL"], 4);
        assert_eq!(v["UNTRIAGED"], 0);
        assert_eq!(v.as_object().unwrap().len(), 7);
    }
}
