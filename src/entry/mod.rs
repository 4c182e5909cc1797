//! The function's entries: the Lambda handler, which entry an input is for (`app`), reading the
//! input (`event`), the sweep and its queue, the registry report's listing, and the
//! configuration read at start. Each entry ends in `crate::engine::gate::Gate::evaluate`.

pub mod app;
pub mod config;
pub mod ecs_hook;
pub mod event;
pub mod lambda;
pub mod listing;
pub mod queue;
pub mod report;
pub mod sweep;
