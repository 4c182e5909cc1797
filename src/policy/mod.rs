//! The policy document and its tools, with no I/O: the document and its thresholds, risk
//! conditions, globs, "did you mean", and the lint that warns of foot-guns. Imports the domain
//! only.

pub mod conditions;
pub mod document;
pub mod enforcement;
pub mod exceptions;
pub mod glob;
pub mod lint;
pub mod suggest;
pub mod vex;
