//! The Lambda function: read configuration, build clients once, run the handler.

use ecr_scan_gate::alert::AlertOptions;
use ecr_scan_gate::aws::ecr::EcrRegistry;
use ecr_scan_gate::aws::sns::SnsNotifier;
use ecr_scan_gate::aws::sqs::SqsSweepQueue;
use ecr_scan_gate::aws::ssm::SsmParameters;
use ecr_scan_gate::config::{load_policy, Config, SlackSource};
use ecr_scan_gate::entry::App;
use ecr_scan_gate::handler::Gate;
use ecr_scan_gate::slack::{resolve_webhook, RetryPolicy, SlackNotifier};
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
        ecr_scan_gate::aws::ecr::client(&aws),
        &config.settings.quarantine_prefix,
    );
    let options = AlertOptions {
        quarantine_prefix: config.settings.quarantine_prefix.clone(),
        default_region: aws.region().map(|r| r.to_string()),
    };
    let mut gate = Gate::new(registry, policy, config.settings.clone());
    match &config.sns_topic_arn {
        Some(arn) => {
            gate = gate.with_notifier(Box::new(SnsNotifier::new(
                aws_sdk_sns::Client::new(&aws),
                arn,
                options.clone(),
            )))
        }
        None => tracing::info!("SNS_TOPIC_ARN is not set: no SNS alerts"),
    }
    // Read once per container: a cold start reads the SSM parameter, warm invocations reuse it.
    match resolve_webhook(&config.slack, ssm.as_ref())
        .await
        .inspect_err(|e| tracing::error!(error = %e, "Slack webhook unavailable"))?
    {
        Some(url) => {
            let source = match &config.slack {
                SlackSource::Parameter(_) => "SLACK_WEBHOOK_PARAMETER",
                _ => "SLACK_WEBHOOK_URL",
            };
            tracing::info!(source, "Slack alerts enabled");
            gate = gate.with_notifier(Box::new(SlackNotifier::new(
                url,
                options,
                RetryPolicy::default(),
            )?));
        }
        None => tracing::info!(
            "neither SLACK_WEBHOOK_PARAMETER nor SLACK_WEBHOOK_URL is set: no Slack alerts"
        ),
    }
    let mut app = App::new(gate);
    match &config.sweep_queue_url {
        Some(url) => {
            tracing::info!(queue_url = %url, "the sweep enqueues to SWEEP_QUEUE_URL");
            app = app.with_sweep_queue(Box::new(SqsSweepQueue::new(
                aws_sdk_sqs::Client::new(&aws),
                url,
            )));
        }
        None => tracing::info!("SWEEP_QUEUE_URL is not set: a sweep evaluates images inline"),
    }
    let app = &app;

    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        ecr_scan_gate::lambda::invoke(app, event).await
    }))
    .await
}
