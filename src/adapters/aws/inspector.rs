//! Amazon Inspector's `ListFindingAggregations` (`aggregationType` `AWS_ECR_CONTAINER`): the
//! counts of a repository's images in bulk, filtered by repository, 100 images a page (real
//! ECR's `DescribeImages` gives no summary under enhanced scanning: one call per 100 images
//! instead of one `DescribeImageScanFindings` per image); and, for the archive, whether one
//! image runs (`inUseCount`, filtered by its digest too).

use super::ecr::{call_error, EcrRegistry, MAX_PAGES};
use super::error_text;
use crate::domain::image::Digest;
use crate::domain::severity::{Counts, Severity};
use crate::domain::storage::InspectorUse;
use crate::engine::ports::{BulkCounts, EnhancedCounts, RegistryError};
use aws_sdk_inspector2::types::{
    AggregationRequest, AggregationResponse, AggregationType, AwsEcrContainerAggregation,
    SeverityCounts, StringComparison, StringFilter,
};
use std::collections::HashMap;

/// Images per page: the most Inspector answers.
const PAGE_SIZE: i32 = 100;

impl EcrRegistry {
    pub(super) async fn inspector_counts(
        &self,
        client: &aws_sdk_inspector2::Client,
        repository: &str,
    ) -> Result<BulkCounts, RegistryError> {
        let request = AggregationRequest::AwsEcrContainerAggregation(
            AwsEcrContainerAggregation::builder()
                .repositories(equals(repository, repository)?)
                .build(),
        );
        let mut images = HashMap::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let out = client
                .list_finding_aggregations()
                .aggregation_type(AggregationType::AwsEcrContainer)
                .aggregation_request(request.clone())
                .max_results(PAGE_SIZE)
                .set_next_token(token.clone())
                .send()
                .await;
            let out = match out {
                Ok(out) => out,
                // Each image is then read on its own instead.
                Err(e) if not_available(&e) => {
                    return Ok(BulkCounts::Unavailable(error_text(&e, "inspector2", OP)))
                }
                Err(e) => return Err(call_error(OP, repository, error_text(&e, "inspector2", OP))),
            };
            for response in out.responses() {
                let AggregationResponse::AwsEcrContainerAggregation(image) = response else {
                    continue;
                };
                if image.repository().is_some_and(|r| r != repository) {
                    continue;
                }
                let Some(Ok(digest)) = image.image_sha().map(Digest::parse) else {
                    continue;
                };
                images.insert(digest, counts_of(image.severity_counts()));
            }
            match out.next_token() {
                Some(next) if !next.is_empty() && token.as_deref() != Some(next) => {
                    token = Some(next.to_string())
                }
                _ => return Ok(BulkCounts::Available(images)),
            }
        }
        Err(RegistryError::BadResponse {
            operation: OP,
            repository: repository.to_string(),
            problem: format!("more than {MAX_PAGES} pages of images"),
        })
    }

    /// Inspector's `inUseCount` of one image (`ListFindingAggregations`, `AWS_ECR_CONTAINER`,
    /// filtered by repository and image digest). `None` when Inspector is not there for the
    /// gate (no client, not enabled, not allowed) or does not list the image.
    pub(super) async fn inspector_in_use(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<Option<InspectorUse>, RegistryError> {
        let Some(client) = &self.inspector else {
            return Ok(None);
        };
        let request = AggregationRequest::AwsEcrContainerAggregation(
            AwsEcrContainerAggregation::builder()
                .repositories(equals(repository, repository)?)
                .image_shas(equals(digest.as_str(), repository)?)
                .build(),
        );
        let out = client
            .list_finding_aggregations()
            .aggregation_type(AggregationType::AwsEcrContainer)
            .aggregation_request(request)
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e) if not_available(&e) => return Ok(None),
            Err(e) => return Err(call_error(OP, repository, error_text(&e, "inspector2", OP))),
        };
        Ok(out.responses().iter().find_map(|r| match r {
            AggregationResponse::AwsEcrContainerAggregation(image)
                if image.image_sha() == Some(digest.as_str()) =>
            {
                Some(InspectorUse {
                    in_use_count: image.in_use_count().unwrap_or(0).max(0) as u64,
                    last_in_use_at: image.last_in_use_at().map(|t| t.secs()),
                })
            }
            _ => None,
        }))
    }
}

/// The operation every call here makes.
const OP: &str = "ListFindingAggregations";

/// An `EQUALS` filter on `value` (a repository name, an image digest).
fn equals(value: &str, repository: &str) -> Result<StringFilter, RegistryError> {
    StringFilter::builder()
        .comparison(StringComparison::Equals)
        .value(value)
        .build()
        .map_err(|e| call_error(OP, repository, e.to_string()))
}

/// Inspector is not enabled in this account and region, or the gate may not ask it: the
/// caller goes without it rather than fail.
fn not_available<E: aws_sdk_inspector2::error::ProvideErrorMetadata>(e: &E) -> bool {
    matches!(
        e.code(),
        Some("AccessDeniedException" | "ResourceNotFoundException")
    )
}

/// Inspector's `severityCounts`: `all`, and the severities it names (`critical`, `high`,
/// `medium`; newer answers also `low`, `informational`, `untriaged`). What `all` counts beyond
/// the named ones is of unknown severity.
fn counts_of(s: Option<&SeverityCounts>) -> EnhancedCounts {
    let Some(s) = s else {
        return EnhancedCounts::default();
    };
    let mut counts = Counts::default();
    let mut unnamed = Vec::new();
    let named = [
        (Severity::Critical, s.critical()),
        (Severity::High, s.high()),
        (Severity::Medium, s.medium()),
        (Severity::Low, s.low()),
        (Severity::Informational, s.informational()),
        (Severity::Untriaged, s.untriaged()),
    ];
    for (severity, n) in named {
        match n {
            Some(n) => counts.add(severity, n.max(0) as u64),
            None => unnamed.push(severity),
        }
    }
    let all = s.all().unwrap_or(0).max(0) as u64;
    EnhancedCounts {
        unlisted: all.saturating_sub(counts.total()),
        counts,
        unnamed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_all_counts_beyond_the_named_severities_is_unlisted() {
        // The shape the Inspector API reference documents: all, critical, high, medium.
        let s = SeverityCounts::builder()
            .all(10)
            .critical(1)
            .high(2)
            .medium(3)
            .build();
        let c = counts_of(Some(&s));
        assert_eq!(c.counts.get(Severity::Critical), 1);
        assert_eq!(c.counts.get(Severity::Medium), 3);
        assert_eq!(c.unlisted, 4);
        // They can be LOW, INFORMATIONAL or UNTRIAGED, never a severity Inspector named.
        assert_eq!(
            c.unnamed,
            vec![Severity::Low, Severity::Informational, Severity::Untriaged]
        );
        // Newer answers name LOW too: fewer unknown.
        let s = SeverityCounts::builder()
            .all(10)
            .critical(1)
            .high(2)
            .medium(3)
            .low(4)
            .build();
        assert_eq!(counts_of(Some(&s)).unlisted, 0);
        assert_eq!(counts_of(None), EnhancedCounts::default());
    }
}
