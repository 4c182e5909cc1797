//! ECR archive on the registry port: an image's storage (`imageStatus`, `lastRecordedPullTime`
//! from `DescribeImages`) and `UpdateImageStorageClass`. Whether an image runs (Inspector's
//! `inUseCount`) is asked in `inspector.rs`.

use super::ecr::{image_id, sdk_error, EcrRegistry};
use super::error_text;
use crate::domain::image::{Digest, ImageRef};
use crate::domain::storage::{ImageStatus, Storage, StorageClass};
use crate::engine::ports::{ImageDetails, RegistryError};
use aws_sdk_ecr::types::{
    DescribeImagesFilter, ImageDetail, ImageStatusFilter, TargetStorageClass,
};

/// `DescribeImages` answers only `ACTIVE` images unless asked for every status (ECR API
/// Reference, DescribeImagesFilter): archived images must stay in view.
pub(super) fn every_status() -> DescribeImagesFilter {
    DescribeImagesFilter::builder()
        .image_status(ImageStatusFilter::Any)
        .build()
}

/// The storage of an image as `DescribeImages` lists it. An `imageStatus` this build does not
/// know is taken as active: the gate then acts as it did before archive existed.
pub(super) fn storage_of(detail: &ImageDetail) -> Storage {
    Storage {
        status: detail
            .image_status()
            .and_then(|s| ImageStatus::parse(s.as_str()))
            .unwrap_or(ImageStatus::Active),
        last_pull: detail.last_recorded_pull_time().map(|t| t.secs()),
    }
}

/// The registry's error for an image or repository that is not there; `None` otherwise.
fn missing(
    image_not_found: bool,
    repository_not_found: bool,
    repository: &str,
    digest: &Digest,
) -> Option<RegistryError> {
    if image_not_found {
        Some(RegistryError::ImageNotFound {
            repository: repository.to_string(),
            image: digest.to_string(),
        })
    } else if repository_not_found {
        Some(RegistryError::RepositoryNotFound {
            repository: repository.to_string(),
        })
    } else {
        None
    }
}

impl EcrRegistry {
    /// One image's tags and storage, archived images included.
    pub(super) async fn details_of(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<ImageDetails, RegistryError> {
        const OP: &str = "DescribeImages";
        let out = self
            .client
            .describe_images()
            .repository_name(repository)
            .image_ids(image_id(&ImageRef::Digest(digest.clone())))
            .filter(every_status())
            .send()
            .await
            .map_err(|e| {
                let se = e.as_service_error();
                missing(
                    se.is_some_and(|se| se.is_image_not_found_exception()),
                    se.is_some_and(|se| se.is_repository_not_found_exception()),
                    repository,
                    digest,
                )
                .unwrap_or_else(|| sdk_error(OP, repository, &e))
            })?;
        let detail = out
            .image_details()
            .iter()
            .find(|d| d.image_digest() == Some(digest.as_str()))
            .ok_or_else(|| RegistryError::ImageNotFound {
                repository: repository.to_string(),
                image: digest.to_string(),
            })?;
        Ok(ImageDetails {
            tags: detail.image_tags().to_vec(),
            storage: storage_of(detail),
        })
    }

    /// `UpdateImageStorageClass`: the image's status after the call.
    pub(super) async fn update_storage(
        &self,
        repository: &str,
        digest: &Digest,
        class: StorageClass,
    ) -> Result<ImageStatus, RegistryError> {
        const OP: &str = "UpdateImageStorageClass";
        let target = match class {
            StorageClass::Archive => TargetStorageClass::Archive,
            StorageClass::Standard => TargetStorageClass::Standard,
        };
        let out = self
            .client
            .update_image_storage_class()
            .repository_name(repository)
            .image_id(image_id(&ImageRef::Digest(digest.clone())))
            .target_storage_class(target)
            .customize()
            .config_override(super::ecr::change_call_config())
            .send()
            .await
            .map_err(|e| {
                let se = e.as_service_error();
                if let Some(gone) = missing(
                    se.is_some_and(|se| se.is_image_not_found_exception()),
                    se.is_some_and(|se| se.is_repository_not_found_exception()),
                    repository,
                    digest,
                ) {
                    return gone;
                }
                match se {
                    Some(se) if se.is_image_storage_class_update_not_supported_exception() => {
                        RegistryError::Unsupported {
                            repository: repository.to_string(),
                            image: digest.to_string(),
                            problem: format!(
                                "ECR does not support moving it to {}: {}",
                                class.as_str(),
                                error_text(&e, "ecr", OP)
                            ),
                        }
                    }
                    _ => sdk_error(OP, repository, &e),
                }
            })?;
        let raw = out.image_status().map(|s| s.as_str()).unwrap_or_default();
        ImageStatus::parse(raw).ok_or_else(|| RegistryError::BadResponse {
            operation: OP,
            repository: repository.to_string(),
            problem: format!("imageStatus {raw:?} is not ACTIVE, ARCHIVED or ACTIVATING"),
        })
    }
}
