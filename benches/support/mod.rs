//! What the AWS benches share: where `make bench` keeps their figures.

use serde_json::Value;

/// Writes `value` as `name` into `$CARGO_TARGET_DIR/bench` (else `target/bench`), where
/// `scripts/bench.py report` reads it.
pub fn write_figures(name: &str, value: &Value) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), |t| root.join(t))
        .join("bench");
    std::fs::create_dir_all(&dir).expect("the bench output directory");
    let text = serde_json::to_string_pretty(value).expect("figures are JSON");
    std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("write {name}: {e}"));
}
