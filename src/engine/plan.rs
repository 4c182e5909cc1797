//! Planning the actions of a decision: quarantine (then strip) or release, on the image and on
//! the image indexes that list it, and the alerts. Reads the registry only where the decision
//! cannot be planned from what is known (tags read in this invocation or listed by the sweep).

use crate::domain::image::{truncate, Digest, ImageRef};
use crate::domain::quarantine::is_quarantine_tag;
use crate::domain::scan::{ScanEvent, Trigger};
use crate::domain::storage::{ImageStatus, Storage};
use crate::domain::verdict::Verdict;
use crate::engine::archive::ARCHIVED_NOT_TAGGED;
use crate::engine::gate::{Gate, GateError, Known};
use crate::engine::ports::{Deadline, Registry, RegistryError};
use crate::judgement::evaluation::{Action, ActionStatus, Evaluation};
use crate::policy::document::OnScanFailure;
use crate::policy::glob::glob_match;

impl<R: Registry> Gate<R> {
    /// Decides the actions. `early` is the outcome of a quarantine started while the findings
    /// were still read. A failed index look-up never stops the image's own quarantine, strip
    /// or alert: it is reported as a failed action of its own, so the invocation is retried.
    pub(crate) async fn plan(
        &self,
        ev: &mut Evaluation,
        event: &ScanEvent,
        early: Option<ActionStatus>,
        mut known: Known,
        today: &str,
        deadline: Deadline,
    ) -> Result<(), GateError> {
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
        let gone = matches!(
            ev.scan_status.as_deref(),
            Some("IMAGE_NOT_FOUND") | Some("REPOSITORY_NOT_FOUND")
        );
        // A sweep counts an image with no scan result as unscanned; it does not act on it.
        let unscanned_in_sweep =
            event.trigger == Trigger::Sweep && ev.scan_status.as_deref() == Some("SCAN_NOT_FOUND");
        if blocks && gone {
            // Nothing can be done for a deleted image; failing would only loop the event
            // through every retry into the dead-letter queue.
            ev.actions.push(Action::Quarantine {
                tag,
                status: ActionStatus::Skipped {
                    reason: "the image no longer exists in the registry: there is nothing to block"
                        .to_string(),
                },
            });
        } else if blocks && !unscanned_in_sweep {
            let mut storage = None;
            if !known.tags_fresh && ev.tags.is_empty() {
                // An event's tags are those at scan time: ask, so that an image tagged since
                // is quarantined itself. Unread, it is taken for a platform image.
                if let Ok(details) = self
                    .bounded(
                        self.registry.image_details(&ev.repository, &digest),
                        &ev.repository,
                        deadline,
                    )
                    .await
                {
                    ev.tags = details.tags;
                    known.tags_fresh = true;
                    storage = Some(Ok(details.storage));
                }
            }
            let storage = match storage {
                Some(read) => Some(read),
                None => {
                    self.storage_for_block(event, &ev.repository, &digest, deadline)
                        .await
                }
            };
            self.plan_block(ev, &digest, tag, early, known, storage, deadline)
                .await;
        } else if matches!(ev.verdict, Verdict::Pass | Verdict::Warn) {
            self.plan_release(ev, event, &digest, tag, known, today, deadline)
                .await?;
        }
        self.plan_alerts(ev);
        Ok(())
    }

    /// Quarantine (then strip, then archive) the image, and the indexes that list it when it
    /// can be a platform image.
    #[allow(clippy::too_many_arguments)]
    async fn plan_block(
        &self,
        ev: &mut Evaluation,
        digest: &Digest,
        tag: String,
        early: Option<ActionStatus>,
        known: Known,
        storage: Option<Result<Storage, RegistryError>>,
        deadline: Deadline,
    ) {
        let strip = !self.policy.strip_tags.is_empty();
        let look_up = known.can_be_platform
            && ev
                .tags
                .iter()
                .all(|t| is_quarantine_tag(t, &self.settings.quarantine_prefix));
        let (indexes, lookup_failed) = if look_up {
            match self
                .bounded(
                    self.registry.parents_of(&ev.repository, digest),
                    &ev.repository,
                    deadline,
                )
                .await
            {
                Ok(indexes) => (indexes, None),
                Err(e) => (Vec::new(), Some(e)),
            }
        } else {
            (Vec::new(), None)
        };
        // The registry's tags say the quarantine is in place: no BatchGetImage, no PutImage
        // (a sweep sees every quarantined image every night).
        let in_place = known.tags_fresh && ev.tags.contains(&tag);
        let image_status = match &storage {
            Some(Ok(s)) => Some(s.status),
            _ => None,
        };
        let status = match early {
            Some(status) => status,
            None if in_place => ActionStatus::AlreadyDone,
            None if image_status == Some(ImageStatus::Archived) => ActionStatus::Skipped {
                reason: ARCHIVED_NOT_TAGGED.to_string(),
            },
            None if image_status == Some(ImageStatus::Activating) => ActionStatus::Pending {
                reason: "ECR is restoring the image (ACTIVATING); the next evaluation or sweep quarantines it".to_string(),
            },
            // A platform image with no tag of its own: its indexes carry the block. A tag
            // on it could later be removed only by deleting it (its last tag).
            None if ev.tags.is_empty() && !indexes.is_empty() => ActionStatus::Skipped {
                reason: "an untagged platform image: the image indexes that list it are quarantined instead".to_string(),
            },
            None => ActionStatus::Planned,
        };
        // An untagged platform image skipped for its indexes is not archived either.
        let archivable = !matches!(status, ActionStatus::Skipped { .. })
            || image_status == Some(ImageStatus::Archived);
        ev.actions.push(Action::Quarantine { tag, status });
        if strip {
            let nothing_to_strip = in_place && !ev.tags.iter().any(|t| self.strippable(t));
            // Otherwise the tags to strip are known only once the quarantine tag is in place.
            ev.actions.push(Action::Strip {
                tags: Vec::new(),
                status: if nothing_to_strip {
                    ActionStatus::AlreadyDone
                } else {
                    ActionStatus::Planned
                },
            });
        }
        if archivable {
            if let Some(a) = self.plan_archive(ev, digest, storage, deadline).await {
                ev.actions.push(a);
            }
        }
        if let Some(e) = lookup_failed {
            ev.actions.push(Action::IndexLookup {
                status: ActionStatus::Failed {
                    error: format!(
                        "could not look up the image indexes that list {}: {}; the image's own quarantine went ahead, and the retry blocks its indexes",
                        digest.short(),
                        truncate(&e.to_string(), 500)
                    ),
                },
            });
        }
        ev.actions.extend(crate::engine::multiarch::block_actions(
            &indexes,
            &self.settings,
            strip,
        ));
    }

    /// A tag the policy strips from a quarantined image (`strip_tags`), never a quarantine tag.
    pub(crate) fn strippable(&self, tag: &str) -> bool {
        !is_quarantine_tag(tag, &self.settings.quarantine_prefix)
            && self.policy.strip_tags.iter().any(|g| glob_match(g, tag))
    }

    /// The release of the image's quarantine, and of the indexes quarantined for it.
    #[allow(clippy::too_many_arguments)]
    async fn plan_release(
        &self,
        ev: &mut Evaluation,
        event: &ScanEvent,
        digest: &Digest,
        tag: String,
        known: Known,
        today: &str,
        deadline: Deadline,
    ) -> Result<(), GateError> {
        let lookup_error = |what: &'static str, source: RegistryError| GateError::Lookup {
            what,
            repository: ev.repository.clone(),
            image: digest.to_string(),
            source,
        };
        // Events list the tags at scan time; an operator's invoke lists none, so ask.
        let direct = matches!(event.trigger, Trigger::DirectInvoke | Trigger::Sweep);
        if ev.tags.contains(&tag) || direct {
            let (current, storage) = match (known.tags_fresh, event.storage) {
                (true, Some(storage)) => (ev.tags.clone(), Some(storage)),
                _ => {
                    let details = self
                        .bounded(
                            self.registry.image_details(&ev.repository, digest),
                            &ev.repository,
                            deadline,
                        )
                        .await
                        .map_err(|e| lookup_error("read the tags of", e))?;
                    (details.tags, Some(details.storage))
                }
            };
            if current.contains(&tag) {
                let status = if current.len() == 1 {
                    ActionStatus::Skipped {
                        reason: "it is the image's only tag: removing it would delete the image; \
                                 tag the image again, then re-evaluate"
                            .to_string(),
                    }
                } else {
                    ActionStatus::Planned
                };
                // An archived image is restored first: released, it must be pullable.
                if status == ActionStatus::Planned {
                    ev.actions.extend(Self::plan_restore(storage.as_ref()));
                }
                ev.actions.push(Action::Release { tag, status });
            }
            ev.tags = current;
        }
        let untagged = ev
            .tags
            .iter()
            .all(|t| is_quarantine_tag(t, &self.settings.quarantine_prefix));
        if known.can_be_platform && untagged {
            // Possibly a platform image whose indexes were quarantined for it.
            let releases = self
                .index_releases(&ev.repository, digest, today, deadline)
                .await
                .map_err(|e| lookup_error("look up the image indexes that list", e))?;
            ev.actions.extend(releases);
        }
        Ok(())
    }

    /// Releases of the quarantined indexes that list `digest`, unless another of their
    /// platform images still blocks (judged on its own findings).
    async fn index_releases(
        &self,
        repository: &str,
        digest: &Digest,
        today: &str,
        deadline: Deadline,
    ) -> Result<Vec<Action>, RegistryError> {
        let indexes = self
            .bounded(
                self.registry.parents_of(repository, digest),
                repository,
                deadline,
            )
            .await?;
        let mut actions = Vec::new();
        for index in &indexes {
            let tag = self.settings.quarantine_tag(&index.digest);
            if !index.tags.contains(&tag) {
                continue;
            }
            let mut blocking = None;
            for sibling in index.children.iter().filter(|c| *c != digest) {
                let event =
                    ScanEvent::direct(repository.to_string(), ImageRef::Digest(sibling.clone()));
                let verdict = match self.decide(&event, today, deadline).await {
                    Ok(ev) => ev.verdict,
                    Err(GateError::Findings { source, .. } | GateError::Lookup { source, .. }) => {
                        return Err(source)
                    }
                    Err(other) => {
                        return Err(RegistryError::BadResponse {
                            operation: "DescribeImageScanFindings",
                            repository: repository.to_string(),
                            problem: other.to_string(),
                        })
                    }
                };
                if self.blocks(verdict) {
                    blocking = Some((sibling.clone(), verdict));
                    break;
                }
            }
            actions.push(crate::engine::multiarch::index_release(
                index, tag, blocking,
            ));
        }
        Ok(actions)
    }

    /// Whether a verdict blocks the image under the policy.
    pub(crate) fn blocks(&self, verdict: Verdict) -> bool {
        verdict == Verdict::Fail
            || (verdict == Verdict::Error && self.policy.on_scan_failure == OnScanFailure::Block)
    }

    /// A registry read within the deadline.
    pub(crate) async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, RegistryError>>,
        repository: &str,
        deadline: Deadline,
    ) -> Result<T, RegistryError> {
        deadline.bound(call).await.unwrap_or_else(|_| {
            Err(RegistryError::OutOfTime {
                repository: repository.to_string(),
                pages: 0,
                left: deadline.describe_left(),
            })
        })
    }

    fn plan_alerts(&self, ev: &mut Evaluation) {
        let released = ev.actions.iter().any(|a| {
            let change = match a {
                Action::OnIndex { change, .. } => change.as_ref(),
                other => other,
            };
            matches!(
                change,
                Action::Release {
                    status: ActionStatus::Planned,
                    ..
                }
            )
        });
        if self.policy.notifies(ev.verdict) || released {
            for n in &self.notifiers {
                ev.actions.push(Action::Alert {
                    channel: n.channel().to_string(),
                    status: ActionStatus::Planned,
                });
            }
        }
    }
}
