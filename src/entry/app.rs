//! Which entry an input is for, and the function's answer to it:
//!
//! | input | entry |
//! |---|---|
//! | `{"executionId", "lifecycleStage", "executionDetails", ...}` from ECS | the ECS deployment lifecycle hook (`crate::entry::ecs_hook`) |
//! | `{"Records": [...]}`, every record from `aws:sqs` | the sweep queue (`crate::entry::queue`) |
//! | `{"sweep": {...}}` | the sweep (`crate::entry::sweep`) |
//! | `{"report": {}}` | the registry report |
//! | `{"repository", "digest", "sweep": true}` | one image, as the sweep's queue message |
//! | anything else (scan events, direct invokes) | `Gate::handle_until`, as always |
//!
//! Every image decision goes through `Gate::evaluate`.

use crate::adapters::aws::member::{MemberRegistries, Routed};
use crate::domain::ecs_hook::HookAnswer;
use crate::domain::scan::{EventError, ScanEvent, Trigger};
use crate::engine::accounts;
use crate::engine::accounts::Home;
use crate::engine::gate::{Gate, GateError};
use crate::engine::ports::{Deadline, Inventory, Registry, ServiceRevisions, SweepQueue};
use crate::entry::ecs_hook;
use crate::entry::event;
use crate::entry::queue;
use crate::entry::queue::RecordOutcome;
use crate::entry::report::{report, ReportResponse};
use crate::entry::sweep::report::SweepReport;
use crate::entry::sweep::request::{Place, SweepRequest};
use crate::entry::sweep::sweep;
use crate::judgement::evaluation::Response;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use serde::Serialize;
use serde_json::Value;

/// The gate and what only the function has besides it: the sweep's queue and the member
/// accounts' registries.
pub struct App<R> {
    pub gate: Gate<R>,
    /// `SWEEP_QUEUE_URL`: the sweep enqueues instead of evaluating inline.
    pub sweep_queue: Option<Box<dyn SweepQueue>>,
    /// `MEMBER_ROLE_NAME`: images of member accounts are evaluated in their registries.
    pub members: Option<MemberRegistries>,
    /// The events whose invocation failed here: their retry alerts a change found in place.
    pub failed_events: FailedEvents,
    /// ECS's service revisions, for the deployment lifecycle hook (`crate::entry::ecs_hook`).
    pub service_revisions: Option<Box<dyn ServiceRevisions>>,
}

/// The ids of the EventBridge events whose invocation failed in this execution environment
/// (the most recent [`FailedEvents::CAPACITY`]). Lambda retries an asynchronous invocation
/// with the same event, most often in the same warm environment; a retry that lands in
/// another one is not recognised here, and its alert then follows the alert rule alone.
#[derive(Debug, Default)]
pub struct FailedEvents(std::sync::Mutex<std::collections::VecDeque<String>>);

impl FailedEvents {
    pub const CAPACITY: usize = 1024;

    pub fn contains(&self, id: &str) -> bool {
        self.0
            .lock()
            .map(|ids| ids.iter().any(|i| i == id))
            .unwrap_or(false)
    }

    /// Remembers a failed invocation of event `id`; forgets it once one succeeded.
    pub fn record(&self, id: &str, failed: bool) {
        let Ok(mut ids) = self.0.lock() else { return };
        ids.retain(|i| i != id);
        if failed {
            if ids.len() >= Self::CAPACITY {
                ids.pop_front();
            }
            ids.push_back(id.to_string());
        }
    }
}

impl<R> App<R> {
    pub fn new(gate: Gate<R>) -> Self {
        App {
            gate,
            sweep_queue: None,
            members: None,
            failed_events: FailedEvents::default(),
            service_revisions: None,
        }
    }

    pub fn with_service_revisions(mut self, revisions: Box<dyn ServiceRevisions>) -> Self {
        self.service_revisions = Some(revisions);
        self
    }

    pub fn with_members(mut self, members: MemberRegistries) -> Self {
        self.members = Some(members);
        self
    }

    pub fn with_sweep_queue(mut self, queue: Box<dyn SweepQueue>) -> Self {
        self.sweep_queue = Some(queue);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RegistryOutcome {
    Swept(Box<SweepReport>),
    Reported(ReportResponse),
}

/// The function's answer, whatever the entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Output {
    Gate(Response),
    Registry(RegistryOutcome),
    /// `{"batchItemFailures": [...]}`, exactly as Lambda reads it.
    Batch(SqsBatchResponse),
    /// `{"hookStatus": ..., "callBackDelay"?, "hookDetails"?}`, exactly as ECS reads it.
    EcsHook(HookAnswer),
}

#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    #[error(transparent)]
    Gate(#[from] GateError),
    #[error(transparent)]
    Input(#[from] EventError),
    #[error("the report was not sent on every channel: {}", .0.join("; "))]
    Report(Vec<String>),
    #[error("{0} failed queue record(s) have no messageId to report: the whole batch is retried")]
    Batch(usize),
}

impl EntryError {
    /// A short machine-readable kind, for Lambda's `errorType`.
    pub fn kind(&self) -> &'static str {
        match self {
            EntryError::Gate(e) => e.kind(),
            EntryError::Input(_) => "InvalidEvent",
            EntryError::Report(_) => "ReportNotSent",
            EntryError::Batch(_) => "BatchFailed",
        }
    }
}

/// What the entries need besides the input.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub request_id: &'a str,
    /// The Lambda function's name (`AWS_LAMBDA_FUNCTION_NAME`): the sweep metric's dimension.
    pub function_name: &'a str,
    /// `YYYY-MM-DD` (UTC): allowlist expiry.
    pub today: &'a str,
    /// Seconds since the epoch: `pushed_within_days`.
    pub now_s: i64,
    pub deadline: Deadline,
    /// The function's own account, region and partition (from its invoked function ARN), or
    /// why they are unknown; member accounts need them.
    pub home: Result<&'a Home, &'a str>,
}

/// Runs the entry the input is for.
pub async fn handle<R: Registry + Inventory>(
    app: &App<R>,
    input: &Value,
    cx: Context<'_>,
) -> Result<Output, EntryError> {
    let gate = &app.gate;
    if crate::domain::ecs_hook::is_hook_payload(input) {
        let hook = ecs_hook::Hook {
            gate,
            members: app.members.as_ref(),
            revisions: app.service_revisions.as_deref(),
            home: cx.home,
            request_id: cx.request_id,
            today: cx.today,
            now_s: cx.now_s,
            deadline: cx.deadline,
        };
        return Ok(Output::EcsHook(ecs_hook::handle(hook, input).await));
    }
    if queue::is_sqs_event(input) {
        return handle_queue(app, input, cx).await.map(Output::Batch);
    }
    if let Some(obj) = input.as_object() {
        let direct = obj.contains_key("repository") && !obj.contains_key("source");
        if !direct && obj.contains_key("sweep") {
            let mut request = SweepRequest::parse(&obj["sweep"])?;
            // A sweep that names no repositories sweeps the gated ones (GATE_REPOSITORIES).
            if obj["sweep"].get("repositories").is_none() {
                request.repositories = gate.settings.repositories.clone();
            }
            // With member accounts listed in MEMBER_ACCOUNTS, a sweep that names no accounts
            // sweeps them too: an event lost on its way from a member is repaired by the next
            // sweep, as the hub's own are. (`*` lists none: name them in the request.)
            if let (None, Some(members), Ok(home)) = (&request.accounts, &app.members, cx.home) {
                if let accounts::AllowedAccounts::Only(listed) = &members.members().accounts {
                    let mut all = vec![home.account.clone()];
                    all.extend(listed.iter().filter(|a| **a != home.account).cloned());
                    request.accounts = Some(all);
                }
            }
            let report = app.sweep(&request, cx).await;
            log_sweep(cx.request_id, &report);
            let record = crate::engine::metrics::sweep_record(
                cx.function_name,
                report.complete,
                report.errors.len(),
                crate::engine::metrics::now_ms(),
            );
            println!("{record}");
            return Ok(Output::Registry(RegistryOutcome::Swept(Box::new(report))));
        }
        if !direct && obj.contains_key("report") {
            if !obj["report"].is_object() && !obj["report"].is_null() {
                return Err(EventError {
                    field: "report".to_string(),
                    problem: "must be an object (`{}`)".to_string(),
                }
                .into());
            }
            return report(gate, cx.today, cx.deadline)
                .await
                .map(|r| Output::Registry(RegistryOutcome::Reported(r)))
                .map_err(EntryError::Report);
        }
    }
    // Lambda retries a failed asynchronous invocation with the same event (the same `id`).
    let event_id = input
        .get("source")
        .and(input.get("id"))
        .and_then(Value::as_str);
    let redelivery = event_id.is_some_and(|id| app.failed_events.contains(id));
    let result = handle_event(
        gate,
        app.members.as_ref(),
        cx.home,
        input,
        cx.today,
        cx.deadline,
        redelivery,
    )
    .await;
    if let Some(id) = event_id {
        app.failed_events.record(id, result.is_err());
    }
    crate::engine::decision_log::log_outcome(cx.request_id, &result);
    crate::engine::decision_log::print_metrics(&result, app.members.is_some());
    Ok(Output::Gate(result?))
}

impl<R: Registry + Inventory> App<R> {
    /// The sweep: of the gate's own registry, or of every account and region the request
    /// names (each through the account router: a member's registry through its role).
    async fn sweep(&self, request: &SweepRequest, cx: Context<'_>) -> SweepReport {
        let queue = self.sweep_queue.as_deref();
        if !request.names_places() {
            return sweep_in(&self.gate, queue, request, None, cx).await;
        }
        let queued = queue.is_some();
        let home = match cx.home {
            Ok(home) => home,
            Err(why) => {
                return SweepReport::not_swept(
                    format!("sweep.accounts / sweep.regions need the function's own account and region: {why}"),
                    queued,
                )
            }
        };
        let accounts = request
            .accounts
            .clone()
            .unwrap_or_else(|| vec![home.account.clone()]);
        let regions = request
            .regions
            .clone()
            .unwrap_or_else(|| vec![home.region.clone()]);
        let mut total = SweepReport::started(queued);
        // A continuation goes on at its cursor's place: the places before it were swept.
        let mut reached = request.resume_at.as_ref().and_then(|c| c.place()).is_none();
        for account in &accounts {
            for region in &regions {
                let place = Place {
                    account: account.clone(),
                    region: region.clone(),
                };
                reached |=
                    request.resume_at.as_ref().and_then(|c| c.place()).as_ref() == Some(&place);
                if !reached {
                    continue;
                }
                if total.continued {
                    // The continuation enqueued for an earlier place covers this one too.
                    break;
                }
                let own = *account == home.account && *region == home.region;
                // With member accounts the router also says which places are the gate's own.
                let report = match &self.members {
                    None if own => sweep_in(&self.gate, queue, request, Some(&place), cx).await,
                    None => SweepReport::not_swept(
                        format!(
                            "not swept: account {account} region {region}: only the function's own \
                             account and region without member accounts (MEMBER_ROLE_NAME)"
                        ),
                        queued,
                    ),
                    Some(members) => {
                        match members.registry_at(home, Some(account), Some(region)).await {
                            Routed::Own { .. } => {
                                sweep_in(&self.gate, queue, request, Some(&place), cx).await
                            }
                            Routed::Other { registry, .. } => {
                                let gate = self.gate.for_registry(registry);
                                sweep_in(&gate, queue, request, Some(&place), cx).await
                            }
                            Routed::Ignored(reason) => {
                                SweepReport::not_swept(format!("not swept: {reason}"), queued)
                            }
                        }
                    }
                };
                total.absorb(report);
            }
        }
        total
    }
}

/// The sweep of one registry (one gate), within the invocation.
async fn sweep_in<G: Registry + Inventory>(
    gate: &Gate<G>,
    queue: Option<&dyn SweepQueue>,
    request: &SweepRequest,
    place: Option<&Place>,
    cx: Context<'_>,
) -> SweepReport {
    let mut report = sweep(gate, queue, request, place, cx.today, cx.now_s, cx.deadline).await;
    // Stopped at the deadline with a queue: the rest is the continuation's, a message to the
    // same queue that the same function consumes (a sweep never outlasts its invocation, so
    // Lambda never retries it and nothing is enqueued twice).
    if let (Some(queue), Some(cursor)) = (queue, report.resume_at.clone()) {
        let continuation = SweepRequest {
            resume_at: Some(*cursor),
            ..request.clone()
        };
        match serde_json::to_string(&serde_json::json!({ "sweep": continuation })) {
            Ok(body) => match queue.send_all(std::slice::from_ref(&body)).await.first() {
                None => report.continued = true,
                Some(failure) => report.errors.push(format!(
                    "the sweep's continuation was not enqueued: {}; the next sweep covers the rest",
                    failure.reason
                )),
            },
            Err(e) => report.errors.push(format!(
                "the sweep's continuation could not be written: {e}"
            )),
        }
    }
    report
}

impl<R: Registry> App<R> {
    /// One image through the core, in the registry of its account and region.
    async fn evaluate(&self, scan: &ScanEvent, cx: Context<'_>) -> Result<Response, GateError> {
        evaluate_routed(
            &self.gate,
            self.members.as_ref(),
            cx.home,
            scan,
            cx.today,
            cx.deadline,
        )
        .await
    }
}

async fn handle_queue<R: Registry + Inventory>(
    app: &App<R>,
    input: &Value,
    cx: Context<'_>,
) -> Result<SqsBatchResponse, EntryError> {
    let mut event: SqsEvent = serde_json::from_value(input.clone()).map_err(|e| EventError {
        field: "Records".to_string(),
        problem: format!("is not an SQS event: {e}"),
    })?;
    // A sweep's continuation (`{"sweep": {..., "resume_at": ...}}`) goes on after the images.
    let (continuations, images): (Vec<_>, Vec<_>) = std::mem::take(&mut event.records)
        .into_iter()
        .partition(|r| queue::sweep_request_of(r.body.as_deref().unwrap_or("")).is_some());
    event.records = images;
    let evaluate = |scan: ScanEvent| async move { app.evaluate(&scan, cx).await };
    let (mut response, outcomes) = queue::handle(evaluate, &event, cx.deadline).await;
    for record in &continuations {
        let message_id = record.message_id.clone().unwrap_or_default();
        match queue::sweep_request_of(record.body.as_deref().unwrap_or("")) {
            Some(Ok(request)) => {
                // Never a batch failure: a sweep that stops again enqueues its own continuation.
                let report = app.sweep(&request, cx).await;
                log_sweep(cx.request_id, &report);
            }
            Some(Err(e)) => {
                tracing::error!(
                    request_id = cx.request_id,
                    message_id = %message_id,
                    error_type = "InvalidEvent",
                    error = %e,
                    "sweep continuation malformed; reported as a batch item failure"
                );
                let mut failure = aws_lambda_events::event::sqs::BatchItemFailure::default();
                failure.item_identifier = message_id;
                response.batch_item_failures.push(failure);
            }
            None => {}
        }
    }
    let mut unnamed = 0;
    for (id, outcome) in &outcomes {
        let message_id = id.as_deref().unwrap_or("");
        match outcome {
            RecordOutcome::Evaluated(result) => {
                let result = match result.as_ref() {
                    Ok(ev) => Ok(Response::Evaluated(Box::new(ev.clone()))),
                    Err(e) => Err(e),
                };
                log_record(cx.request_id, message_id, &result, app.members.is_some());
            }
            RecordOutcome::Ignored(reason) => tracing::info!(
                request_id = cx.request_id,
                message_id,
                reason = %reason,
                "queue record ignored"
            ),
            RecordOutcome::Malformed(e) => tracing::error!(
                request_id = cx.request_id,
                message_id,
                error_type = "InvalidEvent",
                error = %e,
                "queue record malformed; reported as a batch item failure"
            ),
            RecordOutcome::NotStarted(why) => tracing::warn!(
                request_id = cx.request_id,
                message_id,
                reason = %why,
                "queue record not started; reported as a batch item failure"
            ),
        }
        if outcome.failed() && id.as_deref().is_none_or(str::is_empty) {
            unnamed += 1;
        }
    }
    if unnamed > 0 {
        return Err(EntryError::Batch(unnamed));
    }
    Ok(response)
}

fn log_record(
    request_id: &str,
    message_id: &str,
    result: &Result<Response, &GateError>,
    by_account: bool,
) {
    match result {
        Ok(r) => {
            let owned: Result<Response, GateError> = Ok(r.clone());
            crate::engine::decision_log::log_outcome(request_id, &owned);
            crate::engine::decision_log::print_metrics(&owned, by_account);
        }
        Err(e) => {
            tracing::error!(request_id, message_id, error_type = e.kind(), error = %e, "queue record failed; reported as a batch item failure");
            if let Some(ev) = e.evaluation() {
                let record = crate::engine::metrics::emf_record_by(
                    ev,
                    crate::engine::metrics::now_ms(),
                    by_account,
                );
                println!("{record}");
            }
        }
    }
}

fn log_sweep(request_id: &str, r: &SweepReport) {
    let errors = r.errors.len();
    if errors > 0 || !r.complete {
        tracing::error!(
            request_id,
            images = r.images,
            passed_by_summary = r.passed_by_summary,
            enqueued = r.enqueued,
            evaluated = r.evaluated,
            unscanned = r.unscanned,
            errors,
            complete = r.complete,
            first_error = r.errors.first().map(String::as_str).unwrap_or(""),
            "sweep finished with errors or incomplete"
        );
    } else {
        tracing::info!(
            request_id,
            images = r.images,
            passed_by_summary = r.passed_by_summary,
            enqueued = r.enqueued,
            evaluated = r.evaluated,
            unscanned = r.unscanned,
            complete = r.complete,
            "sweep finished"
        );
    }
}

/// One input: a scan event or a direct invoke, evaluated in the registry of its image's account
/// and region. `home` is the function's own account and region (from its invoked function
/// ARN); without member accounts only a direct invoke that names an account or region needs it.
/// `redelivery`: an earlier invocation with this event failed (see `ScanEvent::redelivery`).
pub async fn handle_event<R: Registry>(
    gate: &Gate<R>,
    members: Option<&MemberRegistries>,
    home: Result<&Home, &str>,
    input: &Value,
    today: &str,
    deadline: Deadline,
    redelivery: bool,
) -> Result<Response, GateError> {
    match event::parse(input)? {
        event::Event::Ignored(reason) => Ok(Response::Ignored { reason }),
        event::Event::Scan(mut event) => {
            event.redelivery = redelivery;
            evaluate_routed(gate, members, home, &event, today, deadline).await
        }
    }
}

/// Evaluates one image in the registry of its account and region (with member accounts), or
/// answers why not (`ignored`). Every entry that evaluates an image calls this: a scan event, a
/// direct invoke, a queue entry, each image of a sweep.
pub async fn evaluate_routed<R: Registry>(
    gate: &Gate<R>,
    members: Option<&MemberRegistries>,
    home: Result<&Home, &str>,
    event: &ScanEvent,
    today: &str,
    deadline: Deadline,
) -> Result<Response, GateError> {
    let Some(members) = members else {
        // Without member accounts nothing changes: an event's account is not consulted.
        if event.trigger == Trigger::DirectInvoke {
            let elsewhere = accounts::direct_invoke_elsewhere(
                home.ok(),
                event.account.as_deref(),
                event.region.as_deref(),
            );
            if let Some(reason) = elsewhere {
                return Ok(Response::Ignored { reason });
            }
        }
        let evaluation = gate.evaluate(event, today, deadline).await?;
        return Ok(Response::Evaluated(Box::new(evaluation)));
    };
    let home = home.map_err(|problem| GateError::Account(problem.to_string()))?;
    let evaluation = match members.registry_for(home, event).await {
        Routed::Ignored(reason) => return Ok(Response::Ignored { reason }),
        Routed::Own { account, region } => {
            gate.evaluate(&event.located(account, region), today, deadline)
                .await?
        }
        Routed::Other {
            registry,
            account,
            region,
        } => {
            gate.for_registry(registry)
                .evaluate(&event.located(account, region), today, deadline)
                .await?
        }
    };
    Ok(Response::Evaluated(Box::new(evaluation)))
}
