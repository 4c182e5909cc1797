//! The sweep (`{"sweep": {...}}`): every tagged image of the matching repositories gets the
//! decision and actions of a direct invoke, so the registry stays right when an allowlist entry
//! expires, the policy changes, or an event was lost. It runs over one gate, i.e. one registry
//! (one account, one region).
//!
//! The listing decides most images alone (the summary fast path: `DescribeImages` carries each
//! image's severity counts). The others are enqueued (`SWEEP_QUEUE_URL`: one message per image,
//! consumed by the same function, `crate::entry::queue`) or evaluated here, a few at a time, within
//! the invocation's deadline.

use crate::domain::image::{Digest, ImageRef};
use crate::domain::quarantine::is_quarantined;
use crate::domain::scan::{EventError, ScanEvent, Trigger};
use crate::domain::severity::Counts;
use crate::domain::verdict::Verdict;
use crate::engine::gate::{Gate, GateError};
use crate::engine::ports::{
    BulkCounts, Deadline, EnhancedCounts, ImageSummary, Inventory, Registry, ScanStart, SweepQueue,
};
use crate::judgement::evaluation::{Action, ActionStatus, Evaluation};
use crate::judgement::fast_path::{counts_prove_pass, Unlisted};
use crate::policy::document::Policy;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
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
/// The longest `pushed_within_days` (100 years).
const MAX_DAYS: u64 = 36_500;

/// `{"sweep": {...}}`; every key optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepRequest {
    /// Repository-name globs; every repository by default.
    #[serde(default = "every_repository")]
    pub repositories: Vec<String>,
    /// Only images pushed in the last N days.
    #[serde(default)]
    pub pushed_within_days: Option<u64>,
    /// `StartImageScan` for images with no scan result.
    #[serde(default)]
    pub start_scans: bool,
    /// With member accounts: the accounts to sweep (12-digit ids); the function's own by
    /// default.
    #[serde(default)]
    pub accounts: Option<Vec<String>>,
    /// The regions to sweep; the function's own by default.
    #[serde(default)]
    pub regions: Option<Vec<String>>,
    /// Where a sweep that stopped at its deadline goes on (its continuation message, sent to
    /// the sweep queue); not for operators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_at: Option<Cursor>,
}

/// Where a sweep stopped: the place (with member accounts), the repository, and the token of
/// the page of images it had not yet read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub repository: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl Cursor {
    pub fn at(place: Option<&Place>, repository: &str, token: Option<String>) -> Cursor {
        Cursor {
            account: place.map(|p| p.account.clone()),
            region: place.map(|p| p.region.clone()),
            repository: repository.to_string(),
            token,
        }
    }

    /// The place it is in, when the sweep named places.
    pub fn place(&self) -> Option<Place> {
        match (&self.account, &self.region) {
            (Some(account), Some(region)) => Some(Place {
                account: account.clone(),
                region: region.clone(),
            }),
            _ => None,
        }
    }
}

fn every_repository() -> Vec<String> {
    vec!["*".to_string()]
}

impl Default for SweepRequest {
    fn default() -> Self {
        SweepRequest {
            repositories: every_repository(),
            pushed_within_days: None,
            start_scans: false,
            accounts: None,
            regions: None,
            resume_at: None,
        }
    }
}

impl SweepRequest {
    /// Reads the value of the `sweep` key; the error names the bad field.
    pub fn parse(value: &Value) -> Result<SweepRequest, EventError> {
        let invalid = |field: String, problem: String| EventError { field, problem };
        let request: SweepRequest = match value {
            Value::Null => SweepRequest::default(),
            v if !v.is_object() => {
                return Err(invalid(
                    "sweep".to_string(),
                    "must be an object, e.g. {\"repositories\": [\"team-*\"]}".to_string(),
                ))
            }
            _ => serde_path_to_error::deserialize(value).map_err(|e| {
                let path = e.path().to_string();
                let field = if path.is_empty() || path == "." {
                    "sweep".to_string()
                } else {
                    format!("sweep.{path}")
                };
                invalid(field, e.into_inner().to_string())
            })?,
        };
        if request.repositories.is_empty() || request.repositories.iter().any(|g| g.is_empty()) {
            return Err(invalid(
                "sweep.repositories".to_string(),
                "must be a non-empty list of non-empty repository-name globs".to_string(),
            ));
        }
        if let Some(days) = request.pushed_within_days {
            if days == 0 || days > MAX_DAYS {
                return Err(invalid(
                    "sweep.pushed_within_days".to_string(),
                    format!("must be between 1 and {MAX_DAYS}, got {days}"),
                ));
            }
        }
        if let Some(accounts) = &request.accounts {
            if accounts.is_empty() {
                return Err(invalid(
                    "sweep.accounts".to_string(),
                    "must be a non-empty list of 12-digit account ids".to_string(),
                ));
            }
            if let Some((i, a)) = accounts
                .iter()
                .enumerate()
                .find(|(_, a)| !crate::domain::image::is_account_id(a))
            {
                return Err(invalid(
                    format!("sweep.accounts[{i}]"),
                    format!(
                        "must be a 12-digit AWS account id, got {:?}",
                        crate::domain::image::truncate(a, 40)
                    ),
                ));
            }
        }
        if let Some(regions) = &request.regions {
            if regions.is_empty() {
                return Err(invalid(
                    "sweep.regions".to_string(),
                    "must be a non-empty list of regions, e.g. [\"us-east-1\"]".to_string(),
                ));
            }
            for (i, r) in regions.iter().enumerate() {
                crate::domain::image::validate_region(r)
                    .map_err(|p| invalid(format!("sweep.regions[{i}]"), p))?;
            }
        }
        if let Some(cursor) = &request.resume_at {
            crate::domain::image::validate_repository_name(&cursor.repository)
                .map_err(|p| invalid("sweep.resume_at.repository".to_string(), p))?;
            if cursor
                .account
                .as_deref()
                .is_some_and(|a| !crate::domain::image::is_account_id(a))
            {
                return Err(invalid(
                    "sweep.resume_at.account".to_string(),
                    "must be a 12-digit AWS account id".to_string(),
                ));
            }
            if let Some(region) = &cursor.region {
                crate::domain::image::validate_region(region)
                    .map_err(|p| invalid("sweep.resume_at.region".to_string(), p))?;
            }
        }
        Ok(request)
    }

    /// Whether the request names accounts or regions (hub and member accounts).
    pub fn names_places(&self) -> bool {
        self.accounts.is_some() || self.regions.is_some()
    }
}

/// The account and region a sweep lists and acts in, when the request names them: written
/// into each queue body and each image's request, so the image is evaluated in that registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub account: String,
    pub region: String,
}

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

/// An image the sweep changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageId {
    pub repository: String,
    pub digest: String,
    /// The image's account and region, when the sweep named them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// The sweep's response (`"outcome": "swept"`). With a queue: `enqueued`; inline: `evaluated`,
/// `verdicts`, `quarantined`, `released`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct SweepReport {
    /// Images in scope that were listed.
    pub images: usize,
    pub passed_by_summary: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enqueued: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluated: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdicts: Option<BTreeMap<Verdict, usize>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantined: Option<Vec<ImageId>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released: Option<Vec<ImageId>>,
    /// Images with no scan result yet.
    pub unscanned: usize,
    /// `start_scans`: scans started, and scans ECR refused for today (its daily limit).
    pub scans_started: usize,
    pub scans_limited: usize,
    pub errors: Vec<String>,
    /// Every matching repository was listed and every image looked at.
    pub complete: bool,
    pub repositories: usize,
    pub repositories_done: usize,
    /// Where an incomplete sweep stopped: the repository it was in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_in: Option<String>,
    /// Where it stopped, to go on from (a queued sweep enqueues its continuation from there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_at: Option<Box<Cursor>>,
    /// A queued sweep that stopped at its deadline sent its continuation to the sweep queue.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub continued: bool,
}

impl SweepReport {
    /// A sweep that could not start in a place: the reason, and not complete.
    pub fn not_swept(reason: String, queued: bool) -> SweepReport {
        SweepReport {
            errors: vec![reason],
            complete: false,
            ..SweepReport::started(queued)
        }
    }

    /// An empty report of a sweep with a queue (`enqueued`) or inline.
    pub fn started(queued: bool) -> SweepReport {
        SweepReport {
            complete: true,
            enqueued: queued.then_some(0),
            evaluated: (!queued).then_some(0),
            verdicts: (!queued).then(BTreeMap::new),
            quarantined: (!queued).then(Vec::new),
            released: (!queued).then(Vec::new),
            ..SweepReport::default()
        }
    }

    /// Adds the report of the sweep of another place (account, region).
    pub fn absorb(&mut self, other: SweepReport) {
        fn add(a: &mut Option<usize>, b: Option<usize>) {
            if let Some(b) = b {
                *a.get_or_insert(0) += b;
            }
        }
        self.images += other.images;
        self.passed_by_summary += other.passed_by_summary;
        add(&mut self.enqueued, other.enqueued);
        add(&mut self.evaluated, other.evaluated);
        if let Some(v) = other.verdicts {
            let mine = self.verdicts.get_or_insert_with(BTreeMap::new);
            for (verdict, n) in v {
                *mine.entry(verdict).or_default() += n;
            }
        }
        if let Some(q) = other.quarantined {
            self.quarantined.get_or_insert_with(Vec::new).extend(q);
        }
        if let Some(r) = other.released {
            self.released.get_or_insert_with(Vec::new).extend(r);
        }
        self.unscanned += other.unscanned;
        self.scans_started += other.scans_started;
        self.scans_limited += other.scans_limited;
        self.errors.extend(other.errors);
        self.complete &= other.complete;
        self.repositories += other.repositories;
        self.repositories_done += other.repositories_done;
        if self.stopped_in.is_none() {
            self.stopped_in = other.stopped_in;
        }
        if self.resume_at.is_none() {
            self.resume_at = other.resume_at;
        }
        self.continued |= other.continued;
    }
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
                        if wants_enhanced_counts(image, prefix)
                            && counts.is_none()
                            && request.start_scans
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
