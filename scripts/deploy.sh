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
#    Exit 1 of the checker (invalid) or any other non-zero status stops the deploy.
#    The checker: ECR_SCAN_GATE_CHECK=/path; else, with RELEASE_URL, the release's
#    ecr-scan-gate-check-linux-<this machine's arch> (see below); else
#    ecr-scan-gate-check on PATH, or target/release/ecr-scan-gate-check; else built
#    with cargo when Rust is installed; else a binary you put at
#    dist/ecr-scan-gate-check; else the script stops and says how to get one.
# 2. Zip. LAMBDA_ZIP=path uses a zip you have. Else, with RELEASE_URL, the
#    release's ecr-scan-gate-lambda-<architecture>.zip, for the function's
#    `architecture` of the Terraform inputs (arm64 or x86_64; LAMBDA_ARCH=... says it
#    instead; arm64 when the Terraform has no such input), downloaded once the policy
#    is valid. Otherwise cargo-lambda builds
#    target/lambda-arm64/ecr-scan-gate/bootstrap.zip; SKIP_BUILD=1 reuses the zip
#    already built there.
#
# Without Rust: RELEASE_URL is where a release's files are, e.g.
#   RELEASE_URL=https://github.com/your-org/ecr-scan-gate/releases/download/v0.1.0
# (or a mirror of them). The script downloads SHA256SUMS and the check binary,
# validates the policy with that check, then downloads the zip and deploys it. It
# refuses any file whose SHA-256 is not the one SHA256SUMS lists for it (before
# running or deploying it) and keeps them in dist/. Use the release of the
# Terraform you cloned (its tag).
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

case "${LAMBDA_ARCH:-}" in
    "" | arm64 | x86_64) ;;
    *) die "LAMBDA_ARCH=$LAMBDA_ARCH: the released zips are for arm64 and x86_64." ;;
esac

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
# 0. The release's files (RELEASE_URL), checked against its SHA256SUMS
###############################################################################

# release_fetch NAME: downloads "$RELEASE_URL/NAME", refuses it unless its SHA-256 is
# the one SHA256SUMS lists for NAME, and moves it to dist/NAME; prints that path.
release_fetch() {
    local name="$1" expected actual
    curl -fsSL --retry 3 --retry-delay 2 -o "$WORK/$name" "$RELEASE_URL/$name" \
        || die "could not download $RELEASE_URL/$name"
    expected="$(awk -v f="$name" '$2 == f || $2 == "*" f { print $1 }' "$WORK/SHA256SUMS")"
    [[ "$expected" =~ ^[0-9a-f]{64}$ ]] \
        || die "the release's SHA256SUMS has no single entry for $name: refusing to use it."
    actual="$(sha256sum "$WORK/$name" | cut -d' ' -f1)"
    if [[ "$actual" != "$expected" ]]; then
        rm -f "$WORK/$name"
        die "checksum mismatch for $name: SHA256SUMS says $expected, the download is $actual: refusing to use it."
    fi
    mkdir -p "$ROOT/dist"
    mv -f "$WORK/$name" "$ROOT/dist/$name"
    echo "deploy: $name verified against SHA256SUMS (sha256 $actual)" >&2
    printf '%s\n' "$ROOT/dist/$name"
}

RELEASE_CHECKER=""
if [[ -n "${RELEASE_URL:-}" ]]; then
    RELEASE_URL="${RELEASE_URL%/}"
    command -v curl >/dev/null 2>&1 || die "curl is not on PATH: it downloads the release's files."
    command -v sha256sum >/dev/null 2>&1 || die "sha256sum is not on PATH (coreutils): it verifies the release's files."
    echo "deploy: release files from $RELEASE_URL"
    if [[ "$RELEASE_URL" =~ /(v[0-9]+\.[0-9]+\.[0-9]+[^/]*)$ && -f "$ROOT/Cargo.toml" ]]; then
        clone_version="v$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -n1)"
        [[ "${BASH_REMATCH[1]}" == "$clone_version" ]] \
            || echo "deploy: note: the release is ${BASH_REMATCH[1]} but this clone's Terraform is $clone_version (Cargo.toml): clone the release's tag to deploy what was released together." >&2
    fi
    curl -fsSL --retry 3 --retry-delay 2 -o "$WORK/SHA256SUMS" "$RELEASE_URL/SHA256SUMS" \
        || die "could not download $RELEASE_URL/SHA256SUMS"
    if [[ -z "${ECR_SCAN_GATE_CHECK:-}" ]]; then
        [[ "$(uname -s)" == Linux ]] \
            || die "the released ecr-scan-gate-check is built for Linux only: on $(uname -s), install Rust (this script then builds the check) or set ECR_SCAN_GATE_CHECK."
        case "$(uname -m)" in
            x86_64 | amd64) host_arch=x86_64 ;;
            aarch64 | arm64) host_arch=arm64 ;;
            *) die "no released ecr-scan-gate-check for $(uname -m) (there are x86_64 and arm64)." ;;
        esac
        RELEASE_CHECKER="$(release_fetch "ecr-scan-gate-check-linux-$host_arch")"
        chmod 0755 "$RELEASE_CHECKER"
    fi
    mkdir -p "$ROOT/dist" && cp "$WORK/SHA256SUMS" "$ROOT/dist/SHA256SUMS"
fi

# The value of a Terraform expression (terraform console, after init), as console prints it:
# the last non-empty line, since warnings (e.g. an undeclared variable of a var-file) come before.
console_value() {
    local out
    out="$(printf '%s\n' "$1" | terraform -chdir=infra console "${var_args[@]}")" || return 1
    printf '%s\n' "$out" | awk 'NF { last = $0 } END { print last }'
}

# The function's architecture: LAMBDA_ARCH, else the Terraform input `architecture`
# (terraform console, after init), else arm64 (a Terraform without that input).
function_architecture() {
    local out
    if [[ -n "${LAMBDA_ARCH:-}" ]]; then
        echo "$LAMBDA_ARCH"
        return
    fi
    out="$(console_value 'var.architecture' 2>/dev/null)" || out=""
    out="${out//\"/}"
    case "$out" in
        arm64 | x86_64) echo "$out" ;;
        *) echo arm64 ;;
    esac
}

###############################################################################
# 1. The policy checker
###############################################################################

find_checker() {
    if [[ -n "${ECR_SCAN_GATE_CHECK:-}" ]]; then
        [[ -x "$ECR_SCAN_GATE_CHECK" ]] || die "ECR_SCAN_GATE_CHECK=$ECR_SCAN_GATE_CHECK is not an executable file."
        CHECKER="$ECR_SCAN_GATE_CHECK"
        return
    fi
    if [[ -n "$RELEASE_CHECKER" ]]; then
        CHECKER="$RELEASE_CHECKER"
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
    die "cannot validate the policy before apply: no ecr-scan-gate-check. Set RELEASE_URL to the release you deploy (e.g. https://github.com/your-org/ecr-scan-gate/releases/download/v0.1.0: this script downloads its check and verifies it against SHA256SUMS), or install Rust (then this script builds it), or put the check binary at dist/ecr-scan-gate-check (or set ECR_SCAN_GATE_CHECK=/path/to/it)."
}

# The policy JSON that apply would store, from Terraform itself (no AWS call:
# it depends on variables only). `terraform console` prints an HCL string.
policy_from_terraform() {
    local out
    out="$(console_value 'local.gate_policy_json')" \
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
set +e
"$CHECKER" policy validate "$POLICY_FILE"
rc=$?
set -e
case "$rc" in
    0) echo "deploy: the policy is valid" ;;
    1) die "the policy is invalid (see the message above): nothing was applied." ;;
    *) die "the policy could not be checked ($CHECKER exited $rc; see above): nothing was applied." ;;
esac

###############################################################################
# 2. The function zip
###############################################################################

if [[ -n "${LAMBDA_ZIP:-}" ]]; then
    ZIP="$(cd "$(dirname "$LAMBDA_ZIP")" && pwd)/$(basename "$LAMBDA_ZIP")"
    [[ -f "$ZIP" ]] || die "LAMBDA_ZIP=$LAMBDA_ZIP does not exist."
elif [[ -n "${RELEASE_URL:-}" ]]; then
    arch="$(function_architecture)"
    echo "deploy: the function's architecture: $arch"
    ZIP="$(release_fetch "ecr-scan-gate-lambda-$arch.zip")"
else
    ZIP="$BUILT_ZIP"
    if [[ "${SKIP_BUILD:-0}" != "1" ]]; then
        command -v cargo >/dev/null 2>&1 || die "cargo is not on PATH: install Rust (rustup), or set RELEASE_URL to deploy a release's zip (or LAMBDA_ZIP to a zip you have)."

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

# The validated policy file last: of the -var/-var-file arguments, Terraform keeps the last
# value, and a -var-file of "$@" may set gate_policy_json too.
terraform -chdir=infra apply -var "lambda_zip_path=$ZIP" "$@" "${apply_policy_args[@]}"
