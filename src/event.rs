//! Every input the function can receive, read leniently into one shape.
//!
//! AWS's own event structs are too strict (required tag lists) and too lossy (the Inspector
//! repository ARN, `TOTAL`), so events are read from `serde_json::Value` and dispatched on
//! `source` / `detail-type`. Anything we do not handle is `Ignored`, never an error: a failure
//! would make Lambda retry a poison event. Only input that claims to be ours but is malformed
//! is an error, and the error names the field.
//!
//! The `aws_lambda_events` crate reads the SQS event and writes the batch response
//! (`crate::queue`), where its types match what Lambda sends and expects. The EventBridge
//! envelope stays here: its `EcrScanEvent` makes `finding-severity-counts` and `image-tags`
//! required (a scan with no findings, or an untagged image, would be a poison event), turns the
//! Inspector repository ARN into a name, drops `TOTAL`, and has no type for `Inspector2 Finding`.

use crate::severity::{Counts, Severity};
use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid event: `{field}` {problem}")]
pub struct EventError {
    pub field: String,
    pub problem: String,
}

impl EventError {
    fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        EventError {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// An image digest: `sha256:` and 64 lower-case hex digits, as ECR writes them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Digest(String);

impl Digest {
    pub fn parse(s: &str) -> Result<Digest, String> {
        let hex = s
            .strip_prefix("sha256:")
            .ok_or_else(|| format!("must start with `sha256:`, got {:?}", truncate(s, 80)))?;
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(format!(
                "must be `sha256:` followed by 64 lower-case hex digits, got {:?}",
                truncate(s, 80)
            ));
        }
        Ok(Digest(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex digits.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    /// `sha256:` and the first 12 hex digits, as `docker images` shows them.
    pub fn short(&self) -> &str {
        &self.0[..("sha256:".len() + 12)]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which image: by digest (every AWS event) or by tag (an operator's direct invoke).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRef {
    Digest(Digest),
    Tag(String),
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageRef::Digest(d) => write!(f, "{d}"),
            ImageRef::Tag(t) => write!(f, "tag {t}"),
        }
    }
}

/// What produced the event; carried into the response and the alerts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// `aws.ecr` / `ECR Image Scan` (basic scanning).
    BasicScan,
    /// `aws.inspector2` / `Inspector2 Scan`, first scan of an image.
    EnhancedScan,
    /// `aws.inspector2` / `Inspector2 Finding`: a new finding on an image scanned before.
    EnhancedFinding {
        vulnerability_id: String,
        severity: Option<Severity>,
    },
    /// `{"repository": ..., "tag"|"digest": ...}` sent by an operator.
    DirectInvoke,
    /// The registry sweep (`{"sweep": {}}`, or its queue message with `"sweep": true`): the
    /// same decision as a direct invoke, alerting only on a change (`crate::alert_gate`).
    Sweep,
}

/// The scan status the event reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventScanStatus {
    Complete,
    /// The scan did not run (`FAILED`, `UNSUPPORTED_IMAGE`, ...): the status as AWS wrote it.
    NotComplete(String),
    /// The event says nothing about the scan (direct invoke, finding event): ask the registry.
    Unknown,
}

/// An image the gate must evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanEvent {
    pub repository: String,
    pub image: ImageRef,
    /// Tags as the event listed them (may be empty: key everything by digest).
    pub tags: Vec<String>,
    /// Severity counts the event carried, if any (missing keys are 0, `TOTAL` dropped).
    pub counts: Option<Counts>,
    /// Findings the event's `TOTAL` counts under no severity it lists (Inspector lists only
    /// CRITICAL, HIGH and MEDIUM): their severity is unknown until the findings are read.
    pub counts_unlisted: u64,
    pub status: EventScanStatus,
    pub trigger: Trigger,
    pub region: Option<String>,
    /// The AWS account of the event (EventBridge `account`), for the console link.
    pub account: Option<String>,
}

impl ScanEvent {
    /// An operator's request to evaluate one image (direct invoke, `ecr-scan-gate-check`): no
    /// counts and no scan status, so the registry is asked.
    pub fn direct(repository: String, image: ImageRef) -> ScanEvent {
        ScanEvent {
            repository,
            tags: match &image {
                ImageRef::Tag(t) => vec![t.clone()],
                ImageRef::Digest(_) => Vec::new(),
            },
            image,
            counts: None,
            counts_unlisted: 0,
            status: EventScanStatus::Unknown,
            trigger: Trigger::DirectInvoke,
            region: None,
            account: None,
        }
    }
}

impl ScanEvent {
    /// The same event with the account and region of its image set (hub and member accounts:
    /// where the gate found the image), for the response, the log line and the alerts.
    pub fn located(&self, account: String, region: String) -> ScanEvent {
        ScanEvent {
            account: Some(account),
            region: Some(region),
            ..self.clone()
        }
    }
}

// One event per invocation: the size of the enum does not matter, boxing would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Scan(ScanEvent),
    /// Not ours: the reason, for the log and the response.
    Ignored(String),
}

/// Reads any input the function may be invoked with.
pub fn parse(value: &Value) -> Result<Event, EventError> {
    let Some(obj) = value.as_object() else {
        return Ok(Event::Ignored(format!(
            "input is {} and not an EventBridge event or a direct invoke",
            type_name(value)
        )));
    };
    if obj.contains_key("detail-type") || obj.contains_key("source") {
        let source = opt_str(obj, "source", "source")?.unwrap_or_default();
        let detail_type = opt_str(obj, "detail-type", "detail-type")?.unwrap_or_default();
        let region = opt_str(obj, "region", "region")?.map(str::to_string);
        // Lenient: only the console link uses it.
        let account = obj
            .get("account")
            .and_then(Value::as_str)
            .map(|a| truncate(a, 20).to_string());
        let parsed = match (source, detail_type) {
            ("aws.ecr", "ECR Image Scan") => parse_ecr_scan(obj, region),
            ("aws.inspector2", "Inspector2 Scan") => parse_inspector_scan(obj, region),
            ("aws.inspector2", "Inspector2 Finding") => parse_inspector_finding(obj, region),
            (s, d) => Ok(Event::Ignored(format!(
                "event {:?} / {:?} is not a scan event this gate handles",
                truncate(s, 100),
                truncate(d, 100)
            ))),
        };
        return parsed.map(|e| match e {
            Event::Scan(scan) => Event::Scan(ScanEvent { account, ..scan }),
            other => other,
        });
    }
    if obj.contains_key("repository") {
        return parse_direct_invoke(obj);
    }
    Ok(Event::Ignored(
        "input is neither an EventBridge event nor a direct invoke {\"repository\", \"tag\"|\"digest\"}"
            .to_string(),
    ))
}

fn parse_ecr_scan(obj: &Map<String, Value>, region: Option<String>) -> Result<Event, EventError> {
    let detail = req_obj(obj, "detail", "detail")?;
    let status = req_str(detail, "scan-status", "detail.scan-status")?;
    let status = if status == "COMPLETE" {
        EventScanStatus::Complete
    } else {
        EventScanStatus::NotComplete(truncate(status, 100).to_string())
    };
    let repository = req_str(detail, "repository-name", "detail.repository-name")?;
    scan_detail(detail, repository, status, Trigger::BasicScan, region)
}

/// The fields `ECR Image Scan` and `Inspector2 Scan` share in `detail`.
fn scan_detail(
    detail: &Map<String, Value>,
    repository: &str,
    status: EventScanStatus,
    trigger: Trigger,
    region: Option<String>,
) -> Result<Event, EventError> {
    let (counts, counts_unlisted) = match severity_counts(
        detail,
        "finding-severity-counts",
        "detail.finding-severity-counts",
    )? {
        Some((counts, unlisted)) => (Some(counts), unlisted),
        None => (None, 0),
    };
    Ok(Event::Scan(ScanEvent {
        repository: repository_name(repository, "detail.repository-name")?,
        image: ImageRef::Digest(digest_field(detail, "image-digest", "detail.image-digest")?),
        tags: tag_list(detail, "image-tags", "detail.image-tags")?,
        counts,
        counts_unlisted,
        status,
        trigger,
        region,
        account: None,
    }))
}

fn parse_inspector_scan(
    obj: &Map<String, Value>,
    region: Option<String>,
) -> Result<Event, EventError> {
    let detail = req_obj(obj, "detail", "detail")?;
    // Inspector sends the same detail-type for EC2 instances and Lambda functions.
    let Some(repo_field) = opt_str(detail, "repository-name", "detail.repository-name")? else {
        return Ok(Event::Ignored(
            "Inspector2 Scan for a resource that is not an ECR image".to_string(),
        ));
    };
    let status = req_str(detail, "scan-status", "detail.scan-status")?;
    if status != "INITIAL_SCAN_COMPLETE" {
        return Ok(Event::Ignored(format!(
            "Inspector2 Scan with status {:?} (only INITIAL_SCAN_COMPLETE is evaluated)",
            truncate(status, 100)
        )));
    }
    scan_detail(
        detail,
        repo_field,
        EventScanStatus::Complete,
        Trigger::EnhancedScan,
        region,
    )
}

fn parse_inspector_finding(
    obj: &Map<String, Value>,
    region: Option<String>,
) -> Result<Event, EventError> {
    let detail = req_obj(obj, "detail", "detail")?;
    let resources = match detail.get("resources") {
        Some(Value::Array(items)) => items.as_slice(),
        Some(other) => {
            return Err(EventError::new(
                "detail.resources",
                format!("must be an array, got {}", type_name(other)),
            ))
        }
        None => &[],
    };
    let image = resources.iter().enumerate().find_map(|(i, r)| {
        let r = r.as_object()?;
        (r.get("type").and_then(Value::as_str) == Some("AWS_ECR_CONTAINER_IMAGE")).then_some((i, r))
    });
    let Some((index, resource)) = image else {
        return Ok(Event::Ignored(
            "Inspector2 Finding for a resource that is not an ECR image".to_string(),
        ));
    };
    let status = req_str(detail, "status", "detail.status")?;
    if status != "ACTIVE" {
        return Ok(Event::Ignored(format!(
            "Inspector2 Finding with status {:?} (only ACTIVE findings re-evaluate an image)",
            truncate(status, 100)
        )));
    }
    let base = format!("detail.resources[{index}].details.awsEcrContainerImage");
    let details = req_obj(
        resource,
        "details",
        &format!("detail.resources[{index}].details"),
    )?;
    let image = req_obj(details, "awsEcrContainerImage", &base)?;
    let repository = repository_name(
        req_str(image, "repositoryName", &format!("{base}.repositoryName"))?,
        &format!("{base}.repositoryName"),
    )?;
    let digest = digest_field(image, "imageHash", &format!("{base}.imageHash"))?;
    let tags = tag_list(image, "imageTags", &format!("{base}.imageTags"))?;
    let vulnerability_id = detail
        .get("packageVulnerabilityDetails")
        .and_then(|p| p.get("vulnerabilityId"))
        .and_then(Value::as_str)
        .or_else(|| detail.get("title").and_then(Value::as_str))
        .unwrap_or("unknown finding");
    let severity = detail
        .get("severity")
        .and_then(Value::as_str)
        .and_then(Severity::parse);
    Ok(Event::Scan(ScanEvent {
        repository,
        image: ImageRef::Digest(digest),
        tags,
        counts: None,
        counts_unlisted: 0,
        status: EventScanStatus::Unknown,
        trigger: Trigger::EnhancedFinding {
            vulnerability_id: truncate(vulnerability_id, 200).to_string(),
            severity,
        },
        region,
        account: None,
    }))
}

fn parse_direct_invoke(obj: &Map<String, Value>) -> Result<Event, EventError> {
    let repository = repository_name(req_str(obj, "repository", "repository")?, "repository")?;
    let digest = match obj.get("digest") {
        None | Some(Value::Null) => None,
        Some(_) => Some(digest_field(obj, "digest", "digest")?),
    };
    let tag = opt_str(obj, "tag", "tag")?;
    if let Some(tag) = tag {
        validate_tag(tag).map_err(|p| EventError::new("tag", p))?;
    }
    let image = match (digest, tag) {
        (Some(d), _) => ImageRef::Digest(d),
        (None, Some(t)) => ImageRef::Tag(t.to_string()),
        (None, None) => {
            return Err(EventError::new(
                "digest",
                "is missing: a direct invoke needs `digest` (sha256:...) or `tag`",
            ))
        }
    };
    // Where the image is (hub and member accounts); unset means the function's own.
    let account = opt_str(obj, "account", "account")?;
    if let Some(a) = account {
        if !is_account_id(a) {
            return Err(EventError::new(
                "account",
                format!(
                    "must be a 12-digit AWS account id, got {:?}",
                    truncate(a, 40)
                ),
            ));
        }
    }
    let region = opt_str(obj, "region", "region")?;
    if let Some(r) = region {
        validate_region(r).map_err(|p| EventError::new("region", p))?;
    }
    let mut event = ScanEvent::direct(repository, image);
    // A tag given beside a digest is kept for the report, as the operator named the image.
    event.tags = tag.map(|t| vec![t.to_string()]).unwrap_or_default();
    event.account = account.map(str::to_string);
    event.region = region.map(str::to_string);
    // `"sweep": true`: the sweep's request for this image (its queue message), which alerts
    // only on a change.
    match obj.get("sweep") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => event.trigger = Trigger::Sweep,
        Some(_) => return Err(EventError::new("sweep", "must be true or false")),
    }
    Ok(Event::Scan(event))
}

/// Repository name from a plain name or a repository ARN
/// (`arn:aws:ecr:REGION:ACCOUNT:repository/NAME`; NAME may contain `/`).
fn repository_name(raw: &str, field: &str) -> Result<String, EventError> {
    let name = if raw.starts_with("arn:") {
        match raw.split_once(":repository/") {
            Some((_, name)) => name,
            None => {
                return Err(EventError::new(
                    field,
                    format!(
                        "is an ARN but not an ECR repository ARN: {:?}",
                        truncate(raw, 200)
                    ),
                ))
            }
        }
    } else {
        raw
    };
    validate_repository_name(name).map_err(|p| EventError::new(field, p))?;
    Ok(name.to_string())
}

/// ECR's rule: 2-256 characters, lower-case letters, digits and `._-/`, components separated by
/// single `/`, each starting and ending with a letter or digit.
pub fn validate_repository_name(name: &str) -> Result<(), String> {
    if name.len() < 2 || name.len() > 256 {
        return Err(format!(
            "must be 2 to 256 characters long, got {} ({:?})",
            name.len(),
            truncate(name, 80)
        ));
    }
    let ok_component = |c: &str| {
        !c.is_empty()
            && c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            && c.as_bytes()[0].is_ascii_alphanumeric()
            && c.as_bytes()[c.len() - 1].is_ascii_alphanumeric()
    };
    if !name.split('/').all(ok_component) {
        return Err(format!(
            "is not a valid ECR repository name (lower-case letters, digits, `._-`, components separated by `/`): {:?}",
            truncate(name, 80)
        ));
    }
    Ok(())
}

/// An image tag as ECR accepts it: 1 to 300 characters, no control characters or spaces.
pub fn validate_tag(tag: &str) -> Result<(), String> {
    if tag.is_empty() || tag.len() > 300 {
        return Err(format!(
            "must be 1 to 300 characters long, got {}",
            tag.len()
        ));
    }
    if tag.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!(
            "contains spaces or control characters: {:?}",
            truncate(tag, 80)
        ));
    }
    Ok(())
}

fn digest_field(obj: &Map<String, Value>, key: &str, field: &str) -> Result<Digest, EventError> {
    Digest::parse(req_str(obj, key, field)?).map_err(|p| EventError::new(field, p))
}

fn tag_list(obj: &Map<String, Value>, key: &str, field: &str) -> Result<Vec<String>, EventError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, t)| match t.as_str() {
                Some(s) => Ok(s.to_string()),
                None => Err(EventError::new(
                    format!("{field}[{i}]"),
                    format!("must be a string, got {}", type_name(t)),
                )),
            })
            .collect(),
        Some(other) => Err(EventError::new(
            field,
            format!("must be an array of strings, got {}", type_name(other)),
        )),
    }
}

/// `{"CRITICAL": 10, "MEDIUM": 9, "TOTAL": 25}` → counts, and how many findings `TOTAL`
/// counts beyond the listed severities (here 6, of unknown severity). Missing keys are 0;
/// severities we do not know count as unlisted (a new AWS severity must not break the gate).
fn severity_counts(
    obj: &Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<Option<(Counts, u64)>, EventError> {
    let map = match obj.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(EventError::new(
                field,
                format!("must be an object of counts, got {}", type_name(other)),
            ))
        }
    };
    let mut counts = Counts::default();
    let mut total = None;
    for (name, n) in map {
        let n = n.as_u64().ok_or_else(|| {
            EventError::new(
                format!("{field}.{name}"),
                format!("must be a non-negative integer, got {n}"),
            )
        })?;
        if let Some(sev) = Severity::parse(name) {
            counts.set(sev, n);
        } else if name == "TOTAL" {
            total = Some(n);
        }
    }
    let unlisted = total.map_or(0, |t| t.saturating_sub(counts.total()));
    Ok(Some((counts, unlisted)))
}

fn req_obj<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<&'a Map<String, Value>, EventError> {
    match obj.get(key) {
        Some(Value::Object(m)) => Ok(m),
        Some(other) => Err(EventError::new(
            field,
            format!("must be an object, got {}", type_name(other)),
        )),
        None => Err(EventError::new(field, "is missing")),
    }
}

fn req_str<'a>(obj: &'a Map<String, Value>, key: &str, field: &str) -> Result<&'a str, EventError> {
    match opt_str(obj, key, field)? {
        Some(s) if !s.is_empty() => Ok(s),
        Some(_) => Err(EventError::new(field, "is empty")),
        None => Err(EventError::new(field, "is missing")),
    }
}

fn opt_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<Option<&'a str>, EventError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(EventError::new(
            field,
            format!("must be a string, got {}", type_name(other)),
        )),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A 12-digit AWS account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// An AWS region name: lower-case letter groups joined by `-`, ending in a number
/// (`us-east-1`, `eu-central-2`, `us-gov-west-1`).
pub fn validate_region(s: &str) -> Result<(), String> {
    let parts: Vec<&str> = s.split('-').collect();
    let ok = s.len() <= 32
        && parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && (1..=2).contains(&parts[parts.len() - 1].len());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "must be an AWS region name like us-east-1, got {:?}",
            truncate(s, 40)
        ))
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary (for messages about hostile input).
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
