//! The floor of a cold start: a bare `lambda_runtime` function (the same crate, features and
//! single-threaded tokio runtime as the gate's `main`) that answers every event with a fixed
//! JSON body. No configuration, no SDK, no logging set-up. `scripts/bench.py run` measures it
//! the same way as the gate (exec → first `GET …/invocation/next`, peak RSS) and reports the
//! gate's init and memory as ratios to it (BENCHMARKS.md).
//!
//!     cargo build --release --example bare_runtime

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<Value, Error>(serde_json::json!({"verdict": "PASS", "bare": true}))
    }))
    .await
}
