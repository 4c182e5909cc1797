//! The words every layer speaks, with no I/O: an image and its names, the quarantine tag,
//! severities and counts, the four verdicts, calendar dates, and the request the gate is asked
//! to judge. Imports nothing of the crate.

pub mod date;
pub mod ecs_hook;
pub mod image;
pub mod quarantine;
pub mod scan;
pub mod severity;
pub mod storage;
pub mod verdict;
