"""scripts/deploy.sh validates the policy with ecr-scan-gate-check before apply,
and applies nothing when it is invalid. No AWS: the script runs in a copy of the
repository's layout (scripts/deploy.sh, infra/) with wrappers on PATH that record
each call (arguments, the policy file the checker was given, the console's
expression and answer) to a JSON-lines log; what the tests assert is what deploy.sh
did with what it was given, never a wrapper's own output:

- `terraform console` is the real Terraform on a copy of infra/ (initialised once,
  offline with the provider mirror of scripts/check-infra.sh): the policy and the
  architecture come from the real inputs (the default, a -var-file, -var), and the
  policy an apply would deploy is evaluated by Terraform from the apply's own
  arguments. `init` and `apply` are recorded only.
- the checker is the real ecr-scan-gate-check (target/debug, built by `make demo` and
  `cargo test` before `make check-infra` runs in CI): its verdict comes from the policy
  text deploy.sh hands it. The wrapper records which copy deploy.sh ran (the verified
  release binary, the one on PATH, a local build, ...) and the file it was given.

The path without Rust (RELEASE_URL) is run against a release directory on disk
(file:// URLs, through the real curl and sha256sum): the script downloads the
release's check and zip, refuses a file whose checksum is not SHA256SUMS's before
it runs or deploys it, and deploys only when the release's check says valid."""

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from hcl_helpers import INFRA_DIR, REPO_ROOT, load_module

PYTHON = sys.executable
REAL_TERRAFORM = shutil.which("terraform")
REAL_CHECK = REPO_ROOT / "target" / "debug" / "ecr-scan-gate-check"
TF_PLUGIN_MIRROR = Path(os.environ.get("TF_PLUGIN_MIRROR", "/opt/tf-plugins"))

_LOG = """
import json, os, sys
def log(entry):
    with open(os.environ["FAKE_LOG"], "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\\n")
"""

# terraform: every call is recorded; `console` is answered by the real Terraform (on the
# copy of infra/, initialised by the fixture), with the expression and the answer recorded.
FAKE_TERRAFORM = f"""#!{PYTHON}
import subprocess
{_LOG}
args = sys.argv[1:]
if "console" in args:
    expr = sys.stdin.read()
    run = subprocess.run([os.environ["TEST_REAL_TERRAFORM"], *args], input=expr, capture_output=True, text=True)
    log({{"prog": "terraform", "argv": args, "stdin": expr, "stdout": run.stdout, "rc": run.returncode}})
    sys.stdout.write(run.stdout)
    sys.stderr.write(run.stderr)
    sys.exit(run.returncode)
log({{"prog": "terraform", "argv": args}})
"""

# The checker: records where it was run from, its arguments and the policy file it was given,
# then is the real ecr-scan-gate-check with those arguments.
_CHECKER_LOG = f"""#!{PYTHON}
{_LOG}
args = sys.argv[1:]
entry = {{"prog": "checker", "path": os.path.abspath(sys.argv[0]), "argv": args}}
if args and os.path.isfile(args[-1]):
    with open(args[-1], encoding="utf-8") as handle:
        entry["policy"] = handle.read()
log(entry)
"""
CHECKER = _CHECKER_LOG + 'os.execv(os.environ["TEST_REAL_CHECK"], [os.environ["TEST_REAL_CHECK"], *args])\n'


def broken_checker(status: int) -> str:
    """A checker that cannot check (crashes, a missing library, ...): exits `status`."""
    return _CHECKER_LOG + f"sys.exit({status})\n"


# cargo (the local build of the checker): records the call and builds the checker into
# target/release as `cargo build --release --bin ecr-scan-gate-check` does.
FAKE_CARGO = f"""#!{PYTHON}
{_LOG}
log({{"prog": "cargo", "argv": sys.argv[1:]}})
if sys.argv[1:] == ["build", "--release", "--bin", "ecr-scan-gate-check"]:
    out = os.path.join(os.getcwd(), "target", "release", "ecr-scan-gate-check")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8") as handle:
        handle.write(os.environ["TEST_CHECKER_TEXT"])
    os.chmod(out, 0o755)
"""

HOST_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower())
CHECK_ASSET = f"ecr-scan-gate-check-linux-{HOST_ARCH}"
ZIP_ASSET = "ecr-scan-gate-lambda-arm64.zip"
X86_ZIP_ASSET = "ecr-scan-gate-lambda-x86_64.zip"

VALID = '{"fail": {"CRITICAL": 1}, "warn": {"HIGH": 2}}'
INVALID_SEVERITY = '{"fail": {"BOGUS": 1}}'
INVALID_KEY = '{"fial": {"CRITICAL": 1}}'


def _write_exe(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)


# --- Fixtures: the real checker, an initialised copy of infra/ -----------------------------


@pytest.fixture(scope="session")
def real_check() -> Path:
    """target/debug/ecr-scan-gate-check. In CI `make demo` and `cargo test` build it before
    these tests run; elsewhere it is built here when cargo is there. Never skipped."""
    if not os.access(REAL_CHECK, os.X_OK):
        if shutil.which("cargo") is None:
            pytest.fail(f"{REAL_CHECK} is missing and cargo is not on PATH: run `cargo build --bin ecr-scan-gate-check` "
                        "(`make test` builds it before these tests).")
        subprocess.run(["cargo", "build", "--quiet", "--bin", "ecr-scan-gate-check"], cwd=REPO_ROOT, check=True)
    return REAL_CHECK


@pytest.fixture(scope="session")
def tf_env(tmp_path_factory) -> dict:
    """Terraform's settings: the CLI config of scripts/check-infra.sh when it runs these tests,
    else one of our own with the provider mirror when there is one (else the registry)."""
    if REAL_TERRAFORM is None:
        pytest.fail("terraform is not on PATH: these tests evaluate the Terraform inputs with it.")
    env = {"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
    config = os.environ.get("TF_CLI_CONFIG_FILE", "")
    if not (config and Path(config).is_file()):
        config = str(tmp_path_factory.mktemp("tfrc") / "terraform.rc")
        if (TF_PLUGIN_MIRROR / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
            Path(config).write_text(
                'provider_installation {\n'
                f'  filesystem_mirror {{\n    path    = "{TF_PLUGIN_MIRROR}"\n'
                '    include = ["registry.terraform.io/hashicorp/*"]\n  }\n'
                '  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }\n}\n', encoding="utf-8")
        else:
            Path(config).write_text("", encoding="utf-8")
    env["TF_CLI_CONFIG_FILE"] = config
    return env


@pytest.fixture(scope="session")
def initialised_infra(tmp_path_factory, tf_env) -> Path:
    """A copy of infra/ (no inputs of this machine: no terraform.tfvars, *.auto.tfvars, state)
    after `terraform init -backend=false`, which `terraform console` needs."""
    infra = tmp_path_factory.mktemp("infra") / "infra"
    shutil.copytree(INFRA_DIR, infra, ignore=shutil.ignore_patterns(
        ".terraform", ".terraform.lock.hcl", "terraform.tfvars", "*.auto.tfvars", "*.auto.tfvars.json",
        "*.tfstate", "*.tfstate.*", "examples", "tests"))
    init = subprocess.run([REAL_TERRAFORM, "init", "-backend=false", "-input=false", "-no-color"], cwd=infra,
                          env={**os.environ, **tf_env}, capture_output=True, text=True, timeout=600, check=False)
    if init.returncode != 0:
        pytest.fail(f"terraform init of a copy of infra/ failed:\n{init.stdout}\n{init.stderr}")
    return infra


@pytest.fixture()
def repo(tmp_path, initialised_infra, real_check, tf_env):
    """A copy of the repository's layout that deploy.sh needs: scripts/deploy.sh, infra/."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO_ROOT / "scripts" / "deploy.sh", tmp_path / "scripts" / "deploy.sh")
    shutil.copytree(initialised_infra, tmp_path / "infra", symlinks=True)
    _write_exe(tmp_path / "fakebin" / "terraform", FAKE_TERRAFORM)
    with zipfile.ZipFile(tmp_path / ZIP_ASSET, "w") as archive:
        archive.writestr("bootstrap", "placeholder")
    return tmp_path


def _env(repo: Path, tf_env: dict, **extra) -> dict:
    # No cargo on this PATH unless a test puts one in fakebin: the fakes, python3, the system tools.
    path = os.pathsep.join([str(repo / "fakebin"), str(Path(PYTHON).parent), "/usr/bin", "/bin"])
    env = {
        "PATH": path,
        "HOME": str(repo),
        "FAKE_LOG": str(repo / "calls.log"),
        "TEST_REAL_TERRAFORM": REAL_TERRAFORM,
        "TEST_REAL_CHECK": str(REAL_CHECK),
        "TEST_CHECKER_TEXT": CHECKER,
        "LAMBDA_ZIP": str(repo / ZIP_ASSET),
        "AWS_REGION": "ap-northeast-1",
        **tf_env,
    }
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}  # None: leave the variable unset


def _run(repo: Path, tf_env: dict, env_extra: dict, *args: str, checker_on_path: bool = True):
    if checker_on_path:
        _write_exe(repo / "fakebin" / "ecr-scan-gate-check", CHECKER)
    result = subprocess.run(
        ["bash", str(repo / "scripts" / "deploy.sh"), *args],
        env=_env(repo, tf_env, **env_extra), capture_output=True, text=True, timeout=120, check=False,
    )
    log_file = repo / "calls.log"
    calls = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()] if log_file.exists() else []
    return result, calls


# --- What the log says deploy.sh did ---------------------------------------------------------


def _checks(calls: list) -> list:
    return [c for c in calls if c["prog"] == "checker"]


def _the_check(calls: list) -> dict:
    (check,) = _checks(calls)
    assert check["argv"][:2] == ["policy", "validate"] and len(check["argv"]) == 3, check["argv"]
    return check


def _applies(calls: list) -> list:
    return [c for c in calls if c["prog"] == "terraform" and "apply" in c["argv"]]


def _the_apply(calls: list) -> list:
    (apply,) = _applies(calls)
    assert apply["argv"][:2] == ["-chdir=infra", "apply"], apply["argv"]
    return apply["argv"]


def _consoles(calls: list, expression: str) -> list:
    return [c for c in calls if c["prog"] == "terraform" and "console" in c["argv"] and c["stdin"].strip() == expression]


def _var(argv: list, name: str) -> list:
    """The values of `-var name=...` (either form) in argv, in order."""
    values = []
    for i, arg in enumerate(argv):
        text = argv[i + 1] if arg == "-var" and i + 1 < len(argv) else arg[5:] if arg.startswith("-var=") else None
        if text is not None and text.startswith(f"{name}="):
            values.append(text[len(name) + 1:])
    return values


def _var_args(argv: list) -> list:
    out, i = [], 0
    while i < len(argv):
        if argv[i] in ("-var", "-var-file"):
            out += argv[i:i + 2]
            i += 2
            continue
        if argv[i].startswith(("-var=", "-var-file=")):
            out.append(argv[i])
        i += 1
    return out


def _console_value(stdout: str) -> str:
    """The string value `terraform console` printed (its last line; warnings come before)."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    return json.loads(lines[-1])


def _policy_apply_deploys(repo: Path, tf_env: dict, apply_argv: list) -> dict:
    """local.gate_policy_json as Terraform evaluates it with the apply's -var/-var-file
    arguments (in their order): the policy that apply stores."""
    run = subprocess.run([REAL_TERRAFORM, "-chdir=infra", "console", *_var_args(apply_argv)],
                         input="local.gate_policy_json\n", cwd=repo, env=_env(repo, tf_env),
                         capture_output=True, text=True, timeout=120, check=True)
    return json.loads(_console_value(run.stdout))


def _default_policy() -> dict:
    return load_module()["variable"]["gate_policy"]["default"]


# --- The policy of GATE_POLICY_FILE -----------------------------------------------------------


def test_policy_file_is_the_policy_checked_and_deployed(repo, tf_env):
    policy = repo / "policy.json"
    policy.write_text(VALID, encoding="utf-8")
    result, calls = _run(repo, tf_env, {"GATE_POLICY_FILE": str(policy)}, "-auto-approve")
    assert result.returncode == 0, result.stderr
    check = _the_check(calls)
    assert check["path"] == str(repo / "fakebin" / "ecr-scan-gate-check")
    assert check["policy"] == VALID
    apply = _the_apply(calls)
    assert calls.index(check) < calls.index(_applies(calls)[0])
    assert _var(apply, "gate_policy_json") == [VALID]
    assert _var(apply, "lambda_zip_path") == [str(repo / ZIP_ASSET)]
    assert "-auto-approve" in apply
    assert _policy_apply_deploys(repo, tf_env, apply) == json.loads(VALID)


@pytest.mark.parametrize("text", [INVALID_SEVERITY, INVALID_KEY], ids=["severity", "key"])
def test_invalid_policy_file_stops_before_apply(repo, tf_env, text):
    policy = repo / "policy.json"
    policy.write_text(text, encoding="utf-8")
    result, calls = _run(repo, tf_env, {"GATE_POLICY_FILE": str(policy)}, "-auto-approve")
    assert result.returncode == 1
    assert _the_check(calls)["policy"] == text
    assert "deploy: the policy is invalid" in result.stderr and "nothing was applied" in result.stderr
    # The check's own message, naming the field, reaches the user.
    assert ("fail.BOGUS" if "BOGUS" in text else "`fial`") in result.stderr
    assert _applies(calls) == []


def test_policy_file_wins_over_the_policy_of_a_var_file(repo, tf_env):
    """The validated file is the deployed policy even when a -var-file sets gate_policy_json
    (Terraform: the later -var/-var-file wins)."""
    (repo / "infra" / "prod.tfvars").write_text(f"gate_policy_json = {json.dumps(INVALID_KEY)}\n", encoding="utf-8")
    policy = repo / "policy.json"
    policy.write_text(VALID, encoding="utf-8")
    result, calls = _run(repo, tf_env, {"GATE_POLICY_FILE": str(policy)}, "-auto-approve", "-var-file=prod.tfvars")
    assert result.returncode == 0, result.stderr
    assert _the_check(calls)["policy"] == VALID
    assert _policy_apply_deploys(repo, tf_env, _the_apply(calls)) == json.loads(VALID)


# --- The policy of the Terraform inputs -------------------------------------------------------


TFVARS_VALID = 'gate_policy = { fail = { CRITICAL = 2 }, warn = { MEDIUM = 3 } }\n'
TFVARS_VALID_POLICY = {"fail": {"CRITICAL": 2}, "warn": {"MEDIUM": 3}}


@pytest.mark.parametrize("args", [["-var-file=prod.tfvars"], ["-var-file", "prod.tfvars"]], ids=["=", "space"])
def test_policy_of_a_var_file_is_checked_and_deployed(repo, tf_env, args):
    (repo / "infra" / "prod.tfvars").write_text(TFVARS_VALID, encoding="utf-8")
    result, calls = _run(repo, tf_env, {}, "-auto-approve", *args)
    assert result.returncode == 0, result.stderr
    (console,) = _consoles(calls, "local.gate_policy_json")
    assert console["argv"] == ["-chdir=infra", "console", *args]
    checked = json.loads(_the_check(calls)["policy"])
    assert checked == json.loads(_console_value(console["stdout"]))
    assert checked == TFVARS_VALID_POLICY
    apply = _the_apply(calls)
    assert _var(apply, "gate_policy_json") == [] and apply[-len(args):] == args
    assert _policy_apply_deploys(repo, tf_env, apply) == checked


def test_invalid_policy_of_a_var_file_stops_before_apply(repo, tf_env):
    (repo / "infra" / "prod.tfvars").write_text('gate_policy = { fail = { BOGUS = 1 } }\n', encoding="utf-8")
    result, calls = _run(repo, tf_env, {}, "-var-file=prod.tfvars")
    assert result.returncode == 1
    (console,) = _consoles(calls, "local.gate_policy_json")
    assert console["argv"] == ["-chdir=infra", "console", "-var-file=prod.tfvars"]
    assert json.loads(_the_check(calls)["policy"]) == {"fail": {"BOGUS": 1}}
    assert "fail.BOGUS" in result.stderr and "deploy: the policy is invalid" in result.stderr
    assert _applies(calls) == []


def test_policy_of_a_var_argument_is_checked(repo, tf_env):
    result, calls = _run(repo, tf_env, {}, "-var", f"gate_policy_json={INVALID_KEY}", "-auto-approve")
    assert result.returncode == 1
    (console,) = _consoles(calls, "local.gate_policy_json")
    assert console["argv"] == ["-chdir=infra", "console", "-var", f"gate_policy_json={INVALID_KEY}"]
    assert json.loads(_the_check(calls)["policy"]) == json.loads(INVALID_KEY)
    assert _applies(calls) == []


def test_warnings_of_terraform_console_do_not_hide_the_policy(repo, tf_env):
    """A var-file shared with other stacks (a variable infra/ does not declare): terraform
    console prints a warning on stdout before the value."""
    (repo / "infra" / "prod.tfvars").write_text(TFVARS_VALID + 'owner_team = "payments"\n', encoding="utf-8")
    result, calls = _run(repo, tf_env, {}, "-auto-approve", "-var-file=prod.tfvars")
    assert result.returncode == 0, result.stderr
    assert "Warning" in _consoles(calls, "local.gate_policy_json")[0]["stdout"]
    assert json.loads(_the_check(calls)["policy"]) == TFVARS_VALID_POLICY
    assert _policy_apply_deploys(repo, tf_env, _the_apply(calls)) == TFVARS_VALID_POLICY


def test_default_policy_is_checked_and_deployed(repo, tf_env):
    result, calls = _run(repo, tf_env, {}, "-auto-approve")
    assert result.returncode == 0, result.stderr
    (console,) = _consoles(calls, "local.gate_policy_json")
    assert console["argv"] == ["-chdir=infra", "console"]
    checked = json.loads(_the_check(calls)["policy"])
    assert checked == _default_policy() == json.loads(_console_value(console["stdout"]))
    apply = _the_apply(calls)
    assert _var(apply, "lambda_zip_path") == [str(repo / ZIP_ASSET)]
    assert _policy_apply_deploys(repo, tf_env, apply) == checked


# --- Which checker ----------------------------------------------------------------------------


def test_without_checker_rust_or_release_binary_it_stops(repo, tf_env):
    result, calls = _run(repo, tf_env, {}, checker_on_path=False)
    assert result.returncode == 1
    assert "no ecr-scan-gate-check" in result.stderr and "dist/ecr-scan-gate-check" in result.stderr
    assert "RELEASE_URL" in result.stderr
    assert _checks(calls) == [] and _applies(calls) == []


needs_release_arch = pytest.mark.skipif(
    platform.system() != "Linux" or HOST_ARCH is None, reason="the check is released for Linux x86_64 and arm64")

# In the order deploy.sh prefers them.
SOURCES = ["ECR_SCAN_GATE_CHECK", "release", "PATH", "target/release", "cargo", "dist"]


@pytest.mark.parametrize("source", [pytest.param(s, marks=needs_release_arch) if s == "release" else s for s in SOURCES])
def test_the_checker_deploy_sh_prefers_is_the_one_run(repo, tf_env, source):
    """Checkers at `source` and at every source deploy.sh prefers less: the one at `source` runs."""
    env = {}
    installed = SOURCES[SOURCES.index(source):]
    expected = {
        "ECR_SCAN_GATE_CHECK": repo / "elsewhere" / "check",
        "release": repo / "dist" / CHECK_ASSET,
        "PATH": repo / "fakebin" / "ecr-scan-gate-check",
        "target/release": repo / "target" / "release" / "ecr-scan-gate-check",
        "cargo": repo / "target" / "release" / "ecr-scan-gate-check",
        "dist": repo / "dist" / "ecr-scan-gate-check",
    }[source]
    if "ECR_SCAN_GATE_CHECK" in installed:
        _write_exe(repo / "elsewhere" / "check", CHECKER)
        env["ECR_SCAN_GATE_CHECK"] = str(repo / "elsewhere" / "check")
    if "release" in installed:
        env["RELEASE_URL"], _ = _release(repo)
    if "target/release" in installed:
        _write_exe(repo / "target" / "release" / "ecr-scan-gate-check", CHECKER)
    if "cargo" in installed:
        (repo / "Cargo.toml").write_text('[package]\nname = "ecr-scan-gate"\nversion = "0.0.0"\n', encoding="utf-8")
        _write_exe(repo / "fakebin" / "cargo", FAKE_CARGO)
    _write_exe(repo / "dist" / "ecr-scan-gate-check", CHECKER)
    result, calls = _run(repo, tf_env, env, "-auto-approve", checker_on_path="PATH" in installed)
    assert result.returncode == 0, result.stderr
    assert _the_check(calls)["path"] == str(expected)
    built = [c["argv"] for c in calls if c["prog"] == "cargo"]
    assert built == ([["build", "--release", "--bin", "ecr-scan-gate-check"]] if source == "cargo" else [])
    assert _applies(calls)


# --- Without Rust: the release's check and zip (RELEASE_URL) -------------------------------


def _release(repo: Path, tamper: str = "", omit: str = "", checker: str = CHECKER) -> tuple:
    """A release directory as the GitHub release publishes it: the check for this machine
    (the recording wrapper of the real check), the arm64 and x86_64 zips and SHA256SUMS.
    `tamper`: a file changed after its checksum was taken; `omit`: a file SHA256SUMS does not
    list. Returns (URL, files)."""
    release = repo / "release" / "v0.1.0"
    release.mkdir(parents=True)
    zip_bytes = (repo / ZIP_ASSET).read_bytes()
    files = {CHECK_ASSET: checker.encode(), ZIP_ASSET: zip_bytes, X86_ZIP_ASSET: zip_bytes + b"x86_64"}
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in files.items() if name != omit)
    (release / "SHA256SUMS").write_text(sums, encoding="utf-8")
    for name, data in files.items():
        (release / name).write_bytes(data + (b"\n# changed after the release\n" if name == tamper else b""))
    return release.as_uri(), files


def _run_release(repo: Path, tf_env: dict, url: str, policy_text: str, *args: str, **env):
    policy = repo / "policy.json"
    policy.write_text(policy_text, encoding="utf-8")
    # A checker on PATH that deploy.sh must not prefer to the release's; no cargo, no zip given.
    return _run(repo, tf_env, {"RELEASE_URL": url, "LAMBDA_ZIP": None, "GATE_POLICY_FILE": str(policy), **env},
                "-auto-approve", *args)


@needs_release_arch
def test_release_path_valid_policy_deploys_the_verified_release_zip(repo, tf_env):
    url, files = _release(repo)
    result, calls = _run_release(repo, tf_env, url, VALID)
    assert result.returncode == 0, result.stderr
    # The release's check, verified and kept in dist/, validated the policy file, before apply.
    check = _the_check(calls)
    assert check["path"] == str(repo / "dist" / CHECK_ASSET) and check["policy"] == VALID
    assert (repo / "dist" / CHECK_ASSET).read_bytes() == files[CHECK_ASSET]
    apply = _the_apply(calls)
    assert calls.index(check) < calls.index(_applies(calls)[0])
    deployed = repo / "dist" / ZIP_ASSET
    assert _var(apply, "lambda_zip_path") == [str(deployed)]
    assert deployed.read_bytes() == files[ZIP_ASSET]
    assert _policy_apply_deploys(repo, tf_env, apply) == json.loads(VALID)
    # No input says otherwise: Terraform's default architecture, asked with the apply's inputs.
    (arch,) = _consoles(calls, "var.architecture")
    assert arch["argv"] == ["-chdir=infra", "console"]


@needs_release_arch
@pytest.mark.parametrize("how", ["terraform", "terraform-warning", "LAMBDA_ARCH"])
def test_release_path_deploys_the_zip_of_the_functions_architecture(repo, tf_env, how):
    """The architecture of the Terraform inputs (also when terraform console prints a warning
    for a variable infra/ does not declare), or LAMBDA_ARCH."""
    url, files = _release(repo)
    extra = 'owner_team = "payments"\n' if how == "terraform-warning" else ""
    (repo / "infra" / "prod.tfvars").write_text('architecture = "x86_64"\n' + extra, encoding="utf-8")
    if how.startswith("terraform"):
        result, calls = _run_release(repo, tf_env, url, VALID, "-var-file=prod.tfvars")
    else:
        result, calls = _run_release(repo, tf_env, url, VALID, LAMBDA_ARCH="x86_64")
    assert result.returncode == 0, result.stderr
    consoles = _consoles(calls, "var.architecture")
    if how.startswith("terraform"):
        assert [c["argv"] for c in consoles] == [["-chdir=infra", "console", "-var-file=prod.tfvars"]]
    else:
        assert consoles == []
    deployed = repo / "dist" / X86_ZIP_ASSET
    assert _var(_the_apply(calls), "lambda_zip_path") == [str(deployed)]
    assert deployed.read_bytes() == files[X86_ZIP_ASSET]
    assert not (repo / "dist" / ZIP_ASSET).exists()


@needs_release_arch
@pytest.mark.parametrize("text", [INVALID_SEVERITY, INVALID_KEY], ids=["severity", "key"])
def test_release_path_invalid_policy_stops_the_deploy(repo, tf_env, text):
    url, _ = _release(repo)
    result, calls = _run_release(repo, tf_env, url, text)
    assert result.returncode == 1
    check = _the_check(calls)
    assert check["path"] == str(repo / "dist" / CHECK_ASSET) and check["policy"] == text
    assert "deploy: the policy is invalid" in result.stderr and "nothing was applied" in result.stderr
    assert _applies(calls) == []
    assert not (repo / "dist" / ZIP_ASSET).exists(), "nothing to deploy is downloaded for an invalid policy"


@needs_release_arch
@pytest.mark.parametrize("status", [2, 127])
def test_release_path_policy_that_cannot_be_checked_stops_the_deploy(repo, tf_env, status):
    url, _ = _release(repo, checker=broken_checker(status))
    result, calls = _run_release(repo, tf_env, url, VALID)
    assert result.returncode == 1
    assert _the_check(calls)["path"] == str(repo / "dist" / CHECK_ASSET)
    assert "deploy: the policy could not be checked" in result.stderr and f"exited {status}" in result.stderr
    assert _applies(calls) == []
    assert not (repo / "dist" / ZIP_ASSET).exists()


@needs_release_arch
@pytest.mark.parametrize("asset", [CHECK_ASSET, ZIP_ASSET])
def test_release_file_with_a_wrong_checksum_is_refused_before_use(repo, tf_env, asset):
    url, _ = _release(repo, tamper=asset)
    result, calls = _run_release(repo, tf_env, url, VALID)
    assert result.returncode == 1
    assert f"checksum mismatch for {asset}" in result.stderr
    assert not (repo / "dist" / asset).exists()
    if asset == CHECK_ASSET:
        assert _checks(calls) == []  # no checker ran: not the tampered one, not the one on PATH
    assert _applies(calls) == []


@needs_release_arch
def test_release_file_missing_from_sha256sums_is_refused(repo, tf_env):
    url, _ = _release(repo, omit=CHECK_ASSET)
    result, calls = _run_release(repo, tf_env, url, VALID)
    assert result.returncode == 1
    assert f"SHA256SUMS has no single entry for {CHECK_ASSET}" in result.stderr
    assert _checks(calls) == [] and _applies(calls) == []


def test_release_that_cannot_be_downloaded_stops_before_terraform(repo, tf_env):
    result, calls = _run_release(repo, tf_env, (repo / "no-such-release").as_uri(), VALID)
    assert result.returncode == 1
    assert "could not download" in result.stderr and "SHA256SUMS" in result.stderr
    assert calls == []  # not even terraform init
