//! When an evaluation alerts: the one place the core decides it.
//!
//! - Inspector sends one `Inspector2 Finding` event per finding, including every finding of an
//!   image's first scan: 150 findings are 150 invocations. Each would alert, and Slack would
//!   answer 429 long before the last. So a Finding event alerts only when it changed the
//!   image's state (a quarantine, strip or release actually done now, not found already in
//!   place) or when the finding itself meets a fail threshold.
//! - The sweep sees every image every night: it alerts only on a change too, so an image that
//!   stays quarantined is not alerted again.
//! - Every other trigger (scan events, direct invoke) alerts as the policy says.
//! - A redelivery (a queue record received again, an event whose invocation failed before)
//!   alerts on a change found already in place too: the delivery before may have made the
//!   change and then failed to alert. Duplicates are allowed; losses are not.

use crate::domain::scan::Trigger;
use crate::judgement::evaluation::{Action, ActionStatus};
use crate::policy::document::EffectiveThresholds;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertRule {
    /// Alert as the policy's `notify` says.
    AsPolicySays,
    /// Alert only if a registry change was done by this invocation.
    OnlyOnChange,
}

/// The rule for an evaluation triggered by `trigger` under `thresholds`.
pub fn rule_for(trigger: &Trigger, thresholds: &EffectiveThresholds<'_>) -> AlertRule {
    match trigger {
        Trigger::EnhancedFinding {
            severity: Some(severity),
            ..
        } if thresholds.fail.get(severity).is_some_and(|min| *min <= 1) => AlertRule::AsPolicySays,
        Trigger::EnhancedFinding { .. } | Trigger::Sweep => AlertRule::OnlyOnChange,
        _ => AlertRule::AsPolicySays,
    }
}

/// Whether the actions changed the image's state now: a quarantine, strip or release `Done`
/// (on the image or on an index that lists it). `AlreadyDone` is no change. A change that
/// `Failed` counts too: the image is not in the state it should be, and a person must hear it.
pub fn changed_state(actions: &[Action]) -> bool {
    actions.iter().any(|a| match a {
        Action::Alert { .. } => false,
        _ => matches!(a.status(), ActionStatus::Done | ActionStatus::Failed { .. }),
    })
}

/// Whether a registry change is in place now, made by this delivery or found made.
fn change_in_place(actions: &[Action]) -> bool {
    actions.iter().any(|a| match a {
        Action::Alert { .. } => false,
        _ => matches!(a.status(), ActionStatus::Done | ActionStatus::AlreadyDone),
    })
}

/// Whether alerts planned under `rule` go out, once the registry actions have run.
/// `redelivery`: see [`crate::domain::scan::ScanEvent::redelivery`].
pub fn should_alert(rule: AlertRule, actions: &[Action], redelivery: bool) -> bool {
    match rule {
        AlertRule::AsPolicySays => true,
        AlertRule::OnlyOnChange => {
            changed_state(actions) || (redelivery && change_in_place(actions))
        }
    }
}

/// The reason an alert was held back.
pub const UNCHANGED_REASON: &str =
    "nothing changed (the image was already in this state): an Inspector2 Finding event whose finding alone meets no fail threshold, or a sweep, alerts only on a change";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::severity::Severity;
    use crate::policy::document::Policy;

    fn finding(sev: Severity) -> Trigger {
        Trigger::EnhancedFinding {
            vulnerability_id: "CVE-2026-0001".into(),
            severity: Some(sev),
        }
    }

    fn quarantine(status: ActionStatus) -> Vec<Action> {
        vec![
            Action::Quarantine {
                tag: "quarantine-x".into(),
                status,
            },
            Action::Alert {
                channel: "sns".into(),
                status: ActionStatus::Planned,
            },
        ]
    }

    #[test]
    fn a_finding_event_that_changes_nothing_does_not_alert() {
        let p = Policy::default(); // fail CRITICAL 1, warn HIGH 1
        let t = p.thresholds_for("demo-api");
        let rule = rule_for(&finding(Severity::High), &t);
        assert_eq!(rule, AlertRule::OnlyOnChange);
        assert!(!should_alert(
            rule,
            &quarantine(ActionStatus::AlreadyDone),
            false
        ));
        assert!(should_alert(rule, &quarantine(ActionStatus::Done), false));
        assert!(
            !should_alert(rule, &[], false),
            "no action at all: no change"
        );
        let failed = ActionStatus::Failed {
            error: "throttled".into(),
        };
        assert!(
            should_alert(rule, &quarantine(failed), false),
            "a failed quarantine is news"
        );
    }

    #[test]
    fn a_redelivery_alerts_on_a_change_found_in_place() {
        // The first delivery quarantined, then its alert failed: on the redelivery the
        // quarantine is already in place, and the alert still goes out.
        let p = Policy::default();
        let rule = rule_for(&Trigger::Sweep, &p.thresholds_for("demo-api"));
        assert_eq!(rule, AlertRule::OnlyOnChange);
        assert!(!should_alert(
            rule,
            &quarantine(ActionStatus::AlreadyDone),
            false
        ));
        assert!(should_alert(
            rule,
            &quarantine(ActionStatus::AlreadyDone),
            true
        ));
        // Nothing in place: nothing to alert, redelivered or not.
        let skipped = ActionStatus::Skipped {
            reason: "image gone".into(),
        };
        assert!(!should_alert(rule, &quarantine(skipped), true));
        assert!(!should_alert(rule, &[], true));
    }

    #[test]
    fn a_finding_that_alone_meets_a_fail_threshold_alerts() {
        let p = Policy::default();
        let t = p.thresholds_for("demo-api");
        let rule = rule_for(&finding(Severity::Critical), &t);
        assert_eq!(rule, AlertRule::AsPolicySays);
        assert!(should_alert(
            rule,
            &quarantine(ActionStatus::AlreadyDone),
            false
        ));
        // A threshold of 2 CRITICAL is not met by one finding alone.
        let p = Policy::from_json(r#"{"fail": {"CRITICAL": 2}}"#).unwrap();
        assert_eq!(
            rule_for(&finding(Severity::Critical), &p.thresholds_for("x")),
            AlertRule::OnlyOnChange
        );
    }

    #[test]
    fn other_triggers_alert_as_the_policy_says() {
        let p = Policy::default();
        let t = p.thresholds_for("demo-api");
        for trigger in [
            Trigger::BasicScan,
            Trigger::EnhancedScan,
            Trigger::DirectInvoke,
        ] {
            assert_eq!(rule_for(&trigger, &t), AlertRule::AsPolicySays);
        }
        let unknown = Trigger::EnhancedFinding {
            vulnerability_id: "x".into(),
            severity: None,
        };
        assert_eq!(rule_for(&unknown, &t), AlertRule::OnlyOnChange);
    }
}
