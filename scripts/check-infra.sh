#!/usr/bin/env bash
# The checks of the Terraform in infra/ (offline when a provider mirror is there):
#   terraform fmt -check -recursive infra
#   terraform init -backend=false + validate   (infra/, modules/{member,team-exceptions}, examples/{design-single-repo,organization,ecs-lifecycle-hook})
#   terraform test                             (infra/tests/*.tftest.hcl: plans with mocked AWS)
#   checkov -d infra --skip-download           (no failed check; skips are inline, with reasons)
#   pytest tests/infra                         (design values, IAM == AWS calls of src/adapters/aws/*.rs, dashboard == metrics)
#
# Providers (hashicorp/aws), through a CLI config file of our own (the machine's
# TF_CLI_CONFIG_FILE may point at a missing file):
#   - from the filesystem mirror TF_PLUGIN_MIRROR (default /opt/tf-plugins) when it
#     holds registry.terraform.io/hashicorp/aws: nothing is downloaded;
#   - otherwise from registry.terraform.io (network access needed), cached in
#     .venv-infra/terraform-plugins so that each directory does not download it again.
# The script says which one it uses before the first init. The Datadog module and
# example need the Datadog provider, which the mirror does not hold: fmt, checkov and
# the pytest HCL checks cover them.
#
# Self-contained and idempotent: creates .venv-infra/ at the repository root with
# pinned tools on first use (about a minute), reuses it afterwards. Needs python3
# (3.11) with pip and terraform (>= 1.11) on PATH. Works from any directory.
#
# Two virtual environments, because checkov's HCL parser (bc-python-hcl2) and
# python-hcl2 both install the Python package `hcl2`:
#   .venv-infra/checkov  checkov
#   .venv-infra/tests    python-hcl2 + pytest
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
ROOT="$(pwd)"

CHECKOV_REQUIREMENTS="checkov==3.3.30"
TEST_REQUIREMENTS="python-hcl2==8.1.4 pytest==9.2.0"

VENV_ROOT="$ROOT/.venv-infra"
PYTHON="${PYTHON:-python3}"

say() { printf '\n==> %s\n' "$*"; }
die() { printf '\ncheck-infra: %s\n' "$*" >&2; exit 1; }

command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found: install Python 3.11 with pip and venv."
command -v terraform >/dev/null 2>&1 || die "terraform not found on PATH: install Terraform >= 1.11."
TF_VERSION="$(terraform version -json 2>/dev/null | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["terraform_version"])' 2>/dev/null || true)"
"$PYTHON" - "$TF_VERSION" <<'EOF_VERSION' || die "terraform ${TF_VERSION:-of unknown version} is on PATH: the tests of infra/ need Terraform >= 1.11 (the module uses write-only arguments)."
import re, sys
m = re.match(r"(\d+)\.(\d+)", sys.argv[1])
sys.exit(0 if m and (int(m.group(1)), int(m.group(2))) >= (1, 11) else 1)
EOF_VERSION

# ensure_venv DIR "REQUIREMENTS": (re)create DIR when missing or when the pinned
# requirements changed since it was made.
ensure_venv() {
    local dir="$1" requirements="$2" stamp="$1/.requirements"
    if [[ -x "$dir/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$requirements" ]]; then
        return 0
    fi
    say "Creating $dir ($requirements)"
    rm -rf "$dir"
    "$PYTHON" -m venv "$dir" || die "could not create a virtual environment in $dir (is python3-venv installed?)"
    # shellcheck disable=SC2086 # word splitting of the requirement list is intended
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check $requirements \
        || { rm -rf "$dir"; die "pip could not install: $requirements"; }
    printf '%s' "$requirements" >"$stamp"
}

mkdir -p "$VENV_ROOT"
ensure_venv "$VENV_ROOT/checkov" "$CHECKOV_REQUIREMENTS"
ensure_venv "$VENV_ROOT/tests" "$TEST_REQUIREMENTS"

TF_PLUGIN_MIRROR="${TF_PLUGIN_MIRROR:-/opt/tf-plugins}"

# Our own CLI config (the machine's TF_CLI_CONFIG_FILE may point at a missing file).
TF_CLI_CONFIG_FILE="$(mktemp "${TMPDIR:-/tmp}/check-infra-tfrc.XXXXXX")"
export TF_CLI_CONFIG_FILE
trap 'rm -f "$TF_CLI_CONFIG_FILE"' EXIT
PROVIDERS=mirror
if [[ -d "$TF_PLUGIN_MIRROR/registry.terraform.io/hashicorp/aws" ]]; then
    say "Terraform providers: the local mirror $TF_PLUGIN_MIRROR (hashicorp/*; nothing is downloaded)"
    cat >"$TF_CLI_CONFIG_FILE" <<EOF_TFRC
provider_installation {
  filesystem_mirror {
    path    = "$TF_PLUGIN_MIRROR"
    include = ["registry.terraform.io/hashicorp/*"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/*"]
  }
}
EOF_TFRC
else
    PROVIDERS=registry
    say "Terraform providers: no mirror at $TF_PLUGIN_MIRROR (no registry.terraform.io/hashicorp/aws in it), so terraform init downloads hashicorp/aws from registry.terraform.io: this needs network access. For offline runs, create a mirror with 'terraform providers mirror DIR' in infra/ and set TF_PLUGIN_MIRROR=DIR."
    mkdir -p "$VENV_ROOT/terraform-plugins"
    cat >"$TF_CLI_CONFIG_FILE" <<EOF_TFRC
plugin_cache_dir = "$VENV_ROOT/terraform-plugins"
provider_installation {
  direct {}
}
EOF_TFRC
fi
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1

failed=()

say "terraform fmt -check -recursive infra"
if terraform fmt -check -recursive -diff infra; then
    echo "fmt: clean"
else
    failed+=("terraform fmt (run: terraform fmt -recursive infra)")
fi

# init (creates .terraform/ and the lock file, both git-ignored) and validate.
for dir in infra infra/modules/member infra/modules/team-exceptions infra/examples/design-single-repo infra/examples/organization infra/examples/ecs-lifecycle-hook; do
    say "terraform -chdir=$dir init -backend=false && validate"
    if terraform -chdir="$dir" init -backend=false -input=false -no-color >"$VENV_ROOT/init.log" 2>&1; then
        if terraform -chdir="$dir" validate -no-color; then
            :
        else
            failed+=("terraform validate $dir")
        fi
    else
        cat "$VENV_ROOT/init.log" >&2
        [[ "$PROVIDERS" == mirror ]] \
            || echo "check-infra: terraform init could not install the provider from registry.terraform.io (above); without network access, use a mirror: TF_PLUGIN_MIRROR=DIR." >&2
        failed+=("terraform init $dir")
    fi
done

say "terraform -chdir=infra test (plans with mocked AWS: defaults, every option, exceptions and policy size, examples, modules/member, modules/team-exceptions)"
if terraform -chdir=infra test -no-color; then
    :
else
    failed+=("terraform test")
fi

say "checkov -d infra --skip-download --quiet --compact"
if "$VENV_ROOT/checkov/bin/checkov" -d infra --skip-download --quiet --compact; then
    echo "checkov: no failed check"
else
    failed+=("checkov")
fi

say "pytest tests/infra"
if "$VENV_ROOT/tests/bin/python" -m pytest -q -p no:cacheprovider tests/infra; then
    :
else
    failed+=("pytest tests/infra")
fi

if ((${#failed[@]})); then
    printf '\ncheck-infra: FAILED: %s\n' "$(IFS=,; echo "${failed[*]}" | sed 's/,/, /g')" >&2
    exit 1
fi
printf '\ncheck-infra: all infra checks passed\n'
