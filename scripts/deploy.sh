#!/usr/bin/env bash
# make deploy: build the function zip with cargo-lambda (arm64, release), then
# `terraform -chdir=infra init` and `apply` with that zip.
#
#   scripts/deploy.sh [terraform apply arguments...]
#     e.g. scripts/deploy.sh -auto-approve -var 'alert_email_addresses=["ops@example.com"]'
#
# Environment:
#   SKIP_BUILD=1   reuse the zip already in target/lambda-arm64 (no cargo build)
#   AWS_REGION / AWS_PROFILE (or the usual AWS SDK settings) choose the account and region.
#   TF_VAR_slack_webhook_url  the Slack webhook URL, when slack_webhook_enabled = true.
# Inputs other than these: infra/terraform.tfvars (git-ignored; see
# infra/examples/design-single-repo/terraform.tfvars.example).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"

LAMBDA_DIR="target/lambda-arm64"
ZIP="$ROOT/$LAMBDA_DIR/ecr-scan-gate/bootstrap.zip"

die() { printf 'deploy: %s\n' "$*" >&2; exit 1; }

command -v terraform >/dev/null 2>&1 || die "terraform is not on PATH: install Terraform >= 1.11."

if [[ "${SKIP_BUILD:-0}" != "1" ]]; then
    command -v cargo >/dev/null 2>&1 || die "cargo is not on PATH: install Rust (rustup); the toolchain is pinned in rust-toolchain.toml."

    # cargo-lambda (and zig, its cross-linker) come from the project's .venv.
    if [[ ! -x .venv/bin/cargo-lambda ]]; then
        if [[ -f scripts/venv.sh ]]; then
            echo "deploy: .venv/bin/cargo-lambda is missing; creating .venv with scripts/venv.sh"
            bash scripts/venv.sh
        fi
        [[ -x .venv/bin/cargo-lambda ]] || die "cargo-lambda is missing from .venv/bin: run 'bash scripts/venv.sh' (or: python3 -m venv .venv && .venv/bin/pip install cargo-lambda)."
    fi
    export PATH="$ROOT/.venv/bin:$PATH"

    echo "deploy: cargo lambda build --release --arm64 --output-format zip --bin ecr-scan-gate --lambda-dir $LAMBDA_DIR"
    cargo lambda build --release --arm64 --output-format zip --bin ecr-scan-gate --lambda-dir "$LAMBDA_DIR"
fi

[[ -f "$ZIP" ]] || die "the function zip $ZIP is missing (build it, or unset SKIP_BUILD)."
echo "deploy: function zip $ZIP ($(du -h "$ZIP" | cut -f1))"

if [[ -z "${AWS_REGION:-}${AWS_DEFAULT_REGION:-}${AWS_PROFILE:-}" ]]; then
    echo "deploy: note: AWS_REGION is not set; the AWS provider will use the region of your default profile."
fi

terraform -chdir=infra init -input=false
terraform -chdir=infra apply -var "lambda_zip_path=$ZIP" "$@"
