//! The Lambda side: runs the gate for each invocation, writes the decision log line, and turns
//! errors into Lambda errors (so the event is retried, then kept by the dead-letter queue).

use crate::handler::{Gate, GateError, Response};
use crate::policy::today_utc;
use crate::ports::Registry;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

impl From<GateError> for Diagnostic {
    fn from(e: GateError) -> Diagnostic {
        Diagnostic {
            error_type: e.kind().to_string(),
            error_message: e.to_string(),
        }
    }
}

/// Handles one invocation, logs one line about it, and prints its metrics (EMF).
pub async fn invoke<R: Registry>(
    gate: &Gate<R>,
    event: LambdaEvent<Value>,
) -> Result<Response, GateError> {
    let request_id = event.context.request_id.clone();
    let result = gate.handle(&event.payload, &today_utc()).await;
    log_outcome(&request_id, &result);
    if let Some(line) = metrics_line(&result, crate::metrics::now_ms()) {
        // Straight to stdout, not through the log formatter: CloudWatch reads EMF records from
        // lines that are the JSON document alone.
        println!("{line}");
    }
    result
}

/// The EMF line of an invocation that reached a decision, also when an action then failed
/// (a Critical image whose alert failed must still count for the monitor).
pub fn metrics_line(result: &Result<Response, GateError>, timestamp_ms: u64) -> Option<String> {
    let evaluation = match result {
        Ok(Response::Evaluated(ev)) => ev.as_ref(),
        Ok(Response::Ignored { .. }) => return None,
        Err(e) => e.evaluation()?,
    };
    Some(crate::metrics::emf_line(evaluation, timestamp_ms))
}

/// One JSON line per decision: what was decided and done, never a secret (the Slack webhook
/// URL never enters an `Evaluation` or an error: `crate::slack` scrubs it).
pub fn log_outcome(request_id: &str, result: &Result<Response, GateError>) {
    match result {
        Ok(Response::Evaluated(ev)) => tracing::info!(
            request_id,
            repository = %ev.repository,
            digest = ev.digest.as_ref().map(|d| d.as_str()).unwrap_or(""),
            verdict = %ev.verdict,
            basis = ?ev.basis,
            counts = %serde_json::to_string(&ev.counts).unwrap_or_default(),
            reasons = %serde_json::to_string(&ev.reasons).unwrap_or_default(),
            actions = %serde_json::to_string(&ev.actions).unwrap_or_default(),
            dry_run = ev.dry_run,
            "decision"
        ),
        Ok(Response::Ignored { reason }) => tracing::info!(request_id, reason = %reason, "ignored"),
        Err(e) => match e.evaluation() {
            Some(ev) => tracing::error!(
                request_id,
                error_type = e.kind(),
                error = %e,
                repository = %ev.repository,
                digest = ev.digest.as_ref().map(|d| d.as_str()).unwrap_or(""),
                verdict = %ev.verdict,
                basis = ?ev.basis,
                counts = %serde_json::to_string(&ev.counts).unwrap_or_default(),
                reasons = %serde_json::to_string(&ev.reasons).unwrap_or_default(),
                actions = %serde_json::to_string(&ev.actions).unwrap_or_default(),
                dry_run = ev.dry_run,
                "decision; invocation failed"
            ),
            None => {
                tracing::error!(request_id, error_type = e.kind(), error = %e, "invocation failed")
            }
        },
    }
}
