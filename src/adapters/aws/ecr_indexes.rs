//! Image indexes (multi-arch images) on Amazon ECR: the tagged indexes that list a platform
//! image, and an image's own index manifest with its platform images.

use super::ecr::{accepted_manifest_types, call_error, image_id, EcrRegistry, MAX_PAGES};
use super::error_text;
use crate::domain::image::{Digest, ImageRef};
use crate::engine::multiarch::{index_children, index_platforms, is_index_media_type};
use crate::engine::ports::{IndexImage, Registry, RegistryError};

impl EcrRegistry {
    pub(super) async fn parents_listed(
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
                    platforms: index_platforms(manifest),
                });
            }
        }
        Ok(parents)
    }

    pub(super) async fn index_manifest(
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
        let manifest = found.image_manifest().unwrap_or_default();
        let children = index_children(manifest).map_err(|p| bad(format!("index {digest}: {p}")))?;
        let tags = self.image_tags(repository, &digest).await?;
        Ok(Some(IndexImage {
            digest,
            tags,
            children,
            platforms: index_platforms(manifest),
        }))
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
}
