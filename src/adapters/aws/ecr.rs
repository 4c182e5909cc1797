//! The registry port on Amazon ECR.

use super::ecr_findings::{basic_finding, enhanced_finding, reported_counts};
use super::error_text;
use crate::domain::image::{Digest, ImageRef};
use crate::engine::multiarch::{index_children, is_index_media_type};
use crate::engine::ports::{
    Change, Deadline, IndexImage, Registry, RegistryError, ScanFindings, TagSelector,
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
const SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
const SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// What to tell a person about a schema-1 image.
const SCHEMA1_PROBLEM: &str = "it is a Docker schema-1 manifest (deprecated: ECR does not scan it, and its signature covers the tag, so it is not re-tagged here); rebuild and push it with a current Docker or BuildKit, then delete the old image";

/// Safety stop for a registry that keeps answering with a next page.
const MAX_PAGES: usize = 10_000;

/// ECR's largest page of DescribeImages and DescribeRepositories.
pub const PAGE_SIZE: i32 = 1000;

/// The manifest types ECR may answer with, for BatchGetImage.
fn accepted_manifest_types() -> Option<Vec<String>> {
    Some(MANIFEST_TYPES.iter().map(|s| s.to_string()).collect())
}

#[derive(Clone, Debug)]
pub struct EcrRegistry {
    pub(super) client: Client,
    /// The quarantine prefix, for the advice in the immutable-tags error.
    quarantine_prefix: String,
}

/// Attempts of one ECR call under throttling (the SDK's standard is 3; boto3's 5 lost no image
/// of a 24-image burst against a 2/s PutImage quota, 3 lost some).
pub const MAX_ATTEMPTS: u32 = 10;
/// How long a tag change's call (BatchGetImage, PutImage) may spend on throttling retries; the
/// Lambda deadline bounds it further (`Gate` stops waiting for a change that would outlast it).
pub const CHANGE_OPERATION_TIMEOUT: Duration = Duration::from_secs(60);

/// The ECR client the binaries use: adaptive retry (client-side rate limiting, which slows
/// every caller of this client down when ECR answers with throttling) and more attempts.
pub fn client(sdk: &aws_config::SdkConfig) -> Client {
    let config = aws_sdk_ecr::config::Builder::from(sdk)
        .retry_config(aws_config::retry::RetryConfig::adaptive().with_max_attempts(MAX_ATTEMPTS))
        .build();
    Client::from_conf(config)
}

/// Per-call override for the tag-change calls: a longer operation timeout, so that throttling
/// retries can use the invocation's time.
fn change_call_config() -> aws_sdk_ecr::config::Builder {
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
        }
    }
}

fn image_id(image: &ImageRef) -> ImageIdentifier {
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
        const OP: &str = "DescribeImages";
        let out = self
            .client
            .describe_images()
            .repository_name(repository)
            .image_ids(image_id(&ImageRef::Digest(digest.clone())))
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(se) if se.is_image_not_found_exception() => RegistryError::ImageNotFound {
                    repository: repository.to_string(),
                    image: digest.to_string(),
                },
                Some(se) if se.is_repository_not_found_exception() => {
                    RegistryError::RepositoryNotFound {
                        repository: repository.to_string(),
                    }
                }
                _ => sdk_error(OP, repository, &e),
            })?;
        let detail = out
            .image_details()
            .iter()
            .find(|d| d.image_digest() == Some(digest.as_str()))
            .ok_or_else(|| RegistryError::ImageNotFound {
                repository: repository.to_string(),
                image: digest.to_string(),
            })?;
        Ok(detail.image_tags().to_vec())
    }

    async fn add_tag(
        &self,
        repository: &str,
        digest: &Digest,
        tag: &str,
    ) -> Result<Change, RegistryError> {
        let got = self
            .client
            .batch_get_image()
            .repository_name(repository)
            .image_ids(image_id(&ImageRef::Digest(digest.clone())))
            .set_accepted_media_types(accepted_manifest_types())
            .customize()
            .config_override(change_call_config())
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(se) if se.is_repository_not_found_exception() => {
                    RegistryError::RepositoryNotFound {
                        repository: repository.to_string(),
                    }
                }
                _ => sdk_error("BatchGetImage", repository, &e),
            })?;
        let Some(image) = got
            .images()
            .iter()
            .find(|i| i.image_id().and_then(|i| i.image_digest()) == Some(digest.as_str()))
        else {
            // Say what the registry said: "does not exist" only when it says so.
            let failure = got.failures().first();
            return Err(
                match failure.and_then(|f| f.failure_code()).map(|c| c.as_str()) {
                    None | Some("ImageNotFound") => RegistryError::ImageNotFound {
                        repository: repository.to_string(),
                        image: digest.to_string(),
                    },
                    Some(code) => RegistryError::Unsupported {
                        repository: repository.to_string(),
                        image: digest.to_string(),
                        problem: format!(
                            "BatchGetImage answered {code}: {}",
                            failure
                                .and_then(|f| f.failure_reason())
                                .unwrap_or("no reason given")
                        ),
                    },
                },
            );
        };
        let media_type = image.image_manifest_media_type();
        if matches!(media_type, Some(SCHEMA1) | Some(SCHEMA1_SIGNED)) {
            return Err(RegistryError::Unsupported {
                repository: repository.to_string(),
                image: digest.to_string(),
                problem: SCHEMA1_PROBLEM.to_string(),
            });
        }
        let manifest = image
            .image_manifest()
            .ok_or_else(|| RegistryError::BadResponse {
                operation: "BatchGetImage",
                repository: repository.to_string(),
                problem: format!("no manifest for {digest}"),
            })?;
        let put = self
            .client
            .put_image()
            .repository_name(repository)
            .image_manifest(manifest)
            .set_image_manifest_media_type(media_type.map(str::to_string))
            .image_digest(digest.as_str())
            .image_tag(tag)
            .customize()
            .config_override(change_call_config())
            .send()
            .await;
        match put {
            Ok(_) => Ok(Change::Done),
            Err(e) => match e.as_service_error() {
                // Our tag on our digest: a redelivered event.
                Some(se) if se.is_image_already_exists_exception() => Ok(Change::AlreadyDone),
                // An IMMUTABLE repository answers a repeated tag so, even on the same digest.
                Some(se) if se.is_image_tag_already_exists_exception() => {
                    match self.image_tags(repository, digest).await {
                        Ok(tags) if tags.iter().any(|t| t == tag) => Ok(Change::AlreadyDone),
                        _ => Err(self
                            .immutable_or(repository, error_text(&e, "ecr", "PutImage"))
                            .await),
                    }
                }
                _ => Err(sdk_error("PutImage", repository, &e)),
            },
        }
    }

    async fn remove_tags(
        &self,
        repository: &str,
        digest: &Digest,
        select: &TagSelector<'_>,
    ) -> Result<Vec<String>, RegistryError> {
        // Only tags that are on this digest now; then delete by tag alone (a request naming
        // the digest deletes the whole image on some implementations).
        let current = self.image_tags(repository, digest).await?;
        let wanted: Vec<&String> = current.iter().filter(|t| select(t)).collect();
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        if wanted.len() >= current.len() {
            return Err(RegistryError::BadResponse {
                operation: "BatchDeleteImage",
                repository: repository.to_string(),
                problem: format!(
                    "refusing to remove every tag of {digest}: the image would be deleted"
                ),
            });
        }
        let out = self
            .client
            .batch_delete_image()
            .repository_name(repository)
            .set_image_ids(Some(
                wanted
                    .iter()
                    .map(|t| ImageIdentifier::builder().image_tag(t.as_str()).build())
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| {
                let tags: Vec<&str> = wanted.iter().map(|t| t.as_str()).collect();
                let message = format!(
                    "removing {}: {}",
                    tags.join(", "),
                    error_text(&e, "ecr", "BatchDeleteImage")
                );
                call_error("BatchDeleteImage", repository, message)
            })?;
        // Each removed tag comes back with the digest it was removed from. A tag pushed to
        // another image between the read and the delete came off that image instead: say
        // exactly which, and whether ECR deleted it, so a person can restore it.
        for removed in out.image_ids() {
            let (Some(tag), Some(from)) = (removed.image_tag(), removed.image_digest()) else {
                continue;
            };
            if from != digest.as_str() {
                let deleted = match Digest::parse(from) {
                    Ok(other) => match self.image_tags(repository, &other).await {
                        Ok(_) => Some(false),
                        Err(RegistryError::ImageNotFound { .. }) => Some(true),
                        Err(_) => None,
                    },
                    Err(_) => None,
                };
                let error = RegistryError::TagTakenFromOtherImage {
                    repository: repository.to_string(),
                    tag: tag.to_string(),
                    meant_for: digest.to_string(),
                    taken_from: from.to_string(),
                    deleted,
                };
                tracing::error!(error = %error, "a tag was removed from the wrong image");
                return Err(error);
            }
        }
        let removed: Vec<String> = out
            .image_ids()
            .iter()
            .filter_map(|i| i.image_tag())
            .filter(|t| wanted.iter().any(|w| w.as_str() == *t))
            .map(str::to_string)
            .collect();
        let failures: Vec<String> = out
            .failures()
            .iter()
            .filter(|f| f.failure_code().map(|c| c.as_str()) != Some("ImageNotFound"))
            .map(|f| {
                format!(
                    "{}: {}",
                    f.image_id().and_then(|i| i.image_tag()).unwrap_or("?"),
                    f.failure_reason().unwrap_or("unknown failure")
                )
            })
            .collect();
        if !failures.is_empty() {
            return Err(call_error(
                "BatchDeleteImage",
                repository,
                failures.join("; "),
            ));
        }
        Ok(removed)
    }

    async fn parents_of(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<Vec<IndexImage>, RegistryError> {
        let indexes = self.tagged_indexes(repository).await?;
        if indexes.is_empty() {
            return Ok(Vec::new());
        }
        let digests: Vec<&Digest> = indexes.iter().map(|(d, _)| d).collect();
        let manifests = self.manifests(repository, &digests).await?;
        let mut parents = Vec::new();
        for (index, tags) in &indexes {
            let Some((_, _, manifest)) = manifests.iter().find(|(d, _, _)| d == index) else {
                continue;
            };
            let children =
                index_children(manifest).map_err(|problem| RegistryError::BadResponse {
                    operation: "BatchGetImage",
                    repository: repository.to_string(),
                    problem: format!("index {index}: {problem}"),
                })?;
            if children.contains(digest) {
                parents.push(IndexImage {
                    digest: index.clone(),
                    tags: tags.clone(),
                    children,
                });
            }
        }
        Ok(parents)
    }

    async fn index_of(
        &self,
        repository: &str,
        image: &ImageRef,
    ) -> Result<Option<IndexImage>, RegistryError> {
        const OP: &str = "BatchGetImage";
        let out = self
            .client
            .batch_get_image()
            .repository_name(repository)
            .image_ids(image_id(image))
            .set_accepted_media_types(accepted_manifest_types())
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(se) if se.is_repository_not_found_exception() => {
                    RegistryError::RepositoryNotFound {
                        repository: repository.to_string(),
                    }
                }
                _ => call_error(OP, repository, error_text(&e, "ecr", OP)),
            })?;
        let Some(found) = out.images().first() else {
            return Ok(None);
        };
        if !found
            .image_manifest_media_type()
            .is_some_and(is_index_media_type)
        {
            return Ok(None);
        }
        let bad = |problem: String| RegistryError::BadResponse {
            operation: OP,
            repository: repository.to_string(),
            problem,
        };
        let digest = found
            .image_id()
            .and_then(|i| i.image_digest())
            .ok_or_else(|| bad("no digest for the image index".to_string()))
            .and_then(|d| Digest::parse(d).map_err(|p| bad(format!("imageDigest {p}"))))?;
        let children = index_children(found.image_manifest().unwrap_or_default())
            .map_err(|p| bad(format!("index {digest}: {p}")))?;
        let tags = self.image_tags(repository, &digest).await?;
        Ok(Some(IndexImage {
            digest,
            tags,
            children,
        }))
    }
}

impl EcrRegistry {
    /// One page of the repository's tagged images (DescribeImages, `tagStatus` TAGGED, up to
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
                DescribeImagesFilter::builder()
                    .tag_status(TagStatus::Tagged)
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

    /// The tagged image indexes of the repository, with their tags (DescribeImages, every page).
    async fn tagged_indexes(
        &self,
        repository: &str,
    ) -> Result<Vec<(Digest, Vec<String>)>, RegistryError> {
        const OP: &str = "DescribeImages";
        let mut indexes = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let out = self.tagged_images_page(repository, token.clone()).await?;
            for d in out.image_details() {
                let is_index = d
                    .image_manifest_media_type()
                    .is_some_and(is_index_media_type);
                if let (true, Some(Ok(digest))) = (is_index, d.image_digest().map(Digest::parse)) {
                    indexes.push((digest, d.image_tags().to_vec()));
                }
            }
            match out.next_token() {
                Some(next) if !next.is_empty() && token.as_deref() != Some(next) => {
                    token = Some(next.to_string())
                }
                _ => return Ok(indexes),
            }
        }
        Err(RegistryError::BadResponse {
            operation: OP,
            repository: repository.to_string(),
            problem: format!("more than {MAX_PAGES} pages of images"),
        })
    }

    /// The manifests of these images, by digest (BatchGetImage, 100 at a time).
    async fn manifests(
        &self,
        repository: &str,
        digests: &[&Digest],
    ) -> Result<Vec<(Digest, Option<String>, String)>, RegistryError> {
        const OP: &str = "BatchGetImage";
        let mut found = Vec::new();
        for chunk in digests.chunks(100) {
            let out = self
                .client
                .batch_get_image()
                .repository_name(repository)
                .set_image_ids(Some(
                    chunk
                        .iter()
                        .map(|d| image_id(&ImageRef::Digest((*d).clone())))
                        .collect(),
                ))
                .set_accepted_media_types(accepted_manifest_types())
                .send()
                .await
                .map_err(|e| call_error(OP, repository, error_text(&e, "ecr", OP)))?;
            for image in out.images() {
                let digest = image.image_id().and_then(|i| i.image_digest());
                if let (Some(Ok(digest)), Some(manifest)) =
                    (digest.map(Digest::parse), image.image_manifest())
                {
                    found.push((
                        digest,
                        image.image_manifest_media_type().map(str::to_string),
                        manifest.to_string(),
                    ));
                }
            }
        }
        Ok(found)
    }

    /// PutImage refused a new tag: say how to fix an immutable repository, else pass it on.
    async fn immutable_or(&self, repository: &str, message: String) -> RegistryError {
        let described = self
            .client
            .describe_repositories()
            .repository_names(repository)
            .send()
            .await;
        let mutability = described.ok().and_then(|o| {
            o.repositories()
                .first()
                .and_then(|r| r.image_tag_mutability().map(|m| m.as_str().to_string()))
        });
        match mutability.as_deref() {
            Some(m) if m.starts_with("IMMUTABLE") => RegistryError::ImmutableTags {
                repository: repository.to_string(),
                prefix: self.quarantine_prefix.clone(),
            },
            _ => call_error("PutImage", repository, message),
        }
    }
}
