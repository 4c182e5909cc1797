//! `ecr-scan-gate-check`: the deploy pipeline's question "may this image be deployed?".
//!
//! A tag alone blocks nothing: pipelines must look. This applies the same policy as the
//! function, waits (bounded) for the scan, and looks at the quarantine state, so an image the
//! function quarantined stays blocked even if the pipeline's own policy would let it pass.

use crate::evaluation::Evaluation;
use crate::event::{ImageRef, ScanEvent};
use crate::handler::Gate;
use crate::policy::OnScanFailure;
use crate::ports::{Deadline, Registry};
use crate::verdict::Verdict;
use serde::Serialize;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Exit 0.
    Deployable,
    /// Exit 1.
    Blocked,
    /// Exit 2: no scan, timeout, or an error.
    Undecided,
}

impl Decision {
    pub fn exit_code(self) -> i32 {
        match self {
            Decision::Deployable => 0,
            Decision::Blocked => 1,
            Decision::Undecided => 2,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub decision: Decision,
    pub exit_code: i32,
    /// One sentence a person acts on.
    pub message: String,
    pub waited_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<Evaluation>,
}

/// Scan states worth waiting for: the scan has not started or not finished.
fn pending(ev: &Evaluation) -> bool {
    matches!(
        ev.scan_status.as_deref(),
        Some("SCAN_NOT_FOUND") | Some("IN_PROGRESS") | Some("PENDING")
    )
}

/// Evaluates the image, polling every `poll` until its scan is there or `wait` has passed.
pub async fn check<R: Registry>(
    gate: &Gate<R>,
    repository: &str,
    image: ImageRef,
    wait: Duration,
    poll: Duration,
    today: &str,
) -> CheckReport {
    let event = ScanEvent::direct(repository.to_string(), image);
    let started = Instant::now();
    let report =
        |decision: Decision, message: String, evaluation: Option<Evaluation>| CheckReport {
            decision,
            exit_code: decision.exit_code(),
            message,
            waited_seconds: started.elapsed().as_secs_f64(),
            evaluation,
        };
    loop {
        let ev = match gate.decide(&event, today, Deadline::none()).await {
            Ok(ev) => ev,
            Err(e) => return report(Decision::Undecided, format!("could not decide: {e}"), None),
        };
        if pending(&ev) && started.elapsed() + poll <= wait {
            tokio::time::sleep(poll).await;
            continue;
        }
        if pending(&ev) {
            let status = ev.scan_status.clone().unwrap_or_default();
            let waited = if wait.is_zero() {
                "the scan is not complete".to_string()
            } else {
                format!("timed out after {} waiting for the scan", human(wait))
            };
            return report(
                Decision::Undecided,
                format!("{waited} (status {status}): scan the image or wait longer (--wait)"),
                Some(ev),
            );
        }
        return match ev.verdict {
            Verdict::Fail => report(
                Decision::Blocked,
                format!("blocked: {}", ev.reasons.join("; ")),
                Some(ev),
            ),
            Verdict::Error if gate.policy.on_scan_failure == OnScanFailure::Block => report(
                Decision::Blocked,
                format!(
                    "blocked (on_scan_failure = block): {}",
                    ev.reasons.join("; ")
                ),
                Some(ev),
            ),
            Verdict::Error => report(
                Decision::Undecided,
                format!("could not decide: {}", ev.reasons.join("; ")),
                Some(ev),
            ),
            Verdict::Pass | Verdict::Warn => quarantine_state(gate, ev, report).await,
        };
    }
}

async fn quarantine_state<R: Registry>(
    gate: &Gate<R>,
    mut ev: Evaluation,
    report: impl Fn(Decision, String, Option<Evaluation>) -> CheckReport,
) -> CheckReport {
    let Some(digest) = ev.digest.clone() else {
        return report(
            Decision::Undecided,
            "the image's digest is unknown".to_string(),
            Some(ev),
        );
    };
    let tag = gate.settings.quarantine_tag(&digest);
    match gate.registry.image_tags(&ev.repository, &digest).await {
        Err(e) => report(
            Decision::Undecided,
            format!("could not read the image's tags: {e}"),
            Some(ev),
        ),
        Ok(tags) => {
            ev.tags = tags;
            if ev.tags.contains(&tag) {
                report(
                    Decision::Blocked,
                    format!(
                        "blocked: the image carries the quarantine tag {tag}; the policy now gives {}, so \
                         re-evaluate it with the function ({{\"repository\": ..., \"digest\": ...}}) to release it",
                        ev.verdict
                    ),
                    Some(ev),
                )
            } else {
                let verdict = ev.verdict;
                let why = ev.reasons.join("; ");
                report(
                    Decision::Deployable,
                    format!("deployable ({verdict}): {why}"),
                    Some(ev),
                )
            }
        }
    }
}

/// A short human summary for a pipeline log.
pub fn render_text(report: &CheckReport, quarantine_prefix: &str) -> String {
    let mut out = String::new();
    let label = match report.decision {
        Decision::Deployable => "DEPLOYABLE",
        Decision::Blocked => "BLOCKED",
        Decision::Undecided => "UNDECIDED",
    };
    match &report.evaluation {
        Some(ev) => {
            let digest = ev
                .digest
                .as_ref()
                .map(|d| d.short().to_string())
                .unwrap_or_else(|| "digest unknown".into());
            out.push_str(&format!(
                "{label}: {} ({digest}) — verdict {}\n",
                ev.image_name(quarantine_prefix),
                ev.verdict
            ));
            out.push_str(&format!("  findings: {}\n", ev.counts.summary()));
            for f in ev.findings.iter().flat_map(|r| r.top.iter()).take(5) {
                let fixed = f.fixed_version.as_deref().unwrap_or("no fix");
                let pkg = f.package.as_deref().unwrap_or("?");
                let installed = f.installed_version.as_deref().unwrap_or("?");
                out.push_str(&format!(
                    "    {} {} {pkg} {installed} -> {fixed}\n",
                    f.severity, f.id
                ));
            }
        }
        None => out.push_str(&format!("{label}\n")),
    }
    out.push_str(&format!("  {}\n", report.message));
    out
}

/// Parses `90s`, `10m`, `1h`, `500ms`, or a number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (e.g. 90s, 10m, 1h)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use ms, s, m or h)")),
    };
    if !(0.0..=86_400.0).contains(&secs) {
        return Err(format!("{s:?} is out of range (0 to 24h)"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 60.0 && s % 60.0 == 0.0 {
        format!("{}m", s / 60.0)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("2d").is_err());
        assert!(parse_duration("48h").is_err());
    }

    #[test]
    fn exit_codes() {
        assert_eq!(Decision::Deployable.exit_code(), 0);
        assert_eq!(Decision::Blocked.exit_code(), 1);
        assert_eq!(Decision::Undecided.exit_code(), 2);
    }
}
