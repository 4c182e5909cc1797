#!/usr/bin/env bash
# make bench: every figure of BENCHMARKS.md, measured on this machine. Builds what it measures
# (the release bootstrap, the arm64 zip, the benches), then prints the summary, also written to
# target/bench/summary.md. With CARGO_TARGET_DIR set, every target/ here (the builds,
# target/criterion, the zip in target/lambda-arm64, target/bench) is that directory instead.
# Servers are on loopback only; every loop is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh
export PATH="$PWD/.venv/bin:$PATH"
PY=.venv/bin/python
TARGET="${CARGO_TARGET_DIR:-target}"
OUT="$TARGET/bench"
mkdir -p "$OUT"
# The summary must not print a figure of an earlier run: every step writes its file again.
rm -f "$OUT"/{runtime,aws-calls,critical-path,storm-and-early-quarantine,sweep}.json "$OUT/summary.md"

echo "== [1/5] release bootstrap (x86_64, for the runs on this machine)"
cargo build --release --bin ecr-scan-gate
# Kept aside: `cargo bench` later rebuilds target/release/ecr-scan-gate with the dev-dependencies'
# features (tokio's test features and so on), which is not the binary that ships.
cp "$TARGET/release/ecr-scan-gate" "$OUT/bootstrap"
echo "== [2/5] arm64 zip, as make build makes it"
cargo lambda build --release --arm64 --output-format zip --bin ecr-scan-gate --lambda-dir "$TARGET/lambda-arm64"
echo "== [3/5] in-process evaluation of 10 .. 100 000 findings (criterion)"
cargo bench --bench evaluate
echo "== [4/5] AWS calls per event, hub and member accounts, the critical path of a failing image (moto)"
cargo bench --bench aws_calls
echo "== [4b/5] alert storm (150 Inspector2 Finding events) and time to quarantine (10 .. 100 000 findings)"
cargo bench --bench storm_and_early_quarantine
echo "== [4c/5] the sweep: AWS calls per image, the planner's throughput, a burst under an ECR quota (moto)"
cargo bench --bench sweep
echo "== [5/5] the bootstrap on a local Lambda Runtime API: cold start, findings volume, per event"
"$PY" scripts/bench.py run
echo
echo "== summary ($OUT/summary.md)"
"$PY" scripts/bench.py report
