//! ecr-scan-gate-check: run by a deploy pipeline before it deploys an image.
//! Exit 0: deployable. 1: blocked. 2: could not decide (no scan, timeout, error).

use clap::{Args as ClapArgs, Parser, ValueEnum};
use ecr_scan_gate::aws::ecr::EcrRegistry;
use ecr_scan_gate::aws::ssm::SsmParameters;
use ecr_scan_gate::check::{
    asked_name, check, parse_duration, parse_poll_interval, render_text, CheckReport, PolicyInfo,
};
use ecr_scan_gate::config::{
    describe_source, load_policy, policy_hash, Config, PolicySource, DEFAULT_POLICY_WARNING,
};
use ecr_scan_gate::event::{validate_repository_name, validate_tag, Digest, ImageRef};
use ecr_scan_gate::handler::Gate;
use ecr_scan_gate::policy::today_utc;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Output {
    Text,
    Json,
}

/// Which image: exactly one of --tag and --digest.
#[derive(ClapArgs, Debug)]
#[group(required = true, multiple = false)]
struct Which {
    /// Image tag
    #[arg(long)]
    tag: Option<String>,
    /// Image digest, sha256:...
    #[arg(long)]
    digest: Option<String>,
}

/// May this image be deployed? Applies the gate's policy (GATE_POLICY, GATE_POLICY_FILE,
/// GATE_POLICY_PARAMETER, or --policy-file), its quarantine tag prefix (QUARANTINE_TAG_PREFIX)
/// and its quarantine state. An image index (multi-arch image) is judged by its platform images.
/// Exit codes: 0 deployable, 1 blocked, 2 could not decide.
#[derive(Parser, Debug)]
#[command(name = "ecr-scan-gate-check", version)]
struct Args {
    /// ECR repository name, e.g. demo-api or team/payments/api
    repository: String,
    #[command(flatten)]
    which: Which,
    /// Policy document (JSON); overrides the GATE_POLICY* variables
    #[arg(long)]
    policy_file: Option<PathBuf>,
    /// How long to wait for the scan to complete, e.g. 10m or 1h30m (default: do not wait)
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    wait: Duration,
    /// How often to look while waiting; at least 5s
    #[arg(long, default_value = "10s", value_parser = parse_poll_interval)]
    poll_interval: Duration,
    /// text (a short summary) or json (on every path, errors included)
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

fn emit(output: Output, report: &CheckReport) -> ExitCode {
    match output {
        Output::Text => {
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            let text = render_text(report);
            if report.evaluation.is_none() && report.exit_code == 2 {
                eprint!("{text}");
            } else {
                print!("{text}");
            }
        }
        Output::Json => match serde_json::to_string_pretty(report) {
            Ok(s) => println!("{s}"),
            // Cannot happen with these types; still a JSON line, and exit 2.
            Err(e) => println!(
                "{{\"decision\": \"undecided\", \"exit_code\": 2, \"message\": {:?}}}",
                format!("cannot render the report: {e}")
            ),
        },
    }
    ExitCode::from(report.exit_code as u8)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // Usage errors: clap's own message and exit 2, or JSON when --output json was asked for.
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            let argv: Vec<String> = std::env::args().collect();
            let json = argv
                .windows(2)
                .any(|w| w[0] == "--output" && w[1] == "json")
                || argv.iter().any(|a| a == "--output=json");
            if !json {
                e.exit();
            }
            // clap's message up to its usage line, on one line.
            let rendered = e.render().to_string();
            let message: Vec<&str> = rendered
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(|l| l.trim().trim_start_matches("error: "))
                .collect();
            let report = CheckReport::undecided(String::new(), message.join(" "));
            return emit(Output::Json, &report);
        }
    };
    let out = args.output;
    let asked = match (&args.which.tag, &args.which.digest) {
        (_, Some(d)) => format!("{}@{d}", args.repository),
        (Some(t), None) => format!("{}:{t}", args.repository),
        (None, None) => args.repository.clone(),
    };
    let undecided = |message: String| emit(out, &CheckReport::undecided(asked.clone(), message));
    if let Err(p) = validate_repository_name(&args.repository) {
        return undecided(format!("repository {p}"));
    }
    let image = match (&args.which.tag, &args.which.digest) {
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
    // The same reader as the function: the policy source and QUARANTINE_TAG_PREFIX.
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
    let info = PolicyInfo {
        source: describe_source(&config.policy_source),
        hash: policy_hash(&policy),
        built_in_default: config.policy_source == PolicySource::Default,
    };
    let prefix = config.settings.quarantine_prefix.clone();
    let registry = EcrRegistry::new(aws_sdk_ecr::Client::new(&aws), &prefix);
    let gate = Gate::new(registry, policy, config.settings);
    let mut report = check(
        &gate,
        &args.repository,
        image.clone(),
        args.wait,
        args.poll_interval,
        &today_utc(),
    )
    .await;
    report.image = asked_name(&args.repository, &image);
    if info.built_in_default {
        report.warnings.push(DEFAULT_POLICY_WARNING.to_string());
    }
    report.policy = Some(info);
    emit(out, &report)
}
