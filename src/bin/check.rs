//! ecr-scan-gate-check: run by a deploy pipeline before it deploys an image.
//! Exit 0: deployable. 1: blocked. 2: could not decide (no scan, timeout, error).
//! Also the operator's tools: `policy validate FILE`, `policy schema`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use ecr_scan_gate::aws::ecr::EcrRegistry;
use ecr_scan_gate::aws::ssm::SsmParameters;
use ecr_scan_gate::check::{check, parse_duration, render_text, Decision};
use ecr_scan_gate::config::{load_policy, Config, PolicySource};
use ecr_scan_gate::event::{validate_repository_name, validate_tag, Digest, ImageRef};
use ecr_scan_gate::handler::Gate;
use ecr_scan_gate::policy::{json_schema, today_utc, validate_date};
use ecr_scan_gate::policy_lint::validate_document;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Clone, Copy, Debug, Default, ValueEnum)]
enum Output {
    #[default]
    Text,
    Json,
}

/// May this image be deployed? Applies the gate's policy (GATE_POLICY, GATE_POLICY_FILE,
/// GATE_POLICY_PARAMETER, or --policy-file) and its quarantine state.
/// Exit codes: 0 deployable, 1 blocked, 2 could not decide.
///
/// `ecr-scan-gate-check REPOSITORY --tag TAG` is the check; `policy ...` are the policy tools.
/// A repository named like a subcommand is checked with `ecr-scan-gate-check check NAME ...`.
#[derive(Parser, Debug)]
#[command(
    name = "ecr-scan-gate-check",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    check: Option<CheckArgs>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// May this image be deployed? (the default: the same as giving its arguments alone)
    Check(CheckArgs),
    /// Work on a policy document before it ships
    #[command(subcommand)]
    Policy(PolicyCommand),
}

#[derive(Subcommand, Debug)]
enum PolicyCommand {
    /// Check a policy file with the function's own rules, then warn about foot-guns.
    /// Exit 0: valid (warnings go to stderr). 1: invalid (the message names the field).
    /// 2: the file could not be read.
    Validate {
        /// The policy document (JSON)
        file: PathBuf,
        /// text, or json on stdout: {"valid", "error", "warnings": [{"field", "code", "message"}]}
        #[arg(long, value_enum, default_value_t)]
        output: Output,
        /// The date allowlist expiry is judged on, YYYY-MM-DD (default: today, UTC)
        #[arg(long)]
        today: Option<String>,
    },
    /// Print the JSON Schema of the policy document (docs/policy.schema.json)
    Schema,
}

#[derive(Args, Debug)]
struct CheckArgs {
    /// ECR repository name, e.g. demo-api or team/payments/api
    repository: String,
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

fn undecided(message: String) -> ExitCode {
    eprintln!("UNDECIDED: {message}");
    ExitCode::from(Decision::Undecided.exit_code() as u8)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => match cli.check {
            Some(args) => run_check(args).await,
            // clap requires the repository when no subcommand is given; this is not reached.
            None => undecided("give a repository and --tag or --digest".to_string()),
        },
        Some(Command::Check(args)) => run_check(args).await,
        Some(Command::Policy(PolicyCommand::Validate {
            file,
            output,
            today,
        })) => validate(&file, output, today),
        Some(Command::Policy(PolicyCommand::Schema)) => {
            match serde_json::to_string_pretty(&json_schema()) {
                Ok(s) => {
                    println!("{s}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("cannot render the schema: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

fn validate(file: &Path, output: Output, today: Option<String>) -> ExitCode {
    let today = today.unwrap_or_else(today_utc);
    if let Err(p) = validate_date(&today) {
        eprintln!("--today {p}");
        return ExitCode::from(2);
    }
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read the policy file {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let v = validate_document(&text, &today);
    match output {
        Output::Json => match serde_json::to_string_pretty(&v) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("cannot render the result: {e}");
                return ExitCode::from(2);
            }
        },
        Output::Text => {
            for w in &v.warnings {
                eprintln!("warning: {w}");
            }
            match &v.error {
                Some(e) => eprintln!("{}: {e}", file.display()),
                None => println!(
                    "{}: valid policy ({} warning{})",
                    file.display(),
                    v.warnings.len(),
                    if v.warnings.len() == 1 { "" } else { "s" }
                ),
            }
        }
    }
    if v.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

async fn run_check(args: CheckArgs) -> ExitCode {
    if let Err(p) = validate_repository_name(&args.repository) {
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
    let registry = EcrRegistry::new(aws_sdk_ecr::Client::new(&aws), &prefix);
    let gate = Gate::new(registry, policy, config.settings);
    let report = check(
        &gate,
        &args.repository,
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
