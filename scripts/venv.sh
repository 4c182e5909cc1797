#!/usr/bin/env bash
# Creates .venv with what the demo and the tests need: the moto server (local AWS emulator) and
# cargo-lambda (with zig). Idempotent: does nothing when the pinned versions are there.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
REQ=scripts/requirements.txt
STAMP="$VENV/.installed-$(sha256sum "$REQ" | cut -c1-16)"
if [ -f "$STAMP" ]; then
  exit 0
fi
command -v python3 >/dev/null || { echo "venv.sh: python3 is needed (3.11 or newer)" >&2; exit 1; }
echo "venv.sh: installing $(grep -cv '^#' "$REQ") packages into $VENV (once)..." >&2
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
rm -f "$VENV"/.installed-*
touch "$STAMP"
