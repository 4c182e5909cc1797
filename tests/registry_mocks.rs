//! What the emulator cannot do, with aws-smithy-mocks: pagination, a registry whose pagination
//! does not advance, throttling, and an immutable repository refusing the quarantine tag.

use aws_sdk_ecr::operation::describe_image_scan_findings::{
    DescribeImageScanFindingsError, DescribeImageScanFindingsOutput,
};
use aws_sdk_ecr::operation::describe_repositories::DescribeRepositoriesOutput;
use aws_sdk_ecr::operation::put_image::PutImageError;
use aws_sdk_ecr::types::{
    Attribute, FindingSeverity, Image, ImageIdentifier, ImageScanFinding, ImageScanFindings,
    ImageScanStatus, ImageTagMutability, Repository, ScanStatus,
};
use aws_sdk_ecr::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::domain::image::{Digest, ImageRef};
use ecr_scan_gate::domain::severity::Severity;
use ecr_scan_gate::engine::ports::{Registry, RegistryError};
use ecr_scan_gate::judgement::findings::FindingsTally;
use ecr_scan_gate::policy::document::Policy;

const DIGEST: &str = "sha256:74b2c688c700ec95a93e478cdb959737c148df3fbf5ea706abe0318726e885e6";

fn page(
    first_id: usize,
    n: usize,
    severity: FindingSeverity,
    next: Option<&str>,
) -> DescribeImageScanFindingsOutput {
    let findings = (first_id..first_id + n)
        .map(|i| {
            ImageScanFinding::builder()
                .name(format!("CVE-2024-{i:05}"))
                .severity(severity.clone())
                .attributes(
                    Attribute::builder()
                        .key("package_name")
                        .value("pkg")
                        .build()
                        .unwrap(),
                )
                .build()
        })
        .collect::<Vec<_>>();
    DescribeImageScanFindingsOutput::builder()
        .repository_name("demo-api")
        .image_id(ImageIdentifier::builder().image_digest(DIGEST).build())
        .image_scan_status(
            ImageScanStatus::builder()
                .status(ScanStatus::Complete)
                .build(),
        )
        .image_scan_findings(
            ImageScanFindings::builder()
                .set_findings(Some(findings))
                .build(),
        )
        .set_next_token(next.map(str::to_string))
        .build()
}

async fn read(
    client: Client,
) -> (
    Result<ecr_scan_gate::engine::ports::ScanFindings, RegistryError>,
    ecr_scan_gate::judgement::findings::FindingsReport,
) {
    let registry = EcrRegistry::new(client, "quarantine-");
    let policy = Policy::default();
    let mut tally = FindingsTally::new(&policy, "demo-api", "2026-11-27");
    let result = registry
        .scan_findings(
            "demo-api",
            &ImageRef::Digest(Digest::parse(DIGEST).unwrap()),
            &mut tally,
            ecr_scan_gate::engine::ports::Deadline::none(),
        )
        .await;
    (result, tally.finish(None))
}

#[tokio::test]
async fn every_page_of_findings_is_read_and_judged() {
    let first = mock!(Client::describe_image_scan_findings)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| page(0, 1000, FindingSeverity::Low, Some("page-2")));
    let second = mock!(Client::describe_image_scan_findings)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(|| page(1000, 1000, FindingSeverity::Medium, Some("page-3")));
    // The one Critical finding is on the last page.
    let third = mock!(Client::describe_image_scan_findings)
        .match_requests(|r| r.next_token() == Some("page-3"))
        .then_output(|| page(2000, 1, FindingSeverity::Critical, None));
    let client = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&first, &second, &third]);
    let (result, report) = read(client).await;
    let scan = result.unwrap();
    assert_eq!(scan.status, "COMPLETE");
    assert_eq!(report.read, 2001);
    assert_eq!(report.counts.get(Severity::Low), 1000);
    assert_eq!(report.counts.get(Severity::Medium), 1000);
    assert_eq!(report.counts.get(Severity::Critical), 1);
    assert_eq!(report.top[0].id, "CVE-2024-02000");
    assert_eq!(
        (first.num_calls(), second.num_calls(), third.num_calls()),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn pagination_that_does_not_advance_is_an_error_not_a_partial_verdict() {
    let first = mock!(Client::describe_image_scan_findings)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| page(0, 1, FindingSeverity::Low, Some("stuck")));
    let again = mock!(Client::describe_image_scan_findings)
        .match_requests(|r| r.next_token() == Some("stuck"))
        .then_output(|| page(1, 1, FindingSeverity::Low, Some("stuck")));
    let client = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&first, &again]);
    let (result, _) = read(client).await;
    let err = result.unwrap_err();
    assert!(matches!(err, RegistryError::BadResponse { .. }), "{err:?}");
    assert!(
        err.to_string().contains("pagination does not advance"),
        "{err}"
    );
}

#[tokio::test]
async fn throttling_that_outlasts_the_retries_names_the_operation() {
    let throttled = mock!(Client::describe_image_scan_findings).then_error(|| {
        DescribeImageScanFindingsError::generic(
            aws_sdk_ecr::error::ErrorMetadata::builder()
                .code("ThrottlingException")
                .message("Rate exceeded")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&throttled]);
    let (result, _) = read(client).await;
    let err = result.unwrap_err();
    assert!(
        !err.is_missing(),
        "throttling must fail the invocation, not decide ERROR"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("ECR DescribeImageScanFindings on demo-api failed"),
        "{text}"
    );
    assert!(text.contains("Rate exceeded"), "{text}");
}

#[tokio::test]
async fn an_immutable_repository_gets_advice_on_what_to_change() {
    let get = mock!(Client::batch_get_image).then_output(|| {
        aws_sdk_ecr::operation::batch_get_image::BatchGetImageOutput::builder()
            .images(
                Image::builder()
                    .image_id(ImageIdentifier::builder().image_digest(DIGEST).build())
                    .image_manifest("{\"schemaVersion\":2}")
                    .image_manifest_media_type(
                        "application/vnd.docker.distribution.manifest.v2+json",
                    )
                    .build(),
            )
            .build()
    });
    let put = mock!(Client::put_image).then_error(|| {
        PutImageError::ImageTagAlreadyExistsException(
            aws_sdk_ecr::types::error::ImageTagAlreadyExistsException::builder()
                .message("The image tag already exists and the repository is immutable")
                .build(),
        )
    });
    let describe = mock!(Client::describe_repositories).then_output(|| {
        DescribeRepositoriesOutput::builder()
            .repositories(
                Repository::builder()
                    .repository_name("demo-api")
                    .image_tag_mutability(ImageTagMutability::Immutable)
                    .build(),
            )
            .build()
    });
    // The tag is not on this digest: a new tag refused, not a redelivery.
    let tags = mock!(Client::describe_images).then_output(|| {
        aws_sdk_ecr::operation::describe_images::DescribeImagesOutput::builder()
            .image_details(
                aws_sdk_ecr::types::ImageDetail::builder()
                    .image_digest(DIGEST)
                    .image_tags("v1")
                    .build(),
            )
            .build()
    });
    let client = mock_client!(
        aws_sdk_ecr,
        RuleMode::MatchAny,
        [&get, &put, &describe, &tags]
    );
    let registry = EcrRegistry::new(client, "quarantine-");
    let err = registry
        .add_tag("demo-api", &Digest::parse(DIGEST).unwrap(), "quarantine-x")
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::ImmutableTags { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("IMMUTABLE_WITH_EXCLUSION") && text.contains("\"quarantine-*\""),
        "{text}"
    );
}
