//! Amazon Inspector's counts in bulk: `ListFindingAggregations` with `aggregationType`
//! `AWS_ECR_CONTAINER`, filtered by repository, 100 images a page. Real ECR's `DescribeImages`
//! gives no summary for an image under enhanced scanning; this gives each image's counts for
//! one call per 100 images instead of one `DescribeImageScanFindings` per image.

use super::ecr::{call_error, EcrRegistry, MAX_PAGES};
use super::error_text;
use crate::domain::image::Digest;
use crate::domain::severity::{Counts, Severity};
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
        const OP: &str = "ListFindingAggregations";
        let filter = StringFilter::builder()
            .comparison(StringComparison::Equals)
            .value(repository)
            .build()
            .map_err(|e| call_error(OP, repository, e.to_string()))?;
        let request = AggregationRequest::AwsEcrContainerAggregation(
            AwsEcrContainerAggregation::builder()
                .repositories(filter)
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
                Err(e) => {
                    let code = aws_sdk_inspector2::error::ProvideErrorMetadata::code(&e)
                        .unwrap_or("")
                        .to_string();
                    let text = error_text(&e, "inspector2", OP);
                    return match code.as_str() {
                        // Not enabled in this account and region, or not allowed: each image
                        // is read on its own instead.
                        "AccessDeniedException" | "ResourceNotFoundException" => {
                            Ok(BulkCounts::Unavailable(text))
                        }
                        _ => Err(call_error(OP, repository, text)),
                    };
                }
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
