//! ecr-scan-gate-check: run by a deploy pipeline before it deploys an image.
//! Exit 0: deployable. 1: blocked. 2: could not decide (no scan, timeout, error).

use clap::{Parser, Subcommand, ValueEnum};
use ecr_scan_gate::aws::ecr::EcrRegistry;
use ecr_scan_gate::aws::ssm::SsmParameters;
use ecr_scan_gate::check::{check, parse_duration, render_text, Decision};
use ecr_scan_gate::config::{load_policy, Config, PolicySource};
use ecr_scan_gate::event::{validate_repository_name, validate_tag, Digest, ImageRef};
use ecr_scan_gate::handler::Gate;
use ecr_scan_gate::listing::{quarantined_images, render_table};
use ecr_scan_gate::policy::today_utc;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Output {
    Text,
    Json,
}

/// May this image be deployed? Applies the gate's policy (GATE_POLICY, GATE_POLICY_FILE,
/// GATE_POLICY_PARAMETER, or --policy-file) and its quarantine state.
/// Exit codes: 0 deployable, 1 blocked, 2 could not decide.
#[derive(Parser, Debug)]
#[command(
    name = "ecr-scan-gate-check",
    version,
    subcommand_negates_reqs = true,
    disable_help_subcommand = true,
    args_conflicts_with_subcommands = true
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// ECR repository name, e.g. demo-api or team/payments/api
    #[arg(required = true)]
    repository: Option<String>,
    /// Image tag
    #[arg(long, required_unless_present = "digest", conflicts_with = "digest")]
    tag: Option<String>,
    /// Image digest, sha256:...
    #[arg(long)]
    digest: Option<String>,
    /// Policy document (JSON); overrides the GATE_POLICY* variables
    #[arg(long)]
    policy_file: Option<PathBuf>,
    /// How long to wait for the scan to complete, e.g. 10m (default: do not wait)
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    wait: Duration,
    /// How often to look while waiting
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    poll_interval: Duration,
    /// text (a short summary) or json
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the images that carry a quarantine tag (repository, tags, digest, pushed at).
    /// Exit 0: listed; 2: some repository could not be listed.
    Quarantined {
        /// Repository-name glob, e.g. 'team/*' (repeatable; default: every repository)
        #[arg(long = "repository", value_name = "GLOB")]
        repositories: Vec<String>,
        /// text (a table) or json
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
}

fn undecided(message: String) -> ExitCode {
    eprintln!("UNDECIDED: {message}");
    ExitCode::from(Decision::Undecided.exit_code() as u8)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Command::Quarantined {
        repositories,
        output,
    }) = args.command
    {
        return list_quarantined(repositories, output).await;
    }
    let Some(repository) = args.repository else {
        return undecided("give the repository".to_string());
    };
    if let Err(p) = validate_repository_name(&repository) {
        return undecided(format!("repository {p}"));
    }
    let image = match (&args.tag, &args.digest) {
        (_, Some(d)) => match Digest::parse(d) {
            Ok(d) => ImageRef::Digest(d),
            Err(p) => return undecided(format!("--digest {p}")),
        },
        (Some(t), None) => match validate_tag(t) {
            Ok(()) => ImageRef::Tag(t.clone()),
            Err(p) => return undecided(format!("--tag {p}")),
        },
        (None, None) => return undecided("give --tag or --digest".to_string()),
    };
    let mut config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => return undecided(e.to_string()),
    };
    if let Some(path) = args.policy_file {
        config.policy_source = PolicySource::File(path);
    }
    let aws = ecr_scan_gate::aws::load_sdk_config().await;
    let ssm = matches!(config.policy_source, PolicySource::Parameter(_))
        .then(|| SsmParameters::new(aws_sdk_ssm::Client::new(&aws)));
    let policy = match load_policy(&config.policy_source, ssm.as_ref()).await {
        Ok(p) => p,
        Err(e) => return undecided(e.to_string()),
    };
    let prefix = config.settings.quarantine_prefix.clone();
    let registry = EcrRegistry::new(ecr_scan_gate::aws::ecr::client(&aws), &prefix);
    let gate = Gate::new(registry, policy, config.settings);
    let report = check(
        &gate,
        &repository,
        image,
        args.wait,
        args.poll_interval,
        &today_utc(),
    )
    .await;
    match args.output {
        Output::Text => print!("{}", render_text(&report, &prefix)),
        Output::Json => match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => return undecided(format!("cannot render the report: {e}")),
        },
    }
    ExitCode::from(report.exit_code as u8)
}

/// `ecr-scan-gate-check quarantined`: the same listing as the function's report.
async fn list_quarantined(mut globs: Vec<String>, output: Output) -> ExitCode {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ERROR: {e}");
            return ExitCode::from(2);
        }
    };
    if globs.is_empty() {
        globs.push("*".to_string());
    }
    let aws = ecr_scan_gate::aws::load_sdk_config().await;
    let prefix = config.settings.quarantine_prefix;
    let registry = EcrRegistry::new(ecr_scan_gate::aws::ecr::client(&aws), &prefix);
    let (images, errors) = quarantined_images(&registry, &globs, &prefix).await;
    match output {
        Output::Text => print!("{}", render_table(&images)),
        Output::Json => {
            let doc = serde_json::json!({"quarantined": images, "errors": errors});
            match serde_json::to_string_pretty(&doc) {
                Ok(s) => println!("{s}"),
                Err(e) => {
                    eprintln!("ERROR: cannot render the list: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    }
    for e in &errors {
        eprintln!("ERROR: {e}");
    }
    ExitCode::from(if errors.is_empty() { 0 } else { 2 })
}
