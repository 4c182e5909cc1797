//! The registry port on Amazon ECR: the client, the scan findings and an image's tags here;
//! tag changes in `ecr_tags.rs`, image indexes in `ecr_indexes.rs`, the sweep's listing in
//! `ecr_inventory.rs`.

use super::ecr_findings::{basic_finding, enhanced_finding, reported_counts};
use super::error_text;
use crate::domain::image::{Digest, ImageRef};
use crate::domain::storage::{ImageStatus, InspectorUse, StorageClass};
use crate::engine::ports::{
    Change, Deadline, ImageDetails, IndexImage, Registry, RegistryError, ScanFindings, TagSelector,
};
use crate::judgement::findings::FindingsTally;
use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecr::operation::describe_images::DescribeImagesOutput;
use aws_sdk_ecr::types::{DescribeImagesFilter, ImageIdentifier, TagStatus};
use aws_sdk_ecr::Client;
use std::time::Duration;

/// Every manifest type ECR stores, so BatchGetImage never converts one (Docker v2 schema 2,
/// OCI manifest, manifest list, OCI index, and the deprecated Docker schema 1).
const MANIFEST_TYPES: [&str; 6] = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
    SCHEMA1,
    SCHEMA1_SIGNED,
];

/// Docker image manifest v2 schema 1 (deprecated; its signature covers the tag).
pub(super) const SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub(super) const SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// What to tell a person about a schema-1 image.
pub(super) const SCHEMA1_PROBLEM: &str = "it is a Docker schema-1 manifest (deprecated: ECR does not scan it, and its signature covers the tag, so it is not re-tagged here); rebuild and push it with a current Docker or BuildKit, then delete the old image";

/// Safety stop for a registry that keeps answering with a next page.
pub(super) const MAX_PAGES: usize = 10_000;

/// ECR's largest page of DescribeImages and DescribeRepositories.
pub const PAGE_SIZE: i32 = 1000;

/// The manifest types ECR may answer with, for BatchGetImage.
pub(super) fn accepted_manifest_types() -> Option<Vec<String>> {
    Some(MANIFEST_TYPES.iter().map(|s| s.to_string()).collect())
}

#[derive(Clone, Debug)]
pub struct EcrRegistry {
    pub(super) client: Client,
    /// The quarantine prefix, for the advice in the immutable-tags error.
    pub(super) quarantine_prefix: String,
    /// Amazon Inspector in the same account and region: the sweep's counts of images under
    /// enhanced scanning (`crate::adapters::aws::inspector`).
    pub(super) inspector: Option<aws_sdk_inspector2::Client>,
}

/// Attempts of one ECR call under throttling: as many as the invocation's deadline allows. The
/// gate bounds every call by the deadline, minus what must follow it (`ports::Deadline`), so
/// under ECR's rate quotas an invocation keeps retrying instead of failing after a fixed count
/// (10 attempts lost 2 of 24 images of a burst under a 2/s PutImage quota).
pub const MAX_ATTEMPTS: u32 = 100;
/// The longest wait between two attempts: ECR's quotas are per second, so the SDK's 20 s would
/// only leave the invocation idle (its client-side rate limiter spaces the calls out anyway).
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How long one ECR call may spend on throttling retries; the Lambda deadline bounds it
/// further (`Gate` stops waiting for a call that would outlast it).
pub const CHANGE_OPERATION_TIMEOUT: Duration = Duration::from_secs(60);

/// The ECR client the binaries use: adaptive retry (client-side rate limiting, which slows
/// every caller of this client down when ECR answers with throttling) and more attempts.
pub fn client(sdk: &aws_config::SdkConfig) -> Client {
    client_in_partition(sdk, "ecr")
}

/// As [`client`], with a retry partition of its own: the retry tokens and the client-side
/// rate of one registry (a member account, another region) are not drained by another's
/// throttling.
pub fn client_in_partition(sdk: &aws_config::SdkConfig, partition: &str) -> Client {
    // The attempt and connect timeouts stay the SDK configuration's; the call as a whole may
    // retry until the deadline.
    let timeouts = sdk
        .timeout_config()
        .map(|t| t.to_builder())
        .unwrap_or_else(aws_config::timeout::TimeoutConfig::builder)
        .operation_timeout(CHANGE_OPERATION_TIMEOUT)
        .build();
    let config = aws_sdk_ecr::config::Builder::from(sdk)
        .timeout_config(timeouts)
        .retry_config(
            aws_config::retry::RetryConfig::adaptive()
                .with_max_attempts(MAX_ATTEMPTS)
                .with_max_backoff(MAX_BACKOFF),
        )
        .retry_partition(aws_sdk_ecr::config::retry::RetryPartition::new(
            partition.to_string(),
        ))
        .build();
    Client::from_conf(config)
}

/// Per-call override for the tag-change calls: a longer operation timeout, so that throttling
/// retries can use the invocation's time.
pub(super) fn change_call_config() -> aws_sdk_ecr::config::Builder {
    aws_sdk_ecr::config::Builder::default().timeout_config(
        aws_config::timeout::TimeoutConfig::builder()
            .operation_timeout(CHANGE_OPERATION_TIMEOUT)
            .build(),
    )
}

impl EcrRegistry {
    pub fn new(client: Client, quarantine_prefix: &str) -> Self {
        EcrRegistry {
            client,
            quarantine_prefix: quarantine_prefix.to_string(),
            inspector: None,
        }
    }

    /// The same registry, with Amazon Inspector asked for the counts of images under enhanced
    /// scanning.
    pub fn with_inspector(mut self, inspector: aws_sdk_inspector2::Client) -> Self {
        self.inspector = Some(inspector);
        self
    }
}

pub(super) fn image_id(image: &ImageRef) -> ImageIdentifier {
    match image {
        ImageRef::Digest(d) => ImageIdentifier::builder().image_digest(d.as_str()).build(),
        ImageRef::Tag(t) => ImageIdentifier::builder().image_tag(t).build(),
    }
}

/// An SDK error as the registry's error: a member role that could not be assumed names the
/// account and the role; anything else is one line with its cause and a hint.
pub(super) fn sdk_error<E, R>(
    operation: &'static str,
    repository: &str,
    e: &SdkError<E, R>,
) -> RegistryError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match super::assume_role_failure(e) {
        Some(f) => RegistryError::AssumeRole {
            account: f.account.clone(),
            role_arn: f.role_arn.clone(),
            message: f.message.clone(),
        },
        None => call_error(operation, repository, error_text(e, "ecr", operation)),
    }
}

pub(super) fn call_error(
    operation: &'static str,
    repository: &str,
    message: String,
) -> RegistryError {
    RegistryError::Call {
        operation,
        repository: repository.to_string(),
        message,
    }
}

impl Registry for EcrRegistry {
    async fn scan_findings(
        &self,
        repository: &str,
        image: &ImageRef,
        tally: &mut FindingsTally<'_>,
        deadline: Deadline,
    ) -> Result<ScanFindings, RegistryError> {
        const OP: &str = "DescribeImageScanFindings";
        let mut token: Option<String> = None;
        let mut result: Option<ScanFindings> = None;
        let mut pages = 0;
        loop {
            pages += 1;
            if pages > MAX_PAGES {
                // Judging part of a scan would be unsafe.
                return Err(RegistryError::BadResponse {
                    operation: OP,
                    repository: repository.to_string(),
                    problem: format!("more than {MAX_PAGES} pages of findings"),
                });
            }
            if !deadline.allows(Deadline::PAGE_RESERVE) {
                return Err(RegistryError::OutOfTime {
                    repository: repository.to_string(),
                    pages: pages - 1,
                    left: deadline.describe_left(),
                });
            }
            let call = self
                .client
                .describe_image_scan_findings()
                .repository_name(repository)
                .image_id(image_id(image))
                .max_results(1000)
                .set_next_token(token.clone())
                .send();
            // A page with its retries may take longer than the time left: bounded.
            let Ok(sent) = deadline.bound(call).await else {
                return Err(RegistryError::OutOfTime {
                    repository: repository.to_string(),
                    pages: pages - 1,
                    left: deadline.describe_left(),
                });
            };
            let out = sent.map_err(|e| {
                let missing = |what| (repository.to_string(), format!("{image}{what}"));
                match e.as_service_error() {
                    Some(se) if se.is_repository_not_found_exception() => {
                        RegistryError::RepositoryNotFound {
                            repository: repository.to_string(),
                        }
                    }
                    Some(se) if se.is_image_not_found_exception() => {
                        let (repository, image) = missing("");
                        RegistryError::ImageNotFound { repository, image }
                    }
                    Some(se) if se.is_scan_not_found_exception() => {
                        let (repository, image) = missing("");
                        RegistryError::ScanNotFound { repository, image }
                    }
                    _ => sdk_error(OP, repository, &e),
                }
            })?;
            if result.is_none() {
                let digest = match (out.image_id().and_then(|i| i.image_digest()), image) {
                    (Some(d), _) => Digest::parse(d).map_err(|p| RegistryError::BadResponse {
                        operation: OP,
                        repository: repository.to_string(),
                        problem: format!("imageId.imageDigest {p}"),
                    })?,
                    (None, ImageRef::Digest(d)) => d.clone(),
                    (None, ImageRef::Tag(_)) => {
                        return Err(RegistryError::BadResponse {
                            operation: OP,
                            repository: repository.to_string(),
                            problem: "no imageId.imageDigest for an image asked for by tag"
                                .to_string(),
                        })
                    }
                };
                let status = out.image_scan_status();
                result = Some(ScanFindings {
                    digest,
                    status: status
                        .and_then(|s| s.status())
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_else(|| "UNKNOWN".to_string()),
                    description: status.and_then(|s| s.description()).map(str::to_string),
                    reported: out
                        .image_scan_findings()
                        .and_then(|f| f.finding_severity_counts())
                        .map(reported_counts),
                });
            }
            if let Some(findings) = out.image_scan_findings() {
                for f in findings.findings() {
                    tally.add(basic_finding(f), true);
                }
                for f in findings.enhanced_findings() {
                    let active = f.status().is_none_or(|s| s == "ACTIVE");
                    tally.add(enhanced_finding(f), active);
                }
            }
            // Let work started meanwhile go ahead (the quarantine, once FAIL is certain), even
            // when pages arrive without waiting on the network.
            tokio::task::yield_now().await;
            match out.next_token() {
                Some(next) if !next.is_empty() => {
                    if token.as_deref() == Some(next) {
                        return Err(RegistryError::BadResponse {
                            operation: OP,
                            repository: repository.to_string(),
                            problem:
                                "the same nextToken came back twice; pagination does not advance"
                                    .to_string(),
                        });
                    }
                    token = Some(next.to_string());
                }
                _ => break,
            }
        }
        result.ok_or_else(|| RegistryError::BadResponse {
            operation: OP,
            repository: repository.to_string(),
            problem: "no page was read".to_string(),
        })
    }

    async fn image_tags(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<Vec<String>, RegistryError> {
        Ok(self.details_of(repository, digest).await?.tags)
    }

    async fn image_details(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<ImageDetails, RegistryError> {
        self.details_of(repository, digest).await
    }

    async fn set_storage_class(
        &self,
        repository: &str,
        digest: &Digest,
        class: StorageClass,
    ) -> Result<ImageStatus, RegistryError> {
        self.update_storage(repository, digest, class).await
    }

    async fn inspector_use(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<Option<InspectorUse>, RegistryError> {
        self.inspector_in_use(repository, digest).await
    }

    async fn add_tag(
        &self,
        repository: &str,
        digest: &Digest,
        tag: &str,
    ) -> Result<Change, RegistryError> {
        self.put_tag(repository, digest, tag).await
    }

    async fn remove_tags(
        &self,
        repository: &str,
        digest: &Digest,
        select: &TagSelector<'_>,
    ) -> Result<Vec<String>, RegistryError> {
        self.delete_tags(repository, digest, select).await
    }

    async fn parents_of(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<Vec<IndexImage>, RegistryError> {
        self.parents_listed(repository, digest).await
    }

    async fn index_of(
        &self,
        repository: &str,
        image: &ImageRef,
    ) -> Result<Option<IndexImage>, RegistryError> {
        self.index_manifest(repository, image).await
    }
}

impl EcrRegistry {
    /// One page of the repository's tagged images, archived or not (DescribeImages, `tagStatus`
    /// TAGGED, `imageStatus` ANY, up to
    /// [`PAGE_SIZE`] a page): the listing behind both the sweep and the image-index lookup.
    pub(super) async fn tagged_images_page(
        &self,
        repository: &str,
        token: Option<String>,
    ) -> Result<DescribeImagesOutput, RegistryError> {
        self.client
            .describe_images()
            .repository_name(repository)
            .filter(
                // Archived images too: they stay in the sweep's scope.
                DescribeImagesFilter::builder()
                    .tag_status(TagStatus::Tagged)
                    .image_status(aws_sdk_ecr::types::ImageStatusFilter::Any)
                    .build(),
            )
            .max_results(PAGE_SIZE)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(se) if se.is_repository_not_found_exception() => {
                    RegistryError::RepositoryNotFound {
                        repository: repository.to_string(),
                    }
                }
                _ => sdk_error("DescribeImages", repository, &e),
            })
    }
}
