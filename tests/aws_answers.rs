//! AWS answers moto does not give, with aws-smithy-mocks: an IMMUTABLE repository's answer to
//! a repeated tag, a Docker schema-1 image, and findings paged 1 000 at a time (the early
//! quarantine).

use aws_sdk_ecr::operation::batch_get_image::BatchGetImageOutput;
use aws_sdk_ecr::operation::describe_image_scan_findings::DescribeImageScanFindingsOutput;
use aws_sdk_ecr::operation::describe_images::DescribeImagesOutput;
use aws_sdk_ecr::operation::put_image::{PutImageError, PutImageOutput};
use aws_sdk_ecr::types::{
    FindingSeverity, Image, ImageDetail, ImageIdentifier, ImageScanFinding, ImageScanFindings,
    ImageScanStatus, ScanStatus,
};
use aws_sdk_ecr::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::domain::image::{Digest, ImageRef};
use ecr_scan_gate::domain::scan::ScanEvent;
use ecr_scan_gate::engine::gate::Gate;
use ecr_scan_gate::engine::ports::{Change, Deadline, Registry, RegistryError};
use ecr_scan_gate::engine::settings::Settings;
use ecr_scan_gate::judgement::evaluation::{Action, ActionStatus};
use ecr_scan_gate::policy::document::Policy;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const DIGEST: &str = "sha256:74b2c688c700ec95a93e478cdb959737c148df3fbf5ea706abe0318726e885e6";
const TAG: &str = "quarantine-74b2c688c700ec95a93e478cdb959737c148df3fbf5ea706abe0318726e885e6";

fn image(media_type: &str) -> BatchGetImageOutput {
    BatchGetImageOutput::builder()
        .images(
            Image::builder()
                .image_id(ImageIdentifier::builder().image_digest(DIGEST).build())
                .image_manifest("{\"schemaVersion\":2}")
                .image_manifest_media_type(media_type)
                .build(),
        )
        .build()
}

fn described(tags: &[&str]) -> DescribeImagesOutput {
    DescribeImagesOutput::builder()
        .image_details(
            ImageDetail::builder()
                .image_digest(DIGEST)
                .set_image_tags(Some(tags.iter().map(|t| t.to_string()).collect()))
                .build(),
        )
        .build()
}

/// Item 4: a redelivered event on an IMMUTABLE repository. AWS answers the repeated PutImage
/// with ImageTagAlreadyExistsException (not ImageAlreadyExists): the tag is on this digest
/// already, so it is done.
#[tokio::test]
async fn a_repeated_quarantine_on_an_immutable_repository_is_already_done() {
    let get = mock!(Client::batch_get_image)
        .then_output(|| image("application/vnd.docker.distribution.manifest.v2+json"));
    let put = mock!(Client::put_image).then_error(|| {
        PutImageError::ImageTagAlreadyExistsException(
            aws_sdk_ecr::types::error::ImageTagAlreadyExistsException::builder()
                .message("The image tag already exists and the repository is immutable")
                .build(),
        )
    });
    let tags = mock!(Client::describe_images).then_output(|| described(&["v1", TAG]));
    let client = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&get, &put, &tags]);
    let registry = EcrRegistry::new(client, "quarantine-");
    let change = registry
        .add_tag("demo-api", &Digest::parse(DIGEST).unwrap(), TAG)
        .await;
    assert_eq!(change, Ok(Change::AlreadyDone));
}

/// Item 10: a Docker schema-1 image is reported as what it is, not as "does not exist".
#[tokio::test]
async fn a_schema_1_image_is_reported_clearly() {
    let get = mock!(Client::batch_get_image)
        .match_requests(|r| {
            r.accepted_media_types()
                .iter()
                .any(|m| m.starts_with("application/vnd.docker.distribution.manifest.v1"))
        })
        .then_output(|| image("application/vnd.docker.distribution.manifest.v1+prettyjws"));
    // Asked without the schema-1 media types, ECR has nothing to give.
    let refused = mock!(Client::batch_get_image).then_output(|| {
        BatchGetImageOutput::builder()
            .failures(
                aws_sdk_ecr::types::ImageFailure::builder()
                    .image_id(ImageIdentifier::builder().image_digest(DIGEST).build())
                    .failure_code(aws_sdk_ecr::types::ImageFailureCode::ImageNotFound)
                    .failure_reason("Requested image not found")
                    .build(),
            )
            .build()
    });
    let client = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&get, &refused]);
    let registry = EcrRegistry::new(client, "quarantine-");
    let err = registry
        .add_tag("demo-api", &Digest::parse(DIGEST).unwrap(), TAG)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Unsupported { .. }), "{err:?}");
    assert!(
        err.to_string().contains("Docker schema-1 manifest"),
        "{err}"
    );
    assert!(
        !err.is_gone(),
        "a schema-1 image exists: it is not 'nothing to block'"
    );
}

fn page(
    first: usize,
    n: usize,
    critical_at: Option<usize>,
    next: Option<String>,
) -> DescribeImageScanFindingsOutput {
    let findings = (first..first + n)
        .map(|i| {
            let sev = if Some(i) == critical_at {
                FindingSeverity::Critical
            } else {
                FindingSeverity::Low
            };
            ImageScanFinding::builder()
                .name(format!("CVE-2024-{i:06}"))
                .severity(sev)
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
        .set_next_token(next)
        .build()
}

/// Item 11: a Critical finding on the first of 10 pages. The quarantine starts after that page,
/// while the other 9 are still read.
#[tokio::test]
async fn the_quarantine_starts_after_the_first_failing_page_not_after_the_last() {
    const PAGES: usize = 10;
    let pages_read = Arc::new(AtomicUsize::new(0));
    let at_put = Arc::new(AtomicUsize::new(usize::MAX));
    let read = pages_read.clone();
    let findings = mock!(Client::describe_image_scan_findings).then_output(move || {
        let n = read.fetch_add(1, Ordering::SeqCst);
        let next = (n + 1 < PAGES).then(|| format!("page-{}", n + 1));
        page(n * 1000, 1000, (n == 0).then_some(17), next)
    });
    let get = mock!(Client::batch_get_image)
        .then_output(|| image("application/vnd.docker.distribution.manifest.v2+json"));
    let (read, seen) = (pages_read.clone(), at_put.clone());
    let put = mock!(Client::put_image).then_output(move || {
        seen.store(read.load(Ordering::SeqCst), Ordering::SeqCst);
        PutImageOutput::builder().build()
    });
    // No image index in the repository.
    let indexes =
        mock!(Client::describe_images).then_output(|| DescribeImagesOutput::builder().build());
    let client = mock_client!(
        aws_sdk_ecr,
        RuleMode::MatchAny,
        [&findings, &get, &put, &indexes]
    );
    let gate = Gate::new(
        EcrRegistry::new(client, "quarantine-"),
        Policy::default(),
        Settings::default(),
    );
    let mut event = ScanEvent::direct(
        "demo-api".into(),
        ImageRef::Digest(Digest::parse(DIGEST).unwrap()),
    );
    event.tags = vec!["v1".into()];
    let ev = gate
        .evaluate(&event, "2026-11-27", Deadline::none())
        .await
        .unwrap();
    assert_eq!(
        ev.counts
            .get(ecr_scan_gate::domain::severity::Severity::Low),
        9_999,
        "every page is still read"
    );
    assert!(
        matches!(
            &ev.actions[0],
            Action::Quarantine {
                status: ActionStatus::Done,
                ..
            }
        ),
        "{:?}",
        ev.actions
    );
    let before = at_put.load(Ordering::SeqCst);
    assert_eq!(
        before, 1,
        "PutImage ran after {before} of {PAGES} pages: the quarantine must start after the first"
    );
    assert_eq!(pages_read.load(Ordering::SeqCst), PAGES);
}
