//! ecr-scan-gate: the deployment gate for container images in Amazon ECR.
//!
//! The folders are the layers; imports run down, never up or across (a test in
//! `tests/docs/test_module_graph.py` fails on any other):
//!
//! ```text
//!   main.rs  bin/           the two binaries: the Lambda function, ecr-scan-gate-check
//!      │
//!   cli/                    the pipeline's check
//!   entry/                  Lambda, input → entry, event reading, queue, sweep, listing, config
//!      │
//!   adapters/               AWS SDK (ECR, SNS, SQS, SSM, member roles), Slack webhook: the network
//!      │           ╲
//!   engine/         render/ the Gate and its actions, ports, router  │  SNS, Slack, report text
//!      │           ╱
//!   judgement/              findings, verdict, evaluation, fast path      ─┐
//!   policy/                 the document, conditions, globs, lint          ├ pure: no I/O,
//!   domain/                 image names, quarantine tag, severities, dates ─┘ no runtime, no SDK
//! ```
//!
//! `engine` and `render` stand side by side: neither imports the other. The adapters implement
//! the ports of [`engine::ports`]; the engine never names an adapter, only `main` wires them.

pub mod adapters;
pub mod cli;
pub mod domain;
pub mod engine;
pub mod entry;
pub mod judgement;
pub mod policy;
pub mod render;
