//! The gate: the one decision-and-action core that every entry calls. The `Gate` decides (with
//! the judgement) and acts (quarantine, strip, release, on image indexes too, alerts) through
//! the ports; the account router, the alert rule, the decision log and the metrics live beside
//! it. Imports the judgement, the policy and the domain; never an adapter or an entry.

pub mod accounts;
pub mod act;
pub mod alert_rule;
pub mod archive;
pub mod decision_log;
pub mod deploy_check;
pub mod gate;
pub mod metrics;
pub mod multiarch;
pub mod plan;
pub mod ports;
pub mod settings;
