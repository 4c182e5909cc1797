//! The sweep and its queue across hub and member accounts on the emulator: a member's regions
//! swept where they are, a queued record acted on in the account and region it names, a
//! stranger's record left alone, and the default sweep covering the listed members. The hub as
//! `main` builds it, through the counting fault proxy (tests/common/members.rs).

mod common;

use common::members::*;
use common::proxy::FaultProxy;
use common::summaries::Summaries;
use common::{Emulator, TODAY};
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::adapters::aws::member::MemberRegistries;
use ecr_scan_gate::adapters::aws::sqs::SqsSweepQueue;
use ecr_scan_gate::engine::accounts::Home;
use ecr_scan_gate::engine::gate::Gate;
use ecr_scan_gate::engine::ports::Deadline;
use ecr_scan_gate::engine::settings::Settings;
use ecr_scan_gate::entry::app;
use ecr_scan_gate::entry::app::{App, Context, Output, RegistryOutcome};
use ecr_scan_gate::entry::sweep::report::SweepReport;
use ecr_scan_gate::policy::document::Policy;
use serde_json::{json, Value};

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
    let queue_url = common::new_queue(&sqs, "acct-sweep-q").await;
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
    let mut bodies = common::take_bodies(&sqs, &queue_url).await;
    assert_eq!(bodies.len(), 1);
    let body = bodies.remove(0);
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
