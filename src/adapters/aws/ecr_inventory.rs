//! The inventory port on Amazon ECR: repositories, pages of images with their scan summary,
//! and StartImageScan (the sweep and the report).

use super::ecr::{sdk_error, EcrRegistry, PAGE_SIZE};
use super::ecr_findings::reported_counts;
use crate::domain::image::Digest;
use crate::engine::ports::{
    BulkCounts, ImagePage, ImageSummary, Inventory, RegistryError, ScanStart,
};
use crate::policy::glob::glob_match;
use aws_sdk_ecr::types::{ImageDetail, ImageIdentifier};

/// Safety stop for a registry that keeps answering with a next page of repositories.
const MAX_REPOSITORY_PAGES: usize = 1000;

impl Inventory for EcrRegistry {
    async fn repositories(&self, globs: &[String]) -> Result<Vec<String>, RegistryError> {
        const OP: &str = "DescribeRepositories";
        let mut names = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_REPOSITORY_PAGES {
            let out = self
                .client
                .describe_repositories()
                .max_results(PAGE_SIZE)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| sdk_error(OP, "the registry", &e))?;
            names.extend(
                out.repositories()
                    .iter()
                    .filter_map(|r| r.repository_name())
                    .filter(|name| globs.iter().any(|g| glob_match(g, name)))
                    .map(str::to_string),
            );
            match out.next_token() {
                Some(next) if !next.is_empty() && token.as_deref() != Some(next) => {
                    token = Some(next.to_string())
                }
                _ => {
                    names.sort();
                    return Ok(names);
                }
            }
        }
        Err(RegistryError::BadResponse {
            operation: OP,
            repository: "the registry".to_string(),
            problem: format!("more than {MAX_REPOSITORY_PAGES} pages of repositories"),
        })
    }

    async fn images_page(
        &self,
        repository: &str,
        token: Option<String>,
    ) -> Result<ImagePage, RegistryError> {
        const OP: &str = "DescribeImages";
        let out = self.tagged_images_page(repository, token.clone()).await?;
        let mut images = Vec::with_capacity(out.image_details().len());
        for detail in out.image_details() {
            // Untagged images are out of scope (the filter asks ECR; this makes sure).
            if detail.image_tags().is_empty() {
                continue;
            }
            images.push(summary(repository, detail)?);
        }
        let next_token = out
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if next_token.is_some() && next_token == token {
            return Err(RegistryError::BadResponse {
                operation: OP,
                repository: repository.to_string(),
                problem: "the same nextToken came back twice; pagination does not advance"
                    .to_string(),
            });
        }
        Ok(ImagePage { images, next_token })
    }

    async fn start_scan(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<ScanStart, RegistryError> {
        let out = self
            .client
            .start_image_scan()
            .repository_name(repository)
            .image_id(
                ImageIdentifier::builder()
                    .image_digest(digest.as_str())
                    .build(),
            )
            // The SDK classifies LimitExceededException as throttling and would retry it, but
            // here it means "one scan per image a day": one attempt, and a real throttling is
            // an error the next sweep repairs.
            .customize()
            .config_override(
                aws_sdk_ecr::config::Builder::default()
                    .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1)),
            )
            .send()
            .await;
        match out {
            Ok(_) => Ok(ScanStart::Started),
            Err(e) => match e.as_service_error() {
                Some(se) if se.is_limit_exceeded_exception() => Ok(ScanStart::LimitExceeded),
                _ => Err(sdk_error("StartImageScan", repository, &e)),
            },
        }
    }

    async fn enhanced_counts(&self, repository: &str) -> Result<BulkCounts, RegistryError> {
        match &self.inspector {
            Some(client) => self.inspector_counts(client, repository).await,
            None => Ok(BulkCounts::Unavailable(
                "no Amazon Inspector client".to_string(),
            )),
        }
    }
}

fn summary(repository: &str, detail: &ImageDetail) -> Result<ImageSummary, RegistryError> {
    let raw = detail.image_digest().unwrap_or_default();
    let digest = Digest::parse(raw).map_err(|p| RegistryError::BadResponse {
        operation: "DescribeImages",
        repository: repository.to_string(),
        problem: format!("imageDigest {p}"),
    })?;
    Ok(ImageSummary {
        digest,
        tags: detail.image_tags().to_vec(),
        pushed_at: detail.image_pushed_at().map(|t| t.secs()),
        scan_status: detail
            .image_scan_status()
            .and_then(|s| s.status())
            .map(|s| s.as_str().to_string()),
        // A summary without counts is a finished scan with no finding.
        severity_counts: detail.image_scan_findings_summary().map(|s| {
            s.finding_severity_counts()
                .map(reported_counts)
                .unwrap_or_default()
        }),
        storage: super::ecr_archive::storage_of(detail),
        is_index: detail
            .image_manifest_media_type()
            .is_some_and(crate::engine::multiarch::is_index_media_type),
    })
}
