//! The gate: one input in, one decision out, actions carried out.
//!
//! Order of work: parse → decide (fast path on the event's counts, else every finding) → plan
//! the actions → run the registry chain (quarantine, then strip; or release) beside the alerts →
//! report. Every action is idempotent, so a redelivered event repeats nothing but the alert.

use crate::alert_rule::{alerts_after_actions, AlertRule};
pub use crate::evaluation::{Action, ActionStatus, Basis, Evaluation, Response};
use crate::event::{self, Digest, EventError, EventScanStatus, ImageRef, ScanEvent, Trigger};
use crate::findings::FindingsTally;
use crate::policy::{glob_match, OnScanFailure, Policy};
use crate::ports::{Change, Deadline, Notifier, NotifyError, Registry, RegistryError};
use crate::severity::Counts;
use crate::verdict::{judge, Verdict};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error("could not read the scan of {image} in {repository}: {source}")]
    Findings {
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
            GateError::Findings {
                source: RegistryError::OutOfTime { .. },
                ..
            } => "DeadlineReached",
            GateError::Findings { .. } => "FindingsUnavailable",
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

/// Settings that come from the environment (the function's contract in the README), read once at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub quarantine_prefix: String,
    pub dry_run: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            quarantine_prefix: "quarantine-".to_string(),
            dry_run: false,
        }
    }
}

/// Longest prefix that still leaves room for the 64 hex digits in a 128-character tag.
pub const MAX_PREFIX_LEN: usize = 64;

/// A quarantine prefix must make valid tags: letters, digits, `_`, `.`, `-`, starting with a
/// letter, digit or `_`, at most 64 characters.
pub fn validate_prefix(prefix: &str) -> Result<(), String> {
    let first_ok = prefix
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    if !first_ok
        || prefix.len() > MAX_PREFIX_LEN
        || !prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        return Err(format!(
            "must be 1 to {MAX_PREFIX_LEN} characters of letters, digits, `_`, `.`, `-`, starting with a letter, digit or `_`; got {:?}",
            event::truncate(prefix, 80)
        ));
    }
    Ok(())
}

impl Settings {
    /// The quarantine tag of a digest: the prefix and the digest's 64 hex digits, so it is the
    /// same on every delivery and names the image it blocks.
    pub fn quarantine_tag(&self, digest: &Digest) -> String {
        format!("{}{}", self.quarantine_prefix, digest.hex())
    }
}

pub struct Gate<R> {
    pub registry: R,
    pub notifiers: Vec<Box<dyn Notifier>>,
    pub policy: Policy,
    pub settings: Settings,
}

impl<R: Registry> Gate<R> {
    pub fn new(registry: R, policy: Policy, settings: Settings) -> Self {
        Gate {
            registry,
            notifiers: Vec::new(),
            policy,
            settings,
        }
    }

    pub fn with_notifier(mut self, notifier: Box<dyn Notifier>) -> Self {
        self.notifiers.push(notifier);
        self
    }

    /// Handles one input. `today` (`YYYY-MM-DD`, UTC) decides allowlist expiry.
    pub async fn handle(&self, input: &Value, today: &str) -> Result<Response, GateError> {
        self.handle_until(input, today, Deadline::none()).await
    }

    /// As [`Gate::handle`], within the Lambda invocation's deadline.
    pub async fn handle_until(
        &self,
        input: &Value,
        today: &str,
        deadline: Deadline,
    ) -> Result<Response, GateError> {
        let event = match event::parse(input)? {
            event::Event::Ignored(reason) => return Ok(Response::Ignored { reason }),
            event::Event::Scan(e) => e,
        };
        let evaluation = self.evaluate(&event, today, deadline).await?;
        Ok(Response::Evaluated(Box::new(evaluation)))
    }

    /// The decision-and-action core that every entry calls (scan event, direct invoke, the
    /// pipeline check): decide, plan the actions, carry them out.
    pub async fn evaluate(
        &self,
        event: &ScanEvent,
        today: &str,
        deadline: Deadline,
    ) -> Result<Evaluation, GateError> {
        let mut evaluation = self.decide(event, today, deadline).await?;
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
        self.plan(&mut evaluation, event).await?;
        self.act(&mut evaluation, deadline).await?;
        Ok(evaluation)
    }

    /// Decides the verdict; reads the registry only when the event cannot decide alone.
    pub async fn decide(
        &self,
        event: &ScanEvent,
        today: &str,
        deadline: Deadline,
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

        if let EventScanStatus::NotComplete(status) = &event.status {
            ev.scan_status = Some(status.clone());
            // The event does not say why; the registry's description usually does. Best effort:
            // the verdict is ERROR whatever it answers.
            let mut scratch = FindingsTally::new(&self.policy, &event.repository, today);
            let detail = match self
                .registry
                .scan_findings(&event.repository, &event.image, &mut scratch, deadline)
                .await
            {
                Ok(scan) => scan.description,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the description of the failed scan");
                    None
                }
            };
            ev.reasons
                .push(scan_not_complete_reason(status, detail.as_deref()));
            return Ok(ev);
        }

        if let Some(counts) = &event.counts {
            let (verdict, reasons) = judge(&thresholds, counts);
            if verdict == Verdict::Pass {
                ev.verdict = verdict;
                ev.counts = *counts;
                ev.highest_severity = counts.highest();
                ev.reasons = reasons;
                ev.basis = Basis::EventCounts;
                ev.scan_status = Some("COMPLETE".to_string());
                return Ok(ev);
            }
        }

        let mut tally = FindingsTally::new(&self.policy, &event.repository, today);
        let scan = match self
            .registry
            .scan_findings(&event.repository, &event.image, &mut tally, deadline)
            .await
        {
            Ok(scan) => scan,
            Err(e) if e.is_missing() => {
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
        if !scan.is_complete() {
            ev.reasons.push(scan_not_complete_reason(
                &scan.status,
                scan.description.as_deref(),
            ));
            return Ok(ev);
        }
        let report = tally.finish(scan.reported.as_ref());
        let (verdict, mut reasons) = judge(&thresholds, &report.counts);
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
        for e in &report.allowlist.expired {
            reasons.push(format!(
                "allowlist entry {} expired on {} and no longer applies ({} finding{})",
                e.id,
                e.expires.as_deref().unwrap_or("?"),
                e.findings,
                if e.findings == 1 { "" } else { "s" }
            ));
        }
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

    /// Decides the actions. Reads the image's current tags only when a release may be due.
    async fn plan(&self, ev: &mut Evaluation, event: &ScanEvent) -> Result<(), GateError> {
        let Some(digest) = ev.digest.clone() else {
            self.plan_alerts(ev);
            return Ok(());
        };
        let tag = self.settings.quarantine_tag(&digest);
        let blocks = match ev.verdict {
            Verdict::Fail => true,
            Verdict::Error => self.policy.on_scan_failure == OnScanFailure::Block,
            Verdict::Pass | Verdict::Warn => false,
        };
        if blocks {
            ev.actions.push(Action::Quarantine {
                tag,
                status: ActionStatus::Planned,
            });
            if !self.policy.strip_tags.is_empty() {
                // The tags to strip are known only once the quarantine tag is in place.
                ev.actions.push(Action::Strip {
                    tags: Vec::new(),
                    status: ActionStatus::Planned,
                });
            }
        } else if matches!(ev.verdict, Verdict::Pass | Verdict::Warn) {
            // Events list the tags at scan time; an operator's invoke and the sweep's queue
            // message list none, so ask.
            let maybe_quarantined = ev.tags.contains(&tag)
                || matches!(event.trigger, Trigger::DirectInvoke | Trigger::Sweep);
            if maybe_quarantined {
                let current = self
                    .registry
                    .image_tags(&ev.repository, &digest)
                    .await
                    .map_err(|source| GateError::Findings {
                        repository: ev.repository.clone(),
                        image: digest.to_string(),
                        source,
                    })?;
                if current.contains(&tag) {
                    let status = if current.len() == 1 {
                        ActionStatus::Skipped {
                            reason:
                                "it is the image's only tag: removing it would delete the image; \
                                     tag the image again, then re-evaluate"
                                    .to_string(),
                        }
                    } else {
                        ActionStatus::Planned
                    };
                    ev.actions.push(Action::Release { tag, status });
                }
                ev.tags = current;
            }
        }
        self.plan_alerts(ev);
        Ok(())
    }

    fn plan_alerts(&self, ev: &mut Evaluation) {
        if AlertRule::for_trigger(&ev.trigger) == AlertRule::OnChangeOnly {
            // Decided once the registry answered (`act`).
            return;
        }
        let released = ev.actions.iter().any(|a| {
            matches!(
                a,
                Action::Release {
                    status: ActionStatus::Planned,
                    ..
                }
            )
        });
        if self.policy.notifies(ev.verdict) || released {
            self.push_alert_actions(ev);
        }
    }

    fn push_alert_actions(&self, ev: &mut Evaluation) {
        for n in &self.notifiers {
            ev.actions.push(Action::Alert {
                channel: n.channel().to_string(),
                status: ActionStatus::Planned,
            });
        }
    }

    /// Sends `alert` on every channel it has an `Alert` action for.
    async fn send_alerts(
        &self,
        alert: &Evaluation,
    ) -> Vec<(&'static str, Result<(), NotifyError>)> {
        futures_util::future::join_all(
            self.notifiers
                .iter()
                .filter(|n| {
                    alert.actions.iter().any(
                        |a| matches!(a, Action::Alert { channel, .. } if channel == n.channel()),
                    )
                })
                .map(|n| async { (n.channel(), n.notify(alert).await) }),
        )
        .await
    }

    /// Carries out the planned actions: the registry chain and the alerts run concurrently (for
    /// the sweep, which alerts only on a change, the alerts follow the chain); a failure of one
    /// does not stop the others, and fails the invocation afterwards.
    async fn act(&self, ev: &mut Evaluation, deadline: Deadline) -> Result<(), GateError> {
        if self.settings.dry_run {
            for a in &mut ev.actions {
                if *a.status() == ActionStatus::Planned {
                    *a.status_mut() = ActionStatus::DryRun;
                }
            }
            return Ok(());
        }
        let registry_chain = self.registry_chain(
            ev.repository.clone(),
            ev.digest.clone(),
            ev.actions.clone(),
            deadline,
        );
        let rule = AlertRule::for_trigger(&ev.trigger);
        let (mut actions, alert_results) = if rule == AlertRule::OnChangeOnly {
            // Whether the state changed is known only once the registry answered: the alerts
            // follow the chain instead of running beside it.
            ev.actions = registry_chain.await;
            if alerts_after_actions(rule, ev) {
                self.push_alert_actions(ev);
            }
            let alert = ev.clone();
            let results = self.send_alerts(&alert).await;
            (alert.actions, results)
        } else {
            let alert = ev.clone();
            tokio::join!(registry_chain, self.send_alerts(&alert))
        };
        for a in &mut actions {
            if let Action::Alert { channel, status } = a {
                if let Some((_, result)) = alert_results.iter().find(|(c, _)| c == channel) {
                    *status = match result {
                        Ok(()) => ActionStatus::Done,
                        Err(e) => ActionStatus::Failed {
                            error: e.message.clone(),
                        },
                    };
                }
            }
        }
        ev.actions = actions;
        let failures: Vec<String> = ev
            .actions
            .iter()
            .filter(|a| matches!(a.status(), ActionStatus::Failed { .. }))
            .map(Action::describe)
            .collect();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(GateError::Actions {
                verdict: ev.verdict,
                repository: ev.repository.clone(),
                digest: ev
                    .digest
                    .as_ref()
                    .map(Digest::to_string)
                    .unwrap_or_default(),
                failures,
                evaluation: Box::new(ev.clone()),
            })
        }
    }

    /// Quarantine, then strip (only once the quarantine tag is in place); or release.
    async fn registry_chain(
        &self,
        repository: String,
        digest: Option<Digest>,
        mut actions: Vec<Action>,
        deadline: Deadline,
    ) -> Vec<Action> {
        let Some(digest) = digest else {
            return actions;
        };
        let mut quarantined = false;
        for a in &mut actions {
            let is_change = matches!(
                a,
                Action::Quarantine { .. } | Action::Strip { .. } | Action::Release { .. }
            );
            if is_change
                && *a.status() == ActionStatus::Planned
                && !deadline.allows(Deadline::CHANGE_RESERVE)
            {
                // Not started rather than cut off half-way; the failure makes Lambda retry.
                *a.status_mut() = ActionStatus::Failed {
                    error: format!("not started: {}", deadline.describe_left()),
                };
                continue;
            }
            match a {
                Action::Quarantine { tag, status } => {
                    let change = self.registry.add_tag(&repository, &digest, tag);
                    *status = match within(deadline, "BatchGetImage/PutImage", &repository, change)
                        .await
                    {
                        Ok(Change::Done) => ActionStatus::Done,
                        Ok(Change::AlreadyDone) => ActionStatus::AlreadyDone,
                        Err(e) => ActionStatus::Failed {
                            error: e.to_string(),
                        },
                    };
                    quarantined = matches!(status, ActionStatus::Done | ActionStatus::AlreadyDone);
                }
                Action::Strip { tags, status } => {
                    if !quarantined {
                        *status = ActionStatus::Skipped {
                            reason: "the quarantine tag is not in place, so no tag is removed"
                                .to_string(),
                        };
                        continue;
                    }
                    let prefix = self.settings.quarantine_prefix.as_str();
                    let deployable = |t: &str| {
                        !t.starts_with(prefix)
                            && self.policy.strip_tags.iter().any(|g| glob_match(g, t))
                    };
                    let change = self.registry.remove_tags(&repository, &digest, &deployable);
                    *status = match within(deadline, "BatchDeleteImage", &repository, change).await
                    {
                        Ok(removed) if removed.is_empty() => ActionStatus::AlreadyDone,
                        Ok(removed) => {
                            *tags = removed;
                            ActionStatus::Done
                        }
                        Err(e) => ActionStatus::Failed {
                            error: e.to_string(),
                        },
                    };
                }
                Action::Release { tag, status } if *status == ActionStatus::Planned => {
                    let selected = |t: &str| t == tag.as_str();
                    let change = self.registry.remove_tags(&repository, &digest, &selected);
                    *status = match within(deadline, "BatchDeleteImage", &repository, change).await
                    {
                        Ok(removed) if removed.is_empty() => ActionStatus::AlreadyDone,
                        Ok(_) => ActionStatus::Done,
                        Err(e) => ActionStatus::Failed {
                            error: e.to_string(),
                        },
                    };
                }
                _ => {}
            }
        }
        actions
    }
}

/// Runs a started tag change until the deadline less `Deadline::FINISH_MARGIN`: its throttling
/// retries may use the invocation's time, but not outlast it. An abandoned change is safe (every
/// change is idempotent) and fails the invocation, so the event is retried.
async fn within<T>(
    deadline: Deadline,
    operation: &'static str,
    repository: &str,
    change: impl std::future::Future<Output = Result<T, RegistryError>>,
) -> Result<T, RegistryError> {
    let Some(left) = deadline.remaining() else {
        return change.await;
    };
    match tokio::time::timeout(left.saturating_sub(Deadline::FINISH_MARGIN), change).await {
        Ok(result) => result,
        Err(_) => Err(RegistryError::Abandoned {
            operation,
            repository: repository.to_string(),
            left: deadline.describe_left(),
        }),
    }
}

fn scan_not_complete_reason(status: &str, description: Option<&str>) -> String {
    match description {
        Some(d) if !d.is_empty() => format!("scan status {status}: {}", event::truncate(d, 500)),
        _ => format!("scan status {status}: the image could not be judged"),
    }
}
