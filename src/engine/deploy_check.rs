//! The deploy question "may this image be deployed?", asked by a pipeline
//! (`ecr-scan-gate-check`) and by ECS (the deployment lifecycle hook).
//!
//! A tag alone blocks nothing: deployers must look. This applies the same policy as the
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
    /// The image is archived (or still being restored): ECR answers 404 to every pull of it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub archived: bool,
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
            archived: false,
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

impl CheckReport {
    /// Undecided only because the image has no scan result yet (the ECS hook waits then).
    pub fn waiting_for_scan(&self) -> bool {
        self.decision == Decision::Undecided && self.evaluation.as_ref().is_some_and(pending)
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
    let unread = match gate.registry.index_of(repository, &image).await {
        Ok(Some(index)) => {
            return check_index(gate, repository, index, wait, poll, today, started, asked).await
        }
        Ok(None) => None,
        // A missing image or repository is reported by the image's own check below.
        Err(e) if e.is_gone() => None,
        Err(e) => Some(e),
    };
    let mut r = check_image(gate, repository, image, wait, poll, today, started).await;
    r.image = asked;
    if let Some(e) = unread {
        // Never silently: a multi-arch image would be judged without its platforms.
        r.warnings.push(format!(
            "could not read the image's manifest ({e}): if it is a multi-arch image \
             (an image index), its platform images were not judged; the check needs \
             ecr:BatchGetImage on the repository"
        ));
    }
    r
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
        archived: false,
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
            archived: false,
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
        let judged = match ev.verdict {
            Verdict::Fail => Judged::Blocked(format!("blocked: {}", ev.reasons.join("; "))),
            Verdict::Error if gate.policy.on_scan_failure == OnScanFailure::Block => {
                Judged::Blocked(format!(
                    "blocked (on_scan_failure = block): {}",
                    ev.reasons.join("; ")
                ))
            }
            Verdict::Error => {
                return report(
                    Decision::Undecided,
                    format!("could not decide: {}", ev.reasons.join("; ")),
                    Some(ev),
                )
            }
            Verdict::Pass | Verdict::Warn => Judged::Deployable,
        };
        return registry_state(gate, ev, judged, report).await;
    }
}

/// What the verdict alone says, before the image's quarantine tag and storage are read.
enum Judged {
    Blocked(String),
    Deployable,
}

/// The image's quarantine tag and storage, read now: an archived image cannot be pulled
/// (BLOCKED (archived)), a quarantined one stays blocked until the function releases it.
async fn registry_state<R: Registry>(
    gate: &Gate<R>,
    mut ev: Evaluation,
    judged: Judged,
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
    let details = match gate.registry.image_details(&ev.repository, &digest).await {
        Ok(details) => details,
        Err(e) => {
            return report(
                Decision::Undecided,
                format!("could not read the image's tags and storage: {e}"),
                Some(ev),
            )
        }
    };
    ev.tags = details.tags;
    let verdict = ev.verdict;
    if details.storage.unpullable() {
        let status = details.storage.status.as_str();
        let why = match judged {
            Judged::Blocked(why) => why,
            Judged::Deployable => format!(
                "the policy now gives {verdict}: re-evaluate it with the function \
                 ({{\"repository\": ..., \"digest\": ...}}) to restore and release it"
            ),
        };
        let mut r = report(
            Decision::Blocked,
            format!("blocked (archived): the image is {status}, so ECR answers 404 to every pull of it; {why}"),
            Some(ev),
        );
        r.archived = true;
        return r;
    }
    match judged {
        Judged::Blocked(why) => report(Decision::Blocked, why, Some(ev)),
        Judged::Deployable if ev.tags.contains(&tag) => report(
            Decision::Blocked,
            format!(
                "blocked: the image carries the quarantine tag {tag}; the policy now gives {verdict}, so \
                 re-evaluate it with the function ({{\"repository\": ..., \"digest\": ...}}) to release it"
            ),
            Some(ev),
        ),
        Judged::Deployable => {
            let why = ev.reasons.join("; ");
            report(
                Decision::Deployable,
                format!("deployable ({verdict}): {why}"),
                Some(ev),
            )
        }
    }
}

/// `90s`, `10m`: a duration as the `--wait` option takes it.
pub fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 60.0 && s % 60.0 == 0.0 {
        format!("{}m", s / 60.0)
    } else {
        format!("{s}s")
    }
}
