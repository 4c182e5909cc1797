//! The outside world as the core sees it: the registry and the notifiers. Adapters in
//! `crate::adapters::aws` (and `crate::adapters::slack_webhook`) implement these; tests pass
//! fakes or the emulator.

use crate::domain::image::{Digest, ImageRef};
use crate::domain::severity::Counts;
use crate::domain::storage::{ImageStatus, InspectorUse, Storage, StorageClass};
use crate::judgement::findings::FindingsTally;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The scan of one image as the registry reports it; findings went into the tally.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanFindings {
    pub digest: Digest,
    /// `COMPLETE`, `ACTIVE` (continuous enhanced scanning), `FAILED`, `IN_PROGRESS`, ...
    pub status: String,
    pub description: Option<String>,
    /// The registry's own per-severity counts, when it gives them.
    pub reported: Option<Counts>,
}

impl ScanFindings {
    /// Findings can be judged: the scan finished (basic) or is continuously active (enhanced).
    pub fn is_complete(&self) -> bool {
        matches!(self.status.as_str(), "COMPLETE" | "ACTIVE")
    }
}

/// The Lambda invocation's deadline. Work that cannot finish in the time left is not started:
/// the invocation fails instead and the event is retried, so nothing is ever cut off half-way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    /// Time kept in hand to read one more page of findings (one attempt of the call).
    pub const PAGE_RESERVE: Duration = Duration::from_secs(5);
    /// Time kept in hand to start a tag change: the longest an AWS call may take with its
    /// retries (`aws::OPERATION_TIMEOUT`).
    pub const CHANGE_RESERVE: Duration = Duration::from_secs(12);
    /// Time kept in hand after the last outside call, to write the decision log line and the
    /// metric line before Lambda ends the invocation.
    pub const FINAL_RESERVE: Duration = Duration::from_millis(1500);
    /// A tag change that has started may go on (throttling retries) until this much is left:
    /// time to report and fail the invocation instead of being cut off by Lambda.
    pub const FINISH_MARGIN: Duration = Duration::from_secs(3);

    pub fn none() -> Deadline {
        Deadline(None)
    }

    pub fn at(instant: Instant) -> Deadline {
        Deadline(Some(instant))
    }

    /// Time left, or `None` when there is no deadline.
    pub fn remaining(&self) -> Option<Duration> {
        self.0.map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Whether at least `reserve` is left.
    pub fn allows(&self, reserve: Duration) -> bool {
        self.remaining().is_none_or(|left| left >= reserve)
    }

    /// Runs an outside call (an AWS request with its retries, an alert) but gives up when only
    /// [`Deadline::FINAL_RESERVE`] is left, so the invocation always ends with its log lines.
    pub fn bound<F: Future>(&self, call: F) -> impl Future<Output = Result<F::Output, OutOfTime>> {
        // Not an `async fn` wrapping the other: a second layer would hold the call's future
        // twice over (debug builds of the queue entry are near the test threads' stack).
        (*self).bound_leaving(Self::FINAL_RESERVE, call)
    }

    /// Runs a tag change that has started: its throttling retries may use the invocation's
    /// time, but it is given up [`Deadline::FINISH_MARGIN`] before the deadline, which leaves
    /// time for what follows it (an index lookup, the alerts, the log lines).
    pub fn bound_change<F: Future>(
        &self,
        change: F,
    ) -> impl Future<Output = Result<F::Output, OutOfTime>> {
        (*self).bound_leaving(Self::FINISH_MARGIN, change)
    }

    /// Runs `work` until only `margin` is left before the deadline.
    pub async fn bound_leaving<F: Future>(
        self,
        margin: Duration,
        work: F,
    ) -> Result<F::Output, OutOfTime> {
        match self.remaining() {
            None => Ok(work.await),
            Some(left) => tokio::time::timeout(left.saturating_sub(margin), work)
                .await
                .map_err(|_| OutOfTime),
        }
    }

    /// `1.2 s` left, for messages.
    pub fn describe_left(&self) -> String {
        match self.remaining() {
            Some(left) => format!(
                "{:.1} s left before the Lambda deadline",
                left.as_secs_f64()
            ),
            None => "no deadline".to_string(),
        }
    }
}

/// An outside call was given up at the deadline (see [`Deadline::bound`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("given up: the Lambda deadline is near")]
pub struct OutOfTime;

/// An image index (multi-arch image) and the platform images it lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexImage {
    pub digest: Digest,
    pub tags: Vec<String>,
    pub children: Vec<Digest>,
    /// The platform each child declares (`linux/arm64`), where the index says.
    pub platforms: Vec<(Digest, String)>,
}

impl IndexImage {
    /// `linux/arm64 (sha256:abcdef…)`, or the short digest when the index names no platform.
    pub fn platform_text(&self, child: &Digest) -> String {
        match self.platforms.iter().find(|(d, _)| d == child) {
            Some((_, platform)) => format!("{platform} ({})", child.short()),
            None => child.short().to_string(),
        }
    }
}

/// Whether a tag change did something or found it already done (at-least-once delivery).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Done,
    AlreadyDone,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("repository {repository} does not exist")]
    RepositoryNotFound { repository: String },
    #[error("image {image} does not exist in repository {repository}")]
    ImageNotFound { repository: String, image: String },
    #[error("no scan result for image {image} in repository {repository} (was it scanned?)")]
    ScanNotFound { repository: String, image: String },
    #[error(
        "repository {repository} has immutable tags, so the quarantine tag cannot be added: set \
         image_tag_mutability = \"IMMUTABLE_WITH_EXCLUSION\" with an exclusion filter \"{prefix}*\" (or MUTABLE)"
    )]
    ImmutableTags { repository: String, prefix: String },
    #[error("ECR {operation} on {repository} failed: {message}")]
    Call {
        operation: &'static str,
        repository: String,
        message: String,
    },
    #[error("stopped reading the findings of {repository} after {pages} page(s): {left}; the event will be retried")]
    OutOfTime {
        repository: String,
        pages: usize,
        left: String,
    },
    /// A member account's role could not be assumed (hub and member accounts): nothing was
    /// read or changed there. Retrying the same event will not help until the role is fixed.
    #[error(
        "cannot act in account {account}: the gate could not assume role {role_arn}: {message}"
    )]
    AssumeRole {
        account: String,
        role_arn: String,
        message: String,
    },
    #[error(
        "BatchDeleteImage in {repository} took tag {tag} off image {taken_from}, not off {meant_for}: \
         the tag moved between the read and the delete. {}",
        match .deleted {
            Some(true) => format!("It was that image's last tag, so ECR DELETED image {taken_from}: push it again to restore it"),
            Some(false) => format!("Image {taken_from} still exists: put the tag back with `aws ecr put-image --repository-name {repository} --image-tag {tag}` and its manifest (aws ecr batch-get-image --image-ids imageDigest={taken_from})"),
            None => format!("Whether ECR deleted image {taken_from} could not be checked: look for it, and push it again if it is gone"),
        }
    )]
    TagTakenFromOtherImage {
        repository: String,
        tag: String,
        meant_for: String,
        taken_from: String,
        /// Whether ECR deleted that image (it was its last tag); `None` when it could not be
        /// checked.
        deleted: Option<bool>,
    },
    #[error("image {image} in {repository} cannot be tagged: {problem}")]
    Unsupported {
        repository: String,
        image: String,
        problem: String,
    },
    #[error("ECR {operation} on {repository} abandoned: {left}; the event will be retried")]
    Abandoned {
        operation: &'static str,
        repository: String,
        left: String,
    },
    #[error("ECR {operation} on {repository} returned an unusable response: {problem}")]
    BadResponse {
        operation: &'static str,
        repository: String,
        problem: String,
    },
}

impl RegistryError {
    /// The image or its scan is not there: retrying will not help, the verdict is ERROR.
    pub fn is_missing(&self) -> bool {
        self.missing_status().is_some()
    }

    /// The image (or its repository) no longer exists: nothing can be done for it.
    pub fn is_gone(&self) -> bool {
        matches!(
            self,
            RegistryError::RepositoryNotFound { .. } | RegistryError::ImageNotFound { .. }
        )
    }

    /// What is missing, as the scan status the response reports.
    pub fn missing_status(&self) -> Option<&'static str> {
        match self {
            RegistryError::RepositoryNotFound { .. } => Some("REPOSITORY_NOT_FOUND"),
            RegistryError::ImageNotFound { .. } => Some("IMAGE_NOT_FOUND"),
            RegistryError::ScanNotFound { .. } => Some("SCAN_NOT_FOUND"),
            _ => None,
        }
    }
}

/// An image's tags and storage as the registry reports them now (`DescribeImages`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageDetails {
    pub tags: Vec<String>,
    pub storage: Storage,
}

/// Picks tags by name (for `Registry::remove_tags`).
pub type TagSelector<'a> = dyn Fn(&str) -> bool + Send + Sync + 'a;

/// The container registry (ECR).
pub trait Registry: Send + Sync {
    /// Reads the scan status and every page of findings of one image into `tally`; stops with
    /// `OutOfTime` rather than start a page the deadline leaves no time for.
    fn scan_findings(
        &self,
        repository: &str,
        image: &ImageRef,
        tally: &mut FindingsTally<'_>,
        deadline: Deadline,
    ) -> impl Future<Output = Result<ScanFindings, RegistryError>> + Send;

    /// The tags the image carries now.
    fn image_tags(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> impl Future<Output = Result<Vec<String>, RegistryError>> + Send;

    /// The tags and the storage (archived or not, last pull) of the image, archived images
    /// included. A registry without archive reports every image active and never pulled.
    fn image_details(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> impl Future<Output = Result<ImageDetails, RegistryError>> + Send {
        async move {
            Ok(ImageDetails {
                tags: self.image_tags(repository, digest).await?,
                storage: Storage::active(),
            })
        }
    }

    /// Moves the image to `class` (`UpdateImageStorageClass`): `Archive` makes every pull of it
    /// answer 404; `Standard` restores it. Returns the image's status after the call
    /// (`ARCHIVED`, or `ACTIVATING` while a restore runs).
    fn set_storage_class(
        &self,
        repository: &str,
        digest: &Digest,
        class: StorageClass,
    ) -> impl Future<Output = Result<ImageStatus, RegistryError>> + Send {
        let _ = class;
        async move {
            Err(RegistryError::Unsupported {
                repository: repository.to_string(),
                image: digest.to_string(),
                problem: "this registry cannot archive images".to_string(),
            })
        }
    }

    /// Whether Amazon Inspector sees the image running (`inUseCount`, `lastInUseAt`). `None`
    /// when Inspector does not report it (not enabled, not allowed, basic scanning).
    fn inspector_use(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> impl Future<Output = Result<Option<InspectorUse>, RegistryError>> + Send {
        let _ = (repository, digest);
        async { Ok(None) }
    }

    /// Adds `tag` to the image with the same manifest, so the image itself is unchanged.
    fn add_tag(
        &self,
        repository: &str,
        digest: &Digest,
        tag: &str,
    ) -> impl Future<Output = Result<Change, RegistryError>> + Send;

    /// Removes from this digest the tags it carries now that `select` picks, never all of them
    /// (removing the last tag deletes the image); returns the tags that were removed. The tags
    /// are read here, right before the change, so the caller need not read them first.
    fn remove_tags(
        &self,
        repository: &str,
        digest: &Digest,
        select: &TagSelector<'_>,
    ) -> impl Future<Output = Result<Vec<String>, RegistryError>> + Send;

    /// The tagged image indexes (multi-arch images) of the repository that list `digest` as
    /// one of their platform images. A registry without image indexes has none.
    fn parents_of(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> impl Future<Output = Result<Vec<IndexImage>, RegistryError>> + Send;

    /// When `image` is an image index, the index and its platform images; `None` for an image.
    fn index_of(
        &self,
        repository: &str,
        image: &ImageRef,
    ) -> impl Future<Output = Result<Option<IndexImage>, RegistryError>> + Send;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{channel}: {message}")]
pub struct NotifyError {
    pub channel: &'static str,
    pub message: String,
}

/// An alert channel (SNS, Slack). Object-safe so a gate can hold any set of them.
pub trait Notifier: Send + Sync {
    fn channel(&self) -> &'static str;
    fn notify<'a>(
        &'a self,
        alert: &'a crate::judgement::evaluation::Evaluation,
    ) -> BoxFuture<'a, Result<(), NotifyError>>;

    /// Sends a notice about the gate itself (the policy was changed outside Terraform).
    /// Channels that do not carry notices say so.
    fn notice<'a>(
        &'a self,
        notice: &'a crate::judgement::notice::Notice,
    ) -> BoxFuture<'a, Result<(), NotifyError>> {
        let _ = notice;
        Box::pin(async move {
            Err(NotifyError {
                channel: self.channel(),
                message: "this channel does not send notices".to_string(),
            })
        })
    }

    /// Sends the registry report's digest (`{"report": {}}`). Channels that do not carry
    /// reports say so.
    fn report<'a>(
        &'a self,
        report: &'a crate::judgement::registry_report::Report,
    ) -> BoxFuture<'a, Result<(), NotifyError>> {
        let _ = report;
        Box::pin(async move {
            Err(NotifyError {
                channel: self.channel(),
                message: "this channel does not send reports".to_string(),
            })
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SSM parameter {name}: {message}")]
pub struct ParameterError {
    pub name: String,
    pub message: String,
}

/// A parameter store (SSM). Values may be secrets: implementations never log them.
pub trait Parameters: Send + Sync {
    fn get(&self, name: &str) -> impl Future<Output = Result<String, ParameterError>> + Send;

    /// Every parameter under `path`, recursively, decrypted, every page: (name, value), in
    /// name order. A store without hierarchies says so.
    fn get_by_path(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<Vec<(String, String)>, ParameterError>> + Send {
        async move {
            Err(ParameterError {
                name: path.to_string(),
                message: "this parameter store cannot list a path".to_string(),
            })
        }
    }
}

/// One image as the registry lists it (`DescribeImages`), for the sweep and the report.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSummary {
    pub digest: Digest,
    pub tags: Vec<String>,
    /// Push time, seconds since the epoch.
    pub pushed_at: Option<i64>,
    /// `imageScanStatus.status` (`COMPLETE`, `ACTIVE`, `FAILED`, `IN_PROGRESS`, ...); `None`
    /// when the image has no scan result.
    pub scan_status: Option<String>,
    /// `imageScanFindingsSummary.findingSeverityCounts`, before any policy.
    pub severity_counts: Option<Counts>,
    /// An image index (multi-arch image): never scanned itself, judged through its platform
    /// images.
    pub is_index: bool,
    /// Archived or not, and the last pull (`imageStatus`, `lastRecordedPullTime`).
    pub storage: Storage,
}

/// One page of a repository's images (up to 1 000) and the token of the next.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImagePage {
    pub images: Vec<ImageSummary>,
    pub next_token: Option<String>,
}

/// What `StartImageScan` answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanStart {
    Started,
    /// ECR allows one scan per image a day (basic scanning): not an error.
    LimitExceeded,
}

/// Severity counts of one image from Amazon Inspector (enhanced scanning), read in bulk.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnhancedCounts {
    /// The severities Inspector names.
    pub counts: Counts,
    /// Findings Inspector counts (`all`) under no severity it names...
    pub unlisted: u64,
    /// ...each of which may have any of these severities (those it did not name).
    pub unnamed: Vec<crate::domain::severity::Severity>,
}

impl EnhancedCounts {
    pub fn unlisted(&self) -> crate::judgement::fast_path::Unlisted<'_> {
        crate::judgement::fast_path::Unlisted {
            n: self.unlisted,
            among: &self.unnamed,
        }
    }
}

/// What Amazon Inspector says of a repository's images under enhanced scanning.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkCounts {
    /// Per image digest: its counts. An image Inspector does not list is not in the map.
    Available(std::collections::HashMap<Digest, EnhancedCounts>),
    /// Inspector is not enabled, or the gate may not ask it (the reason): each image is read
    /// on its own.
    Unavailable(String),
}

/// The registry as a whole: its repositories and images (the sweep and the report). A port of
/// its own so that the fakes of `Registry` need not implement it.
pub trait Inventory: Send + Sync {
    /// Names of the repositories matching any of the globs (`crate::policy::glob::glob_match`).
    fn repositories(
        &self,
        globs: &[String],
    ) -> impl Future<Output = Result<Vec<String>, RegistryError>> + Send;

    /// One page of a repository's images, from `token` (`None`: the first page).
    fn images_page(
        &self,
        repository: &str,
        token: Option<String>,
    ) -> impl Future<Output = Result<ImagePage, RegistryError>> + Send;

    /// Asks for a scan of an image that has none.
    fn start_scan(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> impl Future<Output = Result<ScanStart, RegistryError>> + Send;

    /// The counts of the repository's images under enhanced scanning, in bulk (Inspector's
    /// `ListFindingAggregations`: one call per 100 images), where the listing gives none. A
    /// registry without Inspector says so.
    fn enhanced_counts(
        &self,
        repository: &str,
    ) -> impl Future<Output = Result<BulkCounts, RegistryError>> + Send {
        let _ = repository;
        async {
            Ok(BulkCounts::Unavailable(
                "no Amazon Inspector client".to_string(),
            ))
        }
    }
}

/// A message the queue did not take, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    /// Position of the body in the slice given to `send_all`.
    pub index: usize,
    pub reason: String,
}

/// The sweep's fan-out queue (SQS). Bodies are JSON texts. Object-safe: the queue is optional.
pub trait SweepQueue: Send + Sync {
    /// Sends every body (in batches, retrying what the queue refused a bounded number of
    /// times); returns the bodies that were not sent.
    fn send_all<'a>(&'a self, bodies: &'a [String]) -> BoxFuture<'a, Vec<SendFailure>>;
}

/// `DescribeServiceRevisions` failed, or answered nothing usable, for this revision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not read ECS service revision {revision_arn}: {message}")]
pub struct RevisionError {
    pub revision_arn: String,
    pub message: String,
}

/// ECS's service revisions: what the ECS deployment lifecycle hook deploys. Object-safe: the
/// client is optional on the function.
pub trait ServiceRevisions: Send + Sync {
    /// The container images of the revision (`containerImages`), each with the digest ECS
    /// resolved it to.
    fn container_images<'a>(
        &'a self,
        revision_arn: &'a str,
    ) -> BoxFuture<'a, Result<Vec<crate::domain::ecs_hook::ContainerImage>, RevisionError>>;
}
