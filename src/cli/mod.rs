//! The pipeline's check (`ecr-scan-gate-check`): may this image be deployed? The binary in
//! `src/bin/ecr-scan-gate-check.rs` parses the command line; this is what it asks the gate.

pub mod check;
pub mod ci;
