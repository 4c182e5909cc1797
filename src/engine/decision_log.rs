//! What an invocation leaves behind for people and monitors: one JSON log line per decision
//! (the same whether the invocation then succeeded or failed) and its CloudWatch EMF line.

use crate::domain::severity::Severity;
use crate::engine::gate::GateError;
use crate::judgement::evaluation::Response;

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

/// Prints the EMF line of a decision. Straight to stdout, not through the log formatter:
/// CloudWatch reads EMF records from lines that are the JSON document alone. `by_account`:
/// member accounts are on, so the record carries the account dimensions too.
pub fn print_metrics(result: &Result<Response, GateError>, by_account: bool) {
    if let Some(line) = metrics_line_by(result, crate::engine::metrics::now_ms(), by_account) {
        println!("{line}");
    }
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
    Some(crate::engine::metrics::emf_record_by(evaluation, timestamp_ms, by_account).to_string())
}

/// One JSON line per decision: what was decided and done, never a secret (the Slack webhook
/// URL never enters an `Evaluation` or an error: `crate::adapters::slack_webhook` scrubs it).
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
