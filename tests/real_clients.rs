//! The SDK clients built exactly as `main` builds them (`aws::load_sdk_config`: the standard
//! chain, no injected HTTP client) work: a build without an HTTP client would compile and then panic here.

mod common;

use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::domain::image::{Digest, ImageRef};
use ecr_scan_gate::engine::ports::{Registry, RegistryError};
use ecr_scan_gate::judgement::findings::FindingsTally;
use ecr_scan_gate::policy::document::Policy;

#[tokio::test]
async fn clients_from_load_defaults_reach_the_endpoint_of_aws_endpoint_url() {
    let endpoint = common::moto_endpoint();
    // This test binary has only this test, so setting the environment is safe.
    std::env::set_var("AWS_ENDPOINT_URL", &endpoint);
    std::env::set_var("AWS_REGION", common::REGION);
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    let config = ecr_scan_gate::adapters::aws::load_sdk_config().await;
    let registry = EcrRegistry::new(aws_sdk_ecr::Client::new(&config), "quarantine-");
    let policy = Policy::default();
    let mut tally = FindingsTally::new(&policy, "x", common::TODAY);
    let digest = Digest::parse(&format!("sha256:{}", "0".repeat(64))).unwrap();
    let err = registry
        .scan_findings(
            "never-created",
            &ImageRef::Digest(digest),
            &mut tally,
            ecr_scan_gate::engine::ports::Deadline::none(),
        )
        .await
        .unwrap_err();
    // A typed answer from the emulator proves the request went over HTTP and came back.
    assert_eq!(
        err,
        RegistryError::RepositoryNotFound {
            repository: "never-created".into()
        }
    );
    let ssm = aws_sdk_ssm::Client::new(&config);
    let e = ssm
        .get_parameter()
        .name("/nothing/here")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .is_some_and(|s| s.is_parameter_not_found()),
        "{e:?}"
    );
}
