//! Hub and member accounts on the emulator, for real: moto acts in the account of an assumed
//! role (a call signed with credentials of `AssumeRole` into `arn:aws:iam::111111111111:role/x`
//! acts in account 111111111111) and in the region of the signature. The hub is moto's default
//! account 123456789012. The gate's clients go through the counting fault proxy, so every AWS
//! call the gate makes is counted; the test's own set-up calls go to moto directly.

mod common;

use common::members::*;
use common::proxy::{Fault, FaultProxy};
use common::{Emulator, TODAY};
use ecr_scan_gate::domain::verdict::Verdict;
use ecr_scan_gate::engine::decision_log::metrics_line_by;
use ecr_scan_gate::engine::gate::{Gate, GateError};
use ecr_scan_gate::engine::ports::Deadline;
use ecr_scan_gate::engine::settings::Settings;
use ecr_scan_gate::entry::app::handle_event as handle;
use ecr_scan_gate::judgement::evaluation::{ActionStatus, Response};
use ecr_scan_gate::policy::document::Policy;
use serde_json::{json, Value};

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
