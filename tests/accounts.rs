//! Hub and member accounts on the emulator, for real: moto acts in the account of an assumed
//! role (a call signed with credentials of `AssumeRole` into `arn:aws:iam::111111111111:role/x`
//! acts in account 111111111111) and in the region of the signature. The hub is moto's default
//! account 123456789012. The gate's clients go through the counting fault proxy, so every AWS
//! call the gate makes is counted; the test's own set-up calls go to moto directly.

mod common;

use aws_config::sts::AssumeRoleProvider;
use common::proxy::{Fault, FaultProxy, Recorded};
use common::summaries::Summaries;
use common::{basic_finding, basic_findings, ecr_scan_event, http, Emulator, TODAY};
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::adapters::aws::member::MemberRegistries;
use ecr_scan_gate::adapters::aws::sns::SnsNotifier;
use ecr_scan_gate::adapters::aws::sqs::SqsSweepQueue;
use ecr_scan_gate::domain::verdict::Verdict;
use ecr_scan_gate::engine::accounts::{Home, MemberConfig};
use ecr_scan_gate::engine::decision_log::metrics_line_by;
use ecr_scan_gate::engine::gate::{Gate, GateError};
use ecr_scan_gate::engine::ports::Deadline;
use ecr_scan_gate::engine::settings::Settings;
use ecr_scan_gate::entry::app;
use ecr_scan_gate::entry::app::handle_event as handle;
use ecr_scan_gate::entry::app::{App, Context, Output, RegistryOutcome};
use ecr_scan_gate::entry::sweep::report::SweepReport;
use ecr_scan_gate::judgement::evaluation::{ActionStatus, Evaluation, Response};
use ecr_scan_gate::policy::document::Policy;
use ecr_scan_gate::render::alert::AlertOptions;
use serde_json::{json, Value};
use std::collections::HashMap;

const HUB: &str = "123456789012";
const MEMBER: &str = "111111111111";
const OTHER_MEMBER: &str = "222222222222";
const STRANGER: &str = "333333333333";
const ROLE: &str = "ecr-scan-gate-member";
const EU: &str = "eu-west-1";

fn home() -> Home {
    Home::from_function_arn(&format!(
        "arn:aws:lambda:us-east-1:{HUB}:function:ecr-scan-gate"
    ))
    .unwrap()
}

fn members() -> MemberConfig {
    members_from(&[
        ("MEMBER_ROLE_NAME", ROLE),
        ("MEMBER_ACCOUNTS", "111111111111,222222222222"),
        ("MEMBER_ROLE_EXTERNAL_ID", "hub-external-id"),
    ])
}

/// The member-account settings as `Config::from_env` reads them from these variables.
fn members_from(variables: &[(&str, &str)]) -> MemberConfig {
    let env: HashMap<&str, &str> = variables.iter().copied().collect();
    MemberConfig::from_lookup(|k| env.get(k).map(|v| v.to_string()))
        .unwrap()
        .unwrap()
}

/// The access key id that signed a request (SigV4 `Authorization: ... Credential=KEY/...`).
fn signed_by(request: &Recorded) -> String {
    request
        .header("authorization")
        .and_then(|auth| {
            let credential = auth.split("Credential=").nth(1)?;
            Some(credential.split('/').next()?.to_string())
        })
        .unwrap_or_default()
}

/// The hub function's own credentials (what its execution role gives it, in the emulator).
const HUB_KEY_ID: &str = "hubfunctionkey";

/// The hub function's SDK configuration as `main` loads it (`aws::load_sdk_config`: its HTTP
/// client, timeouts and retries), pointed at the proxy with the region and the credentials
/// that the Lambda environment gives it.
async fn hub_config(proxy: &FaultProxy) -> aws_config::SdkConfig {
    ecr_scan_gate::adapters::aws::load_sdk_config()
        .await
        .to_builder()
        .endpoint_url(&proxy.endpoint)
        .region(aws_config::Region::new(common::REGION))
        .credentials_provider(aws_sdk_ecr::config::SharedCredentialsProvider::new(
            aws_sdk_ecr::config::Credentials::new(HUB_KEY_ID, "test", None, None, "tests"),
        ))
        .build()
}

/// The hub's own registry, with the ECR client `main` builds (`ecr::client`).
fn hub_registry(config: &aws_config::SdkConfig) -> EcrRegistry {
    EcrRegistry::new(
        ecr_scan_gate::adapters::aws::ecr::client(config),
        "quarantine-",
    )
}

/// The hub: its gate (own registry, SNS alerts naming the account) and the member registries.
struct Hub {
    gate: Gate<EcrRegistry>,
    members: MemberRegistries,
    proxy: FaultProxy,
}

impl Hub {
    async fn start(emu: &Emulator, topic_arn: Option<&str>) -> Hub {
        Hub::start_with(emu, topic_arn, members()).await
    }

    async fn start_with(emu: &Emulator, topic_arn: Option<&str>, members: MemberConfig) -> Hub {
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
                default_region: Some(common::REGION.into()),
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

    async fn handle(&self, input: &Value) -> Result<Response, GateError> {
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
async fn place(emu: &Emulator, account: &str, region: &str) -> Emulator {
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
fn manifest(stem: &str) -> String {
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
async fn failing_image(at: &Emulator, account: &str, region: &str, repo: &str) -> String {
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
fn event_from(account: &str, region: &str, repo: &str, digest: &str) -> Value {
    let mut e = ecr_scan_event(repo, digest, &["v1"], json!({"CRITICAL": 1}), "COMPLETE");
    e["account"] = json!(account);
    e["region"] = json!(region);
    e
}

fn qtag(digest: &str) -> String {
    format!("quarantine-{}", digest.trim_start_matches("sha256:"))
}

fn evaluated(r: Result<Response, GateError>) -> Evaluation {
    match r {
        Ok(Response::Evaluated(ev)) => *ev,
        other => panic!("not evaluated: {other:?}"),
    }
}

fn ignored(r: Result<Response, GateError>) -> String {
    match r {
        Ok(Response::Ignored { reason }) => reason,
        other => panic!("not ignored: {other:?}"),
    }
}

#[tokio::test]
async fn a_member_event_quarantines_in_the_member_registry_and_leaves_the_hub_untouched() {
    let emu = Emulator::start().await;
    let topic = emu
        .topic_with_queue(&common::unique_repo("acct-alerts"), None)
        .await;
    let hub = Hub::start(&emu, Some(&topic.topic_arn)).await;
    let member = place(&emu, MEMBER, common::REGION).await;
    let repo = common::unique_repo("acct-member");
    let digest = failing_image(&member, MEMBER, common::REGION, &repo).await;
    // The hub has a repository of the same name with the same image.
    let hub_digest = failing_image(&emu, HUB, common::REGION, &repo).await;
    assert_eq!(hub_digest, digest, "the same manifest, the same digest");

    let ev = evaluated(
        hub.handle(&event_from(MEMBER, common::REGION, &repo, &digest))
            .await,
    );
    assert_eq!(ev.verdict, Verdict::Fail);
    assert_eq!(ev.actions[0].status(), &ActionStatus::Done, "{ev:?}");
    assert_eq!(ev.account.as_deref(), Some(MEMBER));
    assert_eq!(ev.region.as_deref(), Some(common::REGION));
    assert_eq!(
        member.tags(&repo, &digest).await,
        vec![qtag(&digest), "v1".into()]
    );
    assert_eq!(emu.tags(&repo, &digest).await, vec!["v1".to_string()]);
    assert_eq!(hub.proxy.count("AssumeRole"), 1);

    // The alert names the member's account and region; SNS carries an `account` attribute.
    let sent = emu.sent_notifications(&topic.topic_arn);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (message, subject, attributes) = &sent[0];
    let subject = subject.as_deref().unwrap_or_default();
    assert!(
        subject.contains(&format!("in {MEMBER}/{}", common::REGION)),
        "{subject}"
    );
    assert_eq!(attributes["account"]["Value"], MEMBER, "{attributes}");
    let body: Value = serde_json::from_str(message).unwrap();
    let default: Value = serde_json::from_str(body["default"].as_str().unwrap()).unwrap();
    assert_eq!(default["account"], MEMBER);
    assert!(body["email"]
        .as_str()
        .unwrap()
        .contains(&format!("Account:    {MEMBER}")));

    // The decision's metrics carry the account as a dimension in member mode.
    let line = metrics_line_by(&Ok(Response::Evaluated(Box::new(ev))), 0, true).unwrap();
    let record: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(record["Account"], MEMBER);
    assert!(record["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
        .as_array()
        .unwrap()
        .contains(&json!(["Account", "Repository"])));
}

/// moto assumes any role, whatever its trust policy says: a missing or wrong `ExternalId` would
/// pass every other test and be refused by every member role that requires it. What the role's
/// trust policy checks is read here from the `AssumeRole` request the hub sent (query protocol:
/// `Action=AssumeRole&RoleArn=...&RoleSessionName=...&ExternalId=...`).
#[tokio::test]
async fn assume_role_sends_the_members_role_the_gates_session_name_and_the_external_id() {
    let emu = Emulator::start().await;
    let hub = Hub::start(&emu, None).await;
    hub.proxy.record("PutImage");
    let member = place(&emu, MEMBER, common::REGION).await;
    let repo = common::unique_repo("acct-external-id");
    let digest = failing_image(&member, MEMBER, common::REGION, &repo).await;
    let ev = evaluated(
        hub.handle(&event_from(MEMBER, common::REGION, &repo, &digest))
            .await,
    );
    assert_eq!(ev.actions[0].status(), &ActionStatus::Done, "{ev:?}");

    let sent = hub.proxy.recorded("AssumeRole");
    assert_eq!(sent.len(), 1, "{sent:?}");
    let assume = &sent[0];
    assert_eq!(assume.form("Action").as_deref(), Some("AssumeRole"));
    assert_eq!(
        assume.form("RoleArn"),
        Some(format!("arn:aws:iam::{MEMBER}:role/{ROLE}"))
    );
    // The session name the member's CloudTrail shows (docs/accounts.md).
    assert_eq!(
        assume.form("RoleSessionName").as_deref(),
        Some("ecr-scan-gate")
    );
    assert_eq!(
        assume.form("ExternalId").as_deref(),
        Some("hub-external-id"),
        "{}",
        assume.body
    );
    // Signed with the hub function's own credentials; the change in the member's registry
    // with the credentials the role gave.
    assert_eq!(signed_by(assume), HUB_KEY_ID, "{}", assume.head);
    let puts = hub.proxy.recorded("PutImage");
    assert_eq!(puts.len(), 1);
    let role_key = signed_by(&puts[0]);
    assert!(
        !role_key.is_empty() && role_key != HUB_KEY_ID,
        "PutImage signed by {role_key:?}"
    );

    // Without MEMBER_ROLE_EXTERNAL_ID no ExternalId is sent at all (not an empty one).
    let hub = Hub::start_with(
        &emu,
        None,
        members_from(&[("MEMBER_ROLE_NAME", ROLE), ("MEMBER_ACCOUNTS", MEMBER)]),
    )
    .await;
    let repo = common::unique_repo("acct-no-external-id");
    let digest = failing_image(&member, MEMBER, common::REGION, &repo).await;
    let ev = evaluated(
        hub.handle(&event_from(MEMBER, common::REGION, &repo, &digest))
            .await,
    );
    assert_eq!(ev.actions[0].status(), &ActionStatus::Done, "{ev:?}");
    let sent = hub.proxy.recorded("AssumeRole");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        sent[0].form("RoleArn"),
        Some(format!("arn:aws:iam::{MEMBER}:role/{ROLE}"))
    );
    assert_eq!(sent[0].form("ExternalId"), None, "{}", sent[0].body);
}

#[tokio::test]
async fn a_strangers_event_is_ignored_with_no_aws_call() {
    let emu = Emulator::start().await;
    let hub = Hub::start(&emu, None).await;
    let digest = format!("sha256:{}", "b".repeat(64));
    let reason = ignored(
        hub.handle(&event_from(STRANGER, common::REGION, "demo-api", &digest))
            .await,
    );
    assert!(
        reason.contains(STRANGER) && reason.contains("MEMBER_ACCOUNTS"),
        "{reason}"
    );
    // A direct invoke into a stranger and an event with a bogus region are refused alike.
    let reason = ignored(
        hub.handle(&json!({"repository": "demo-api", "digest": digest, "account": STRANGER}))
            .await,
    );
    assert!(reason.contains(STRANGER), "{reason}");
    let reason = ignored(
        hub.handle(&event_from(MEMBER, "mars-north-1x", "demo-api", &digest))
            .await,
    );
    assert!(reason.contains("mars-north-1x"), "{reason}");
    assert_eq!(hub.proxy.total(), 0, "{:?}", hub.proxy.counts());
    assert_eq!(hub.members.registries_built(), 0);
}

#[tokio::test]
async fn the_hubs_own_event_in_member_mode_uses_its_own_credentials() {
    let emu = Emulator::start().await;
    let hub = Hub::start(&emu, None).await;
    let repo = common::unique_repo("acct-own");
    let digest = failing_image(&emu, HUB, common::REGION, &repo).await;
    let ev = evaluated(
        hub.handle(&event_from(HUB, common::REGION, &repo, &digest))
            .await,
    );
    assert_eq!(ev.verdict, Verdict::Fail);
    assert_eq!(ev.actions[0].status(), &ActionStatus::Done, "{ev:?}");
    assert_eq!(
        emu.tags(&repo, &digest).await,
        vec![qtag(&digest), "v1".into()]
    );
    assert_eq!(ev.account.as_deref(), Some(HUB));
    assert_eq!(hub.proxy.count("AssumeRole"), 0);
    assert_eq!(hub.members.registries_built(), 0, "the gate's own client");
}

#[tokio::test]
async fn a_direct_invoke_into_a_member_and_one_into_the_hub() {
    let emu = Emulator::start().await;
    let hub = Hub::start(&emu, None).await;
    let member = place(&emu, MEMBER, common::REGION).await;
    let repo = common::unique_repo("acct-direct");
    let digest = failing_image(&member, MEMBER, common::REGION, &repo).await;
    let ev = evaluated(
        hub.handle(&json!({
            "repository": repo, "tag": "v1", "account": MEMBER, "region": common::REGION
        }))
        .await,
    );
    assert_eq!(ev.verdict, Verdict::Fail);
    assert_eq!(
        ev.digest.as_ref().map(|d| d.to_string()),
        Some(digest.clone())
    );
    assert_eq!(
        member.tags(&repo, &digest).await,
        vec![qtag(&digest), "v1".into()]
    );
    let response = serde_json::to_value(Response::Evaluated(Box::new(ev))).unwrap();
    assert_eq!(response["account"], MEMBER);
    assert_eq!(response["region"], common::REGION);

    // Without `account`, the image is the hub's: there is none, and the response says where
    // the gate looked.
    let ev = evaluated(hub.handle(&json!({"repository": repo, "tag": "v1"})).await);
    assert_eq!(ev.verdict, Verdict::Error);
    assert_eq!(ev.scan_status.as_deref(), Some("REPOSITORY_NOT_FOUND"));
    assert_eq!(ev.account.as_deref(), Some(HUB));
    assert_eq!(ev.region.as_deref(), Some(common::REGION));

    // A malformed account or region is an error naming the field.
    for (key, value) in [("account", "1111"), ("region", "Europe")] {
        let mut input = json!({"repository": repo, "tag": "v1"});
        input[key] = json!(value);
        match hub.handle(&input).await {
            Err(GateError::Event(e)) => assert_eq!(e.field, key),
            other => panic!("{key}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn two_regions_of_a_member_are_two_registries_with_one_assume_role() {
    let emu = Emulator::start().await;
    let hub = Hub::start(&emu, None).await;
    let us = place(&emu, OTHER_MEMBER, common::REGION).await;
    let eu = place(&emu, OTHER_MEMBER, EU).await;
    let repo = common::unique_repo("acct-regions");
    let digest_us = failing_image(&us, OTHER_MEMBER, common::REGION, &repo).await;
    let digest_eu = failing_image(&eu, OTHER_MEMBER, EU, &repo).await;
    assert_eq!(digest_us, digest_eu);

    let ev = evaluated(
        hub.handle(&event_from(OTHER_MEMBER, EU, &repo, &digest_eu))
            .await,
    );
    assert_eq!(ev.verdict, Verdict::Fail);
    assert_eq!(ev.region.as_deref(), Some(EU));
    assert_eq!(
        eu.tags(&repo, &digest_eu).await,
        vec![qtag(&digest_eu), "v1".into()]
    );
    assert_eq!(us.tags(&repo, &digest_us).await, vec!["v1".to_string()]);

    let ev = evaluated(
        hub.handle(&event_from(OTHER_MEMBER, common::REGION, &repo, &digest_us))
            .await,
    );
    assert_eq!(ev.region.as_deref(), Some(common::REGION));
    assert_eq!(
        us.tags(&repo, &digest_us).await,
        vec![qtag(&digest_us), "v1".into()]
    );
    assert_eq!(hub.members.registries_built(), 2);
    assert_eq!(
        hub.proxy.count("AssumeRole"),
        1,
        "the account's credentials serve both regions"
    );
}

#[tokio::test]
async fn the_hubs_own_account_in_another_region_needs_no_role() {
    let emu = Emulator::start().await;
    let hub = Hub::start(&emu, None).await;
    let eu = place(&emu, HUB, EU).await;
    let repo = common::unique_repo("acct-own-eu");
    let digest = failing_image(&eu, HUB, EU, &repo).await;
    let ev = evaluated(hub.handle(&event_from(HUB, EU, &repo, &digest)).await);
    assert_eq!(ev.verdict, Verdict::Fail);
    assert_eq!(
        eu.tags(&repo, &digest).await,
        vec![qtag(&digest), "v1".into()]
    );
    assert_eq!(hub.proxy.count("AssumeRole"), 0);
}

#[tokio::test]
async fn a_role_that_cannot_be_assumed_fails_naming_the_account_and_the_role() {
    let emu = Emulator::start().await;
    let hub = Hub::start(&emu, None).await;
    let member = place(&emu, MEMBER, common::REGION).await;
    let repo = common::unique_repo("acct-denied");
    let digest = failing_image(&member, MEMBER, common::REGION, &repo).await;
    hub.proxy
        .inject(Some("AssumeRole"), Fault::AccessDenied, usize::MAX);

    let err = hub
        .handle(&event_from(MEMBER, common::REGION, &repo, &digest))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "MemberRoleUnavailable", "{err}");
    let text = err.to_string();
    let role_arn = format!("arn:aws:iam::{MEMBER}:role/{ROLE}");
    assert!(
        text.contains(&format!("account {MEMBER}"))
            && text.contains(&role_arn)
            && text.contains("AccessDenied"),
        "{text}"
    );
    assert!(!text.contains("hub-external-id"), "{text}");
    // Refused once: neither the provider nor the ECR client retries an access denial, and
    // no ECR request left without credentials.
    assert_eq!(hub.proxy.count("AssumeRole"), 1, "{:?}", hub.proxy.counts());
    assert_eq!(hub.proxy.count("DescribeImageScanFindings"), 0);
    assert_eq!(member.tags(&repo, &digest).await, vec!["v1".to_string()]);

    // The next delivery tries again (nothing is cached from a failure) and, once the role
    // is fixed, succeeds.
    hub.proxy.clear();
    let ev = evaluated(
        hub.handle(&event_from(MEMBER, common::REGION, &repo, &digest))
            .await,
    );
    assert_eq!(ev.actions[0].status(), &ActionStatus::Done);
    assert_eq!(hub.proxy.count("AssumeRole"), 2);
}

#[tokio::test]
async fn assume_role_happens_once_per_container_for_two_events_of_a_member() {
    let emu = Emulator::start().await;
    let hub = Hub::start(&emu, None).await;
    let member = place(&emu, MEMBER, common::REGION).await;
    let first = common::unique_repo("acct-once-a");
    let second = common::unique_repo("acct-once-b");
    let d1 = failing_image(&member, MEMBER, common::REGION, &first).await;
    let d2 = failing_image(&member, MEMBER, common::REGION, &second).await;
    for (repo, digest) in [(&first, &d1), (&second, &d2)] {
        let ev = evaluated(
            hub.handle(&event_from(MEMBER, common::REGION, repo, digest))
                .await,
        );
        assert_eq!(ev.actions[0].status(), &ActionStatus::Done);
    }
    assert_eq!(hub.proxy.count("AssumeRole"), 1, "{:?}", hub.proxy.counts());
    assert_eq!(hub.members.registries_built(), 1);
}

#[tokio::test]
async fn without_member_accounts_nothing_changes() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let config = hub_config(&proxy).await;
    let gate = Gate::new(
        hub_registry(&config),
        Policy::default(),
        Settings::default(),
    );
    let repo = common::unique_repo("acct-single");
    let digest = failing_image(&emu, HUB, common::REGION, &repo).await;
    let home = home();
    // An event's account is not consulted: the image is looked for in the own registry.
    let ev = evaluated(
        handle(
            &gate,
            None,
            Ok(&home),
            &event_from(MEMBER, common::REGION, &repo, &digest),
            TODAY,
            Deadline::none(),
            false,
        )
        .await,
    );
    assert_eq!(ev.verdict, Verdict::Fail);
    assert_eq!(
        emu.tags(&repo, &digest).await,
        vec![qtag(&digest), "v1".into()]
    );
    assert_eq!(proxy.count("AssumeRole"), 0);
    // An operator who names another account is told, rather than served the hub's image.
    proxy.reset_counts();
    let reason = ignored(
        handle(
            &gate,
            None,
            Ok(&home),
            &json!({"repository": repo, "digest": digest, "account": MEMBER}),
            TODAY,
            Deadline::none(),
            false,
        )
        .await,
    );
    assert!(
        reason.contains(MEMBER) && reason.contains("MEMBER_ROLE_NAME"),
        "{reason}"
    );
    assert_eq!(proxy.total(), 0);
}

#[tokio::test]
async fn a_member_fail_costs_the_calls_of_a_same_account_fail_and_one_assume_role_per_container() {
    let emu = Emulator::start().await;
    let hub = Hub::start(&emu, None).await;
    let member = place(&emu, MEMBER, common::REGION).await;
    let calls = |hub: &Hub| -> std::collections::BTreeMap<String, usize> {
        hub.proxy.counts().into_iter().collect()
    };
    let own_repo = common::unique_repo("acct-cost-own");
    let own = failing_image(&emu, HUB, common::REGION, &own_repo).await;
    evaluated(
        hub.handle(&event_from(HUB, common::REGION, &own_repo, &own))
            .await,
    );
    let same_account = calls(&hub);

    let mut member_calls = Vec::new();
    for stem in ["acct-cost-a", "acct-cost-b"] {
        let repo = common::unique_repo(stem);
        let digest = failing_image(&member, MEMBER, common::REGION, &repo).await;
        hub.proxy.reset_counts();
        evaluated(
            hub.handle(&event_from(MEMBER, common::REGION, &repo, &digest))
                .await,
        );
        member_calls.push(calls(&hub));
    }
    let mut first_expected = same_account.clone();
    first_expected.insert("AssumeRole".to_string(), 1);
    assert_eq!(
        member_calls[0], first_expected,
        "same account: {same_account:?}"
    );
    assert_eq!(
        member_calls[1], same_account,
        "a warm container assumes no role"
    );
}

/// The hub as the function runs it: every input through the entry, with the member accounts
/// (and, for the queue mode, the sweep queue).
async fn hub_app(proxy: &FaultProxy) -> App<EcrRegistry> {
    let config = hub_config(proxy).await;
    let gate = Gate::new(
        hub_registry(&config),
        Policy::default(),
        Settings::default(),
    );
    App::new(gate).with_members(MemberRegistries::new(&config, members(), "quarantine-"))
}

fn cx(home: &Home) -> Context<'_> {
    Context {
        request_id: "test",
        function_name: "ecr-scan-gate",
        today: TODAY,
        now_s: 1_795_800_000,
        deadline: Deadline::none(),
        home: Ok(home),
    }
}

fn swept(output: Output) -> SweepReport {
    match output {
        Output::Registry(RegistryOutcome::Swept(r)) => *r,
        other => panic!("not a sweep: {other:?}"),
    }
}

#[tokio::test]
async fn a_sweep_of_a_member_in_two_regions_quarantines_there_and_leaves_the_hub_untouched() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let summaries = Summaries::default();
    summaries.install(&proxy, None);
    let app = hub_app(&proxy).await;
    let repo = common::unique_repo("acct-sweep");
    let member = place(&emu, MEMBER, common::REGION).await;
    let member_eu = place(&emu, MEMBER, EU).await;
    // The same image (same digest) in the member's two regions and in the hub.
    let digest = failing_image(&member, MEMBER, common::REGION, &repo).await;
    assert_eq!(failing_image(&member_eu, MEMBER, EU, &repo).await, digest);
    assert_eq!(
        failing_image(&emu, HUB, common::REGION, &repo).await,
        digest
    );
    // The registry's summary, as AWS returns it once the scan finished (moto has none).
    summaries.set(&digest, "COMPLETE", json!({"CRITICAL": 1}));

    let home = home();
    let input = json!({"sweep": {"repositories": [repo], "accounts": [MEMBER], "regions": [common::REGION, EU]}});
    let r = swept(app::handle(&app, &input, cx(&home)).await.expect("swept"));
    assert!(r.complete, "{r:?}");
    assert_eq!((r.images, r.evaluated), (2, Some(2)), "{r:?}");
    let mut places: Vec<(Option<String>, Option<String>)> = r
        .quarantined
        .unwrap_or_default()
        .into_iter()
        .map(|i| (i.account, i.region))
        .collect();
    places.sort();
    assert_eq!(
        places,
        vec![
            (Some(MEMBER.to_string()), Some(EU.to_string())),
            (Some(MEMBER.to_string()), Some(common::REGION.to_string())),
        ]
    );
    assert!(member.tags(&repo, &digest).await.contains(&qtag(&digest)));
    assert!(member_eu
        .tags(&repo, &digest)
        .await
        .contains(&qtag(&digest)));
    assert_eq!(emu.tags(&repo, &digest).await, vec!["v1".to_string()]);
    assert_eq!(proxy.count("AssumeRole"), 1, "one role for both regions");

    // A stranger's account is not swept, and says why; nothing is called for it.
    let before = proxy.total();
    let input = json!({"sweep": {"repositories": [repo], "accounts": [STRANGER]}});
    let r = swept(app::handle(&app, &input, cx(&home)).await.expect("swept"));
    assert!(!r.complete);
    assert!(
        r.errors.iter().any(|e| e.contains(STRANGER)),
        "{:?}",
        r.errors
    );
    assert_eq!(proxy.total(), before, "no AWS call for a stranger");
    // A bad account id is refused with the field named.
    let err = app::handle(&app, &json!({"sweep": {"accounts": ["12345"]}}), cx(&home))
        .await
        .expect_err("a bad account id");
    assert!(err.to_string().contains("sweep.accounts[0]"), "{err}");
}

#[tokio::test]
async fn a_queued_sweep_of_a_member_names_the_account_and_region_and_the_queue_acts_there() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let summaries = Summaries::default();
    summaries.install(&proxy, None);
    let sqs = emu.sqs();
    let queue_url = sqs
        .create_queue()
        .queue_name(common::unique_repo("acct-sweep-q"))
        .send()
        .await
        .expect("queue")
        .queue_url()
        .expect("queue url")
        .to_string();
    let app = hub_app(&proxy)
        .await
        .with_sweep_queue(Box::new(SqsSweepQueue::new(sqs.clone(), &queue_url)));
    let repo = common::unique_repo("acct-sweep-q");
    let member = place(&emu, MEMBER, EU).await;
    let digest = failing_image(&member, MEMBER, EU, &repo).await;
    summaries.set(&digest, "COMPLETE", json!({"CRITICAL": 1}));

    let home = home();
    let input = json!({"sweep": {"repositories": [repo], "accounts": [MEMBER], "regions": [EU]}});
    let r = swept(app::handle(&app, &input, cx(&home)).await.expect("swept"));
    assert_eq!((r.images, r.enqueued), (1, Some(1)), "{r:?}");
    assert_eq!(member.tags(&repo, &digest).await, vec!["v1".to_string()]);
    let got = sqs
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("receive");
    let messages = got.messages();
    assert_eq!(messages.len(), 1);
    let body = messages[0].body().expect("body").to_string();
    let sent: Value = serde_json::from_str(&body).expect("JSON body");
    assert_eq!(
        sent,
        json!({"repository": repo, "digest": digest, "sweep": true, "account": MEMBER, "region": EU})
    );

    // Lambda's part: the queue record, evaluated in the member's registry in eu-west-1.
    let event = json!({"Records": [{"messageId": "m-1", "eventSource": "aws:sqs", "body": body}]});
    match app::handle(&app, &event, cx(&home)).await.expect("handled") {
        Output::Batch(b) => assert!(b.batch_item_failures.is_empty(), "{b:?}"),
        other => panic!("not a batch response: {other:?}"),
    }
    assert!(member.tags(&repo, &digest).await.contains(&qtag(&digest)));
}

/// A sweep-queue record naming an account not in MEMBER_ACCOUNTS, through the function's own
/// entry (`app::handle`, an SQS event) beside a member's record and a malformed one: the
/// stranger's record is done (not in `batchItemFailures`, so SQS does not deliver it again), no
/// role is assumed for it and nothing changes for it, in the stranger's registry or the hub's;
/// the member's record is quarantined; the malformed one is the only failure.
#[tokio::test]
async fn a_queue_record_for_a_strangers_account_is_done_and_nothing_is_read_or_changed_for_it() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    proxy.record("AssumeRole");
    let app = hub_app(&proxy).await;
    let repo = common::unique_repo("acct-queue-stranger");
    let stranger = place(&emu, STRANGER, common::REGION).await;
    let member = place(&emu, MEMBER, common::REGION).await;
    // The same failing image in the stranger's registry, the member's and the hub's.
    let digest = failing_image(&stranger, STRANGER, common::REGION, &repo).await;
    assert_eq!(
        failing_image(&member, MEMBER, common::REGION, &repo).await,
        digest
    );
    assert_eq!(
        failing_image(&emu, HUB, common::REGION, &repo).await,
        digest
    );
    // The body the sweep enqueues for an image of another account (see the test above).
    let body = |account: &str| {
        json!({"repository": repo, "digest": digest, "sweep": true, "account": account, "region": common::REGION})
            .to_string()
    };
    let event = json!({"Records": [
        {"messageId": "m-stranger", "eventSource": "aws:sqs", "body": body(STRANGER)},
        {"messageId": "m-member", "eventSource": "aws:sqs", "body": body(MEMBER)},
        {"messageId": "m-malformed", "eventSource": "aws:sqs", "body": json!({"repository": repo}).to_string()},
    ]});

    let home = home();
    let failed: Vec<String> = match app::handle(&app, &event, cx(&home)).await.expect("handled") {
        Output::Batch(b) => b
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect(),
        other => panic!("not a batch response: {other:?}"),
    };
    assert_eq!(
        failed,
        vec!["m-malformed".to_string()],
        "only the malformed record is delivered again"
    );
    assert_eq!(
        stranger.tags(&repo, &digest).await,
        vec!["v1".to_string()],
        "nothing changed in the stranger's registry"
    );
    assert_eq!(
        emu.tags(&repo, &digest).await,
        vec!["v1".to_string()],
        "nor in the hub's"
    );
    assert!(member.tags(&repo, &digest).await.contains(&qtag(&digest)));
    let roles: Vec<Option<String>> = proxy
        .recorded("AssumeRole")
        .iter()
        .map(|r| r.form("RoleArn"))
        .collect();
    assert_eq!(
        roles,
        vec![Some(format!("arn:aws:iam::{MEMBER}:role/{ROLE}"))],
        "no role assumed in the stranger's account"
    );
    assert_eq!(
        app.members.as_ref().map(MemberRegistries::registries_built),
        Some(1),
        "only the member's registry was built"
    );
}

/// A sweep that names no accounts sweeps the member accounts MEMBER_ACCOUNTS lists too: an
/// event lost between a member and the hub is repaired by the nightly sweep.
#[tokio::test]
async fn the_default_sweep_covers_the_listed_member_accounts() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let summaries = Summaries::default();
    summaries.install(&proxy, None);
    let app = hub_app(&proxy).await;
    let repo = common::unique_repo("acct-default");
    let member = place(&emu, MEMBER, common::REGION).await;
    let digest = failing_image(&member, MEMBER, common::REGION, &repo).await;
    assert_eq!(
        failing_image(&emu, HUB, common::REGION, &repo).await,
        digest
    );
    summaries.set(&digest, "COMPLETE", json!({"CRITICAL": 1}));
    let home = home();
    let input = json!({"sweep": {"repositories": [repo]}});
    let r = swept(app::handle(&app, &input, cx(&home)).await.expect("swept"));
    assert!(r.complete, "{r:?}");
    let mut accounts: Vec<Option<String>> = r
        .quarantined
        .unwrap_or_default()
        .into_iter()
        .map(|i| i.account)
        .collect();
    accounts.sort();
    assert_eq!(
        accounts,
        vec![Some(MEMBER.to_string()), Some(HUB.to_string())],
        "the hub and the listed member"
    );
    assert!(member.tags(&repo, &digest).await.contains(&qtag(&digest)));
    assert!(emu.tags(&repo, &digest).await.contains(&qtag(&digest)));
}
