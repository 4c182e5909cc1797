//! ecr-scan-gate-check: run by a deploy pipeline before it deploys an image.
//! Exit 0: deployable. 1: blocked. 2: could not decide (no scan, timeout, error).
//! Also the operator's tools: `policy validate FILE`, `policy schema`, `quarantined`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use ecr_scan_gate::adapters::aws::ecr::EcrRegistry;
use ecr_scan_gate::adapters::aws::ssm::SsmParameters;
use ecr_scan_gate::cli::check::{parse_duration, parse_poll_interval, render_text};
use ecr_scan_gate::cli::ci;
use ecr_scan_gate::domain::date::{today_utc, validate_date};
use ecr_scan_gate::domain::image::{validate_repository_name, validate_tag, Digest, ImageRef};
use ecr_scan_gate::engine::deploy_check::{asked_name, check, CheckReport, PolicyInfo};
use ecr_scan_gate::engine::gate::Gate;
use ecr_scan_gate::entry::config::{
    complete_policy, describe_source, load_policy, policy_hash, Config, PolicySource,
    DEFAULT_POLICY_WARNING,
};
use ecr_scan_gate::entry::listing::{quarantined_images, render_table};
use ecr_scan_gate::judgement::findings::TOP_FINDINGS;
use ecr_scan_gate::policy::document::{json_schema, Policy};
use ecr_scan_gate::policy::exceptions::exceptions_schema;
use ecr_scan_gate::policy::lint::{validate_document, validate_exceptions};
use ecr_scan_gate::render::sarif::MAX_RESULTS;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
enum Output {
    #[default]
    Text,
    Json,
}

/// What the check prints on stdout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
enum CheckOutput {
    #[default]
    Text,
    Json,
    Sarif,
}

/// May this image be deployed? Applies the gate's policy (GATE_POLICY, GATE_POLICY_FILE,
/// GATE_POLICY_PARAMETER, or --policy-file), its quarantine tag prefix (QUARANTINE_TAG_PREFIX)
/// and its quarantine state. An image index (multi-arch image) is judged by its platform images.
/// Exit codes: 0 deployable, 1 blocked, 2 could not decide. With GITHUB_STEP_SUMMARY set
/// (GitHub Actions), a Markdown summary of the check is appended to that file.
///
/// `ecr-scan-gate-check REPOSITORY --tag TAG` is the check; `policy ...` are the policy tools.
/// A repository named like a subcommand is checked with `ecr-scan-gate-check check NAME ...`.
#[derive(Parser, Debug)]
#[command(
    name = "ecr-scan-gate-check",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    disable_help_subcommand = true
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
        /// Also check teams' exceptions documents: a JSON file, or a directory of them (each
        /// `*.json`), as they will be stored under EXCEPTIONS_PARAMETER_PATH
        #[arg(long, value_name = "DIR|FILE")]
        exceptions: Option<PathBuf>,
    },
    /// Print the JSON Schema of the policy document (docs/policy.schema.json), or with
    /// --exceptions of a team's exceptions document (docs/exceptions.schema.json)
    Schema {
        #[arg(long)]
        exceptions: bool,
    },
}

/// Which image: exactly one of --tag and --digest (a group of its own, not a nested struct:
/// clap decides whether the optional check arguments are present by their direct arguments).
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("image").required(true).multiple(false).args(["tag", "digest"])))]
struct CheckArgs {
    /// ECR repository name, e.g. demo-api or team/payments/api
    repository: String,
    /// Image tag
    #[arg(long)]
    tag: Option<String>,
    /// Image digest, sha256:...
    #[arg(long)]
    digest: Option<String>,
    /// Policy document (JSON); overrides the GATE_POLICY* variables
    #[arg(long)]
    policy_file: Option<PathBuf>,
    /// How long to wait for the scan to complete, e.g. 10m or 1h30m (default: do not wait)
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    wait: Duration,
    /// How often to look while waiting; at least 5s
    #[arg(long, default_value = "10s", value_parser = parse_poll_interval)]
    poll_interval: Duration,
    /// text (a short summary), json (on every path, errors included) or sarif (SARIF 2.1.0
    /// for GitHub code scanning; the short summary goes to stderr)
    #[arg(long, value_enum, default_value_t = CheckOutput::Text)]
    output: CheckOutput,
    /// Also write the SARIF 2.1.0 log to this file, whatever --output says
    #[arg(long, value_name = "PATH")]
    sarif_file: Option<PathBuf>,
}

/// Prints the report; `sarif` is the SARIF log, rendered when it was asked for.
fn emit(output: CheckOutput, report: &CheckReport, sarif: Option<&str>) -> ExitCode {
    match output {
        CheckOutput::Text => {
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
        CheckOutput::Json => match serde_json::to_string_pretty(report) {
            Ok(s) => println!("{s}"),
            // Cannot happen with these types; still a JSON line, and exit 2.
            Err(e) => println!(
                "{{\"decision\": \"undecided\", \"exit_code\": 2, \"message\": {:?}}}",
                format!("cannot render the report: {e}")
            ),
        },
        CheckOutput::Sarif => {
            // The log on stdout; the short summary a person reads goes to stderr.
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            eprint!("{}", render_text(report));
            match sarif {
                Some(log) => println!("{log}"),
                None => println!("{}", ci::sarif_text(report, "", None)),
            }
        }
    }
    ExitCode::from(report.exit_code as u8)
}

/// The machine-readable output the command line asks for, if any (read before clap has parsed
/// it, for usage errors).
fn output_asked(argv: &[String]) -> Option<CheckOutput> {
    let asked = |v: &str| {
        argv.windows(2).any(|w| w[0] == "--output" && w[1] == v)
            || argv.iter().any(|a| a.strip_prefix("--output=") == Some(v))
    };
    if asked("json") {
        Some(CheckOutput::Json)
    } else if asked("sarif") {
        Some(CheckOutput::Sarif)
    } else {
        None
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // Usage errors: clap's own message and exit 2, or JSON when --output json was asked for.
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            let argv: Vec<String> = std::env::args().collect();
            let Some(output) = output_asked(&argv) else {
                e.exit();
            };
            // clap's message up to its usage line, on one line.
            let rendered = e.render().to_string();
            let message: Vec<&str> = rendered
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(|l| l.trim().trim_start_matches("error: "))
                .collect();
            let report = CheckReport::undecided(String::new(), message.join(" "));
            return emit(output, &report, None);
        }
    };
    match cli.command {
        None => match cli.check {
            Some(args) => run_check(args).await,
            // clap requires the repository when no subcommand is given; this is not reached.
            None => emit(
                CheckOutput::Text,
                &CheckReport::undecided(
                    String::new(),
                    "give a repository and --tag or --digest".to_string(),
                ),
                None,
            ),
        },
        Some(Command::Check(args)) => run_check(args).await,
        Some(Command::Quarantined {
            repositories,
            output,
        }) => list_quarantined(repositories, output).await,
        Some(Command::Policy(PolicyCommand::Validate {
            file,
            output,
            today,
            exceptions,
        })) => validate(&file, exceptions.as_deref(), output, today),
        Some(Command::Policy(PolicyCommand::Schema { exceptions })) => {
            let schema = if exceptions {
                exceptions_schema()
            } else {
                json_schema()
            };
            match serde_json::to_string_pretty(&schema) {
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

/// `policy validate FILE [--exceptions DIR|FILE]`: the policy, then every team document, each
/// named by its file. Exit 0: all valid (warnings on stderr); 1: one is invalid; 2: unreadable.
/// With `--output json` and `--exceptions`: `{"policy": {...}, "exceptions": [{"file", ...}]}`.
fn validate(
    file: &Path,
    exceptions: Option<&Path>,
    output: Output,
    today: Option<String>,
) -> ExitCode {
    let today = today.unwrap_or_else(today_utc);
    if let Err(p) = validate_date(&today) {
        eprintln!("--today {p}");
        return ExitCode::from(2);
    }
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            let error = format!("cannot read the policy file {}: {e}", file.display());
            if output == Output::Json {
                // JSON on every path: a pipeline parses the answer whatever it is.
                println!(
                    "{}",
                    serde_json::json!({"valid": false, "error": error, "warnings": []})
                );
            } else {
                eprintln!("{error}");
            }
            return ExitCode::from(2);
        }
    };
    let mut results = vec![(
        file.display().to_string(),
        validate_document(&text, &today),
        "valid policy",
    )];
    if let Some(path) = exceptions {
        let files = match exceptions_files(path) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
        for f in files {
            let text = match std::fs::read_to_string(&f) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("cannot read the exceptions file {}: {e}", f.display());
                    return ExitCode::from(2);
                }
            };
            let name = f.display().to_string();
            let v = validate_exceptions(&text, &name, &today);
            results.push((name, v, "valid exceptions document"));
        }
    }
    match output {
        Output::Json => {
            let doc = if exceptions.is_some() {
                serde_json::json!({
                    "policy": results[0].1,
                    "exceptions": results[1..].iter()
                        .map(|(f, v, _)| serde_json::json!({"file": f, "valid": v.valid, "error": v.error, "warnings": v.warnings}))
                        .collect::<Vec<_>>(),
                })
            } else {
                serde_json::json!(results[0].1)
            };
            match serde_json::to_string_pretty(&doc) {
                Ok(s) => println!("{s}"),
                Err(e) => {
                    eprintln!("cannot render the result: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        Output::Text => {
            for (name, v, what) in &results {
                for w in &v.warnings {
                    eprintln!("warning: {w}");
                }
                match &v.error {
                    Some(e) if name == &results[0].0 => eprintln!("{name}: {e}"),
                    Some(e) => eprintln!("{e}"),
                    None => println!(
                        "{name}: {what} ({} warning{})",
                        v.warnings.len(),
                        if v.warnings.len() == 1 { "" } else { "s" }
                    ),
                }
            }
        }
    }
    if results.iter().all(|(_, v, _)| v.valid) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// A file, or the `*.json` files of a directory, in name order.
fn exceptions_files(path: &Path) -> Result<Vec<PathBuf>, String> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries = std::fs::read_dir(path)
        .map_err(|e| format!("cannot read the directory {}: {e}", path.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("{}: no *.json exceptions document", path.display()));
    }
    Ok(files)
}

async fn run_check(args: CheckArgs) -> ExitCode {
    let wants_sarif = args.output == CheckOutput::Sarif || args.sarif_file.is_some();
    let (mut report, policy) = judge(&args, wants_sarif).await;
    let policy = policy.as_deref();
    let sarif = wants_sarif.then(|| ci::sarif_text(&report, &args.repository, policy));
    if let (Some(path), Some(log)) = (&args.sarif_file, &sarif) {
        // A report that cannot be written changes no decision: a warning, the same exit code.
        if let Err(e) = ci::write_sarif_file(path, log) {
            eprintln!(
                "warning: cannot write the SARIF log to {}: {e}",
                path.display()
            );
        }
    }
    // The text and JSON outputs keep their usual number of findings.
    if let Some(f) = report.evaluation.as_mut().and_then(|e| e.findings.as_mut()) {
        f.top.truncate(TOP_FINDINGS);
    }
    if let Some(path) = ci::step_summary_file() {
        if let Err(e) = ci::append_step_summary(&path, &report, &args.repository, policy) {
            eprintln!(
                "warning: cannot append the summary to {} ({}): {e}",
                path.display(),
                ci::STEP_SUMMARY_VAR
            );
        }
    }
    emit(args.output, &report, sarif.as_deref())
}

/// The check itself: the report, and the policy that judged (none when the check stopped
/// before it was loaded). With `wants_sarif`, the evaluation keeps up to
/// [`MAX_RESULTS`] findings instead of [`TOP_FINDINGS`].
async fn judge(args: &CheckArgs, wants_sarif: bool) -> (CheckReport, Option<Arc<Policy>>) {
    let asked = match (&args.tag, &args.digest) {
        (_, Some(d)) => format!("{}@{d}", args.repository),
        (Some(t), None) => format!("{}:{t}", args.repository),
        (None, None) => args.repository.clone(),
    };
    let undecided = |message: String| (CheckReport::undecided(asked.clone(), message), None);
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
    // The same reader as the function: the policy source and QUARANTINE_TAG_PREFIX.
    let mut config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => return undecided(e.to_string()),
    };
    if let Some(path) = &args.policy_file {
        config.policy_source = PolicySource::File(path.clone());
    }
    let aws = ecr_scan_gate::adapters::aws::load_sdk_config().await;
    let mut ssm = (matches!(config.policy_source, PolicySource::Parameter(_))
        || config.exceptions_path.is_some())
    .then(|| SsmParameters::new(aws_sdk_ssm::Client::new(&aws)));
    let mut policy = match load_policy(&config.policy_source, ssm.as_ref()).await {
        Ok(p) => p,
        Err(e) => return undecided(e.to_string()),
    };
    // The same exceptions as the function: the policy's VEX parameters and the teams'
    // documents under EXCEPTIONS_PARAMETER_PATH.
    if ssm.is_none() && !policy.vex_parameters.is_empty() {
        ssm = Some(SsmParameters::new(aws_sdk_ssm::Client::new(&aws)));
    }
    let refused =
        match complete_policy(&mut policy, config.exceptions_path.as_deref(), ssm.as_ref()).await {
            Ok(refused) => refused,
            Err(e) => return undecided(e.to_string()),
        };
    let info = PolicyInfo {
        source: describe_source(&config.policy_source),
        hash: policy_hash(&policy),
        built_in_default: config.policy_source == PolicySource::Default,
    };
    let prefix = config.settings.quarantine_prefix.clone();
    let registry = EcrRegistry::new(ecr_scan_gate::adapters::aws::ecr::client(&aws), &prefix);
    let mut gate = Gate::new(registry, policy, config.settings);
    if wants_sarif {
        gate.top_findings = MAX_RESULTS;
    }
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
    report.warnings.extend(refused);
    report.policy = Some(info);
    (report, Some(Arc::clone(&gate.policy)))
}

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
    let aws = ecr_scan_gate::adapters::aws::load_sdk_config().await;
    let prefix = config.settings.quarantine_prefix;
    let registry = EcrRegistry::new(ecr_scan_gate::adapters::aws::ecr::client(&aws), &prefix);
    let (images, errors) = quarantined_images(&registry, &globs, &prefix).await;
    match output {
        // Nothing listed because nothing could be listed is no "0 quarantined images": the
        // errors alone say what happened.
        Output::Text if images.is_empty() && !errors.is_empty() => {}
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
