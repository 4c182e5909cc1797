//! The one alert of a `FAILED` answer: the check's evaluation of the first image the answer is
//! about, triggered by the ECS deployment (`Trigger::EcsDeployment`), on the gate's channels.

use super::judged::Judged;
use crate::domain::ecs_hook::Cause;
use crate::domain::image::Digest;
use crate::domain::scan::Trigger;
use crate::domain::severity::Counts;
use crate::domain::verdict::Verdict;
use crate::engine::gate::Gate;
use crate::engine::ports::{Deadline, Registry};
use crate::judgement::evaluation::{Action, ActionStatus, Basis, Evaluation};

/// Sends one alert for a `FAILED` answer, naming the service, the (first) container and its
/// image, with every image the answer is about in its reasons. Returns what was done and
/// whether a channel failed.
pub(super) async fn send<R: Registry>(
    gate: &Gate<R>,
    deadline: Deadline,
    service: &str,
    judged: &[Judged],
    cause: Cause,
) -> (String, bool) {
    let culprits: Vec<&Judged> = judged.iter().filter(|j| cause.names(j.outcome)).collect();
    let Some(first) = culprits.first() else {
        return ("none: no image to name".to_string(), false);
    };
    if gate.settings.dry_run {
        return ("dry run, not sent".to_string(), false);
    }
    if gate.notifiers.is_empty() {
        return ("no alert channel configured".to_string(), false);
    }
    let ev = alert_evaluation(gate, service, first, &culprits);
    let sends = gate.notifiers.iter().map(|n| {
        let ev = &ev;
        async move {
            match deadline.bound(n.notify(ev)).await {
                Ok(Ok(())) => (format!("{}: sent", n.channel()), false),
                Ok(Err(e)) => (format!("{}: FAILED: {}", n.channel(), e.message), true),
                Err(_) => (
                    format!(
                        "{}: FAILED: not sent before the Lambda deadline",
                        n.channel()
                    ),
                    true,
                ),
            }
        }
    });
    let results = futures_util::future::join_all(sends).await;
    let failed = results.iter().any(|(_, f)| *f);
    let text: Vec<String> = results.into_iter().map(|(t, _)| t).collect();
    (text.join("; "), failed)
}

/// The alert's content: the check's evaluation of the first image the answer is about (or one
/// built for an image the gate did not judge), as a FAIL (or the ERROR of a scan that did not
/// complete) triggered by the ECS deployment.
fn alert_evaluation<R>(
    gate: &Gate<R>,
    service: &str,
    first: &Judged,
    culprits: &[&Judged],
) -> Evaluation {
    let c = &first.container;
    let mut ev = first.evaluation.clone().unwrap_or_else(|| {
        let (name, tag) = split_reference(&c.image);
        Evaluation {
            verdict: Verdict::Fail,
            repository: name.to_string(),
            digest: c
                .image_digest
                .as_deref()
                .and_then(|d| Digest::parse(d).ok()),
            tags: tag.map(str::to_string).into_iter().collect(),
            trigger: Trigger::DirectInvoke,
            counts: Counts::default(),
            highest_severity: None,
            reasons: Vec::new(),
            basis: Basis::ScanStatus,
            scan_status: None,
            findings: None,
            actions: Vec::new(),
            dry_run: false,
            region: None,
            account: None,
        }
    });
    if !matches!(ev.verdict, Verdict::Fail | Verdict::Error) {
        // PASS or WARN by the policy, but blocked: quarantined or archived.
        ev.verdict = Verdict::Fail;
    }
    ev.trigger = Trigger::EcsDeployment {
        service: service.to_string(),
        container: c.container_name.clone(),
        image: c.image.clone(),
    };
    if let Some((account, region)) = &first.place {
        ev.account = Some(account.clone());
        ev.region = Some(region.clone());
    }
    ev.reasons = culprits.iter().map(|j| j.describe()).collect();
    ev.actions = Vec::new();
    if let Some(digest) = &ev.digest {
        let tag = gate.settings.quarantine_tag(digest);
        if ev.tags.contains(&tag) {
            ev.actions.push(Action::Quarantine {
                tag,
                status: ActionStatus::AlreadyDone,
            });
        }
    }
    ev
}

/// `docker.io/library/nginx:1.27@sha256:...` as (`docker.io/library/nginx`, `1.27`).
fn split_reference(image: &str) -> (&str, Option<&str>) {
    let name = image.split('@').next().unwrap_or(image);
    match name.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag)),
        _ => (name, None),
    }
}
