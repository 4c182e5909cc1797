//! The Lambda side: runs the gate for each invocation, writes the decision log line, and turns
//! errors into Lambda errors (so the event is retried, then kept by the dead-letter queue).

use crate::handler::{Gate, GateError, Response};
use crate::policy::today_utc;
use crate::ports::{Deadline, Registry};
use crate::severity::Severity;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;
use std::time::{Duration, Instant};

impl From<GateError> for Diagnostic {
    fn from(e: GateError) -> Diagnostic {
        Diagnostic {
            error_type: e.kind().to_string(),
            error_message: e.to_string(),
        }
    }
}

/// Handles one invocation and logs one line about it.
pub async fn invoke<R: Registry>(
    gate: &Gate<R>,
    event: LambdaEvent<Value>,
) -> Result<Response, GateError> {
    let request_id = event.context.request_id.clone();
    let result = gate
        .handle_until(&event.payload, &today_utc(), deadline_of(&event.context))
        .await;
    log_outcome(&request_id, &result);
    result
}

/// The invocation's deadline (milliseconds since the epoch) as an `Instant`.
pub fn deadline_of(context: &lambda_runtime::Context) -> Deadline {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let left = context.deadline.saturating_sub(now_ms);
    Deadline::at(Instant::now() + Duration::from_millis(left))
}

/// One JSON line per decision: what was decided and done, never a secret.
pub fn log_outcome(request_id: &str, result: &Result<Response, GateError>) {
    match result {
        Ok(Response::Evaluated(ev)) => {
            let c = &ev.counts;
            let actions: Vec<String> = ev.actions.iter().map(|a| a.describe()).collect();
            tracing::info!(
                request_id,
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
                "decision"
            )
        }
        Ok(Response::Ignored { reason }) => tracing::info!(request_id, reason = %reason, "ignored"),
        Err(e) => {
            tracing::error!(request_id, error_type = e.kind(), error = %e, "invocation failed")
        }
    }
}
