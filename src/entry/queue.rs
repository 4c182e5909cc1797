//! The sweep queue's consumer: an SQS event (`{"Records": [...]}`, `eventSource` `aws:sqs`)
//! whose bodies are direct-invoke requests (with `"sweep": true` from the sweep). Each body is
//! evaluated through the core; the records whose body is malformed or whose actions failed are
//! answered in `batchItemFailures`, so SQS retries only those and its dead-letter queue keeps
//! the poison ones. Every action is idempotent, so a redelivered message changes nothing twice.

use crate::domain::scan::{EventError, ScanEvent};
use crate::engine::gate::GateError;
use crate::engine::ports::Deadline;
use crate::entry::event;
use crate::judgement::evaluation::{Evaluation, Response};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use futures_util::StreamExt;
use serde_json::Value;
use std::future::Future;
use std::time::Duration;

/// Records evaluated at once (the event-source mapping's maximum concurrency multiplies it).
pub const RECORD_CONCURRENCY: usize = 4;
/// No record is started with less than this left; it is reported as failed and retried.
pub const RECORD_RESERVE: Duration =
    Duration::from_secs(Deadline::CHANGE_RESERVE.as_secs() + Deadline::PAGE_RESERVE.as_secs() + 3);

/// Whether the input is an SQS event (every record from `aws:sqs`).
pub fn is_sqs_event(input: &Value) -> bool {
    input
        .get("Records")
        .and_then(Value::as_array)
        .is_some_and(|records| {
            !records.is_empty()
                && records
                    .iter()
                    .all(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs"))
        })
}

/// Reads one queue body: a direct invoke (`repository`, `digest` or `tag`), marked as the
/// sweep's by `"sweep": true`, with optional `account` and `region`.
pub fn parse_body(body: &str) -> Result<ScanEvent, EventError> {
    let invalid = |field: &str, problem: String| EventError {
        field: field.to_string(),
        problem,
    };
    let value: Value =
        serde_json::from_str(body).map_err(|e| invalid("body", format!("is not JSON: {e}")))?;
    let Some(obj) = value.as_object() else {
        return Err(invalid("body", "must be a JSON object".to_string()));
    };
    if !obj.contains_key("repository") {
        return Err(invalid(
            "repository",
            "is missing: a queue body is a direct invoke {\"repository\", \"digest\"}".to_string(),
        ));
    }
    match event::parse(&value)? {
        event::Event::Scan(scan) => Ok(scan),
        event::Event::Ignored(reason) => Err(invalid("body", reason)),
    }
}

/// A sweep's continuation (`{"sweep": {...}}` with no `repository`), which the sweep sends to
/// its own queue when it stops at its deadline: `None` for any other body.
pub fn sweep_request_of(
    body: &str,
) -> Option<Result<crate::entry::sweep::request::SweepRequest, EventError>> {
    let value: Value = serde_json::from_str(body).ok()?;
    let obj = value.as_object()?;
    if obj.contains_key("repository") {
        return None;
    }
    let sweep = obj.get("sweep")?;
    Some(crate::entry::sweep::request::SweepRequest::parse(sweep))
}

/// Whether SQS delivers the record again (`attributes.ApproximateReceiveCount` above 1): the
/// delivery before may have changed the registry and failed to alert.
pub fn is_redelivery(record: &aws_lambda_events::event::sqs::SqsMessage) -> bool {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse::<u64>().ok())
        .is_some_and(|n| n > 1)
}

/// What became of one record, for the log.
#[derive(Debug)]
pub enum RecordOutcome {
    Evaluated(Box<Result<Evaluation, GateError>>),
    /// Not ours to act on (e.g. an account the gate may not act in): done, not retried.
    Ignored(String),
    Malformed(EventError),
    /// Not started: too close to the deadline.
    NotStarted(String),
}

impl RecordOutcome {
    pub fn failed(&self) -> bool {
        match self {
            RecordOutcome::Evaluated(r) => r.is_err(),
            RecordOutcome::Ignored(_) => false,
            RecordOutcome::Malformed(_) | RecordOutcome::NotStarted(_) => true,
        }
    }
}

/// Evaluates every record, a few at a time; returns the batch response (the failed records'
/// message ids) and each record's outcome. Records not started for lack of time fail too, so
/// SQS delivers them again.
///
/// `evaluate` is the decision-and-action core for one image as the entry routes it (its
/// account's registry with member accounts): `Gate::evaluate` behind the account router.
pub async fn handle<F, Fut>(
    evaluate: F,
    event: &SqsEvent,
    deadline: Deadline,
) -> (SqsBatchResponse, Vec<(Option<String>, RecordOutcome)>)
where
    F: Fn(ScanEvent) -> Fut,
    Fut: Future<Output = Result<Response, GateError>>,
{
    let evaluate = &evaluate;
    let outcomes: Vec<(Option<String>, RecordOutcome)> =
        futures_util::stream::iter(event.records.iter())
            .map(|record| async move {
                let id = record.message_id.clone();
                if !deadline.allows(RECORD_RESERVE) {
                    let why = format!("not started: {}", deadline.describe_left());
                    return (id, RecordOutcome::NotStarted(why));
                }
                let outcome = match parse_body(record.body.as_deref().unwrap_or("")) {
                    Err(e) => RecordOutcome::Malformed(e),
                    Ok(mut scan) => {
                        scan.redelivery = is_redelivery(record);
                        match evaluate(scan).await {
                            Ok(Response::Evaluated(ev)) => {
                                RecordOutcome::Evaluated(Box::new(Ok(*ev)))
                            }
                            Ok(Response::Ignored { reason }) => RecordOutcome::Ignored(reason),
                            Err(e) => RecordOutcome::Evaluated(Box::new(Err(e))),
                        }
                    }
                };
                (id, outcome)
            })
            .buffered(RECORD_CONCURRENCY)
            .collect()
            .await;
    let mut response = SqsBatchResponse::default();
    for (id, outcome) in &outcomes {
        if outcome.failed() {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    (response, outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::image::ImageRef;
    use crate::domain::scan::Trigger;
    use serde_json::json;

    fn digest() -> String {
        format!("sha256:{}", "a".repeat(64))
    }

    #[test]
    fn only_an_event_whose_records_all_come_from_sqs_is_the_queue() {
        assert!(is_sqs_event(
            &json!({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]})
        ));
        assert!(!is_sqs_event(
            &json!({"Records": [{"eventSource": "aws:s3"}]})
        ));
        assert!(!is_sqs_event(&json!({"Records": []})));
        assert!(!is_sqs_event(
            &json!({"Records": [{"eventSource": "aws:sqs"}, {"eventSource": "aws:sns"}]})
        ));
        assert!(!is_sqs_event(&json!({"repository": "api"})));
    }

    #[test]
    fn a_body_is_a_direct_invoke_marked_as_the_sweeps() {
        let scan = parse_body(
            &json!({"repository": "api", "digest": digest(), "sweep": true}).to_string(),
        )
        .unwrap();
        assert_eq!(scan.trigger, Trigger::Sweep);
        assert_eq!(
            scan.image,
            ImageRef::Digest(crate::domain::image::Digest::parse(&digest()).unwrap())
        );
        let plain = parse_body(&json!({"repository": "api", "tag": "v1"}).to_string()).unwrap();
        assert_eq!(plain.trigger, Trigger::DirectInvoke);
        let member = parse_body(
            &json!({"repository": "api", "digest": digest(), "sweep": true, "account": "111111111111", "region": "eu-west-1"}).to_string(),
        )
        .unwrap();
        assert_eq!(member.account.as_deref(), Some("111111111111"));
        assert_eq!(member.region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn a_malformed_body_names_its_problem() {
        let err = |b: &str| parse_body(b).unwrap_err().to_string();
        assert!(err("not json").starts_with("invalid event: `body` is not JSON"));
        assert_eq!(err("[1]"), "invalid event: `body` must be a JSON object");
        assert!(err("{}").starts_with("invalid event: `repository` is missing"));
        assert!(err(&json!({"repository": "api"}).to_string())
            .starts_with("invalid event: `digest` is missing"));
        assert_eq!(
            err(&json!({"repository": "api", "digest": digest(), "sweep": 1}).to_string()),
            "invalid event: `sweep` must be true or false"
        );
        assert_eq!(
            err(&json!({"repository": "api", "digest": digest(), "account": 5}).to_string()),
            "invalid event: `account` must be a string, got a number"
        );
        // A scan event is not a queue body.
        assert!(
            err(&json!({"source": "aws.ecr", "detail-type": "ECR Image Scan"}).to_string())
                .starts_with("invalid event: `repository` is missing")
        );
    }

    /// The mapping only: an evaluation answered `Ignored` (stubbed here) is done, not a batch
    /// item failure. That a stranger's record is answered `Ignored` by the account router, with
    /// no AWS call, is `accounts_sweep::a_queue_record_for_a_strangers_account_is_done_and_nothing_is_read_or_changed_for_it`
    /// (the function's entry on the emulator).
    #[tokio::test]
    async fn an_ignored_record_is_done_not_a_batch_item_failure() {
        let body = json!({"repository": "api", "digest": digest(), "account": "333333333333"});
        let event: SqsEvent = serde_json::from_value(json!({"Records": [
            {"messageId": "m-1", "eventSource": "aws:sqs", "body": body.to_string()}
        ]}))
        .unwrap();
        let reason = "account 333333333333 is not in MEMBER_ACCOUNTS".to_string();
        let (response, outcomes) = handle(
            |_scan| {
                let reason = reason.clone();
                async move { Ok(Response::Ignored { reason }) }
            },
            &event,
            Deadline::none(),
        )
        .await;
        assert!(response.batch_item_failures.is_empty());
        assert!(matches!(&outcomes[0].1, RecordOutcome::Ignored(r) if r.contains("333333333333")));
    }
}
