//! The registry report (`{"report": {}}`): the quarantined images and the allowlist entries
//! that expire soon, sent on every channel.

use crate::engine::gate::Gate;
use crate::engine::ports::{Deadline, Inventory, Registry};
use crate::entry::listing::quarantined_images;
use crate::judgement::evaluation::ActionStatus;
use crate::judgement::registry_report::{allowlist_due, Report};
use crate::policy::document::EXPIRY_NOTICE_DAYS;
use serde::Serialize;

/// The report's response: the digest, and how each channel took it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportResponse {
    #[serde(flatten)]
    pub report: Report,
    pub alerts: Vec<ChannelStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelStatus {
    pub channel: String,
    #[serde(flatten)]
    pub status: ActionStatus,
}

/// Builds the report, sends it on every channel, and answers it; the channels' failures when
/// none took it (the invocation then fails, and is retried).
pub async fn report<R: Registry + Inventory>(
    gate: &Gate<R>,
    today: &str,
    deadline: Deadline,
) -> Result<ReportResponse, Vec<String>> {
    // The listing leaves time to send: what it could not list in time is named in `errors`.
    // The gated repositories (GATE_REPOSITORIES): the others are not the gate's, and its role
    // may not read them.
    let listing = quarantined_images(
        &gate.registry,
        &gate.settings.repositories,
        &gate.settings.quarantine_prefix,
    );
    let (quarantined, errors) = match deadline.bound_leaving(REPORT_SEND_RESERVE, listing).await {
        Ok(listed) => listed,
        Err(_) => (
            Vec::new(),
            vec![format!(
                "the quarantined images could not be listed before the Lambda deadline ({})",
                deadline.describe_left()
            )],
        ),
    };
    let report = Report {
        date: today.to_string(),
        quarantined,
        allowlist: allowlist_due(&gate.policy, today, EXPIRY_NOTICE_DAYS),
        errors,
    };
    let sends = gate.notifiers.iter().map(|n| {
        let report = &report;
        async move {
            let status = if gate.settings.dry_run {
                ActionStatus::DryRun
            } else {
                match deadline.bound(n.report(report)).await {
                    Ok(Ok(())) => ActionStatus::Done,
                    Ok(Err(e)) => ActionStatus::Failed { error: e.message },
                    Err(_) => ActionStatus::Failed {
                        error: format!(
                            "not sent before the Lambda deadline ({})",
                            deadline.describe_left()
                        ),
                    },
                }
            };
            ChannelStatus {
                channel: n.channel().to_string(),
                status,
            }
        }
    });
    let alerts: Vec<ChannelStatus> = futures_util::future::join_all(sends).await;
    let failures: Vec<String> = alerts
        .iter()
        .filter_map(|a| match &a.status {
            ActionStatus::Failed { error } => Some(format!("{}: {error}", a.channel)),
            _ => None,
        })
        .collect();
    tracing::info!(
        quarantined = report.quarantined.len(),
        allowlist_due = report.allowlist.len(),
        errors = report.errors.len(),
        "report"
    );
    // Retrying would send the report again on every channel that took it: only when none did.
    if !failures.is_empty() && failures.len() == alerts.len() {
        return Err(failures);
    }
    if !failures.is_empty() {
        tracing::error!(
            failed = %failures.join("; "),
            "the report was not sent on every channel; not retried, so that the others do not get it twice"
        );
    }
    Ok(ReportResponse { report, alerts })
}

/// Time the report keeps for sending after listing the quarantined images.
const REPORT_SEND_RESERVE: std::time::Duration = std::time::Duration::from_secs(15);
