//! The Lambda side: runs the gate for each invocation, writes the decision log line, and turns
//! errors into Lambda errors (so the event is retried, then kept by the dead-letter queue).

use crate::accounts::{self, Home};
use crate::aws::member::{MemberRegistries, Routed};
use crate::entry::{App, Context, EntryError, Output};
use crate::event::{self, ScanEvent, Trigger};
use crate::handler::{Gate, GateError, Response};
use crate::policy::today_utc;
use crate::ports::{Deadline, Inventory, Registry};
use crate::severity::Severity;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;
use std::time::{Duration, Instant};

impl From<EntryError> for Diagnostic {
    fn from(e: EntryError) -> Diagnostic {
        Diagnostic {
            error_type: e.kind().to_string(),
            error_message: e.to_string(),
        }
    }
}

impl From<GateError> for Diagnostic {
    fn from(e: GateError) -> Diagnostic {
        Diagnostic {
            error_type: e.kind().to_string(),
            error_message: e.to_string(),
        }
    }
}

/// The decision line's fields, the same whether the invocation then succeeded or failed.
macro_rules! decision_line {
    ($level:ident, $request_id:expr, $ev:expr, $message:literal $(, $($extra:tt)+)?) => {{
        let ev = $ev;
        let c = &ev.counts;
        let actions: Vec<String> = ev.actions.iter().map(|a| a.describe()).collect();
        tracing::$level!(
            request_id = $request_id,
            account = ev.account.as_deref().unwrap_or(""),
            region = ev.region.as_deref().unwrap_or(""),
            repository = %ev.repository,
            digest = ev.digest.as_ref().map(|d| d.as_str()).unwrap_or(""),
            tags = %ev.tags.join(","),
            verdict = %ev.verdict,
            basis = ev.basis.as_str(),
            critical = c.get(Severity::Critical),
            high = c.get(Severity::High),
            medium = c.get(Severity::Medium),
            low = c.get(Severity::Low),
            informational = c.get(Severity::Informational),
            undefined = c.get(Severity::Undefined),
            untriaged = c.get(Severity::Untriaged),
            reasons = %ev.reasons.join("; "),
            actions = %actions.join("; "),
            dry_run = ev.dry_run,
            $($($extra)+,)?
            $message
        )
    }};
}

/// Handles one invocation (whichever entry it is for: `crate::entry`), logs one line per
/// decision, and prints its metrics (EMF). With member accounts (`MEMBER_ROLE_NAME`), each
/// image is evaluated in its account's registry.
pub async fn invoke<R: Registry + Inventory>(
    app: &App<R>,
    event: LambdaEvent<Value>,
) -> Result<Output, EntryError> {
    let request_id = event.context.request_id.clone();
    let today = today_utc();
    let home = Home::from_function_arn(&event.context.invoked_function_arn);
    let cx = Context {
        request_id: &request_id,
        today: &today,
        now_s: (epoch_ms() / 1000) as i64,
        deadline: deadline_of(&event.context),
        home: home.as_ref().map_err(String::as_str),
    };
    let result = crate::entry::handle(app, &event.payload, cx).await;
    if let Err(e) = &result {
        // The gate's own errors were logged with their decision line.
        if !matches!(e, EntryError::Gate(_)) {
            tracing::error!(request_id, error_type = e.kind(), error = %e, "invocation failed");
        }
    }
    result
}

/// Prints the EMF line of a decision. Straight to stdout, not through the log formatter:
/// CloudWatch reads EMF records from lines that are the JSON document alone. `by_account`:
/// member accounts are on, so the record carries the account dimensions too.
pub fn print_metrics(result: &Result<Response, GateError>, by_account: bool) {
    if let Some(line) = metrics_line_by(result, crate::metrics::now_ms(), by_account) {
        println!("{line}");
    }
}

/// One input: a scan event or a direct invoke, evaluated in the registry of its image's account
/// and region. `home` is the function's own account and region (from its invoked function
/// ARN); without member accounts only a direct invoke that names an account or region needs it.
pub async fn handle<R: Registry>(
    gate: &Gate<R>,
    members: Option<&MemberRegistries>,
    home: Result<&Home, &str>,
    input: &Value,
    today: &str,
    deadline: Deadline,
) -> Result<Response, GateError> {
    match event::parse(input)? {
        event::Event::Ignored(reason) => Ok(Response::Ignored { reason }),
        event::Event::Scan(event) => {
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

/// The invocation's deadline (milliseconds since the epoch) as an `Instant`. A value that is no
/// epoch time at all (`cargo lambda watch` sends its timeout, e.g. 600000) means no deadline.
pub fn deadline_of(context: &lambda_runtime::Context) -> Deadline {
    deadline_from_epoch_ms(context.deadline, epoch_ms())
}

/// 2001-09-09: any real deadline is later.
const PLAUSIBLE_EPOCH_MS: u64 = 1_000_000_000_000;

fn deadline_from_epoch_ms(deadline_ms: u64, now_ms: u64) -> Deadline {
    if deadline_ms < PLAUSIBLE_EPOCH_MS {
        return Deadline::none();
    }
    Deadline::at(Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms)))
}

fn epoch_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The EMF line of an invocation that reached a decision, also when an action then failed
/// (a Critical image whose alert failed must still count for the monitor).
pub fn metrics_line(result: &Result<Response, GateError>, timestamp_ms: u64) -> Option<String> {
    metrics_line_by(result, timestamp_ms, false)
}

/// As [`metrics_line`]; `by_account` (member accounts on) adds the dimension sets with `Account`.
pub fn metrics_line_by(
    result: &Result<Response, GateError>,
    timestamp_ms: u64,
    by_account: bool,
) -> Option<String> {
    let evaluation = match result {
        Ok(Response::Evaluated(ev)) => ev.as_ref(),
        Ok(Response::Ignored { .. }) => return None,
        Err(e) => e.evaluation()?,
    };
    Some(crate::metrics::emf_record_by(evaluation, timestamp_ms, by_account).to_string())
}

/// One JSON line per decision: what was decided and done, never a secret (the Slack webhook
/// URL never enters an `Evaluation` or an error: `crate::slack` scrubs it).
pub fn log_outcome(request_id: &str, result: &Result<Response, GateError>) {
    match result {
        Ok(Response::Evaluated(ev)) => decision_line!(info, request_id, ev, "decision"),
        Ok(Response::Ignored { reason }) => tracing::info!(request_id, reason = %reason, "ignored"),
        Err(e) => match e.evaluation() {
            Some(ev) => decision_line!(
                error,
                request_id,
                ev,
                "decision; invocation failed",
                error_type = e.kind(),
                error = %e
            ),
            None => {
                tracing::error!(request_id, error_type = e.kind(), error = %e, "invocation failed")
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_from_the_runtime() {
        let now = 1_795_807_443_816;
        let d = deadline_from_epoch_ms(now + 30_000, now);
        let left = d.remaining().unwrap();
        assert!(
            left > Duration::from_secs(29) && left <= Duration::from_secs(30),
            "{left:?}"
        );
        assert_eq!(
            deadline_from_epoch_ms(now - 1, now).remaining(),
            Some(Duration::ZERO)
        );
        // cargo lambda watch sends its timeout, not an epoch time.
        assert_eq!(deadline_from_epoch_ms(600_000, now), Deadline::none());
    }
}
