//! Every input the function can receive, read leniently into one shape.
//!
//! AWS's own event structs are too strict (required tag lists) and too lossy (the Inspector
//! repository ARN, `TOTAL`), so events are read from `serde_json::Value` and dispatched on
//! `source` / `detail-type`. Anything we do not handle is `Ignored`, never an error: a failure
//! would make Lambda retry a poison event. Only input that claims to be ours but is malformed
//! is an error, and the error names the field.
//!
//! The `aws_lambda_events` crate reads the SQS event and writes the batch response
//! (`crate::entry::queue`), where its types match what Lambda sends and expects. The EventBridge
//! envelope stays here: its `EcrScanEvent` makes `finding-severity-counts` and `image-tags`
//! required (a scan with no findings, or an untagged image, would be a poison event), turns the
//! Inspector repository ARN into a name, drops `TOTAL`, and has no type for `Inspector2 Finding`.
//!
//! `Gate::handle` (an input in, a response out, in the gate's own registry) is defined here,
//! beside the reading it starts with: the engine itself takes an already read `ScanEvent`.

use crate::domain::image::{
    is_account_id, truncate, validate_region, validate_repository_name, validate_tag, Digest,
    ImageRef,
};
use crate::domain::scan::{EventError, EventScanStatus, ScanEvent, Trigger};
use crate::domain::severity::{Counts, Severity};
use crate::engine::gate::{Gate, GateError};
use crate::engine::ports::{Deadline, Registry};
use crate::judgement::evaluation::Response;
use serde_json::{Map, Value};

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
        // An Inspector delegated administrator receives its members' findings: the image's
        // account is in the finding, not in the envelope.
        let image = image_location(obj);
        return parsed.map(|e| match e {
            Event::Scan(scan) => {
                let (account, region) = match image {
                    Some((image_account, image_region)) => {
                        if account.as_deref() != Some(image_account.as_str()) {
                            tracing::warn!(
                                envelope_account = account.as_deref().unwrap_or(""),
                                image_account = %image_account,
                                "the event's account is not the image's: the image's decides where it is evaluated"
                            );
                        }
                        (Some(image_account), image_region.or(scan.region))
                    }
                    None => (account, scan.region),
                };
                Event::Scan(ScanEvent {
                    account,
                    region,
                    ..scan
                })
            }
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
        redelivery: false,
        storage: None,
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
        redelivery: false,
        storage: None,
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

/// The account (and region, where an ARN gives it) of the image an Inspector event is about:
/// `detail.awsAccountId`, the resource's `details.awsEcrContainerImage.registry`, or the
/// repository ARN (`arn:aws:ecr:REGION:ACCOUNT:repository/NAME`) of the finding's resource or
/// of the scan's `repository-name`. `None` when the event names none of them.
fn image_location(obj: &Map<String, Value>) -> Option<(String, Option<String>)> {
    let detail = obj.get("detail")?;
    let from_arn = |arn: &str| {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", _, "ecr", region, account, rest]
                if is_account_id(account) && rest.starts_with("repository/") =>
            {
                Some((
                    account.to_string(),
                    validate_region(region).ok().map(|_| region.to_string()),
                ))
            }
            _ => None,
        }
    };
    let resource = detail
        .get("resources")
        .and_then(Value::as_array)
        .and_then(|r| {
            r.iter()
                .find(|r| r.get("type").and_then(Value::as_str) == Some("AWS_ECR_CONTAINER_IMAGE"))
        });
    let arn_location = resource
        .and_then(|r| r.get("id"))
        .and_then(Value::as_str)
        .and_then(from_arn)
        .or_else(|| {
            detail
                .get("repository-name")
                .and_then(Value::as_str)
                .and_then(from_arn)
        });
    let named = detail
        .get("awsAccountId")
        .and_then(Value::as_str)
        .or_else(|| {
            resource
                .and_then(|r| r.pointer("/details/awsEcrContainerImage/registry"))
                .and_then(Value::as_str)
        })
        .filter(|a| is_account_id(a));
    match (named, arn_location) {
        (Some(account), Some((arn_account, region))) if arn_account == account => {
            Some((arn_account, region))
        }
        (Some(account), _) => Some((account.to_string(), None)),
        (None, location) => location,
    }
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

impl<R: Registry> Gate<R> {
    /// Handles one input. `today` (`YYYY-MM-DD`, UTC) decides allowlist expiry.
    pub async fn handle(&self, input: &Value, today: &str) -> Result<Response, GateError> {
        self.handle_until(input, today, Deadline::none()).await
    }

    /// As [`Gate::handle`], within the Lambda invocation's deadline.
    pub async fn handle_until(
        &self,
        input: &Value,
        today: &str,
        deadline: Deadline,
    ) -> Result<Response, GateError> {
        let event = match parse(input)? {
            Event::Ignored(reason) => return Ok(Response::Ignored { reason }),
            Event::Scan(e) => e,
        };
        let evaluation = self.evaluate(&event, today, deadline).await?;
        Ok(Response::Evaluated(Box::new(evaluation)))
    }
}
