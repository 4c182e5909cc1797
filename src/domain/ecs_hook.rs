//! The ECS deployment lifecycle hook in plain values (SPEC 11.4), with no I/O: the payload ECS
//! invokes the function with, the answer it expects back, where a container image lives, how
//! long the hook has waited for a scan, and how the images' outcomes make one answer.
//!
//! ECS invokes `{"executionId", "lifecycleStage", "resourceArn", "executionDetails":
//! {"serviceArn", "targetServiceRevisionArn", ...}, "hookDetails"?}` and reads back exactly
//! `{"hookStatus": "SUCCEEDED"|"FAILED"|"IN_PROGRESS", "callBackDelay"?, "hookDetails"?}`; it
//! passes the `hookDetails` of an `IN_PROGRESS` answer back on its next call (ECS developer
//! guide, "Lambda hooks for Amazon ECS service deployments").
//!
//! The wait is kept in `hookDetails` as `{"waiting_since": "2026-11-27T02:36:48Z"}` (RFC 3339,
//! UTC, whole seconds): the first `IN_PROGRESS` answer sets it, later ones keep it.

use super::date::{day_number, rfc3339, validate_date};
use super::image::{
    is_account_id, truncate, validate_region, validate_repository_name, validate_tag, Digest,
};
use super::scan::EventError;
use serde::Serialize;
use serde_json::{Map, Value};

/// The key of `hookDetails` that holds when the hook started waiting.
pub const WAITING_SINCE: &str = "waiting_since";
/// A `waiting_since` this far ahead of the clock is taken as clock skew; further, as not ours.
pub const CLOCK_SKEW_S: i64 = 300;

/// Whether the input is ECS's lifecycle hook payload (`executionId`, `lifecycleStage` and
/// `executionDetails` together; no other input of the function has them).
pub fn is_hook_payload(input: &Value) -> bool {
    input.as_object().is_some_and(|o| {
        ["executionId", "lifecycleStage", "executionDetails"]
            .iter()
            .all(|k| o.contains_key(*k))
    })
}

/// A service (its name and cluster), as the ARNs of ECS name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsArn {
    pub partition: String,
    pub region: String,
    pub account: String,
    /// `None` for the old service ARN format (`service/NAME`).
    pub cluster: Option<String>,
    pub service: String,
}

impl EcsArn {
    /// `web (cluster prod)`.
    pub fn service_text(&self) -> String {
        match &self.cluster {
            Some(c) => format!("{} (cluster {c})", self.service),
            None => self.service.clone(),
        }
    }
}

/// Reads `arn:PARTITION:ecs:REGION:ACCOUNT:KIND/...`: `service/CLUSTER/NAME` (or the old
/// `service/NAME`), `service-revision/CLUSTER/NAME/ID`, `service-deployment/CLUSTER/NAME/ID`.
pub fn parse_ecs_arn(arn: &str, kind: &str) -> Result<EcsArn, String> {
    let bad = |why: &str| format!("{:?} is not an ECS {kind} ARN ({why})", truncate(arn, 200));
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ["arn", partition, "ecs", region, account, resource] = parts.as_slice() else {
        return Err(bad("arn:<partition>:ecs:<region>:<account>:..."));
    };
    if validate_region(region).is_err() || !is_account_id(account) || partition.is_empty() {
        return Err(bad("its region or account is not valid"));
    }
    let Some(path) = resource
        .strip_prefix(kind)
        .and_then(|r| r.strip_prefix('/'))
    else {
        return Err(bad(&format!("the resource must start with {kind}/")));
    };
    let names: Vec<&str> = path.split('/').collect();
    let (cluster, service) = match (kind, names.as_slice()) {
        ("service", [service]) => (None, *service),
        ("service", [cluster, service]) => (Some(*cluster), *service),
        (_, [cluster, service, id]) if kind != "service" && name_ok(id) => {
            (Some(*cluster), *service)
        }
        _ => return Err(bad("unexpected number of names")),
    };
    if !name_ok(service) || !cluster.is_none_or(name_ok) {
        return Err(bad("a cluster or service name is not valid"));
    }
    Ok(EcsArn {
        partition: partition.to_string(),
        region: region.to_string(),
        account: account.to_string(),
        cluster: cluster.map(str::to_string),
        service: service.to_string(),
    })
}

/// ECS's rule for cluster and service names: 1-255 letters, digits, hyphens and underscores.
fn name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// One invocation of the hook, read.
#[derive(Debug, Clone, PartialEq)]
pub struct HookRequest {
    pub execution_id: String,
    pub lifecycle_stage: String,
    pub service_arn: Option<String>,
    pub revision_arn: String,
    /// The target revision's service, cluster, account and region.
    pub revision: EcsArn,
    /// As ECS passed them (empty when absent or not an object).
    pub hook_details: Map<String, Value>,
}

impl HookRequest {
    pub fn parse(input: &Value) -> Result<HookRequest, EventError> {
        let obj = input
            .as_object()
            .ok_or_else(|| EventError::new("executionId", "the hook payload is not an object"))?;
        let text = |o: &Map<String, Value>, key: &str, path: &str| match o.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(truncate(s, 2048).to_string())),
            Some(_) => Err(EventError::new(path, "must be a string")),
        };
        let details = obj
            .get("executionDetails")
            .and_then(Value::as_object)
            .ok_or_else(|| EventError::new("executionDetails", "must be an object"))?;
        let revision_arn = text(
            details,
            "targetServiceRevisionArn",
            "executionDetails.targetServiceRevisionArn",
        )?
        .ok_or_else(|| {
            EventError::new("executionDetails.targetServiceRevisionArn", "is missing")
        })?;
        let revision = parse_ecs_arn(&revision_arn, "service-revision")
            .map_err(|p| EventError::new("executionDetails.targetServiceRevisionArn", p))?;
        Ok(HookRequest {
            execution_id: text(obj, "executionId", "executionId")?.unwrap_or_default(),
            lifecycle_stage: text(obj, "lifecycleStage", "lifecycleStage")?.unwrap_or_default(),
            service_arn: text(details, "serviceArn", "executionDetails.serviceArn")?,
            revision_arn,
            revision,
            hook_details: obj
                .get("hookDetails")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
        })
    }
}

/// One container image of a service revision, as ECS resolved it (`DescribeServiceRevisions`
/// `containerImages`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerImage {
    pub container_name: String,
    /// As the task definition names it: `123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v1`.
    pub image: String,
    /// The digest ECS resolved the image to; absent when it resolves none
    /// (`versionConsistency` disabled).
    pub image_digest: Option<String>,
}

/// An image in a private ECR registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrImage {
    pub account: String,
    pub region: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

/// Where a container image lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageLocation {
    Ecr(EcrImage),
    /// Any other registry (Docker Hub, ECR Public `public.ecr.aws`, ghcr.io, ...).
    NotEcr {
        registry: String,
    },
}

/// Reads an image reference `HOST/REPO[:TAG][@sha256:...]`. A private ECR registry is
/// `ACCOUNT.dkr.ecr[-fips].REGION.amazonaws.com[.cn]` or, dual-stack,
/// `ACCOUNT.dkr-ecr[-fips].REGION.on.aws`. A host that looks like one of them but does not
/// read as one, or an ECR image with an invalid name, is an error: it is not judged as a
/// registry outside ECR.
pub fn locate_image(reference: &str) -> Result<ImageLocation, String> {
    let show = || format!("{:?}", truncate(reference, 300));
    let (name, digest) = match reference.split_once('@') {
        Some((name, d)) => (name, Some(d)),
        None => (reference, None),
    };
    let Some((host, path)) = name.split_once('/') else {
        return Ok(ImageLocation::NotEcr {
            registry: "docker.io".to_string(),
        });
    };
    let host = host.to_ascii_lowercase();
    if !(host.contains('.') || host.contains(':') || host == "localhost") {
        return Ok(ImageLocation::NotEcr {
            registry: "docker.io".to_string(),
        });
    }
    let Some(registry) = ecr_registry(&host) else {
        return Ok(ImageLocation::NotEcr { registry: host });
    };
    let (account, region) = registry.map_err(|why| format!("image {}: the host {why}", show()))?;
    let (repository, tag) = match path.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag)),
        _ => (path, None),
    };
    let invalid = |what: &str, why: String| format!("image {}: the {what} {why}", show());
    validate_repository_name(repository).map_err(|w| invalid("repository", w))?;
    if let Some(t) = tag {
        validate_tag(t).map_err(|w| invalid("tag", w))?;
    }
    let digest = digest
        .map(Digest::parse)
        .transpose()
        .map_err(|w| invalid("digest", w))?;
    Ok(ImageLocation::Ecr(EcrImage {
        account,
        region,
        repository: repository.to_string(),
        tag: tag.map(str::to_string),
        digest,
    }))
}

/// `Some(Ok((account, region)))` for a private ECR registry host, `Some(Err(why))` for a host
/// that looks like one but is not valid, `None` for any other registry.
fn ecr_registry(host: &str) -> Option<Result<(String, String), String>> {
    let labels: Vec<&str> = host.split('.').collect();
    let (account, region) = match labels.as_slice() {
        [a, "dkr", "ecr" | "ecr-fips", r, "amazonaws", "com"]
        | [a, "dkr", "ecr" | "ecr-fips", r, "amazonaws", "com", "cn"]
        | [a, "dkr-ecr" | "dkr-ecr-fips", r, "on", "aws"] => (*a, *r),
        _ if labels
            .iter()
            .any(|l| *l == "dkr" || l.starts_with("dkr-ecr")) =>
        {
            return Some(Err(format!(
                "{host:?} looks like a private ECR registry but is not one \
                 (ACCOUNT.dkr.ecr.REGION.amazonaws.com or ACCOUNT.dkr-ecr.REGION.on.aws)"
            )))
        }
        _ => return None,
    };
    if !is_account_id(account) {
        return Some(Err(format!("{host:?} names no 12-digit account")));
    }
    Some(
        validate_region(region)
            .map(|()| (account.to_string(), region.to_string()))
            .map_err(|w| format!("{host:?}: the region {w}")),
    )
}

/// How long the hook has waited for what it waits for (a scan, a transient read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waited {
    /// Seconds since the epoch when the wait began (this call, when it is the first).
    pub since: i64,
    /// `max_wait_s` has passed: the hook answers now, whatever it still lacks.
    pub over: bool,
    /// Why an incoming `waiting_since` was not taken (then the wait counts as over).
    pub note: Option<String>,
}

/// The wait as `hookDetails` carry it. A `waiting_since` that is not ours (malformed, or further
/// in the future than [`CLOCK_SKEW_S`]) ends the wait rather than restarting it, so the hook
/// cannot be kept answering `IN_PROGRESS` for ever.
pub fn waited(details: &Map<String, Value>, now_s: i64, max_wait_s: u64) -> Waited {
    let max = i64::try_from(max_wait_s).unwrap_or(i64::MAX);
    let since = match details.get(WAITING_SINCE) {
        None => {
            return Waited {
                since: now_s,
                over: max == 0,
                note: None,
            }
        }
        Some(v) => v.as_str().and_then(parse_rfc3339),
    };
    match since {
        Some(s) if s <= now_s.saturating_add(CLOCK_SKEW_S) => Waited {
            since: s,
            over: now_s.saturating_sub(s) >= max,
            note: None,
        },
        _ => Waited {
            since: now_s,
            over: true,
            note: Some(format!(
                "hookDetails.{WAITING_SINCE} {} is not an RFC 3339 time up to now (YYYY-MM-DDTHH:MM:SSZ): the wait counts as over",
                truncate(&details[WAITING_SINCE].to_string(), 80)
            )),
        },
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` (as [`rfc3339`] writes it) in seconds since the epoch.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z' {
        return None;
    }
    let date = s.get(..10)?;
    validate_date(date).ok()?;
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (h, m, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || m > 59 || sec > 59 || !s[11..19].bytes().all(|c| c == b':' || c.is_ascii_digit()) {
        return None;
    }
    Some(day_number(date)? * 86_400 + h * 3600 + m * 60 + sec)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HookStatus {
    Succeeded,
    Failed,
    InProgress,
}

impl HookStatus {
    /// As ECS spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            HookStatus::Succeeded => "SUCCEEDED",
            HookStatus::Failed => "FAILED",
            HookStatus::InProgress => "IN_PROGRESS",
        }
    }
}

/// The answer ECS reads: exactly these keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookAnswer {
    pub hook_status: HookStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_back_delay: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hook_details: Option<Map<String, Value>>,
}

impl HookAnswer {
    pub fn done(status: HookStatus) -> HookAnswer {
        HookAnswer {
            hook_status: status,
            call_back_delay: None,
            hook_details: None,
        }
    }

    /// `IN_PROGRESS`, asked again in `delay_s`: the incoming `hookDetails` with `waiting_since`.
    pub fn in_progress(incoming: &Map<String, Value>, since: i64, delay_s: u64) -> HookAnswer {
        let mut details = incoming.clone();
        let since = rfc3339(since).unwrap_or_else(|| since.to_string());
        details.insert(WAITING_SINCE.to_string(), Value::String(since));
        HookAnswer {
            hook_status: HookStatus::InProgress,
            call_back_delay: Some(delay_s),
            hook_details: Some(details),
        }
    }
}

/// What the hook found for one container image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageOutcome {
    Deployable,
    Blocked,
    /// No scan result yet: worth waiting for.
    Waiting,
    /// The scan could not run (`FAILED`, `UNSUPPORTED_IMAGE`, the image is gone): the policy's
    /// `on_scan_failure` decides.
    ScanFailed,
    /// The gate could not read what it needs (throttling, access, the deadline): retried
    /// within the wait, then FAILED (fail closed).
    ReadError,
}

/// Why the hook answers as it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    AllDeployable,
    Blocked,
    /// Within the wait, a scan or a read is still missing.
    Waiting,
    /// The wait is over and a read still failed: fail closed.
    ReadErrorAfterWait,
    /// `on_scan_failure: block` over a missing or failed scan.
    ScanFailureBlocks,
    /// `on_scan_failure: alert`: deployed with a warning in the log.
    ScanFailureAllowed,
}

impl Cause {
    /// Whether an image with `outcome` is one the answer is about (named in the alert).
    pub fn names(self, outcome: ImageOutcome) -> bool {
        use ImageOutcome as O;
        match self {
            Cause::AllDeployable => false,
            Cause::Blocked => outcome == O::Blocked,
            Cause::Waiting => matches!(outcome, O::Waiting | O::ReadError),
            Cause::ReadErrorAfterWait => outcome == O::ReadError,
            Cause::ScanFailureBlocks | Cause::ScanFailureAllowed => {
                matches!(outcome, O::Waiting | O::ScanFailed)
            }
        }
    }
}

/// The answer for the images' outcomes: any blocked → FAILED; a missing scan or a failed read
/// → IN_PROGRESS within the wait; after it, a failed read → FAILED, a missing or failed scan →
/// `on_scan_failure` (`block_on_scan_failure`: FAILED; else SUCCEEDED).
pub fn combine(
    outcomes: &[ImageOutcome],
    wait_over: bool,
    block_on_scan_failure: bool,
) -> (HookStatus, Cause) {
    let any = |o: ImageOutcome| outcomes.contains(&o);
    use ImageOutcome as O;
    if any(O::Blocked) {
        (HookStatus::Failed, Cause::Blocked)
    } else if (any(O::Waiting) || any(O::ReadError)) && !wait_over {
        (HookStatus::InProgress, Cause::Waiting)
    } else if any(O::ReadError) {
        (HookStatus::Failed, Cause::ReadErrorAfterWait)
    } else if any(O::Waiting) || any(O::ScanFailed) {
        if block_on_scan_failure {
            (HookStatus::Failed, Cause::ScanFailureBlocks)
        } else {
            (HookStatus::Succeeded, Cause::ScanFailureAllowed)
        }
    } else {
        (HookStatus::Succeeded, Cause::AllDeployable)
    }
}

#[cfg(test)]
mod tests;
