//! What a scan means under the policy, with no I/O, no async runtime and no SDK type: the
//! findings tally, the verdict, the fast path on an event's counts, the evaluation (the
//! decision and its actions as data), and the registry report's data. Imports the policy and
//! the domain only.

pub mod evaluation;
pub mod fast_path;
pub mod findings;
pub mod judge;
pub mod notice;
pub mod registry_report;
