//! Tag changes on Amazon ECR: a tag added with PutImage of the image's exact manifest (so the
//! image is unchanged), tags removed with BatchDeleteImage by tag alone, each checked against
//! what ECR answers.

use super::ecr::{
    accepted_manifest_types, call_error, change_call_config, image_id, sdk_error, EcrRegistry,
    SCHEMA1, SCHEMA1_PROBLEM, SCHEMA1_SIGNED,
};
use super::error_text;
use crate::domain::image::{Digest, ImageRef};
use crate::engine::ports::{Change, Registry, RegistryError, TagSelector};
use aws_sdk_ecr::types::ImageIdentifier;

impl EcrRegistry {
    pub(super) async fn put_tag(
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

    pub(super) async fn delete_tags(
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
