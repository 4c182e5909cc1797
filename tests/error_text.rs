//! How AWS errors read: one line with the cause and a hint, from the real SDK clients.

mod common;

use aws_sdk_ecr::config::{Credentials, Region};
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::domain::image::Digest;
use ecr_scan_gate::engine::ports::Registry;

const DIGEST: &str = "sha256:74b2c688c700ec95a93e478cdb959737c148df3fbf5ea706abe0318726e885e6";

async fn tags_error(config: aws_sdk_ecr::Config) -> String {
    let registry = EcrRegistry::new(aws_sdk_ecr::Client::from_conf(config), "quarantine-");
    registry
        .image_tags("demo-api", &Digest::parse(DIGEST).unwrap())
        .await
        .unwrap_err()
        .to_string()
}

fn base() -> aws_sdk_ecr::config::Builder {
    aws_sdk_ecr::Config::builder()
        .behavior_version_latest()
        .endpoint_url(common::moto_endpoint())
}

#[tokio::test]
async fn no_credentials_reads_as_one_line_with_a_hint() {
    let text = tags_error(base().region(Region::new(common::REGION)).build()).await;
    assert!(text.contains("no AWS credentials found"), "{text}");
    assert!(text.contains("AWS_PROFILE"), "{text}");
    assert!(!text.contains('\n'), "{text}");
}

#[tokio::test]
async fn no_region_reads_as_one_line_with_a_hint() {
    let text = tags_error(
        base()
            .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
            .build(),
    )
    .await;
    assert!(text.contains("no AWS region: set AWS_REGION"), "{text}");
}

#[tokio::test]
async fn an_unreachable_endpoint_names_the_action() {
    let config = aws_sdk_ecr::Config::builder()
        .behavior_version_latest()
        .endpoint_url("http://127.0.0.1:9")
        .region(Region::new(common::REGION))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .retry_config(aws_sdk_ecr::config::retry::RetryConfig::disabled())
        .build();
    let text = tags_error(config).await;
    assert!(
        text.contains("could not reach AWS for ecr:DescribeImages"),
        "{text}"
    );
    assert!(
        text.contains("AWS_ENDPOINT_URL") && text.contains("Connection refused"),
        "{text}"
    );
    assert!(
        !text.contains("DispatchFailure"),
        "the Debug form is for debug logs: {text}"
    );
}

#[tokio::test]
async fn access_denied_names_the_iam_action() {
    use aws_sdk_ecr::operation::describe_images::DescribeImagesError;
    use aws_smithy_mocks::{mock, mock_client};
    let denied = mock!(aws_sdk_ecr::Client::describe_images).then_error(|| {
        DescribeImagesError::generic(
            aws_sdk_ecr::error::ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("User: arn:aws:sts::123456789012:assumed-role/gate/x is not authorized to perform: ecr:DescribeImages")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_ecr, [&denied]);
    let registry = EcrRegistry::new(client, "quarantine-");
    let text = registry
        .image_tags("demo-api", &Digest::parse(DIGEST).unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("AccessDeniedException")
            && text.contains("the role needs the IAM action ecr:DescribeImages"),
        "{text}"
    );
}
