//! What the check leaves for CI beside its output: the SARIF log (`--output sarif`,
//! `--sarif-file`) and the Markdown summary it appends to `GITHUB_STEP_SUMMARY`. The rendering
//! is pure (`crate::render::sarif`, `crate::render::step_summary`); the files are written here.

use crate::engine::deploy_check::{CheckReport, Decision};
use crate::policy::document::Policy;
use crate::render::check_outcome::CheckOutcome;
use crate::render::sarif::{sarif_log, Tool};
use crate::render::step_summary::step_summary;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The tool's information URI when the crate names no repository (`repository` in
/// Cargo.toml): the placeholder the example workflow uses.
pub const INFORMATION_URI_PLACEHOLDER: &str = "https://github.com/your-org/ecr-scan-gate";

/// The variable GitHub Actions sets to the job summary's file.
pub const STEP_SUMMARY_VAR: &str = "GITHUB_STEP_SUMMARY";

pub fn decision_word(d: Decision) -> &'static str {
    match d {
        Decision::Deployable => "deployable",
        Decision::Blocked => "blocked",
        Decision::Undecided => "undecided",
    }
}

/// The report as the renderers take it. `policy` is the one that judged (absent when the check
/// stopped before loading it): it says which findings fail or warn the image.
pub fn outcome<'a>(
    report: &'a CheckReport,
    repository: &'a str,
    policy: Option<&'a Policy>,
) -> CheckOutcome<'a> {
    let evaluation = report.evaluation.as_ref();
    CheckOutcome {
        repository,
        image: &report.image,
        decision: decision_word(report.decision),
        exit_code: report.exit_code,
        archived: report.archived,
        message: &report.message,
        policy: report
            .policy
            .as_ref()
            .map(|p| (p.source.as_str(), p.hash.as_str())),
        warnings: &report.warnings,
        evaluation,
        thresholds: match (policy, evaluation) {
            (Some(p), Some(ev)) => Some(p.thresholds_for(&ev.repository)),
            _ => None,
        },
    }
}

fn information_uri() -> &'static str {
    match env!("CARGO_PKG_REPOSITORY") {
        "" => INFORMATION_URI_PLACEHOLDER,
        uri => uri,
    }
}

/// The SARIF log, pretty-printed.
pub fn sarif_text(report: &CheckReport, repository: &str, policy: Option<&Policy>) -> String {
    let tool = Tool {
        version: env!("CARGO_PKG_VERSION"),
        information_uri: information_uri(),
    };
    format!(
        "{:#}",
        sarif_log(&outcome(report, repository, policy), &tool)
    )
}

/// Writes the SARIF log to `path` (replacing the file).
pub fn write_sarif_file(path: &Path, sarif: &str) -> std::io::Result<()> {
    std::fs::write(path, format!("{sarif}\n"))
}

/// The job summary's file, when GitHub Actions (or anyone) set `GITHUB_STEP_SUMMARY`.
pub fn step_summary_file() -> Option<PathBuf> {
    std::env::var_os(STEP_SUMMARY_VAR)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Appends the Markdown summary to `path` (created if missing, never truncated: other steps'
/// summaries stay).
pub fn append_step_summary(
    path: &Path,
    report: &CheckReport,
    repository: &str,
    policy: Option<&Policy>,
) -> std::io::Result<()> {
    let markdown = step_summary(&outcome(report, repository, policy));
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)?;
    file.write_all(markdown.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_is_appended_never_truncated() {
        let dir = std::env::temp_dir().join(format!("gate-summary-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("summary.md");
        std::fs::write(&path, "earlier step\n").unwrap();
        let report = CheckReport::undecided("demo-api:v1".into(), "no scan".into());
        append_step_summary(&path, &report, "demo-api", None).unwrap();
        append_step_summary(&path, &report, "demo-api", None).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("earlier step\n### ecr-scan-gate-check: UNDECIDED"));
        assert_eq!(text.matches("### ecr-scan-gate-check").count(), 2, "{text}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_information_uri_is_a_uri() {
        assert!(information_uri().starts_with("https://"));
    }
}
