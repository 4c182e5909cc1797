//! The sweep's response (`"outcome": "swept"`): what it looked at, what it changed, and where it
//! stopped.

use super::request::Cursor;
use crate::domain::verdict::Verdict;
use serde::Serialize;
use std::collections::BTreeMap;

/// An image the sweep changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageId {
    pub repository: String,
    pub digest: String,
    /// The image's account and region, when the sweep named them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// The sweep's response (`"outcome": "swept"`). With a queue: `enqueued`; inline: `evaluated`,
/// `verdicts`, `quarantined`, `released`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct SweepReport {
    /// Images in scope that were listed.
    pub images: usize,
    pub passed_by_summary: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enqueued: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluated: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdicts: Option<BTreeMap<Verdict, usize>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantined: Option<Vec<ImageId>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released: Option<Vec<ImageId>>,
    /// Images with no scan result yet.
    pub unscanned: usize,
    /// `start_scans`: scans started, and scans ECR refused for today (its daily limit).
    pub scans_started: usize,
    pub scans_limited: usize,
    pub errors: Vec<String>,
    /// Every matching repository was listed and every image looked at.
    pub complete: bool,
    pub repositories: usize,
    pub repositories_done: usize,
    /// Where an incomplete sweep stopped: the repository it was in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_in: Option<String>,
    /// Where it stopped, to go on from (a queued sweep enqueues its continuation from there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_at: Option<Box<Cursor>>,
    /// A queued sweep that stopped at its deadline sent its continuation to the sweep queue.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub continued: bool,
}

impl SweepReport {
    /// A sweep that could not start in a place: the reason, and not complete.
    pub fn not_swept(reason: String, queued: bool) -> SweepReport {
        SweepReport {
            errors: vec![reason],
            complete: false,
            ..SweepReport::started(queued)
        }
    }

    /// An empty report of a sweep with a queue (`enqueued`) or inline.
    pub fn started(queued: bool) -> SweepReport {
        SweepReport {
            complete: true,
            enqueued: queued.then_some(0),
            evaluated: (!queued).then_some(0),
            verdicts: (!queued).then(BTreeMap::new),
            quarantined: (!queued).then(Vec::new),
            released: (!queued).then(Vec::new),
            ..SweepReport::default()
        }
    }

    /// Adds the report of the sweep of another place (account, region).
    pub fn absorb(&mut self, other: SweepReport) {
        fn add(a: &mut Option<usize>, b: Option<usize>) {
            if let Some(b) = b {
                *a.get_or_insert(0) += b;
            }
        }
        self.images += other.images;
        self.passed_by_summary += other.passed_by_summary;
        add(&mut self.enqueued, other.enqueued);
        add(&mut self.evaluated, other.evaluated);
        if let Some(v) = other.verdicts {
            let mine = self.verdicts.get_or_insert_with(BTreeMap::new);
            for (verdict, n) in v {
                *mine.entry(verdict).or_default() += n;
            }
        }
        if let Some(q) = other.quarantined {
            self.quarantined.get_or_insert_with(Vec::new).extend(q);
        }
        if let Some(r) = other.released {
            self.released.get_or_insert_with(Vec::new).extend(r);
        }
        self.unscanned += other.unscanned;
        self.scans_started += other.scans_started;
        self.scans_limited += other.scans_limited;
        self.errors.extend(other.errors);
        self.complete &= other.complete;
        self.repositories += other.repositories;
        self.repositories_done += other.repositories_done;
        if self.stopped_in.is_none() {
            self.stopped_in = other.stopped_in;
        }
        if self.resume_at.is_none() {
            self.resume_at = other.resume_at;
        }
        self.continued |= other.continued;
    }
}
