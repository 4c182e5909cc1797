//! The Lambda function: read configuration, build clients once, run the handler.

use ecr_scan_gate::aws::ecr::EcrRegistry;
use ecr_scan_gate::aws::ssm::SsmParameters;
use ecr_scan_gate::config::{load_policy, Config};
use ecr_scan_gate::handler::Gate;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_current_span(false)
        .without_time() // CloudWatch stamps every line
        .init();

    let config =
        Config::from_env().inspect_err(|e| tracing::error!(error = %e, "invalid configuration"))?;
    let aws = ecr_scan_gate::aws::load_sdk_config().await;
    let ssm = config
        .needs_ssm()
        .then(|| SsmParameters::new(aws_sdk_ssm::Client::new(&aws)));
    let policy = load_policy(&config.policy_source, ssm.as_ref())
        .await
        .inspect_err(|e| tracing::error!(error = %e, "invalid policy"))?;
    let registry = EcrRegistry::new(
        aws_sdk_ecr::Client::new(&aws),
        &config.settings.quarantine_prefix,
    );
    let gate = Gate::new(registry, policy, config.settings.clone());
    let gate = &gate;

    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        ecr_scan_gate::lambda::invoke(gate, event).await
    }))
    .await
}
