//! Amazon ECS's `DescribeServiceRevisions`, which the emulator does not implement, answered by
//! the fault proxy as the Amazon ECS API Reference documents it ("DescribeServiceRevisions":
//! awsJson1_1, `POST /` with `X-Amz-Target:
//! AmazonEC2ContainerServiceV20141113.DescribeServiceRevisions`, which the proxy names
//! `DescribeServiceRevisions`; request `{"serviceRevisionArns": [...]}`, 1 to 20 ARNs; answer
//! `{"serviceRevisions": [ServiceRevision {serviceRevisionArn, serviceArn, clusterArn,
//! taskDefinition, launchType, containerImages: [{containerName, imageDigest, image}],
//! createdAt}], "failures": [Failure {arn, reason, detail}]}`; an ARN it cannot describe is in
//! `failures` with reason `MISSING`; a malformed request is `InvalidParameterException`).

use super::proxy::FaultProxy;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The operation as the proxy names it (from `X-Amz-Target`).
pub const OPERATION: &str = "DescribeServiceRevisions";
pub const ACCOUNT: &str = "123456789012";

/// One container of a revision: (containerName, image, imageDigest).
pub type Container = (String, String, Option<String>);

/// The service revisions ECS knows, by ARN.
#[derive(Clone, Default)]
pub struct Ecs(Arc<Mutex<BTreeMap<String, Vec<Container>>>>);

/// `arn:aws:ecs:us-east-1:123456789012:service-revision/CLUSTER/SERVICE/ID`.
pub fn revision_arn(cluster: &str, service: &str, id: &str) -> String {
    format!(
        "arn:aws:ecs:{}:{ACCOUNT}:service-revision/{cluster}/{service}/{id}",
        super::REGION
    )
}

/// The ECR image reference of `repository` in the emulator's account and region.
pub fn ecr_image(repository: &str, tag: &str) -> String {
    format!(
        "{ACCOUNT}.dkr.ecr.{}.amazonaws.com/{repository}:{tag}",
        super::REGION
    )
}

/// The payload ECS invokes a lifecycle hook with (ECS developer guide, "Lambda hooks for Amazon
/// ECS service deployments"), for the target revision `revision`.
pub fn hook_event(revision: &str, stage: &str, hook_details: Option<Value>) -> Value {
    let tail = revision
        .split_once(":service-revision/")
        .map(|(_, t)| t)
        .unwrap_or("");
    let mut names = tail.split('/');
    let (cluster, service) = (names.next().unwrap_or(""), names.next().unwrap_or(""));
    let region = super::REGION;
    let mut event = json!({
        "executionId": "e2f5ac8e-7c0b-4c1f-9a57-3f3d7b8c1a01",
        "lifecycleStage": stage,
        "resourceArn": format!("arn:aws:ecs:{region}:{ACCOUNT}:service-deployment/{cluster}/{service}/4zXGmFbE1UHv9LMVvmX9E"),
        "executionDetails": {
            "serviceArn": format!("arn:aws:ecs:{region}:{ACCOUNT}:service/{cluster}/{service}"),
            "targetServiceRevisionArn": revision,
            "testTrafficWeights": {},
            "productionTrafficWeights": {}
        }
    });
    if let Some(details) = hook_details {
        event["hookDetails"] = details;
    }
    event
}

impl Ecs {
    /// The revision `arn` runs these containers.
    pub fn set(&self, arn: &str, containers: &[(&str, &str, Option<&str>)]) {
        let containers = containers
            .iter()
            .map(|(n, i, d)| (n.to_string(), i.to_string(), d.map(str::to_string)))
            .collect();
        self.0.lock().unwrap().insert(arn.to_string(), containers);
    }

    /// Answers `DescribeServiceRevisions` through `proxy` from what was set.
    pub fn install(&self, proxy: &FaultProxy) {
        let me = self.clone();
        proxy.answer(
            OPERATION,
            Arc::new(move |request: &[u8]| {
                let request: Value = serde_json::from_slice(request).unwrap_or(Value::Null);
                let arns: Vec<&str> = request["serviceRevisionArns"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if arns.is_empty() || arns.len() > 20 {
                    return (
                        400,
                        json!({"__type": "InvalidParameterException",
                               "message": "serviceRevisionArns must list 1 to 20 ARNs"})
                        .to_string(),
                    );
                }
                let known = me.0.lock().unwrap().clone();
                let mut revisions = Vec::new();
                let mut failures = Vec::new();
                for arn in arns {
                    let Some(containers) = known.get(arn) else {
                        failures.push(json!({"arn": arn, "reason": "MISSING"}));
                        continue;
                    };
                    revisions.push(revision(arn, containers));
                }
                (
                    200,
                    json!({"serviceRevisions": revisions, "failures": failures}).to_string(),
                )
            }),
        );
    }
}

fn revision(arn: &str, containers: &[Container]) -> Value {
    let tail = arn
        .split_once(":service-revision/")
        .map(|(_, t)| t)
        .unwrap_or("");
    let mut names = tail.split('/');
    let (cluster, service) = (names.next().unwrap_or(""), names.next().unwrap_or(""));
    let prefix = format!("arn:aws:ecs:{}:{ACCOUNT}", super::REGION);
    let images: Vec<Value> = containers
        .iter()
        .map(|(name, image, digest)| {
            let mut c = json!({"containerName": name, "image": image});
            if let Some(d) = digest {
                c["imageDigest"] = json!(d);
            }
            c
        })
        .collect();
    json!({
        "serviceRevisionArn": arn,
        "serviceArn": format!("{prefix}:service/{cluster}/{service}"),
        "clusterArn": format!("{prefix}:cluster/{cluster}"),
        "taskDefinition": format!("{prefix}:task-definition/{service}:7"),
        "launchType": "FARGATE",
        "platformVersion": "1.4.0",
        "platformFamily": "Linux",
        "containerImages": images,
        "guardDutyEnabled": false,
        "createdAt": 1795746208.0
    })
}

/// The emulator as another account sees it (moto acts in the account of an assumed role): a
/// service may run images of another account's registry.
pub async fn in_account(emu: &super::Emulator, account: &str) -> super::Emulator {
    let provider =
        aws_config::sts::AssumeRoleProvider::builder(format!("arn:aws:iam::{account}:role/setup"))
            .configure(&emu.config)
            .session_name("test-setup")
            .build()
            .await;
    let config = emu
        .config
        .to_builder()
        .credentials_provider(aws_sdk_ecr::config::SharedCredentialsProvider::new(
            provider,
        ))
        .build();
    super::Emulator {
        endpoint: emu.endpoint.clone(),
        ecr: aws_sdk_ecr::Client::new(&config),
        config,
    }
}

/// Seeds the scan of an image of `account` (as `Emulator::seed` does for the default account).
pub fn seed_in(emu: &super::Emulator, account: &str, repo: &str, digest: &str, findings: Value) {
    let seeded = json!({"registryId": account, "repositoryName": repo,
        "imageId": {"imageDigest": digest},
        "imageScanStatus": {"status": "COMPLETE", "description": "seeded"},
        "imageScanFindings": findings});
    let body = json!({"results": [seeded], "region": super::REGION, "account_id": account});
    let path = "/moto-api/static/ecr/scan-finding-results";
    let (code, text) = super::http(&emu.endpoint, "POST", path, Some(&body)).expect("seed");
    assert_eq!(code, 201, "seeding failed: {text}");
}
