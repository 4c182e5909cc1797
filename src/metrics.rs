//! CloudWatch Embedded Metric Format: one JSON record per evaluation, printed to stdout as one
//! line; CloudWatch Logs turns it into metrics. The names are a contract: the Terraform Datadog
//! module's monitors use them.

use crate::evaluation::{Action, ActionStatus, Evaluation};
use crate::severity::Severity;
use serde_json::{json, Map, Value};

pub const NAMESPACE: &str = "ECRScanGate";

/// The finding metrics, one per severity (counts after the policy).
pub const FINDING_METRICS: [(Severity, &str); 7] = [
    (Severity::Critical, "CriticalFindings"),
    (Severity::High, "HighFindings"),
    (Severity::Medium, "MediumFindings"),
    (Severity::Low, "LowFindings"),
    (Severity::Informational, "InformationalFindings"),
    (Severity::Undefined, "UndefinedFindings"),
    (Severity::Untriaged, "UntriagedFindings"),
];

/// 1 when an action of this kind is in place (done now or found done), else 0.
fn in_place(ev: &Evaluation, is_kind: impl Fn(&Action) -> bool) -> u8 {
    u8::from(ev.actions.iter().any(|a| {
        is_kind(a) && matches!(a.status(), ActionStatus::Done | ActionStatus::AlreadyDone)
    }))
}

/// The EMF record of one evaluation. `timestamp_ms`: milliseconds since the Unix epoch.
pub fn emf_record(ev: &Evaluation, timestamp_ms: u64) -> Value {
    let mut metrics: Vec<Value> = FINDING_METRICS
        .iter()
        .map(|(_, name)| json!({"Name": name, "Unit": "Count"}))
        .collect();
    for name in ["Quarantined", "Released", "Evaluations"] {
        metrics.push(json!({"Name": name, "Unit": "Count"}));
    }
    let mut record = Map::new();
    record.insert(
        "_aws".to_string(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Repository"], ["Repository", "Verdict"]],
                "Metrics": metrics,
            }]
        }),
    );
    record.insert("Repository".to_string(), json!(ev.repository));
    record.insert("Verdict".to_string(), json!(ev.verdict.as_str()));
    for (severity, name) in FINDING_METRICS {
        record.insert(name.to_string(), json!(ev.counts.get(severity)));
    }
    record.insert(
        "Quarantined".to_string(),
        json!(in_place(ev, |a| matches!(a, Action::Quarantine { .. }))),
    );
    record.insert(
        "Released".to_string(),
        json!(in_place(ev, |a| matches!(a, Action::Release { .. }))),
    );
    record.insert("Evaluations".to_string(), json!(1));
    // Properties, not metrics: they stay in the log record for searching.
    record.insert(
        "Digest".to_string(),
        json!(ev.digest.as_ref().map(|d| d.as_str())),
    );
    record.insert("DryRun".to_string(), json!(ev.dry_run));
    Value::Object(record)
}

/// The record as the one line printed to stdout.
pub fn emf_line(ev: &Evaluation, timestamp_ms: u64) -> String {
    emf_record(ev, timestamp_ms).to_string()
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Digest, Trigger};
    use crate::handler::Basis;
    use crate::severity::Counts;
    use crate::verdict::Verdict;

    fn evaluation(verdict: Verdict, actions: Vec<Action>) -> Evaluation {
        let mut counts = Counts::default();
        counts.set(Severity::Critical, 3);
        counts.set(Severity::High, 7);
        counts.set(Severity::Untriaged, 2);
        Evaluation {
            verdict,
            repository: "team/demo-api".into(),
            digest: Some(Digest::parse(&format!("sha256:{}", "ab".repeat(32))).unwrap()),
            tags: vec!["v1".into()],
            trigger: Trigger::BasicScan,
            counts,
            highest_severity: counts.highest(),
            reasons: vec![],
            basis: Basis::Findings,
            scan_status: Some("COMPLETE".into()),
            findings: None,
            actions,
            dry_run: false,
            region: Some("us-east-1".into()),
            account: None,
        }
    }

    #[test]
    fn record_has_the_contract_names_dimensions_and_counts() {
        let ev = evaluation(
            Verdict::Fail,
            vec![Action::Quarantine {
                tag: "quarantine-ab".into(),
                status: ActionStatus::Done,
            }],
        );
        let line = emf_line(&ev, 1_764_201_600_000);
        assert!(!line.contains('\n'));
        let r: Value = serde_json::from_str(&line).unwrap();
        let cw = &r["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(r["_aws"]["Timestamp"], 1_764_201_600_000u64);
        assert_eq!(cw["Namespace"], "ECRScanGate");
        assert_eq!(
            cw["Dimensions"],
            json!([["Repository"], ["Repository", "Verdict"]])
        );
        let names: Vec<&str> = cw["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "CriticalFindings",
                "HighFindings",
                "MediumFindings",
                "LowFindings",
                "InformationalFindings",
                "UndefinedFindings",
                "UntriagedFindings",
                "Quarantined",
                "Released",
                "Evaluations"
            ]
        );
        // Every metric and dimension named in the directive is a member of the record.
        for n in names.iter().chain(["Repository", "Verdict"].iter()) {
            assert!(r.get(*n).is_some(), "{n} missing");
        }
        assert_eq!(r["Repository"], "team/demo-api");
        assert_eq!(r["Verdict"], "FAIL");
        assert_eq!(r["CriticalFindings"], 3);
        assert_eq!(r["HighFindings"], 7);
        assert_eq!(r["MediumFindings"], 0);
        assert_eq!(r["UntriagedFindings"], 2);
        assert_eq!(r["Quarantined"], 1);
        assert_eq!(r["Released"], 0);
        assert_eq!(r["Evaluations"], 1);
    }

    #[test]
    fn quarantined_and_released_count_only_actions_in_place() {
        let q = |status| Action::Quarantine {
            tag: "q".into(),
            status,
        };
        let rel = |status| Action::Release {
            tag: "q".into(),
            status,
        };
        let value = |ev: &Evaluation, k: &str| emf_record(ev, 0)[k].as_u64().unwrap();
        let cases = [
            (q(ActionStatus::AlreadyDone), "Quarantined", 1),
            (q(ActionStatus::Planned), "Quarantined", 0),
            (q(ActionStatus::DryRun), "Quarantined", 0),
            (
                q(ActionStatus::Failed {
                    error: "boom".into(),
                }),
                "Quarantined",
                0,
            ),
            (rel(ActionStatus::Done), "Released", 1),
            (rel(ActionStatus::AlreadyDone), "Released", 1),
            (
                rel(ActionStatus::Skipped {
                    reason: "only tag".into(),
                }),
                "Released",
                0,
            ),
        ];
        for (action, key, want) in cases {
            let ev = evaluation(Verdict::Pass, vec![action.clone()]);
            assert_eq!(value(&ev, key), want, "{action:?}");
        }
        assert_eq!(value(&evaluation(Verdict::Pass, vec![]), "Quarantined"), 0);
    }
}
