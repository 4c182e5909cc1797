//! `ecr-scan-gate-check`: the deploy pipeline's question "may this image be deployed?".
//!
//! A tag alone blocks nothing: pipelines must look. This applies the same policy as the
//! function, waits (bounded) for the scan, and looks at the quarantine state, so an image the
//! function quarantined stays blocked even if the pipeline's own policy would let it pass.

use crate::domain::image::ImageRef;
use crate::domain::scan::ScanEvent;
use crate::domain::verdict::Verdict;
use crate::engine::gate::Gate;
use crate::engine::ports::{Deadline, IndexImage, Registry};
use crate::judgement::evaluation::Evaluation;
use crate::policy::document::OnScanFailure;
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

/// Which policy judged: where it came from and a short hash of it, so a pipeline's log and
/// the function's start-up log line can be compared (the same policy gives the same hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyInfo {
    pub source: String,
    pub hash: String,
    pub built_in_default: bool,
}

/// One platform image of an image index (multi-arch image).
#[derive(Debug, Clone, Serialize)]
pub struct PlatformCheck {
    pub digest: String,
    pub decision: Decision,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub decision: Decision,
    pub exit_code: i32,
    /// The image as it was asked about: `repository:tag` or `repository@sha256:...`.
    pub image: String,
    /// One sentence a person acts on.
    pub message: String,
    pub waited_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyInfo>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// For an image index: each platform image's own result.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub platform_images: Vec<PlatformCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<Evaluation>,
}

impl CheckReport {
    /// Exit 2 before any look at the image (bad arguments, configuration, policy, AWS set-up).
    pub fn undecided(image: String, message: String) -> CheckReport {
        CheckReport {
            decision: Decision::Undecided,
            exit_code: Decision::Undecided.exit_code(),
            image,
            message,
            waited_seconds: 0.0,
            policy: None,
            warnings: Vec::new(),
            platform_images: Vec::new(),
            evaluation: None,
        }
    }
}

/// `repository:tag` or `repository@sha256:...`, as the pipeline named the image.
pub fn asked_name(repository: &str, image: &ImageRef) -> String {
    match image {
        ImageRef::Tag(t) => format!("{repository}:{t}"),
        ImageRef::Digest(d) => format!("{repository}@{d}"),
    }
}

/// Scan states worth waiting for: the scan has not started or not finished.
fn pending(ev: &Evaluation) -> bool {
    matches!(
        ev.scan_status.as_deref(),
        Some("SCAN_NOT_FOUND") | Some("IN_PROGRESS") | Some("PENDING")
    )
}

/// Evaluates the image, polling every `poll` until its scan is there or `wait` has passed. An
/// image index (multi-arch image) is judged by its platform images: blocked if any is.
pub async fn check<R: Registry>(
    gate: &Gate<R>,
    repository: &str,
    image: ImageRef,
    wait: Duration,
    poll: Duration,
    today: &str,
) -> CheckReport {
    let started = Instant::now();
    let asked = asked_name(repository, &image);
    match gate.registry.index_of(repository, &image).await {
        Ok(Some(index)) => {
            check_index(gate, repository, index, wait, poll, today, started, asked).await
        }
        // A missing image or repository is reported by the image's own check below.
        Ok(None) | Err(_) => {
            let mut r = check_image(gate, repository, image, wait, poll, today, started).await;
            r.image = asked;
            r
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn check_index<R: Registry>(
    gate: &Gate<R>,
    repository: &str,
    index: IndexImage,
    wait: Duration,
    poll: Duration,
    today: &str,
    started: Instant,
    asked: String,
) -> CheckReport {
    let mut results = Vec::new();
    for child in &index.children {
        let r = check_image(
            gate,
            repository,
            ImageRef::Digest(child.clone()),
            wait,
            poll,
            today,
            started,
        )
        .await;
        results.push((child.clone(), r));
    }
    let index_tag = gate.settings.quarantine_tag(&index.digest);
    let worst = results
        .iter()
        .find(|(_, r)| r.decision == Decision::Blocked)
        .or_else(|| {
            results
                .iter()
                .find(|(_, r)| r.decision == Decision::Undecided)
        })
        .or(results.first());
    let (decision, message) = if index.tags.contains(&index_tag) {
        (
            Decision::Blocked,
            format!("blocked: the image index carries the quarantine tag {index_tag}"),
        )
    } else {
        match worst {
            None => (
                Decision::Undecided,
                "the image index lists no platform image".to_string(),
            ),
            Some((d, r)) if r.decision != Decision::Deployable => (
                r.decision,
                format!("platform image {}: {}", d.short(), r.message),
            ),
            Some(_) => (
                Decision::Deployable,
                format!(
                    "deployable: all {} platform images of the index are",
                    results.len()
                ),
            ),
        }
    };
    let evaluation = worst.and_then(|(_, r)| r.evaluation.clone());
    CheckReport {
        decision,
        exit_code: decision.exit_code(),
        image: asked,
        message,
        waited_seconds: started.elapsed().as_secs_f64(),
        policy: None,
        warnings: Vec::new(),
        platform_images: results
            .into_iter()
            .map(|(d, r)| PlatformCheck {
                digest: d.to_string(),
                decision: r.decision,
                message: r.message,
            })
            .collect(),
        evaluation,
    }
}

/// One image (not an index): wait for its scan, judge it, look at its quarantine state.
async fn check_image<R: Registry>(
    gate: &Gate<R>,
    repository: &str,
    image: ImageRef,
    wait: Duration,
    poll: Duration,
    today: &str,
    started: Instant,
) -> CheckReport {
    let asked = asked_name(repository, &image);
    let event = ScanEvent::direct(repository.to_string(), image);
    let report =
        |decision: Decision, message: String, evaluation: Option<Evaluation>| CheckReport {
            decision,
            exit_code: decision.exit_code(),
            image: asked.clone(),
            message,
            waited_seconds: started.elapsed().as_secs_f64(),
            policy: None,
            warnings: Vec::new(),
            platform_images: Vec::new(),
            evaluation,
        };
    loop {
        let ev = match gate.decide(&event, today, Deadline::none()).await {
            Ok(ev) => ev,
            Err(e) => return report(Decision::Undecided, format!("could not decide: {e}"), None),
        };
        let elapsed = started.elapsed();
        if pending(&ev) && elapsed < wait {
            // The last look comes at the end of the wait, not one poll before it.
            tokio::time::sleep(poll.min(wait - elapsed)).await;
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
pub fn render_text(report: &CheckReport) -> String {
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
                report.image, ev.verdict
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
        None => out.push_str(&format!("{label}: {}\n", report.image)),
    }
    for p in &report.platform_images {
        let label = match p.decision {
            Decision::Deployable => "deployable",
            Decision::Blocked => "BLOCKED",
            Decision::Undecided => "undecided",
        };
        out.push_str(&format!("  platform image {}: {label}\n", p.digest));
    }
    if let Some(p) = &report.policy {
        out.push_str(&format!("  policy: {} (hash {})\n", p.source, p.hash));
    }
    out.push_str(&format!("  {}\n", report.message));
    out
}

/// Parses `90s`, `10m`, `1h`, `1h30m`, `2m30s`, `500ms`, or a number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let not_a_duration = || format!("{s:?} is not a duration (e.g. 90s, 10m, 1h30m)");
    if s.is_empty() {
        return Err(not_a_duration());
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let n: f64 = s.parse().map_err(|_| not_a_duration())?;
        return in_range(s, n);
    }
    let mut secs = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(not_a_duration)?;
        let (num, tail) = rest.split_at(digits);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let n: f64 = num.parse().map_err(|_| not_a_duration())?;
        secs += match unit {
            "ms" => n / 1000.0,
            "s" => n,
            "m" => n * 60.0,
            "h" => n * 3600.0,
            _ => return Err(format!("{s:?}: unknown unit {unit:?} (use ms, s, m or h)")),
        };
        rest = next;
    }
    in_range(s, secs)
}

/// The poll interval's floor: the AWS CLI's ECR waiter (`aws ecr wait image-scan-complete`)
/// polls every 5 seconds; polling faster only spends the DescribeImageScanFindings quota.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// `--poll-interval`: a duration of at least [`MIN_POLL_INTERVAL`].
pub fn parse_poll_interval(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < MIN_POLL_INTERVAL {
        return Err(format!(
            "{s:?} is too short: at least 5s (the AWS CLI's ECR waiter polls every 5 s)"
        ));
    }
    Ok(d)
}

fn in_range(s: &str, secs: f64) -> Result<Duration, String> {
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
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2m30s"), Ok(Duration::from_secs(150)));
        assert!(parse_duration("1h30").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("h").is_err());
    }

    #[test]
    fn poll_interval_has_a_floor_of_five_seconds() {
        assert_eq!(parse_poll_interval("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_poll_interval("1m"), Ok(Duration::from_secs(60)));
        let e = parse_poll_interval("200ms").unwrap_err();
        assert!(e.contains("at least 5s"), "{e}");
    }

    #[test]
    fn exit_codes() {
        assert_eq!(Decision::Deployable.exit_code(), 0);
        assert_eq!(Decision::Blocked.exit_code(), 1);
        assert_eq!(Decision::Undecided.exit_code(), 2);
    }
}
