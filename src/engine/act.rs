//! Carrying out the planned actions: the registry chain (quarantine, then strip; or release;
//! the same on every image index that lists the image) beside the alerts, each outside call
//! within the invocation's deadline.

use crate::domain::image::{truncate, Digest};
use crate::domain::storage::{ImageStatus, StorageClass};
use crate::engine::alert_rule;
use crate::engine::alert_rule::AlertRule;
use crate::engine::gate::{Gate, GateError};
use crate::engine::ports::{Change, Deadline, Registry, RegistryError};
use crate::judgement::evaluation::{Action, ActionStatus, Evaluation};

impl<R: Registry> Gate<R> {
    /// Carries out the planned actions: the registry chain and the alerts run concurrently;
    /// a failure of one does not stop the others, and fails the invocation afterwards. An
    /// `Inspector2 Finding` event that may not need an alert runs the registry chain first and
    /// alerts only if it changed something, or if `redelivery` (see
    /// `crate::engine::alert_rule`).
    pub(crate) async fn act(
        &self,
        ev: &mut Evaluation,
        redelivery: bool,
        deadline: Deadline,
    ) -> Result<(), GateError> {
        if self.settings.dry_run {
            for a in &mut ev.actions {
                if *a.status() == ActionStatus::Planned {
                    *a.status_mut() = ActionStatus::DryRun;
                }
            }
            return Ok(());
        }
        let rule = alert_rule::rule_for(&ev.trigger, &self.policy.thresholds_for(&ev.repository));
        if rule == AlertRule::OnlyOnChange {
            let actions = self
                .registry_chain(
                    ev.repository.clone(),
                    ev.digest.clone(),
                    ev.actions.clone(),
                    deadline,
                )
                .await;
            ev.actions = actions;
            if !alert_rule::should_alert(rule, &ev.actions, redelivery) {
                for a in &mut ev.actions {
                    if let Action::Alert { status, .. } = a {
                        *status = ActionStatus::Skipped {
                            reason: alert_rule::UNCHANGED_REASON.to_string(),
                        };
                    }
                }
            }
            let alert = ev.clone();
            let results = self.send_alerts(&alert, deadline).await;
            apply_alert_results(&mut ev.actions, &results);
        } else {
            let alert = ev.clone();
            let registry_chain = self.registry_chain(
                ev.repository.clone(),
                ev.digest.clone(),
                ev.actions.clone(),
                deadline,
            );
            let (registry_actions, alert_results) =
                tokio::join!(registry_chain, self.send_alerts(&alert, deadline));
            ev.actions = registry_actions;
            apply_alert_results(&mut ev.actions, &alert_results);
        }
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

    /// Adds the quarantine tag within the deadline: the action's status.
    pub(crate) async fn quarantine(
        &self,
        repository: &str,
        digest: &Digest,
        tag: &str,
        deadline: Deadline,
    ) -> ActionStatus {
        if !deadline.allows(Deadline::CHANGE_RESERVE) {
            // Not started rather than cut off half-way; the failure makes Lambda retry.
            return ActionStatus::Failed {
                error: format!("not started: {}", deadline.describe_left()),
            };
        }
        match deadline
            .bound_change(self.registry.add_tag(repository, digest, tag))
            .await
        {
            Ok(Ok(Change::Done)) => ActionStatus::Done,
            Ok(Ok(Change::AlreadyDone)) => ActionStatus::AlreadyDone,
            Ok(Err(e)) if e.is_gone() => ActionStatus::Skipped {
                reason: format!("{e}: there is nothing left to block"),
            },
            Ok(Err(e)) => ActionStatus::Failed {
                error: e.to_string(),
            },
            Err(_) => abandoned("BatchGetImage/PutImage", repository, deadline),
        }
    }

    /// Sends the planned alerts concurrently, each within the deadline.
    async fn send_alerts(
        &self,
        alert: &Evaluation,
        deadline: Deadline,
    ) -> Vec<(&'static str, Result<(), String>)> {
        futures_util::future::join_all(
            self.notifiers
                .iter()
                .filter(|n| {
                    alert.actions.iter().any(|a| {
                        matches!(a, Action::Alert { channel, status: ActionStatus::Planned }
                            if channel == n.channel())
                    })
                })
                .map(|n| async move {
                    let result = match deadline.bound(n.notify(alert)).await {
                        Ok(Ok(())) => Ok(()),
                        Ok(Err(e)) => Err(e.message),
                        Err(_) => Err(format!(
                            "not finished before the Lambda deadline ({}); the event will be retried",
                            deadline.describe_left()
                        )),
                    };
                    (n.channel(), result)
                }),
        )
        .await
    }

    /// Quarantine, then strip (only once the quarantine tag is in place); or release. The same
    /// on every image index that lists the image (`Action::OnIndex`).
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
        let mut state = ChainState::default();
        for a in &mut actions {
            let (target, change) = match a {
                Action::OnIndex { index, change, .. } => (index.clone(), change.as_mut()),
                other => (digest.clone(), other),
            };
            self.change(&repository, &target, change, &mut state, deadline)
                .await;
        }
        actions
    }

    /// Carries out one planned registry change on `target`.
    async fn change(
        &self,
        repository: &str,
        target: &Digest,
        action: &mut Action,
        state: &mut ChainState,
        deadline: Deadline,
    ) {
        let quarantined = &mut state.quarantined;
        match action {
            Action::Quarantine { status, .. } if *status != ActionStatus::Planned => {
                // Done early, while the findings were read, or skipped at planning.
                let in_place = matches!(status, ActionStatus::Done | ActionStatus::AlreadyDone);
                quarantined.insert(target.clone(), in_place);
                return;
            }
            Action::Restore {
                status: ActionStatus::AlreadyDone,
            } => {
                // Known to be activating: a release may be refused until it is active.
                state.restoring.insert(target.clone());
                return;
            }
            _ => {}
        }
        let is_change = matches!(
            action,
            Action::Quarantine { .. }
                | Action::Strip { .. }
                | Action::Release { .. }
                | Action::Archive { .. }
                | Action::Restore { .. }
        );
        if !is_change || *action.status() != ActionStatus::Planned {
            return;
        }
        if !deadline.allows(Deadline::CHANGE_RESERVE) {
            // Not started rather than cut off half-way; the failure makes Lambda retry.
            *action.status_mut() = ActionStatus::Failed {
                error: format!("not started: {}", deadline.describe_left()),
            };
            return;
        }
        match action {
            Action::Quarantine { tag, status } => {
                *status = self.quarantine(repository, target, tag, deadline).await;
                let in_place = matches!(status, ActionStatus::Done | ActionStatus::AlreadyDone);
                quarantined.insert(target.clone(), in_place);
            }
            Action::Strip { tags, status } => {
                if !quarantined.get(target).copied().unwrap_or(false) {
                    *status = ActionStatus::Skipped {
                        reason: "the quarantine tag is not in place, so no tag is removed"
                            .to_string(),
                    };
                    return;
                }
                let deployable = |t: &str| self.strippable(t);
                *status = match deadline
                    .bound_change(self.registry.remove_tags(repository, target, &deployable))
                    .await
                {
                    Ok(Ok(removed)) if removed.is_empty() => ActionStatus::AlreadyDone,
                    Ok(Ok(removed)) => {
                        *tags = removed;
                        ActionStatus::Done
                    }
                    Ok(Err(e)) => ActionStatus::Failed {
                        error: e.to_string(),
                    },
                    Err(_) => abandoned("BatchDeleteImage", repository, deadline),
                };
            }
            Action::Release { tag, status } => {
                if state.unrestored.contains(target) {
                    *status = ActionStatus::Skipped {
                        reason: "the image could not be restored from the archive, so it keeps its quarantine tag".to_string(),
                    };
                    return;
                }
                *status = match deadline
                    .bound_change(
                        self.registry
                            .remove_tags(repository, target, &|t: &str| t == tag.as_str()),
                    )
                    .await
                {
                    Ok(Ok(removed)) if removed.is_empty() => ActionStatus::AlreadyDone,
                    Ok(Ok(_)) => ActionStatus::Done,
                    Ok(Err(e)) if state.restoring.contains(target) => ActionStatus::Pending {
                        reason: format!(
                            "ECR is restoring the image (ACTIVATING) and refused: {}; the next evaluation or sweep removes the quarantine tag",
                            truncate(&e.to_string(), 300)
                        ),
                    },
                    Ok(Err(e)) => ActionStatus::Failed {
                        error: e.to_string(),
                    },
                    Err(_) => abandoned("BatchDeleteImage", repository, deadline),
                };
            }
            Action::Archive { status } => {
                if !quarantined.get(target).copied().unwrap_or(false) {
                    *status = ActionStatus::Skipped {
                        reason: "the quarantine tag is not in place, so the image is not archived (the tag goes on first)".to_string(),
                    };
                    return;
                }
                *status = match self
                    .storage_change(repository, target, StorageClass::Archive, deadline)
                    .await
                {
                    Ok(ImageStatus::Archived) => ActionStatus::Done,
                    Ok(other) => ActionStatus::Failed {
                        error: format!(
                            "ECR answered imageStatus {} to the archive, not ARCHIVED",
                            other.as_str()
                        ),
                    },
                    Err(status) => status,
                };
            }
            Action::Restore { status } => {
                *status = match self
                    .storage_change(repository, target, StorageClass::Standard, deadline)
                    .await
                {
                    Ok(ImageStatus::Active) => ActionStatus::Done,
                    Ok(_) => {
                        state.restoring.insert(target.clone());
                        ActionStatus::Done
                    }
                    Err(status) => {
                        state.unrestored.insert(target.clone());
                        status
                    }
                };
            }
            _ => {}
        }
    }
}

/// What the chain has done so far, per image.
#[derive(Default)]
struct ChainState {
    /// Whether the quarantine tag is in place.
    quarantined: std::collections::HashMap<Digest, bool>,
    /// Images ECR is restoring from the archive (`ACTIVATING`).
    restoring: std::collections::HashSet<Digest>,
    /// Archived images whose restore did not happen: they stay quarantined.
    unrestored: std::collections::HashSet<Digest>,
}

impl<R: Registry> Gate<R> {
    /// `UpdateImageStorageClass` within the deadline: the image's status, or the action's
    /// status when it did not happen (an unsupported image is skipped, not retried forever).
    async fn storage_change(
        &self,
        repository: &str,
        target: &Digest,
        class: StorageClass,
        deadline: Deadline,
    ) -> Result<ImageStatus, ActionStatus> {
        match deadline
            .bound_change(self.registry.set_storage_class(repository, target, class))
            .await
        {
            Ok(Ok(status)) => Ok(status),
            Ok(Err(e)) if e.is_gone() => Err(ActionStatus::Skipped {
                reason: format!("{e}: there is nothing left to move"),
            }),
            Ok(Err(e @ RegistryError::Unsupported { .. })) => Err(ActionStatus::Skipped {
                reason: e.to_string(),
            }),
            Ok(Err(e)) => Err(ActionStatus::Failed {
                error: e.to_string(),
            }),
            Err(_) => Err(abandoned("UpdateImageStorageClass", repository, deadline)),
        }
    }
}

/// A registry change given up before the deadline: its outcome is unknown, and a retry (every
/// change is idempotent) finishes it.
pub(crate) fn abandoned(
    operation: &'static str,
    repository: &str,
    deadline: Deadline,
) -> ActionStatus {
    let error = crate::engine::ports::RegistryError::Abandoned {
        operation,
        repository: repository.to_string(),
        left: deadline.describe_left(),
    };
    ActionStatus::Failed {
        error: error.to_string(),
    }
}

fn apply_alert_results(actions: &mut [Action], results: &[(&'static str, Result<(), String>)]) {
    for a in actions {
        if let Action::Alert { channel, status } = a {
            if let Some((_, result)) = results.iter().find(|(c, _)| c == channel) {
                *status = match result {
                    Ok(()) => ActionStatus::Done,
                    Err(error) => ActionStatus::Failed {
                        error: error.clone(),
                    },
                };
            }
        }
    }
}
