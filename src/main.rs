//! The Lambda function: read configuration, build clients once, run the handler.
//!
//! The start does only what every invocation needs (BENCHMARKS.md, cold start): what only some
//! invocations need is built on its first use. The TLS set-up of the AWS SDK's HTTP client (the
//! system's root certificates) waits for the first AWS call (`adapters::aws::load_sdk_config`), the Slack
//! connector for the first alert, the sweep queue's SQS client for the first sweep that
//! enqueues, the member accounts' registries for their first image, the ECS client for the first
//! deployment lifecycle hook; the SSM client exists only
//! while `GATE_POLICY_PARAMETER` or `SLACK_WEBHOOK_PARAMETER` is read, at start.

use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::adapters::aws::ecs::EcsServiceRevisions;
use ecr_scan_gate::adapters::aws::member::MemberRegistries;
use ecr_scan_gate::adapters::aws::sns::SnsNotifier;
use ecr_scan_gate::adapters::aws::sqs::SqsSweepQueue;
use ecr_scan_gate::adapters::aws::ssm::SsmParameters;
use ecr_scan_gate::adapters::slack_webhook::SlackSource;
use ecr_scan_gate::adapters::slack_webhook::{resolve_webhook, RetryPolicy, SlackNotifier};
use ecr_scan_gate::engine::gate::Gate;
use ecr_scan_gate::entry::app::App;
use ecr_scan_gate::entry::config::{
    announce, complete_policy, describe_source, load_policy_revised, policy_drift, policy_hash,
    Config,
};
use ecr_scan_gate::render::alert::AlertOptions;
use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
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

    let app = match build_app().await {
        Ok(app) => app,
        Err(e) => {
            // Keep serving and answer every invocation with the start-up error: exiting here
            // would leave `cargo lambda watch` (make watch / make invoke) waiting for an answer
            // that never comes; on Lambda each invocation fails with this message, retries,
            // and the dead-letter queue keeps the event until the configuration is fixed.
            let message = e.to_string();
            tracing::error!(error = %message, "the function cannot start: every invocation fails until this is fixed");
            let message = &message;
            return lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
                Err::<Value, Diagnostic>(Diagnostic {
                    error_type: "InvalidConfiguration".to_string(),
                    error_message: message.clone(),
                })
            }))
            .await;
        }
    };
    let app = &app;

    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        ecr_scan_gate::entry::lambda::invoke(app, event).await
    }))
    .await
}

/// How long the policy-drift notice may take at start, per channel.
const NOTICE_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

/// Configuration, policy, clients and notifiers, once per container; the sweep's queue and the
/// member accounts' registries when they are configured.
async fn build_app() -> Result<App<EcrRegistry>, Error> {
    let config = Config::from_env()?;
    let aws = ecr_scan_gate::adapters::aws::load_sdk_config().await;
    let mut ssm = config
        .needs_ssm()
        .then(|| SsmParameters::new(aws_sdk_ssm::Client::new(&aws)));
    let (mut policy, revision) = load_policy_revised(&config.policy_source, ssm.as_ref()).await?;
    let drift = policy_drift(&config, revision.as_deref());
    if ssm.is_none() && !policy.vex_parameters.is_empty() {
        ssm = Some(SsmParameters::new(aws_sdk_ssm::Client::new(&aws)));
    }
    for refused in
        complete_policy(&mut policy, config.exceptions_path.as_deref(), ssm.as_ref()).await?
    {
        tracing::error!(error = %refused, "exceptions refused at start");
    }
    tracing::info!(
        policy_source = %describe_source(&config.policy_source),
        policy_hash = %policy_hash(&policy),
        allowlist_entries = policy.allowlist.len(),
        vex_documents = policy.vex.len(),
        exceptions_path = config.exceptions_path.as_deref().unwrap_or("none"),
        quarantine_prefix = %config.settings.quarantine_prefix,
        "policy loaded"
    );
    for w in ecr_scan_gate::policy::lint::policy_warnings(
        &policy,
        &ecr_scan_gate::domain::date::today_utc(),
    ) {
        tracing::warn!(field = %w.field, code = w.code, "policy: {}", w.message);
    }
    let registry = EcrRegistry::new(
        ecr_scan_gate::adapters::aws::ecr::client(&aws),
        &config.settings.quarantine_prefix,
    )
    .with_inspector(aws_sdk_inspector2::Client::new(&aws));
    let options = AlertOptions {
        quarantine_prefix: config.settings.quarantine_prefix.clone(),
        default_region: aws.region().map(|r| r.to_string()),
        name_account: config.members.is_some(),
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
    match resolve_webhook(&config.slack, ssm.as_ref()).await? {
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
    if let Some(notice) = &drift {
        // Once per execution environment: the gate keeps judging with the document it read.
        tracing::error!(
            expected = config.policy_revision.as_deref().unwrap_or(""),
            read = revision.as_deref().unwrap_or(""),
            "{}",
            notice.text
        );
        for (channel, sent) in announce(&gate.notifiers, notice, NOTICE_WITHIN).await {
            if let Err(e) = sent {
                tracing::error!(channel, error = %e, "the policy-drift notice was not sent");
            }
        }
    }
    let mut app = App::new(gate);
    match &config.sweep_queue_url {
        Some(url) => {
            tracing::info!(queue_url = %url, "the sweep enqueues to SWEEP_QUEUE_URL");
            app = app.with_sweep_queue(Box::new(SqsSweepQueue::on_first_send(&aws, url)));
        }
        None => tracing::info!("SWEEP_QUEUE_URL is not set: a sweep evaluates images inline"),
    }
    // The ECS deployment lifecycle hook reads the service revision with the function's own ECS
    // client (its account and region only), built on the first hook invocation.
    app = app.with_service_revisions(Box::new(EcsServiceRevisions::on_first_use(&aws)));
    // Hub and member accounts: no client and no AWS call until an image of another account
    // or region arrives.
    if let Some(m) = config.members.clone() {
        tracing::info!(members = ?m, "member accounts enabled");
        app = app.with_members(MemberRegistries::new(
            &aws,
            m,
            &config.settings.quarantine_prefix,
        ));
    }
    Ok(app)
}
