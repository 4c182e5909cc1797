//! When an evaluation alerts: on its verdict (scan events, direct invokes), or only when the
//! registry's state of the image changed (the sweep, which sees every image every night and
//! must not repeat the alert of an image that stays quarantined). Pure: decided from the
//! trigger and the evaluation's actions.

use crate::evaluation::{Action, ActionStatus, Evaluation};
use crate::event::Trigger;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertRule {
    /// The policy's `notify` verdicts, and every release.
    OnVerdict,
    /// Only an image newly quarantined (the quarantine tag added now, not found in place) or
    /// released now. Decided after the registry actions ran.
    OnChangeOnly,
}

impl AlertRule {
    /// The rule for what produced the evaluation: the one place the core decides it.
    pub fn for_trigger(trigger: &Trigger) -> AlertRule {
        match trigger {
            Trigger::Sweep => AlertRule::OnChangeOnly,
            Trigger::BasicScan
            | Trigger::EnhancedScan
            | Trigger::EnhancedFinding { .. }
            | Trigger::DirectInvoke => AlertRule::OnVerdict,
        }
    }
}

/// The image's state changed in this evaluation: the quarantine tag was added now (not
/// `AlreadyDone` by an earlier delivery or a racing event), or the image was released now.
pub fn state_changed(ev: &Evaluation) -> bool {
    ev.actions.iter().any(|a| {
        matches!(
            a,
            Action::Quarantine {
                status: ActionStatus::Done,
                ..
            } | Action::Release {
                status: ActionStatus::Done,
                ..
            }
        )
    })
}

/// Whether an evaluation whose registry actions are carried out alerts under `rule`.
/// (`OnVerdict` is decided before the actions, in `Gate::plan`; this is the after-the-fact
/// rule.)
pub fn alerts_after_actions(rule: AlertRule, ev: &Evaluation) -> bool {
    match rule {
        AlertRule::OnVerdict => false,
        AlertRule::OnChangeOnly => state_changed(ev),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::Basis;
    use crate::event::Digest;
    use crate::severity::Counts;
    use crate::verdict::Verdict;

    fn ev(actions: Vec<Action>) -> Evaluation {
        Evaluation {
            verdict: Verdict::Fail,
            repository: "demo-api".to_string(),
            digest: Digest::parse(&format!("sha256:{}", "a".repeat(64))).ok(),
            tags: vec!["v1".to_string()],
            trigger: Trigger::Sweep,
            counts: Counts::default(),
            highest_severity: None,
            reasons: Vec::new(),
            basis: Basis::Findings,
            scan_status: Some("COMPLETE".to_string()),
            findings: None,
            actions,
            dry_run: false,
            region: None,
            account: None,
        }
    }

    fn quarantine(status: ActionStatus) -> Action {
        Action::Quarantine {
            tag: "quarantine-x".to_string(),
            status,
        }
    }

    fn release(status: ActionStatus) -> Action {
        Action::Release {
            tag: "quarantine-x".to_string(),
            status,
        }
    }

    #[test]
    fn the_sweep_alerts_on_change_only_and_events_on_their_verdict() {
        assert_eq!(
            AlertRule::for_trigger(&Trigger::Sweep),
            AlertRule::OnChangeOnly
        );
        for t in [
            Trigger::BasicScan,
            Trigger::EnhancedScan,
            Trigger::DirectInvoke,
            Trigger::EnhancedFinding {
                vulnerability_id: "CVE-1".to_string(),
                severity: None,
            },
        ] {
            assert_eq!(AlertRule::for_trigger(&t), AlertRule::OnVerdict, "{t:?}");
        }
    }

    #[test]
    fn newly_quarantined_or_released_now_is_a_change() {
        assert!(state_changed(&ev(vec![quarantine(ActionStatus::Done)])));
        assert!(state_changed(&ev(vec![release(ActionStatus::Done)])));
        assert!(alerts_after_actions(
            AlertRule::OnChangeOnly,
            &ev(vec![quarantine(ActionStatus::Done)])
        ));
    }

    #[test]
    fn staying_quarantined_failing_or_dry_run_is_no_change() {
        for status in [
            ActionStatus::AlreadyDone,
            ActionStatus::Planned,
            ActionStatus::DryRun,
            ActionStatus::Failed {
                error: "throttled".to_string(),
            },
            ActionStatus::Skipped {
                reason: "only tag".to_string(),
            },
        ] {
            let e = ev(vec![quarantine(status.clone()), release(status.clone())]);
            assert!(!state_changed(&e), "{status:?}");
            assert!(!alerts_after_actions(AlertRule::OnChangeOnly, &e));
        }
        assert!(!state_changed(&ev(Vec::new())));
        // A strip alone is not a change of the gate's state of the image.
        assert!(!state_changed(&ev(vec![Action::Strip {
            tags: vec!["latest".to_string()],
            status: ActionStatus::Done,
        }])));
    }

    #[test]
    fn on_verdict_is_decided_before_the_actions() {
        assert!(!alerts_after_actions(
            AlertRule::OnVerdict,
            &ev(vec![quarantine(ActionStatus::Done)])
        ));
    }
}
