//! The gated repositories (`GATE_REPOSITORIES`, set by the Terraform to the globs its IAM
//! grants cover) are the default scope of the sweep and of the report: the nightly
//! `{"sweep": {}}` and the weekly `{"report": {}}` look at nothing else, so they never meet
//! AccessDenied on repositories that are not the gate's.

mod common;
mod fakes;

use common::proxy::FaultProxy;
use common::{Emulator, ManifestKind};
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::engine::gate::Gate;
use ecr_scan_gate::engine::settings::Settings;
use ecr_scan_gate::entry::app::{self, App, Context, Output, RegistryOutcome};
use ecr_scan_gate::entry::config::Config;
use ecr_scan_gate::policy::document::Policy;
use fakes::RecordingNotifier;
use serde_json::json;

fn cx() -> Context<'static> {
    common::one_account_cx()
}

#[tokio::test]
async fn the_sweep_and_the_report_default_to_the_gated_repositories() {
    let emu = Emulator::start().await;
    let proxy = FaultProxy::start(&emu.endpoint).await;
    let stem = common::unique_repo("scope");
    let (gated, other) = (format!("{stem}/gated/api"), format!("{stem}/other/api"));
    for repo in [&gated, &other] {
        emu.create_repo(repo).await;
        let d = emu.push(repo, "v1", ManifestKind::DockerV2).await;
        emu.add_tag(
            repo,
            &d,
            &format!("quarantine-{}", d.trim_start_matches("sha256:")),
        )
        .await;
    }
    // As the function reads its environment.
    let config = Config::from_lookup(|k| match k {
        "GATE_REPOSITORIES" => Some(format!(" {stem}/gated/* ,")),
        _ => None,
    })
    .unwrap();
    assert_eq!(
        config.settings.repositories,
        vec![format!("{stem}/gated/*")]
    );
    let sdk = common::sdk_config(&proxy.endpoint).await;
    let alerts = RecordingNotifier::new("sns");
    let gate = Gate::new(
        EcrRegistry::new(aws_sdk_ecr::Client::new(&sdk), "quarantine-"),
        Policy::default(),
        Settings {
            dry_run: true,
            ..config.settings.clone()
        },
    )
    .with_notifier(Box::new(alerts));
    let app = App::new(gate);

    let r = match app::handle(&app, &json!({"sweep": {}}), cx())
        .await
        .unwrap()
    {
        Output::Registry(RegistryOutcome::Swept(r)) => *r,
        other => panic!("{other:?}"),
    };
    // Every repository of the emulator exists in this moto server: only the gated one is swept.
    assert_eq!(r.repositories, 1, "{r:?}");
    assert_eq!(r.images, 1, "{r:?}");

    // A sweep that names repositories sweeps those.
    let named = json!({"sweep": {"repositories": [other]}});
    let r = match app::handle(&app, &named, cx()).await.unwrap() {
        Output::Registry(RegistryOutcome::Swept(r)) => *r,
        other => panic!("{other:?}"),
    };
    assert_eq!(r.repositories, 1, "{r:?}");

    // The weekly report lists the gated repository's quarantined image only.
    let listed = match app::handle(&app, &json!({"report": {}}), cx()).await {
        Ok(Output::Registry(RegistryOutcome::Reported(r))) => r.report.quarantined,
        other => panic!("{other:?}"),
    };
    let repos: Vec<&str> = listed.iter().map(|i| i.repository.as_str()).collect();
    assert_eq!(repos, vec![gated.as_str()]);

    // A bad value names the variable.
    let e = Config::from_lookup(|k| (k == "GATE_REPOSITORIES").then(|| " , ".to_string()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("GATE_REPOSITORIES"), "{e}");
}
