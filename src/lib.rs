//! ecr-scan-gate: the deployment gate for container images in Amazon ECR.
//!
//! The folders are the layers; a file imports from its own layer and the layers below it,
//! never up or across (`tests/docs/test_module_graph.py` fails on any other import):
//!
//! ```text
//!   main.rs   bin/             the Lambda function and ecr-scan-gate-check: wire, then run
//!      │
//!   entry/  ·  cli/            the function's entries (Lambda, which entry an input is for,
//!      │                       reading it, queue, sweep, listing, configuration) · the check
//!   adapters/                  the network: AWS SDK (ECR, SNS, SQS, SSM, roles), Slack webhook
//!      │          ╲
//!   engine/        render/     the Gate, its actions and ports · SNS text, Slack blocks, digest
//!      │          ╱
//!   judgement/                 findings tally, verdict, fast path, evaluation     ┐ pure: no
//!   policy/                    the document, conditions, globs, lint              │ runtime, no
//!   domain/                    image names, quarantine tag, severities, dates     ┘ SDK, no I/O
//! ```
//!
//! `engine` and `render` stand side by side: neither imports the other. Every entry ends in
//! [`engine::gate::Gate::evaluate`]; the adapters implement [`engine::ports`], and the engine
//! never names one: the binaries build them and hand them in.

pub mod adapters;
pub mod cli;
pub mod domain;
pub mod engine;
pub mod entry;
pub mod judgement;
pub mod policy;
pub mod render;
