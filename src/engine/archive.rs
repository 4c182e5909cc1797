//! The hard block (policy `block.archive`): planning the archive of a failing image once its
//! quarantine tag is in place, and the restore of an archived image that no longer fails.
//! ECR answers 404 to every pull of an archived image, from any client.

use crate::domain::image::{truncate, Digest};
use crate::domain::scan::ScanEvent;
use crate::domain::storage::{in_use, ImageStatus, Storage};
use crate::domain::verdict::Verdict;
use crate::engine::gate::Gate;
use crate::engine::ports::{Deadline, Registry, RegistryError};
use crate::judgement::evaluation::{Action, ActionStatus, Evaluation};
use crate::policy::enforcement::ArchiveMode;

/// Why a quarantine tag is not added to an archived image: `PutImage` is a push, and ECR
/// restores an archived image that is pushed again.
pub const ARCHIVED_NOT_TAGGED: &str = "the image is archived, so no client can pull it; adding a tag is a push, which would restore it";

impl<R: Registry> Gate<R> {
    /// The image's storage: as the sweep listed it, or read now when the archive needs it.
    /// `None` when it is not known and not needed (`block.archive` off).
    pub(crate) async fn storage_for_block(
        &self,
        event: &ScanEvent,
        repository: &str,
        digest: &Digest,
        deadline: Deadline,
    ) -> Option<Result<Storage, RegistryError>> {
        if let Some(storage) = event.storage {
            return Some(Ok(storage));
        }
        if self.policy.block.archive == ArchiveMode::Off {
            return None;
        }
        Some(
            self.bounded(
                self.registry.image_details(repository, digest),
                repository,
                deadline,
            )
            .await
            .map(|d| d.storage),
        )
    }

    /// The archive action of a failing image whose quarantine is planned or in place, by the
    /// policy's `block.archive` and what is known of its storage and use.
    pub(crate) async fn plan_archive(
        &self,
        ev: &Evaluation,
        digest: &Digest,
        storage: Option<Result<Storage, RegistryError>>,
        deadline: Deadline,
    ) -> Option<Action> {
        let mode = self.policy.block.archive;
        if mode == ArchiveMode::Off || ev.verdict != Verdict::Fail {
            return None;
        }
        let storage = match storage? {
            Ok(storage) => storage,
            Err(e) => {
                return Some(archive(ActionStatus::Failed {
                    error: format!(
                        "could not read the image's storage: {}; it was not archived",
                        truncate(&e.to_string(), 500)
                    ),
                }))
            }
        };
        let status = match storage.status {
            ImageStatus::Archived => ActionStatus::AlreadyDone,
            ImageStatus::Activating => ActionStatus::Pending {
                reason: "ECR is restoring the image (ACTIVATING); the next evaluation or sweep archives it again".to_string(),
            },
            ImageStatus::Active if mode == ArchiveMode::Always => ActionStatus::Planned,
            ImageStatus::Active => self.unused_or_why(ev, digest, &storage, deadline).await,
        };
        Some(archive(status))
    }

    /// `Planned` when nothing says the image is in use; otherwise skipped, saying since when.
    async fn unused_or_why(
        &self,
        ev: &Evaluation,
        digest: &Digest,
        storage: &Storage,
        deadline: Deadline,
    ) -> ActionStatus {
        let days = self.policy.block.in_use_days;
        let now = now_s();
        // A recent pull settles it: Inspector need not be asked.
        if let Some(why) = in_use(storage, None, days, now) {
            return in_use_status(&why);
        }
        let inspector = match self
            .bounded(
                self.registry.inspector_use(&ev.repository, digest),
                &ev.repository,
                deadline,
            )
            .await
        {
            Ok(u) => u,
            Err(e) => {
                return ActionStatus::Failed {
                    error: format!(
                        "could not tell whether the image is in use (Amazon Inspector: {}); it was not archived",
                        truncate(&e.to_string(), 500)
                    ),
                }
            }
        };
        match in_use(storage, inspector.as_ref(), days, now) {
            Some(why) => in_use_status(&why),
            None => ActionStatus::Planned,
        }
    }

    /// The restore that goes before the release of an archived image; `None` when the image
    /// is pullable.
    pub(crate) fn plan_restore(storage: Option<&Storage>) -> Option<Action> {
        match storage.map(|s| s.status) {
            Some(ImageStatus::Archived) => Some(Action::Restore {
                status: ActionStatus::Planned,
            }),
            Some(ImageStatus::Activating) => Some(Action::Restore {
                status: ActionStatus::AlreadyDone,
            }),
            Some(ImageStatus::Active) | None => None,
        }
    }
}

fn archive(status: ActionStatus) -> Action {
    Action::Archive { status }
}

fn in_use_status(why: &str) -> ActionStatus {
    ActionStatus::Skipped {
        reason: format!(
            "the image is in use ({why}): archiving it would break the next task start or pod restart, so it is quarantined by tag only (block.archive = unused)"
        ),
    }
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
