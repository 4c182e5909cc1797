//! The ECS deployment lifecycle hook (docs/enforcement.md): ECS asks, at a stage of a service deployment,
//! whether the target service revision may roll out, and rolls back on `FAILED`.
//!
//! The revision's `containerImages` come from `DescribeServiceRevisions`. Each image is judged:
//!
//! - outside a private ECR registry (Docker Hub, `public.ecr.aws`, ...): the policy's
//!   `ecs_hook.non_ecr` (`allow`: deployable; `block`: blocked). A host that looks like ECR but
//!   does not read as a registry, or an invalid repository name, is blocked;
//! - in ECR: as the pipeline's check judges it (`engine::deploy_check::check`, no wait), by the
//!   digest ECS resolved (`imageDigest`; by the reference's digest or tag when ECS resolved
//!   none), in the registry of the image's account and region: the function's own, or a member
//!   account's through the account router (`MEMBER_ROLE_NAME`). An account or region the gate
//!   may not act in blocks the image, with the reason.
//!
//! The answer: any image blocked → `FAILED`; an image with no scan result yet, or a read that
//! failed (throttling, access, the deadline) → `IN_PROGRESS` with `callBackDelay` 30 and
//! `hookDetails.waiting_since` (RFC 3339, kept from the incoming `hookDetails`) until
//! `ecs_hook.max_wait_s` has passed since then; after it a failed read → `FAILED` (fail closed)
//! and a missing scan → `on_scan_failure` (`block`: `FAILED`; `alert`: `SUCCEEDED`, logged as a
//! warning). A scan that could not run (`FAILED`, `UNSUPPORTED_IMAGE`) → `on_scan_failure` at
//! once. Every image deployable → `SUCCEEDED`.
//!
//! The revision itself: a read that fails is retried the same way (`IN_PROGRESS` within the
//! wait, then `FAILED`). Only services of the function's own account and region are served (its
//! ECS client is its own): another account's or region's revision, an unreadable payload, or no
//! ECS client answers `FAILED` at once, with the reason in the log.
//!
//! The hook only reads: no tag, no archive, no release (`check` never acts). A `FAILED` answer
//! sends ONE alert on the gate's channels naming the service, the container and the image;
//! other answers send none. With `DRY_RUN` nothing is refused: the hook answers `SUCCEEDED`
//! where it would answer `FAILED`, sends no alert, and its log line says what it would have
//! answered. One log line per invocation names the
//! service, the stage, the answer and each image's decision.

use crate::adapters::aws::ecr::EcrRegistry;
use crate::adapters::aws::member::{MemberRegistries, Routed};
use crate::domain::date::rfc3339;
use crate::domain::ecs_hook::{
    combine, locate_image, waited, Cause, ContainerImage, EcrImage, HookAnswer, HookRequest,
    HookStatus, ImageLocation, ImageOutcome, Waited, WAITING_SINCE,
};
use crate::domain::image::{Digest, ImageRef};
use crate::domain::verdict::Verdict;
use crate::engine::accounts::Home;
use crate::engine::deploy_check::{check, CheckReport, Decision};
use crate::engine::gate::Gate;
use crate::engine::ports::{Deadline, Registry, ServiceRevisions};
use crate::policy::document::OnScanFailure;
use crate::policy::enforcement::{EcsHook, NonEcr};
use judged::Judged;
use serde_json::Value;
use std::time::Duration;
use tracing::Level;

mod alert;
mod judged;

/// What the hook needs: the gate (policy, notifiers, own registry) and the function's context.
pub struct Hook<'a, R> {
    pub gate: &'a Gate<R>,
    pub members: Option<&'a MemberRegistries>,
    pub revisions: Option<&'a dyn ServiceRevisions>,
    pub home: Result<&'a Home, &'a str>,
    pub request_id: &'a str,
    pub today: &'a str,
    pub now_s: i64,
    pub deadline: Deadline,
}

/// Answers one invocation of the hook. Never an error: whatever goes wrong is an answer.
pub async fn handle<R: Registry>(hook: Hook<'_, R>, input: &Value) -> HookAnswer {
    let request = match HookRequest::parse(input) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(
                request_id = hook.request_id,
                hook_status = "FAILED",
                error = %e,
                "ecs hook: the payload cannot be read; FAILED (fail closed)"
            );
            return HookAnswer::done(HookStatus::Failed);
        }
    };
    let settings: EcsHook = hook.gate.policy.ecs_hook;
    let wait = waited(&request.hook_details, hook.now_s, settings.max_wait_s);
    let mut line = Line::new(&hook, &request, &wait);
    let images = match read_revision(&hook, &request).await {
        Ok(images) => images,
        Err((why, transient)) => {
            let status = if transient && !wait.over {
                HookStatus::InProgress
            } else {
                HookStatus::Failed
            };
            line.status = status;
            if status == HookStatus::InProgress {
                line.waiting_since = rfc3339(wait.since).unwrap_or_default();
                let max = settings.max_wait_s;
                line.reason = format!("{why}; retried within ecs_hook.max_wait_s ({max} s)");
                line.log(Level::WARN);
            } else {
                line.reason = format!("{why}; FAILED (fail closed): the deployment is rolled back");
                let status = dry_run(hook.gate.settings.dry_run, status, &mut line);
                line.log(Level::ERROR);
                return answer(status, &request, &wait);
            }
            return answer(status, &request, &wait);
        }
    };
    let judged: Vec<Judged> =
        futures_util::future::join_all(images.iter().map(|c| judge(&hook, c))).await;
    let outcomes: Vec<ImageOutcome> = judged.iter().map(|j| j.outcome).collect();
    let block = hook.gate.policy.on_scan_failure == OnScanFailure::Block;
    let (status, cause) = combine(&outcomes, wait.over, block);
    line.status = status;
    if status == HookStatus::InProgress {
        line.waiting_since = rfc3339(wait.since).unwrap_or_default();
    }
    line.images = judged
        .iter()
        .map(Judged::describe)
        .collect::<Vec<_>>()
        .join("; ");
    line.reason = reason(cause, &judged, &wait, settings.max_wait_s, hook.now_s);
    let mut failed_alert = false;
    let status = dry_run(hook.gate.settings.dry_run, status, &mut line);
    if status == HookStatus::Failed {
        let service = request.revision.service_text();
        let (text, failed) = alert::send(hook.gate, hook.deadline, &service, &judged, cause).await;
        line.alert = text;
        failed_alert = failed;
    }
    let level = if failed_alert || cause == Cause::ReadErrorAfterWait {
        Level::ERROR
    } else if matches!(
        cause,
        Cause::Blocked | Cause::ScanFailureBlocks | Cause::ScanFailureAllowed
    ) || outcomes.contains(&ImageOutcome::ReadError)
    {
        Level::WARN
    } else {
        Level::INFO
    };
    line.log(level);
    answer(status, &request, &wait)
}

/// `DRY_RUN` refuses nothing: a `FAILED` becomes `SUCCEEDED`, and the log line says so.
fn dry_run(dry_run: bool, status: HookStatus, line: &mut Line) -> HookStatus {
    if !dry_run || status != HookStatus::Failed {
        return status;
    }
    line.reason.push_str(
        "; DRY_RUN: answered SUCCEEDED instead of FAILED, so the deployment goes on and no alert is sent",
    );
    line.status = HookStatus::Succeeded;
    HookStatus::Succeeded
}

fn answer(status: HookStatus, request: &HookRequest, wait: &Waited) -> HookAnswer {
    match status {
        HookStatus::InProgress => HookAnswer::in_progress(
            &request.hook_details,
            wait.since,
            EcsHook::CALL_BACK_DELAY_S,
        ),
        done => HookAnswer::done(done),
    }
}

/// The revision's container images, or why not and whether asking again may help.
async fn read_revision<R>(
    hook: &Hook<'_, R>,
    request: &HookRequest,
) -> Result<Vec<ContainerImage>, (String, bool)> {
    let rev = &request.revision;
    if let Ok(home) = hook.home {
        if rev.account != home.account || rev.region != home.region {
            return Err((
                format!(
                    "service {} is in account {} region {}: only services of the function's own \
                     account {} and region {} are supported (the function reads the revision \
                     with its own ECS client); deploy the gate in that account and region",
                    rev.service_text(),
                    rev.account,
                    rev.region,
                    home.account,
                    home.region
                ),
                false,
            ));
        }
    }
    let Some(revisions) = hook.revisions else {
        return Err((
            "the function has no ECS client to read the service revision".to_string(),
            false,
        ));
    };
    match hook
        .deadline
        .bound(revisions.container_images(&request.revision_arn))
        .await
    {
        Ok(Ok(images)) if !images.is_empty() => Ok(images),
        Ok(Ok(_)) => Err((
            format!(
                "ECS lists no container image for service revision {}",
                request.revision_arn
            ),
            true,
        )),
        Ok(Err(e)) => Err((e.to_string(), true)),
        Err(_) => Err((
            format!(
                "service revision {} not read before the Lambda deadline ({})",
                request.revision_arn,
                hook.deadline.describe_left()
            ),
            true,
        )),
    }
}

/// Where an ECR image is judged.
enum Place {
    Own,
    Other(EcrRegistry),
    Refused(String),
}

async fn place_of<R>(hook: &Hook<'_, R>, ecr: &EcrImage) -> Place {
    match (hook.members, hook.home) {
        (Some(members), Ok(home)) => {
            match members
                .registry_at(home, Some(&ecr.account), Some(&ecr.region))
                .await
            {
                Routed::Own { .. } => Place::Own,
                Routed::Other { registry, .. } => Place::Other(registry),
                Routed::Ignored(reason) => Place::Refused(reason),
            }
        }
        (Some(_), Err(why)) => Place::Refused(format!(
            "the image's account cannot be routed: the function's own account is unknown ({why})"
        )),
        (None, Ok(home)) if ecr.account == home.account && ecr.region == home.region => Place::Own,
        (None, Ok(home)) => Place::Refused(format!(
            "the image is in account {} region {}, but without member accounts (MEMBER_ROLE_NAME) \
             the gate judges only images of its own account {} and region {}",
            ecr.account, ecr.region, home.account, home.region
        )),
        // Outside Lambda (no invoked function ARN): the own registry, as for a direct invoke.
        (None, Err(_)) => Place::Own,
    }
}

/// Judges one container image.
async fn judge<R: Registry>(hook: &Hook<'_, R>, c: &ContainerImage) -> Judged {
    let ecr = match locate_image(&c.image) {
        Err(problem) => {
            return Judged::new(c, ImageOutcome::Blocked, format!("blocked: {problem}"))
        }
        Ok(ImageLocation::NotEcr { registry }) => {
            let (outcome, word, setting) = match hook.gate.policy.ecs_hook.non_ecr {
                NonEcr::Allow => (ImageOutcome::Deployable, "deployable", "allow"),
                NonEcr::Block => (ImageOutcome::Blocked, "blocked", "block"),
            };
            let message = format!(
                "{word}: not in a private ECR registry (registry {registry}), and ecs_hook.non_ecr is {setting}"
            );
            return Judged::new(c, outcome, message);
        }
        Ok(ImageLocation::Ecr(ecr)) => ecr,
    };
    let mut judged = Judged::new(c, ImageOutcome::Blocked, String::new());
    judged.place = Some((ecr.account.clone(), ecr.region.clone()));
    let (image, note) = match image_ref(c, &ecr) {
        Ok(found) => found,
        Err(problem) => {
            judged.message = format!("blocked: {problem}");
            return judged;
        }
    };
    let (today, deadline) = (hook.today, hook.deadline);
    let report = match place_of(hook, &ecr).await {
        Place::Own => bounded_check(hook.gate, &ecr.repository, image, today, deadline).await,
        Place::Other(registry) => {
            let gate = hook.gate.for_registry(registry);
            bounded_check(&gate, &ecr.repository, image, today, deadline).await
        }
        Place::Refused(reason) => {
            judged.message = format!("blocked: {reason}");
            return judged;
        }
    };
    match report {
        Ok(report) => {
            judged.outcome = classify(&report);
            judged.message = format!("{}{note}", report.message);
            judged.evaluation = report.evaluation;
        }
        Err(problem) => {
            judged.outcome = ImageOutcome::ReadError;
            judged.message = problem;
        }
    }
    judged
}

/// The image by the digest ECS resolved; else by the reference's digest or tag (with a note).
fn image_ref(c: &ContainerImage, ecr: &EcrImage) -> Result<(ImageRef, String), String> {
    if let Some(d) = c.image_digest.as_deref() {
        let digest = Digest::parse(d).map_err(|w| format!("ECS's imageDigest {w}"))?;
        return Ok((ImageRef::Digest(digest), String::new()));
    }
    let note = " (ECS resolved no digest: judged by the tag's image now, which may move)";
    Ok(match (&ecr.digest, &ecr.tag) {
        (Some(d), _) => (ImageRef::Digest(d.clone()), String::new()),
        (None, Some(t)) => (ImageRef::Tag(t.clone()), note.to_string()),
        (None, None) => (ImageRef::Tag("latest".to_string()), note.to_string()),
    })
}

/// The check, read-only and with no wait, within the invocation's deadline.
async fn bounded_check<G: Registry>(
    gate: &Gate<G>,
    repository: &str,
    image: ImageRef,
    today: &str,
    deadline: Deadline,
) -> Result<CheckReport, String> {
    let look = Box::pin(check(
        gate,
        repository,
        image,
        Duration::ZERO,
        Duration::ZERO,
        today,
    ));
    deadline.bound(look).await.map_err(|_| {
        format!(
            "not judged before the Lambda deadline ({})",
            deadline.describe_left()
        )
    })
}

fn classify(report: &CheckReport) -> ImageOutcome {
    match report.decision {
        Decision::Deployable => ImageOutcome::Deployable,
        Decision::Blocked => ImageOutcome::Blocked,
        Decision::Undecided if report.waiting_for_scan() => ImageOutcome::Waiting,
        // The scan could not run, or the image is gone: the verdict is ERROR.
        Decision::Undecided => match &report.evaluation {
            Some(ev) if ev.verdict == Verdict::Error => ImageOutcome::ScanFailed,
            _ => ImageOutcome::ReadError,
        },
    }
}

fn reason(cause: Cause, judged: &[Judged], wait: &Waited, max_wait_s: u64, now_s: i64) -> String {
    let n = judged.iter().filter(|j| cause.names(j.outcome)).count();
    let mut text = match cause {
        Cause::AllDeployable => format!("all {} image(s) deployable", judged.len()),
        Cause::Blocked => format!("{n} image(s) blocked: the deployment is rolled back"),
        Cause::Waiting => format!(
            "{n} image(s) without a scan result or not read yet: waited {} s of \
             ecs_hook.max_wait_s {max_wait_s} s; ECS asks again in {} s",
            now_s.saturating_sub(wait.since),
            EcsHook::CALL_BACK_DELAY_S
        ),
        Cause::ReadErrorAfterWait => format!(
            "{n} image(s) still not read after ecs_hook.max_wait_s ({max_wait_s} s): FAILED (fail closed)"
        ),
        Cause::ScanFailureBlocks => format!(
            "{n} image(s) without a complete scan (after ecs_hook.max_wait_s {max_wait_s} s, or \
             the scan could not run): on_scan_failure is block"
        ),
        Cause::ScanFailureAllowed => format!(
            "WARNING: {n} image(s) deployed unjudged, without a complete scan (after \
             ecs_hook.max_wait_s {max_wait_s} s, or the scan could not run): on_scan_failure is alert"
        ),
    };
    if let Some(note) = &wait.note {
        text.push_str(&format!("; {note}"));
    }
    text
}

/// The invocation's one decision line.
struct Line {
    request_id: String,
    execution_id: String,
    stage: String,
    service: String,
    revision_arn: String,
    status: HookStatus,
    images: String,
    reason: String,
    alert: String,
    waiting_since: String,
}

macro_rules! hook_line {
    ($level:ident, $l:expr) => {{
        let l = $l;
        tracing::$level!(
            request_id = %l.request_id,
            execution_id = %l.execution_id,
            lifecycle_stage = %l.stage,
            service = %l.service,
            service_revision_arn = %l.revision_arn,
            hook_status = l.status.as_str(),
            images = %l.images,
            reason = %l.reason,
            alert = %l.alert,
            waiting_since = %l.waiting_since,
            "ecs hook decision"
        )
    }};
}

impl Line {
    fn new<R>(hook: &Hook<'_, R>, request: &HookRequest, wait: &Waited) -> Line {
        Line {
            request_id: hook.request_id.to_string(),
            execution_id: request.execution_id.clone(),
            stage: request.lifecycle_stage.clone(),
            service: request.revision.service_text(),
            revision_arn: request.revision_arn.clone(),
            status: HookStatus::Failed,
            images: String::new(),
            reason: String::new(),
            alert: "none".to_string(),
            // Shown while the hook waits, or when ECS passed a wait back.
            waiting_since: if request.hook_details.contains_key(WAITING_SINCE) {
                rfc3339(wait.since).unwrap_or_default()
            } else {
                String::new()
            },
        }
    }

    /// Info for an answer as it should be; warn for a block, a failed read still retried, or
    /// an image deployed unjudged; error for a fail-closed answer or an alert not sent.
    fn log(&self, level: Level) {
        match level {
            Level::ERROR => hook_line!(error, self),
            Level::WARN => hook_line!(warn, self),
            _ => hook_line!(info, self),
        }
    }
}
