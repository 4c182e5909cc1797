//! Hub and member accounts on the emulator: the accounts, the member settings, the hub as
//! `main` builds it (its SDK configuration, registry, SNS notifier and member registries, through
//! the counting fault proxy), the emulator as a member account sees it, and a failing image in
//! any account and region. Shared by tests/accounts.rs (events and invokes) and
//! tests/accounts_sweep.rs (the sweep and its queue).

use super::proxy::{FaultProxy, Recorded};
use super::{basic_finding, basic_findings, ecr_scan_event, http, Emulator, TODAY};
use aws_config::sts::AssumeRoleProvider;
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::adapters::aws::member::MemberRegistries;
use ecr_scan_gate::adapters::aws::sns::SnsNotifier;
use ecr_scan_gate::engine::accounts::{Home, MemberConfig};
use ecr_scan_gate::engine::gate::{Gate, GateError};
use ecr_scan_gate::engine::ports::Deadline;
use ecr_scan_gate::engine::settings::Settings;
use ecr_scan_gate::entry::app::handle_event as handle;
use ecr_scan_gate::judgement::evaluation::{Evaluation, Response};
use ecr_scan_gate::policy::document::Policy;
use ecr_scan_gate::render::alert::AlertOptions;
use serde_json::{json, Value};
use std::collections::HashMap;

pub const HUB: &str = "123456789012";
pub const MEMBER: &str = "111111111111";
pub const OTHER_MEMBER: &str = "222222222222";
pub const STRANGER: &str = "333333333333";
pub const ROLE: &str = "ecr-scan-gate-member";
pub const EU: &str = "eu-west-1";

pub fn home() -> Home {
    Home::from_function_arn(&format!(
        "arn:aws:lambda:us-east-1:{HUB}:function:ecr-scan-gate"
    ))
    .unwrap()
}

pub fn members() -> MemberConfig {
    members_from(&[
        ("MEMBER_ROLE_NAME", ROLE),
        ("MEMBER_ACCOUNTS", "111111111111,222222222222"),
        ("MEMBER_ROLE_EXTERNAL_ID", "hub-external-id"),
    ])
}

/// The member-account settings as `Config::from_env` reads them from these variables.
pub fn members_from(variables: &[(&str, &str)]) -> MemberConfig {
    let env: HashMap<&str, &str> = variables.iter().copied().collect();
    MemberConfig::from_lookup(|k| env.get(k).map(|v| v.to_string()))
        .unwrap()
        .unwrap()
}

/// The access key id that signed a request (SigV4 `Authorization: ... Credential=KEY/...`).
pub fn signed_by(request: &Recorded) -> String {
    request
        .header("authorization")
        .and_then(|auth| {
            let credential = auth.split("Credential=").nth(1)?;
            Some(credential.split('/').next()?.to_string())
        })
        .unwrap_or_default()
}

/// The hub function's own credentials (what its execution role gives it, in the emulator).
pub const HUB_KEY_ID: &str = "hubfunctionkey";

/// The hub function's SDK configuration as `main` loads it, pointed at the proxy, signing with
/// the hub's own credentials.
pub async fn hub_config(proxy: &FaultProxy) -> aws_config::SdkConfig {
    super::function_config_as(&proxy.endpoint, HUB_KEY_ID).await
}

/// The hub's own registry, with the ECR client `main` builds (`ecr::client`).
pub fn hub_registry(config: &aws_config::SdkConfig) -> EcrRegistry {
    EcrRegistry::new(
        ecr_scan_gate::adapters::aws::ecr::client(config),
        "quarantine-",
    )
}

/// The hub: its gate (own registry, SNS alerts naming the account) and the member registries.
pub struct Hub {
    pub gate: Gate<EcrRegistry>,
    pub members: MemberRegistries,
    pub proxy: FaultProxy,
}

impl Hub {
    pub async fn start(emu: &Emulator, topic_arn: Option<&str>) -> Hub {
        Hub::start_with(emu, topic_arn, members()).await
    }

    pub async fn start_with(emu: &Emulator, topic_arn: Option<&str>, members: MemberConfig) -> Hub {
        let proxy = FaultProxy::start(&emu.endpoint).await;
        // Every AssumeRole the hub sends is kept, to be read back.
        proxy.record("AssumeRole");
        let config = hub_config(&proxy).await;
        let mut gate = Gate::new(
            hub_registry(&config),
            Policy::default(),
            Settings::default(),
        );
        if let Some(arn) = topic_arn {
            let options = AlertOptions {
                default_region: Some(super::REGION.into()),
                name_account: true,
                ..AlertOptions::default()
            };
            gate = gate.with_notifier(Box::new(SnsNotifier::new(
                aws_sdk_sns::Client::new(&config),
                arn,
                options,
            )));
        }
        let members = MemberRegistries::new(&config, members, "quarantine-");
        Hub {
            gate,
            members,
            proxy,
        }
    }

    pub async fn handle(&self, input: &Value) -> Result<Response, GateError> {
        let home = home();
        handle(
            &self.gate,
            Some(&self.members),
            Ok(&home),
            input,
            TODAY,
            Deadline::none(),
            false,
        )
        .await
    }
}

/// The emulator as an account and region sees it: the test's own clients, signed with the
/// credentials of `AssumeRole` into that account (or the default account) and that region.
pub async fn place(emu: &Emulator, account: &str, region: &str) -> Emulator {
    let mut config = emu
        .config
        .to_builder()
        .region(aws_config::Region::new(region.to_string()));
    if account != HUB {
        let provider = AssumeRoleProvider::builder(format!("arn:aws:iam::{account}:role/{ROLE}"))
            .configure(&emu.config)
            .session_name("test-setup")
            .build()
            .await;
        config = config.credentials_provider(aws_sdk_ecr::config::SharedCredentialsProvider::new(
            provider,
        ));
    }
    let config = config.build();
    Emulator {
        endpoint: emu.endpoint.clone(),
        ecr: aws_sdk_ecr::Client::new(&config),
        config,
    }
}

/// A fixed manifest, so the same image pushed to two registries has the same digest.
pub fn manifest(stem: &str) -> String {
    let hex = |c: char| std::iter::repeat_n(c, 64).collect::<String>();
    json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1469,
                   "digest": format!("sha256:{}", hex('c'))},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 3370706,
                    "digest": format!("sha256:{}", hex('a')), "annotations": {"stem": stem}}]
    })
    .to_string()
}

/// A repository with one image tagged `v1`, its scan seeded with one CRITICAL finding;
/// returns the image's digest.
pub async fn failing_image(at: &Emulator, account: &str, region: &str, repo: &str) -> String {
    at.create_repo(repo).await;
    let out = at
        .ecr
        .put_image()
        .repository_name(repo)
        .image_manifest(manifest(repo))
        .image_manifest_media_type("application/vnd.docker.distribution.manifest.v2+json")
        .image_tag("v1")
        .send()
        .await
        .expect("put image");
    let digest = out
        .image()
        .and_then(|i| i.image_id())
        .and_then(|i| i.image_digest())
        .expect("digest")
        .to_string();
    at.start_scan(repo, &digest).await;
    let response = json!({
        "registryId": account,
        "repositoryName": repo,
        "imageId": {"imageDigest": digest},
        "imageScanStatus": {"status": "COMPLETE", "description": "seeded"},
        "imageScanFindings": basic_findings(vec![basic_finding(
            "CVE-2024-0001", "CRITICAL", "openssl", "3.0.1"
        )]),
    });
    let (code, body) = http(
        &at.endpoint,
        "POST",
        "/moto-api/static/ecr/scan-finding-results",
        Some(&json!({"results": [response], "region": region, "account_id": account})),
    )
    .expect("seed scan findings");
    assert_eq!(code, 201, "seeding failed: {body}");
    digest
}

/// The `ECR Image Scan` event of that image as the member's EventBridge rule forwards it.
pub fn event_from(account: &str, region: &str, repo: &str, digest: &str) -> Value {
    let mut e = ecr_scan_event(repo, digest, &["v1"], json!({"CRITICAL": 1}), "COMPLETE");
    e["account"] = json!(account);
    e["region"] = json!(region);
    e
}

pub fn qtag(digest: &str) -> String {
    format!("quarantine-{}", digest.trim_start_matches("sha256:"))
}

pub fn evaluated(r: Result<Response, GateError>) -> Evaluation {
    match r {
        Ok(Response::Evaluated(ev)) => *ev,
        other => panic!("not evaluated: {other:?}"),
    }
}

pub fn ignored(r: Result<Response, GateError>) -> String {
    match r {
        Ok(Response::Ignored { reason }) => reason,
        other => panic!("not ignored: {other:?}"),
    }
}
