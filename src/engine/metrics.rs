//! CloudWatch Embedded Metric Format: one JSON record per evaluation, printed to stdout as one
//! line; CloudWatch Logs turns it into metrics. The names are a contract: the Terraform Datadog
//! module's monitors use them.

use crate::domain::severity::Severity;
use crate::judgement::evaluation::{Action, ActionStatus, Evaluation};
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

/// The dimension sets of every record: a dashboard per repository, and per verdict.
pub const DIMENSIONS: [&[&str]; 2] = [&["Repository"], &["Repository", "Verdict"]];
/// Added with member accounts (`MEMBER_ROLE_NAME`): the same repository name in two accounts
/// is two images, and a hub's dashboard shows each account. Only then, because each dimension
/// set is another set of custom metrics to pay for; the sets above stay, so existing
/// dashboards and monitors keep working.
pub const ACCOUNT_DIMENSIONS: [&[&str]; 2] = [&["Account"], &["Account", "Repository"]];

/// The EMF record of one evaluation. `timestamp_ms`: milliseconds since the Unix epoch.
pub fn emf_record(ev: &Evaluation, timestamp_ms: u64) -> Value {
    emf_record_by(ev, timestamp_ms, false)
}

/// As [`emf_record`]; `by_account` adds [`ACCOUNT_DIMENSIONS`] (when the account is known).
pub fn emf_record_by(ev: &Evaluation, timestamp_ms: u64, by_account: bool) -> Value {
    let account = ev
        .account
        .as_deref()
        .filter(|a| crate::domain::image::is_account_id(a));
    let mut dimensions: Vec<&[&str]> = DIMENSIONS.to_vec();
    if by_account && account.is_some() {
        dimensions.extend(ACCOUNT_DIMENSIONS);
    }
    let mut metrics: Vec<Value> = FINDING_METRICS
        .iter()
        .map(|(_, name)| json!({"Name": name, "Unit": "Count"}))
        .collect();
    for name in [
        "Quarantined",
        "Released",
        "Archived",
        "Restored",
        "Evaluations",
    ] {
        metrics.push(json!({"Name": name, "Unit": "Count"}));
    }
    let mut record = Map::new();
    record.insert(
        "_aws".to_string(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": dimensions,
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
    // The hard block (policy block.archive): archived now or found archived; restored.
    record.insert(
        "Archived".to_string(),
        json!(in_place(ev, |a| matches!(a, Action::Archive { .. }))),
    );
    record.insert(
        "Restored".to_string(),
        json!(in_place(ev, |a| matches!(a, Action::Restore { .. }))),
    );
    record.insert("Evaluations".to_string(), json!(1));
    // Properties, not metrics: they stay in the log record for searching.
    record.insert(
        "Digest".to_string(),
        json!(ev.digest.as_ref().map(|d| d.as_str())),
    );
    record.insert("DryRun".to_string(), json!(ev.dry_run));
    // Where the image is (a dimension only with `by_account`); a property for searching.
    if let Some(a) = account {
        record.insert("Account".to_string(), json!(a));
    }
    if let Some(r) = &ev.region {
        record.insert("Region".to_string(), json!(r));
    }
    Value::Object(record)
}

/// The metrics of a sweep (one record per sweep), which an alarm watches: `SweepIncomplete` 1
/// when the sweep did not look at every image or met errors, and `SweepErrors`. Dimension:
/// the function's name, so that two gates in one account keep their alarms apart.
pub const SWEEP_METRICS: [&str; 2] = ["SweepIncomplete", "SweepErrors"];
pub const SWEEP_DIMENSIONS: [&[&str]; 1] = [&["FunctionName"]];

/// The EMF record of one sweep.
pub fn sweep_record(
    function_name: &str,
    complete: bool,
    errors: usize,
    timestamp_ms: u64,
) -> Value {
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": SWEEP_DIMENSIONS,
                "Metrics": SWEEP_METRICS.iter().map(|n| json!({"Name": n, "Unit": "Count"})).collect::<Vec<_>>(),
            }]
        },
        "FunctionName": function_name,
        "SweepIncomplete": u8::from(!complete || errors > 0),
        "SweepErrors": errors,
    })
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
    use crate::domain::image::Digest;
    use crate::domain::scan::Trigger;
    use crate::domain::severity::Counts;
    use crate::domain::verdict::Verdict;
    use crate::judgement::evaluation::Basis;

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
    fn a_sweep_record_says_incomplete_on_errors_or_an_unfinished_sweep() {
        let r = sweep_record("ecr-scan-gate", true, 0, 1);
        let cw = &r["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "ECRScanGate");
        assert_eq!(cw["Dimensions"], json!([["FunctionName"]]));
        assert_eq!(cw["Metrics"][0]["Name"], "SweepIncomplete");
        assert_eq!(r["FunctionName"], "ecr-scan-gate");
        assert_eq!(r["SweepIncomplete"], 0);
        assert_eq!(sweep_record("f", false, 0, 1)["SweepIncomplete"], 1);
        let with_errors = sweep_record("f", true, 3, 1);
        assert_eq!(with_errors["SweepIncomplete"], 1);
        assert_eq!(with_errors["SweepErrors"], 3);
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
                "Archived",
                "Restored",
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
    fn the_account_is_a_dimension_only_with_member_accounts() {
        let mut ev = evaluation(Verdict::Fail, vec![]);
        ev.account = Some("111111111111".into());
        ev.region = Some("eu-west-1".into());
        let single = emf_record(&ev, 0);
        assert_eq!(
            single["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Repository"], ["Repository", "Verdict"]])
        );
        assert_eq!(single["Account"], "111111111111");
        assert_eq!(single["Region"], "eu-west-1");
        let hub = emf_record_by(&ev, 0, true);
        assert_eq!(
            hub["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([
                ["Repository"],
                ["Repository", "Verdict"],
                ["Account"],
                ["Account", "Repository"]
            ])
        );
        // Every dimension of every set is a member of the record, as EMF requires.
        for set in hub["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
            .as_array()
            .unwrap()
        {
            for d in set.as_array().unwrap() {
                assert!(hub.get(d.as_str().unwrap()).is_some(), "{d}");
            }
        }
        // An account that is not an account id is neither a property nor a dimension.
        ev.account = Some("not-an-account".into());
        let odd = emf_record_by(&ev, 0, true);
        assert!(odd.get("Account").is_none());
        assert_eq!(
            odd["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
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
            (
                Action::Archive {
                    status: ActionStatus::Done,
                },
                "Archived",
                1,
            ),
            (
                Action::Archive {
                    status: ActionStatus::Skipped {
                        reason: "in use".into(),
                    },
                },
                "Archived",
                0,
            ),
            (
                Action::Restore {
                    status: ActionStatus::Done,
                },
                "Restored",
                1,
            ),
        ];
        for (action, key, want) in cases {
            let ev = evaluation(Verdict::Pass, vec![action.clone()]);
            assert_eq!(value(&ev, key), want, "{action:?}");
        }
        assert_eq!(value(&evaluation(Verdict::Pass, vec![]), "Quarantined"), 0);
    }
}
