//! The gate: one image in, one decision out, actions carried out.
//!
//! Order of work, once an entry has read the input (`crate::entry::event`): decide (fast path
//! on the event's counts, else every finding) → plan the actions → run the registry chain
//! (quarantine, then strip; or release) beside the alerts → report. Every action is
//! idempotent, so a redelivered event repeats nothing but the alert.

use crate::domain::image::{truncate, ImageRef};
use crate::domain::scan::{EventError, EventScanStatus, ScanEvent, Trigger};
use crate::domain::severity::Counts;
use crate::domain::verdict::Verdict;
use crate::engine::ports::{Deadline, Notifier, Registry, RegistryError};
use crate::engine::settings::Settings;
use crate::judgement::evaluation::{Basis, Evaluation};
use crate::judgement::findings::FindingsTally;
use crate::judgement::judge::{judge, judge_findings};
use crate::policy::document::Policy;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error(transparent)]
    Event(#[from] EventError),
    /// Member accounts are on but the function cannot tell its own account.
    #[error("cannot route the image to its account: {0}")]
    Account(String),
    #[error("could not read the scan of {image} in {repository}: {source}")]
    Findings {
        repository: String,
        image: String,
        source: RegistryError,
    },
    /// A registry read other than the findings (the image's tags, the image indexes that list
    /// it) failed; `what` says which.
    #[error("could not {what} {image} in {repository}: {source}")]
    Lookup {
        what: &'static str,
        repository: String,
        image: String,
        source: RegistryError,
    },
    #[error("{verdict} for {repository}@{digest}: {} failed: {}", .failures.len(), .failures.join("; "))]
    Actions {
        verdict: Verdict,
        repository: String,
        digest: String,
        failures: Vec<String>,
        /// The decision with every action's outcome, for the log line and the metrics.
        evaluation: Box<Evaluation>,
    },
}

impl GateError {
    /// A short machine-readable kind, for Lambda's `errorType`.
    pub fn kind(&self) -> &'static str {
        match self {
            GateError::Event(_) => "InvalidEvent",
            GateError::Account(_) => "AccountUnknown",
            GateError::Findings {
                source: RegistryError::OutOfTime { .. },
                ..
            } => "DeadlineReached",
            GateError::Findings {
                source: RegistryError::AssumeRole { .. },
                ..
            } => "MemberRoleUnavailable",
            GateError::Findings { .. } => "FindingsUnavailable",
            GateError::Lookup {
                source: RegistryError::OutOfTime { .. },
                ..
            } => "DeadlineReached",
            GateError::Lookup {
                source: RegistryError::AssumeRole { .. },
                ..
            } => "MemberRoleUnavailable",
            GateError::Lookup { .. } => "RegistryUnavailable",
            GateError::Actions { .. } => "ActionsFailed",
        }
    }

    /// The evaluation when the decision was made but an action failed.
    pub fn evaluation(&self) -> Option<&Evaluation> {
        match self {
            GateError::Actions { evaluation, .. } => Some(evaluation),
            _ => None,
        }
    }
}

/// What is known of the image when its actions are planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    /// `Evaluation::tags` are the registry's now (read in this invocation, or listed by the
    /// sweep a moment ago), not an event's tags at scan time.
    pub tags_fresh: bool,
    /// The image can be a platform image of an image index: it has no deployable tag of its
    /// own (a tagged image is deployable by its tag and is quarantined itself) and is not an
    /// index. Only then are the indexes that list it looked up.
    pub can_be_platform: bool,
}

pub struct Gate<R> {
    pub registry: R,
    /// Shared, so that [`Gate::for_registry`] is cheap.
    pub notifiers: Vec<Arc<dyn Notifier>>,
    pub policy: Arc<Policy>,
    pub settings: Settings,
    /// How many counting findings an evaluation keeps, most important first
    /// ([`crate::judgement::findings::TOP_FINDINGS`]; the check's SARIF log asks for more).
    pub top_findings: usize,
}

impl<R: Registry> Gate<R> {
    pub fn new(registry: R, policy: Policy, settings: Settings) -> Self {
        Gate {
            registry,
            notifiers: Vec::new(),
            policy: Arc::new(policy),
            settings,
            top_findings: crate::judgement::findings::TOP_FINDINGS,
        }
    }

    pub fn with_notifier(mut self, notifier: Box<dyn Notifier>) -> Self {
        self.notifiers.push(Arc::from(notifier));
        self
    }

    /// The same gate (policy, settings, notifiers) on another registry, e.g. a member
    /// account's: cheap, nothing is copied but a few pointers.
    pub fn for_registry<R2: Registry>(&self, registry: R2) -> Gate<R2> {
        Gate {
            registry,
            notifiers: self.notifiers.clone(),
            policy: Arc::clone(&self.policy),
            settings: self.settings.clone(),
            top_findings: self.top_findings,
        }
    }

    /// The decision-and-action core that every entry calls (scan event, direct invoke, the
    /// pipeline check): decide, plan the actions, carry them out.
    ///
    /// When the event names a digest, the quarantine starts as soon as the findings read so
    /// far make FAIL certain, while the rest are still read for the counts and the alert: the
    /// time to quarantine does not grow with the number of findings.
    pub async fn evaluate(
        &self,
        event: &ScanEvent,
        today: &str,
        deadline: Deadline,
    ) -> Result<Evaluation, GateError> {
        // On the heap: the decision's state is tens of KB, and the entries nest it (queue
        // record, member registry, sweep); unboxed, a queue record of a member account took a
        // debug build past 1.4 MB of stack (test threads have 2 MB). One allocation per image.
        Box::pin(self.decide_and_act(event, today, deadline)).await
    }

    async fn decide_and_act(
        &self,
        event: &ScanEvent,
        today: &str,
        deadline: Deadline,
    ) -> Result<Evaluation, GateError> {
        let read = self.with_current_tags(event, deadline).await?;
        let tags_fresh = read.is_some() || event.trigger == Trigger::Sweep;
        let event = read.as_ref().unwrap_or(event);
        let in_place = tags_fresh
            && match &event.image {
                ImageRef::Digest(d) => event.tags.contains(&self.settings.quarantine_tag(d)),
                ImageRef::Tag(_) => false,
            };
        // An untagged image may be a platform image of an index: whether it gets a tag of its
        // own is decided once its indexes are known (see `plan`), so no early start then.
        // Never a tag on an archived image: a tag is a push, and a push restores it.
        let unpullable = event.storage.is_some_and(|s| s.unpullable());
        let early_start =
            !self.settings.dry_run && !event.tags.is_empty() && !in_place && !unpullable;
        let (mut evaluation, early) = match (&event.image, early_start) {
            (ImageRef::Digest(digest), true) => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                let early = async {
                    // Fires only when FAIL is certain; dropped (Err) when the reading ends.
                    rx.await.ok()?;
                    let tag = self.settings.quarantine_tag(digest);
                    Some(
                        self.quarantine(&event.repository, digest, &tag, deadline)
                            .await,
                    )
                };
                let (decided, early) =
                    tokio::join!(self.decide_with(event, today, deadline, Some(tx)), early);
                (decided?, early)
            }
            _ => (self.decide(event, today, deadline).await?, None),
        };
        let mut known = Known {
            tags_fresh,
            can_be_platform: true,
        };
        if evaluation.scan_status.as_deref() == Some("SCAN_NOT_FOUND") {
            // An image index is never scanned: it is judged through its platform images.
            let index = self
                .bounded(
                    self.registry.index_of(&event.repository, &event.image),
                    &event.repository,
                    deadline,
                )
                .await
                .map_err(|source| GateError::Lookup {
                    what: "read the manifest of",
                    repository: event.repository.clone(),
                    image: event.image.to_string(),
                    source,
                })?;
            if let Some(index) = index {
                evaluation = self.judge_index(event, &index, today, deadline).await?;
                known = Known {
                    tags_fresh: true,
                    can_be_platform: false,
                };
            }
        }
        if self.may_release_on_event_counts(&evaluation) {
            // An event's counts may be older than the registry's scan (redelivery, out of
            // order): a release is decided on the registry's current findings only.
            let fresh = ScanEvent {
                counts: None,
                ..event.clone()
            };
            evaluation = self.decide(&fresh, today, deadline).await?;
            evaluation.tags = event.tags.clone();
        }
        self.plan(&mut evaluation, event, early, known, today, deadline)
            .await?;
        self.act(&mut evaluation, event.redelivery, deadline)
            .await?;
        Ok(evaluation)
    }

    /// The request with the image's real tags, when it names a digest and lists no tags, or
    /// only the tag an operator named (direct invoke, queue record): a tagged platform image
    /// is deployable by its own tag and is quarantined itself. `None` when the request's tags
    /// stand (an event's tags at scan time; an event with counts is asked later, and only
    /// if its image is blocked).
    async fn with_current_tags(
        &self,
        event: &ScanEvent,
        deadline: Deadline,
    ) -> Result<Option<ScanEvent>, GateError> {
        let ImageRef::Digest(digest) = &event.image else {
            return Ok(None);
        };
        let ask = event.trigger == Trigger::DirectInvoke
            || (event.tags.is_empty() && event.counts.is_none());
        if !ask {
            return Ok(None);
        }
        match self
            .bounded(
                self.registry.image_details(&event.repository, digest),
                &event.repository,
                deadline,
            )
            .await
        {
            Ok(details) => Ok(Some(ScanEvent {
                tags: details.tags,
                storage: Some(details.storage),
                ..event.clone()
            })),
            // The decision says so (IMAGE_NOT_FOUND / REPOSITORY_NOT_FOUND).
            Err(e) if e.is_gone() => Ok(None),
            Err(source) => Err(GateError::Lookup {
                what: "read the tags of",
                repository: event.repository.clone(),
                image: digest.to_string(),
                source,
            }),
        }
    }

    /// Decides the verdict; reads the registry only when the event cannot decide alone.
    pub async fn decide(
        &self,
        event: &ScanEvent,
        today: &str,
        deadline: Deadline,
    ) -> Result<Evaluation, GateError> {
        self.decide_with(event, today, deadline, None).await
    }

    /// As [`Gate::decide`]; `fail_certain` fires as soon as the findings read so far reach a
    /// fail threshold.
    async fn decide_with(
        &self,
        event: &ScanEvent,
        today: &str,
        deadline: Deadline,
        fail_certain: Option<tokio::sync::oneshot::Sender<()>>,
    ) -> Result<Evaluation, GateError> {
        let thresholds = self.policy.thresholds_for(&event.repository);
        let event_digest = match &event.image {
            ImageRef::Digest(d) => Some(d.clone()),
            ImageRef::Tag(_) => None,
        };
        let mut ev = Evaluation {
            verdict: Verdict::Error,
            repository: event.repository.clone(),
            digest: event_digest,
            tags: event.tags.clone(),
            trigger: event.trigger.clone(),
            counts: Counts::default(),
            highest_severity: None,
            reasons: Vec::new(),
            basis: Basis::ScanStatus,
            scan_status: None,
            findings: None,
            actions: Vec::new(),
            dry_run: self.settings.dry_run,
            region: event.region.clone(),
            account: event.account.clone(),
        };

        let event_counts = match event.status {
            EventScanStatus::NotComplete(_) => None,
            _ => event.counts.as_ref(),
        };
        if let Some(counts) = event_counts {
            // PASS on counts alone holds only where they prove that no finding meets a
            // condition either; the unlisted findings are taken at the worst severity.
            if crate::judgement::fast_path::counts_prove_pass(
                &self.policy,
                &event.repository,
                counts,
                crate::judgement::fast_path::Unlisted::any(event.counts_unlisted),
            ) {
                let (verdict, reasons) = judge(&thresholds, counts);
                ev.verdict = verdict;
                ev.counts = *counts;
                ev.highest_severity = counts.highest();
                ev.reasons = reasons;
                ev.basis = Basis::EventCounts;
                ev.scan_status = Some("COMPLETE".to_string());
                return Ok(ev);
            }
        }

        // The event is only the trigger: the registry's current scan decides, so a late
        // FAILED event cannot overrule a newer COMPLETE scan.
        let mut tally = FindingsTally::new(&self.policy, &event.repository, today).for_image(
            match &event.image {
                ImageRef::Digest(d) => Some(d),
                ImageRef::Tag(_) => None,
            },
        );
        tally.keep_top(self.top_findings);
        if let Some(tx) = fail_certain {
            // The receiver may be gone (no early quarantine wanted): nothing to do then.
            tally.signal_fail_certain(Box::new(move || {
                let _ = tx.send(());
            }));
        }
        let scan = match self
            .registry
            .scan_findings(&event.repository, &event.image, &mut tally, deadline)
            .await
        {
            Ok(scan) => scan,
            Err(e) if e.is_missing() => {
                if let EventScanStatus::NotComplete(status) = &event.status {
                    // The registry keeps no result of a scan that could not run: the event's
                    // status is then the best word there is.
                    ev.reasons.push(scan_not_complete_reason(status, None));
                    if matches!(e, RegistryError::ScanNotFound { .. }) {
                        ev.scan_status = Some(status.clone());
                        return Ok(ev);
                    }
                }
                ev.scan_status = e.missing_status().map(str::to_string);
                ev.reasons.push(e.to_string());
                return Ok(ev);
            }
            Err(source) => {
                return Err(GateError::Findings {
                    repository: event.repository.clone(),
                    image: event.image.to_string(),
                    source,
                })
            }
        };
        ev.digest = Some(scan.digest.clone());
        ev.scan_status = Some(scan.status.clone());
        let late_event = match &event.status {
            EventScanStatus::NotComplete(status) if scan.is_complete() => Some(format!(
                "the event reported scan status {status}, but the registry's current scan is {}: the current scan decides",
                scan.status
            )),
            _ => None,
        };
        if !scan.is_complete() {
            ev.reasons.push(scan_not_complete_reason(
                &scan.status,
                scan.description.as_deref(),
            ));
            return Ok(ev);
        }
        let report = tally.finish(scan.reported.as_ref());
        let (verdict, mut reasons) =
            judge_findings(&thresholds, &report.counts, &report.conditions);
        if let Trigger::EnhancedFinding {
            vulnerability_id,
            severity,
        } = &event.trigger
        {
            let sev = severity.map(|s| format!(" ({s})")).unwrap_or_default();
            reasons.push(format!(
                "re-evaluated after Inspector reported {vulnerability_id}{sev}"
            ));
        }
        reasons.extend(late_event);
        for e in &report.allowlist.expired {
            reasons.push(format!(
                "allowlist entry {} expired on {} and no longer applies ({} finding{})",
                e.id,
                e.expires.as_deref().unwrap_or("?"),
                e.findings,
                if e.findings == 1 { "" } else { "s" }
            ));
        }
        reasons.extend(report.vex.iter().map(|u| u.reason()));
        if report.unlisted.total() > 0 {
            reasons.push(format!(
                "the registry counted findings it did not list ({}); they count as reported",
                report.unlisted.summary()
            ));
        }
        ev.verdict = verdict;
        ev.counts = report.counts;
        ev.highest_severity = report.counts.highest();
        ev.reasons = reasons;
        ev.basis = Basis::Findings;
        ev.findings = Some(report);
        Ok(ev)
    }

    fn may_release_on_event_counts(&self, ev: &Evaluation) -> bool {
        ev.basis == Basis::EventCounts
            && ev
                .digest
                .as_ref()
                .is_some_and(|d| ev.tags.contains(&self.settings.quarantine_tag(d)))
    }
}

fn scan_not_complete_reason(status: &str, description: Option<&str>) -> String {
    match description {
        Some(d) if !d.is_empty() => format!("scan status {status}: {}", truncate(d, 500)),
        _ => format!("scan status {status}: the image could not be judged"),
    }
}
