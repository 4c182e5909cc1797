//! The sweep (`{"sweep": {...}}`): every tagged image of the matching repositories gets the
//! decision and actions of a direct invoke, so the registry stays right when an allowlist entry
//! expires, the policy changes, or an event was lost. It runs over one gate, i.e. one registry
//! (one account, one region).
//!
//! The listing decides most images alone (the summary fast path: `DescribeImages` carries each
//! image's severity counts). The others are enqueued (`SWEEP_QUEUE_URL`: one message per image,
//! consumed by the same function, `crate::entry::queue`) or evaluated here, a few at a time, within
//! the invocation's deadline.

pub mod report;
pub mod request;

use crate::domain::image::{Digest, ImageRef};
use crate::domain::quarantine::is_quarantined;
use crate::domain::scan::{ScanEvent, Trigger};
use crate::domain::severity::Counts;
use crate::engine::gate::{Gate, GateError};
use crate::engine::ports::{
    BulkCounts, Deadline, EnhancedCounts, ImageSummary, Inventory, Registry, ScanStart, SweepQueue,
};
use crate::judgement::evaluation::{Action, ActionStatus, Evaluation};
use crate::judgement::fast_path::{counts_prove_pass, Unlisted};
use crate::policy::document::Policy;
use futures_util::StreamExt;
use report::{ImageId, SweepReport};
use request::{Cursor, Place, SweepRequest};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Images evaluated at once by an inline sweep (and StartImageScan calls at once): ECR's API
/// rate quotas, shared with the scan events, are the limit, not the function.
pub const INLINE_CONCURRENCY: usize = 4;
/// An inline sweep starts no new image with less than this left: one page of findings, a tag
/// change with its retries, and a margin to answer.
pub const INLINE_RESERVE: Duration =
    Duration::from_secs(Deadline::CHANGE_RESERVE.as_secs() + Deadline::PAGE_RESERVE.as_secs() + 3);
/// The planner reads no further page of images with less than this left.
pub const LISTING_RESERVE: Duration = Duration::from_secs(Deadline::PAGE_RESERVE.as_secs() + 3);
/// What the listing alone says of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Triage {
    /// Its severity counts reach no threshold and it carries no quarantine tag: PASS.
    PassedBySummary,
    /// The listing says its scan is still running: nothing to judge yet.
    Unscanned,
    /// Needs the findings (or its quarantine tag may be due for release, or the listing gives
    /// no summary of it: the scan result itself decides).
    CloserLook,
}

/// The summary fast path: the registry's counts (before the allowlist and `ignore_unfixed`,
/// which can only lower them) reach no threshold of the repository's policy, nor can any
/// finding they count meet a condition. The one place this is decided.
pub fn summary_passes(policy: &Policy, repository: &str, counts: &Counts) -> bool {
    counts_prove_pass(policy, repository, counts, Unlisted::any(0))
}

/// What to do with one listed image. `enhanced`: Amazon Inspector's counts of the image, when
/// it has them (enhanced scanning).
pub fn triage(
    policy: &Policy,
    repository: &str,
    image: &ImageSummary,
    enhanced: Option<&EnhancedCounts>,
    quarantine_prefix: &str,
) -> Triage {
    // A quarantined image may be due for release, whatever the listing says of its scan.
    if needs_a_look_whatever_its_scan(image, quarantine_prefix) {
        return Triage::CloserLook;
    }
    match image.scan_status.as_deref() {
        // Real ECR lists no scan status and no summary for an image under enhanced
        // (Inspector) scanning: no summary is not "unscanned". Inspector's counts may prove
        // a PASS; otherwise the scan result decides.
        None => match enhanced {
            Some(c) if counts_prove_pass(policy, repository, &c.counts, c.unlisted()) => {
                Triage::PassedBySummary
            }
            _ => Triage::CloserLook,
        },
        Some("IN_PROGRESS") | Some("PENDING") => Triage::Unscanned,
        Some("COMPLETE") | Some("ACTIVE") => match &image.severity_counts {
            Some(counts) if summary_passes(policy, repository, counts) => Triage::PassedBySummary,
            _ => Triage::CloserLook,
        },
        // FAILED, UNSUPPORTED_IMAGE, SCAN_ELIGIBILITY_EXPIRED, ...: the direct invoke's decision
        // (ERROR, and quarantine with on_scan_failure = block).
        Some(_) => Triage::CloserLook,
    }
}

/// A quarantined image (maybe due for release) and an image index (never scanned) are looked
/// at whatever the listing or Inspector says of a scan.
fn needs_a_look_whatever_its_scan(image: &ImageSummary, quarantine_prefix: &str) -> bool {
    image.is_index || is_quarantined(&image.tags, quarantine_prefix, &image.digest)
}

/// Whether Amazon Inspector's counts could decide the image: listed with no scan status.
fn wants_enhanced_counts(image: &ImageSummary, quarantine_prefix: &str) -> bool {
    image.scan_status.is_none() && !needs_a_look_whatever_its_scan(image, quarantine_prefix)
}

/// Whether an evaluation found no scan result to judge (none yet, or one still running): the
/// sweep counts the image `unscanned`.
pub fn found_unscanned(ev: &Evaluation) -> bool {
    matches!(
        ev.scan_status.as_deref(),
        Some("SCAN_NOT_FOUND") | Some("IN_PROGRESS") | Some("PENDING")
    )
}

/// Whether an image is in scope: tagged (the listing asks for tagged images only) and pushed
/// within the window. An image with no push time stays in scope.
pub fn in_window(image: &ImageSummary, pushed_after: Option<i64>) -> bool {
    !image.tags.is_empty()
        && match (pushed_after, image.pushed_at) {
            (Some(after), Some(at)) => at >= after,
            _ => true,
        }
}

/// The message the sweep enqueues for one image: the direct-invoke request plus
/// `"sweep": true`. `account` and `region` name a member account's registry (optional).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueBody {
    pub repository: String,
    pub digest: String,
    pub sweep: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// Runs one sweep over the gate's registry. `place` is its account and region when the request
/// names them (they go into every queue body and image request, so each image is evaluated in
/// that registry). `now_s` (seconds since the epoch) anchors `pushed_within_days`; `today`
/// decides allowlist expiry.
pub async fn sweep<R: Registry + Inventory>(
    gate: &Gate<R>,
    queue: Option<&dyn SweepQueue>,
    request: &SweepRequest,
    place: Option<&Place>,
    today: &str,
    now_s: i64,
    deadline: Deadline,
) -> SweepReport {
    let prefix = gate.settings.quarantine_prefix.as_str();
    let pushed_after = request
        .pushed_within_days
        .map(|d| now_s.saturating_sub(d.saturating_mul(86_400) as i64));
    let mut report = SweepReport::started(queue.is_some());
    let listed = deadline
        .bound_leaving(
            LISTING_RESERVE,
            gate.registry.repositories(&request.repositories),
        )
        .await;
    let repositories = match listed {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            report.errors.push(e.to_string());
            report.complete = false;
            return report;
        }
        Err(_) => {
            report.errors.push(format!(
                "the repositories could not be listed before the Lambda deadline ({})",
                deadline.describe_left()
            ));
            report.complete = false;
            return report;
        }
    };
    report.repositories = repositories.len();
    let resume = request
        .resume_at
        .as_ref()
        .filter(|c| c.place() == place.cloned());
    let order = sweep_order(&repositories, resume, queue.is_some(), today);
    // Once Inspector says it is not enabled (or not allowed), it is not asked again.
    let mut inspector_off = false;
    'repos: for repository in order {
        let mut token: Option<String> = resume
            .filter(|c| c.repository == *repository)
            .and_then(|c| c.token.clone());
        // Inspector's counts of the repository's images, asked once, on the first image that
        // the listing does not summarise.
        let mut enhanced: Option<BulkCounts> = None;
        loop {
            let stop_here = |report: &mut SweepReport, token: Option<String>| {
                report.complete = false;
                report.stopped_in = Some(repository.clone());
                report.resume_at = Some(Box::new(Cursor::at(place, repository, token)));
            };
            if !deadline.allows(LISTING_RESERVE) {
                stop_here(&mut report, token);
                break 'repos;
            }
            let listed = deadline
                .bound_leaving(
                    LISTING_RESERVE - Deadline::PAGE_RESERVE,
                    gate.registry.images_page(repository, token.clone()),
                )
                .await;
            let page = match listed {
                Ok(Ok(p)) => p,
                Ok(Err(e)) => {
                    report.errors.push(e.to_string());
                    report.complete = false;
                    continue 'repos;
                }
                Err(_) => {
                    stop_here(&mut report, token);
                    break 'repos;
                }
            };
            let mut closer = Vec::new();
            let mut to_scan = Vec::new();
            let in_scope: Vec<&ImageSummary> = page
                .images
                .iter()
                .filter(|i| in_window(i, pushed_after))
                .collect();
            if enhanced.is_none()
                && !inspector_off
                && in_scope.iter().any(|i| wants_enhanced_counts(i, prefix))
            {
                let counts = bulk_counts(gate, repository, deadline, &mut report).await;
                inspector_off = matches!(counts, BulkCounts::Unavailable(_));
                enhanced = Some(counts);
            }
            let known = match &enhanced {
                Some(BulkCounts::Available(known)) => Some(known),
                _ => None,
            };
            for image in in_scope {
                report.images += 1;
                let counts = known.and_then(|k| k.get(&image.digest));
                match triage(&gate.policy, repository, image, counts, prefix) {
                    Triage::PassedBySummary => report.passed_by_summary += 1,
                    Triage::Unscanned => report.unscanned += 1,
                    Triage::CloserLook => {
                        // No scan status listed, unknown to Inspector: no scan yet under basic
                        // scanning.
                        // An archived image cannot be scanned (ImageArchivedException).
                        if wants_enhanced_counts(image, prefix)
                            && counts.is_none()
                            && request.start_scans
                            && !image.storage.unpullable()
                        {
                            to_scan.push(image.digest.clone());
                        }
                        closer.push(image)
                    }
                }
            }
            start_scans(gate, repository, &to_scan, &mut report).await;
            let finished = match queue {
                Some(q) => {
                    enqueue(q, repository, &closer, place, &mut report).await;
                    true
                }
                None => {
                    let inline = Inline {
                        place,
                        today,
                        deadline,
                    };
                    evaluate_inline(gate, repository, &closer, inline, &mut report).await
                }
            };
            if !finished {
                stop_here(&mut report, token);
                break 'repos;
            }
            match page.next_token {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        report.repositories_done += 1;
    }
    report
}

/// The order a sweep goes through the repositories (listed in name order). A sweep that
/// resumes starts at its cursor's repository. A queued sweep goes in name order: one that
/// stops enqueues its continuation. An inline sweep, which cannot continue, starts at another
/// repository each day, so that when a registry is too large for one invocation its tail is
/// not starved night after night.
pub fn sweep_order<'a>(
    repositories: &'a [String],
    resume: Option<&Cursor>,
    queued: bool,
    today: &str,
) -> Vec<&'a String> {
    if let Some(cursor) = resume {
        return repositories
            .iter()
            .filter(|r| **r >= cursor.repository)
            .collect();
    }
    if queued || repositories.is_empty() {
        return repositories.iter().collect();
    }
    let day = crate::domain::date::day_number(today).unwrap_or(0);
    let start = day.rem_euclid(repositories.len() as i64) as usize;
    repositories[start..]
        .iter()
        .chain(&repositories[..start])
        .collect()
}

/// Inspector's counts of a repository's images, within the deadline. An error is reported and
/// the images are read one by one instead.
async fn bulk_counts<R: Registry + Inventory>(
    gate: &Gate<R>,
    repository: &str,
    deadline: Deadline,
    report: &mut SweepReport,
) -> BulkCounts {
    match deadline
        .bound(gate.registry.enhanced_counts(repository))
        .await
    {
        Ok(Ok(BulkCounts::Unavailable(why))) => {
            tracing::info!(
                repository,
                reason = %why,
                "no counts from Amazon Inspector: each image without a summary is read on its own"
            );
            BulkCounts::Unavailable(why)
        }
        Ok(Ok(counts)) => counts,
        Ok(Err(e)) => {
            report.errors.push(e.to_string());
            BulkCounts::Available(Default::default())
        }
        Err(_) => BulkCounts::Available(Default::default()),
    }
}

async fn start_scans<R: Registry + Inventory>(
    gate: &Gate<R>,
    repository: &str,
    digests: &[Digest],
    report: &mut SweepReport,
) {
    if gate.settings.dry_run {
        return;
    }
    let results: Vec<_> = futures_util::stream::iter(digests)
        .map(|d| gate.registry.start_scan(repository, d))
        .buffer_unordered(INLINE_CONCURRENCY)
        .collect()
        .await;
    for r in results {
        match r {
            Ok(ScanStart::Started) => report.scans_started += 1,
            Ok(ScanStart::LimitExceeded) => report.scans_limited += 1,
            Err(e) => report.errors.push(e.to_string()),
        }
    }
}

async fn enqueue(
    queue: &dyn SweepQueue,
    repository: &str,
    images: &[&ImageSummary],
    place: Option<&Place>,
    report: &mut SweepReport,
) {
    let bodies: Vec<String> = images
        .iter()
        .filter_map(|i| {
            serde_json::to_string(&QueueBody {
                repository: repository.to_string(),
                digest: i.digest.to_string(),
                sweep: true,
                account: place.map(|p| p.account.clone()),
                region: place.map(|p| p.region.clone()),
            })
            .ok()
        })
        .collect();
    if bodies.is_empty() {
        return;
    }
    let failures = queue.send_all(&bodies).await;
    for f in &failures {
        let image = images
            .get(f.index)
            .map(|i| format!("{repository}@{}", i.digest))
            .unwrap_or_else(|| repository.to_string());
        report
            .errors
            .push(format!("not enqueued: {image}: {}", f.reason));
    }
    if let Some(n) = report.enqueued.as_mut() {
        *n += bodies.len() - failures.len();
    }
}

/// Evaluates the images a few at a time; starts none once the deadline is near. Returns
/// whether every image was evaluated.
/// Where and when an inline sweep evaluates.
#[derive(Clone, Copy)]
struct Inline<'a> {
    place: Option<&'a Place>,
    today: &'a str,
    deadline: Deadline,
}

async fn evaluate_inline<R: Registry + Inventory>(
    gate: &Gate<R>,
    repository: &str,
    images: &[&ImageSummary],
    inline: Inline<'_>,
    report: &mut SweepReport,
) -> bool {
    let Inline {
        place,
        today,
        deadline,
    } = inline;
    let started = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Result<Evaluation, GateError>> = futures_util::stream::iter(images)
        .take_while(|_| std::future::ready(deadline.allows(INLINE_RESERVE)))
        .map(|image| {
            started.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut event = sweep_event(repository, image);
            if let Some(p) = place {
                event = event.located(p.account.clone(), p.region.clone());
            }
            async move { gate.evaluate(&event, today, deadline).await }
        })
        .buffer_unordered(INLINE_CONCURRENCY)
        .collect()
        .await;
    for result in &results {
        record(result, place.is_some(), report);
    }
    started.into_inner() == images.len()
}

/// The sweep's request for one image: a direct invoke by digest, marked as the sweep's.
pub fn sweep_event(repository: &str, image: &ImageSummary) -> ScanEvent {
    let mut event = ScanEvent::direct(
        repository.to_string(),
        ImageRef::Digest(image.digest.clone()),
    );
    event.trigger = Trigger::Sweep;
    event.tags = image.tags.clone();
    event.storage = Some(image.storage);
    event
}

fn record(result: &Result<Evaluation, GateError>, placed: bool, report: &mut SweepReport) {
    let ev = match result {
        Ok(ev) => Some(ev),
        Err(e) => {
            report.errors.push(e.to_string());
            e.evaluation()
        }
    };
    let Some(ev) = ev else { return };
    if let Some(n) = report.evaluated.as_mut() {
        *n += 1;
    }
    if found_unscanned(ev) {
        // No verdict to count: the scan result says there is none yet.
        report.unscanned += 1;
        return;
    }
    if let Some(v) = report.verdicts.as_mut() {
        *v.entry(ev.verdict).or_default() += 1;
    }
    let id = |digest: Option<&Digest>| ImageId {
        repository: ev.repository.clone(),
        digest: digest.map(|d| d.to_string()).unwrap_or_default(),
        account: ev.account.clone().filter(|_| placed),
        region: ev.region.clone().filter(|_| placed),
    };
    for a in &ev.actions {
        // A change on an image index that lists the image is named by the index's digest.
        let (target, change) = match a {
            Action::OnIndex { index, change, .. } => (Some(index), change.as_ref()),
            other => (ev.digest.as_ref(), other),
        };
        match change {
            Action::Quarantine {
                status: ActionStatus::Done,
                ..
            } => report
                .quarantined
                .get_or_insert_with(Vec::new)
                .push(id(target)),
            Action::Release {
                status: ActionStatus::Done,
                ..
            } => report
                .released
                .get_or_insert_with(Vec::new)
                .push(id(target)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
