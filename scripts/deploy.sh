#!/usr/bin/env bash
# make deploy: check the policy with the function's own rules, get the function
# zip, then `terraform -chdir=infra init` and `apply`.
#
#   scripts/deploy.sh [terraform apply arguments...]
#     e.g. scripts/deploy.sh -auto-approve -var-file=prod.tfvars
#
# 1. Policy. The policy that will be deployed is validated before apply by
#    `ecr-scan-gate-check policy validate FILE` (exit 0: valid, warnings may be
#    printed; otherwise invalid, with a message naming the field): an invalid
#    policy stops here, not at the function's next cold start.
#      GATE_POLICY_FILE=policy.json   validate this file and deploy it
#                                     (-var gate_policy_json=<the file>);
#      otherwise                      validate the policy Terraform would deploy
#                                     (gate_policy / gate_policy_json of your tfvars
#                                     and -var/-var-file arguments, or the default).
#    The checker: ECR_SCAN_GATE_CHECK=/path, or ecr-scan-gate-check on PATH, or
#    target/release/ecr-scan-gate-check; else built with cargo when Rust is
#    installed; else a downloaded release binary at dist/ecr-scan-gate-check;
#    else the script stops and says how to get one.
# 2. Zip. LAMBDA_ZIP=path uses a zip you have (e.g. the release asset
#    ecr-scan-gate-lambda-arm64.zip, checked against SHA256SUMS): no Rust needed.
#    Otherwise cargo-lambda builds target/lambda-arm64/ecr-scan-gate/bootstrap.zip;
#    SKIP_BUILD=1 reuses the zip already built there.
#
# Environment besides: AWS_REGION / AWS_PROFILE (or the usual AWS SDK settings)
# choose the account and region; TF_VAR_slack_webhook_url is the Slack webhook
# URL when slack_webhook_enabled = true. Inputs: infra/terraform.tfvars
# (git-ignored; see infra/terraform.tfvars.example).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"

LAMBDA_DIR="target/lambda-arm64"
BUILT_ZIP="$ROOT/$LAMBDA_DIR/ecr-scan-gate/bootstrap.zip"

die() { printf 'deploy: %s\n' "$*" >&2; exit 1; }

command -v terraform >/dev/null 2>&1 || die "terraform is not on PATH: install Terraform >= 1.11."

WORK="$(mktemp -d "${TMPDIR:-/tmp}/ecr-scan-gate-deploy.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# The -var / -var-file arguments of "$@", for `terraform console` (same inputs as apply).
var_args=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
        -var=* | -var-file=*) var_args+=("${args[i]}") ;;
        -var | -var-file)
            var_args+=("${args[i]}")
            ((i + 1 < ${#args[@]})) && var_args+=("${args[i + 1]}")
            i=$((i + 1))
            ;;
    esac
done

###############################################################################
# 1. The policy checker
###############################################################################

find_checker() {
    if [[ -n "${ECR_SCAN_GATE_CHECK:-}" ]]; then
        [[ -x "$ECR_SCAN_GATE_CHECK" ]] || die "ECR_SCAN_GATE_CHECK=$ECR_SCAN_GATE_CHECK is not an executable file."
        CHECKER="$ECR_SCAN_GATE_CHECK"
        return
    fi
    if command -v ecr-scan-gate-check >/dev/null 2>&1; then
        CHECKER="$(command -v ecr-scan-gate-check)"
        return
    fi
    if [[ -x "$ROOT/target/release/ecr-scan-gate-check" ]]; then
        CHECKER="$ROOT/target/release/ecr-scan-gate-check"
        return
    fi
    if command -v cargo >/dev/null 2>&1 && [[ -f "$ROOT/Cargo.toml" ]]; then
        echo "deploy: building the policy checker: cargo build --release --bin ecr-scan-gate-check"
        cargo build --release --bin ecr-scan-gate-check
        CHECKER="$ROOT/target/release/ecr-scan-gate-check"
        [[ -x "$CHECKER" ]] || die "cargo did not produce $CHECKER."
        return
    fi
    if [[ -x "$ROOT/dist/ecr-scan-gate-check" ]]; then
        CHECKER="$ROOT/dist/ecr-scan-gate-check"
        return
    fi
    die "cannot validate the policy before apply: no ecr-scan-gate-check. Install Rust (then this script builds it), or download the ecr-scan-gate-check binary of the GitHub release for your machine to dist/ecr-scan-gate-check (or set ECR_SCAN_GATE_CHECK=/path/to/it)."
}

# The policy JSON that apply would store, from Terraform itself (no AWS call:
# it depends on variables only). `terraform console` prints an HCL string.
policy_from_terraform() {
    local out
    out="$(printf '%s\n' 'local.gate_policy_json' | terraform -chdir=infra console "${var_args[@]}")" \
        || die "terraform console could not evaluate the policy (see above)."
    printf '%s' "$out" | python3 -c '
import json, sys
text = sys.stdin.read().strip()
# HCL escapes interpolation markers, which JSON does not.
value = json.loads(text.replace("$${", "${").replace("%%{", "%{"))
sys.stdout.write(value)
' || die "could not read the policy printed by terraform console."
}

terraform -chdir=infra init -input=false

POLICY_FILE="$WORK/policy.json"
apply_policy_args=()
if [[ -n "${GATE_POLICY_FILE:-}" ]]; then
    [[ -f "$GATE_POLICY_FILE" ]] || die "GATE_POLICY_FILE=$GATE_POLICY_FILE does not exist."
    cp "$GATE_POLICY_FILE" "$POLICY_FILE"
    apply_policy_args=(-var "gate_policy_json=$(cat "$GATE_POLICY_FILE")")
    echo "deploy: policy from GATE_POLICY_FILE=$GATE_POLICY_FILE"
else
    policy_from_terraform >"$POLICY_FILE"
    echo "deploy: policy from the Terraform inputs (gate_policy / gate_policy_json)"
fi

find_checker
echo "deploy: $CHECKER policy validate $POLICY_FILE"
if ! "$CHECKER" policy validate "$POLICY_FILE"; then
    die "the policy is invalid (see the message above): nothing was applied."
fi

###############################################################################
# 2. The function zip
###############################################################################

if [[ -n "${LAMBDA_ZIP:-}" ]]; then
    ZIP="$(cd "$(dirname "$LAMBDA_ZIP")" && pwd)/$(basename "$LAMBDA_ZIP")"
    [[ -f "$ZIP" ]] || die "LAMBDA_ZIP=$LAMBDA_ZIP does not exist."
else
    ZIP="$BUILT_ZIP"
    if [[ "${SKIP_BUILD:-0}" != "1" ]]; then
        command -v cargo >/dev/null 2>&1 || die "cargo is not on PATH: install Rust (rustup), or set LAMBDA_ZIP to the release zip ecr-scan-gate-lambda-arm64.zip."

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
    [[ -f "$ZIP" ]] || die "the function zip $ZIP is missing (build it, unset SKIP_BUILD, or set LAMBDA_ZIP)."
fi
echo "deploy: function zip $ZIP ($(du -h "$ZIP" | cut -f1))"

if [[ -z "${AWS_REGION:-}${AWS_DEFAULT_REGION:-}${AWS_PROFILE:-}" ]]; then
    echo "deploy: note: AWS_REGION is not set; the AWS provider will use the region of your default profile."
fi

terraform -chdir=infra apply -var "lambda_zip_path=$ZIP" "${apply_policy_args[@]}" "$@"
