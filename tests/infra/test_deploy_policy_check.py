"""scripts/deploy.sh validates the policy with ecr-scan-gate-check before apply,
and applies nothing when it is invalid. terraform and the checker are fakes on
PATH that record their calls; no AWS, no Rust.

The path without Rust (RELEASE_URL) is run against a release directory on disk
(file:// URLs, through the real curl and sha256sum): the script downloads the
release's check and zip, refuses a file whose checksum is not SHA256SUMS's before
it runs or deploys it, and deploys only when the release's check says valid."""

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from hcl_helpers import REPO_ROOT

# `terraform console` answers var.architecture with FAKE_ARCH (like the infra's input), any
# other expression (the policy) with FAKE_CONSOLE_OUTPUT.
FAKE_TERRAFORM = """#!/usr/bin/env bash
printf '%s\\n' "$*" >>"$FAKE_LOG"
for a in "$@"; do
    if [[ "$a" == console ]]; then
        expr="$(cat)"
        if [[ "$expr" == var.architecture ]]; then printf '"%s"\\n' "${FAKE_ARCH:-arm64}"; exit 0; fi
        printf '%s\\n' "$FAKE_CONSOLE_OUTPUT"; exit 0
    fi
done
exit 0
"""

# Valid unless the policy mentions "bogus" (exit 1, invalid) or "unreadable" (exit 2, as the real
# check when it cannot read the file); prints a message naming the field.
FAKE_CHECKER = """#!/usr/bin/env bash
printf 'checker %s\\n' "$*" >>"$FAKE_LOG"
cp "$3" "$FAKE_CHECKED_COPY"
if grep -qi bogus "$3"; then echo "policy: fail.BOGUS: unknown severity" >&2; exit 1; fi
if grep -qi unreadable "$3"; then echo "policy: cannot read" >&2; exit 2; fi
echo "policy: valid"
"""

HOST_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower())
CHECK_ASSET = f"ecr-scan-gate-check-linux-{HOST_ARCH}"
ZIP_ASSET = "ecr-scan-gate-lambda-arm64.zip"


def _write_exe(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)


@pytest.fixture()
def repo(tmp_path):
    """A copy of the repository's layout that deploy.sh needs: scripts/deploy.sh, infra/."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO_ROOT / "scripts" / "deploy.sh", tmp_path / "scripts" / "deploy.sh")
    (tmp_path / "infra").mkdir()
    fakebin = tmp_path / "fakebin"
    fakebin.mkdir()
    _write_exe(fakebin / "terraform", FAKE_TERRAFORM)
    zip_path = tmp_path / "ecr-scan-gate-lambda-arm64.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("bootstrap", "placeholder")
    return tmp_path


def _run(repo: Path, env_extra: dict, *args: str, checker: bool = True):
    fakebin = repo / "fakebin"
    if checker:
        _write_exe(fakebin / "ecr-scan-gate-check", FAKE_CHECKER)
    # No cargo on this PATH: only the fakes, python3 and the system tools.
    path = os.pathsep.join([str(fakebin), str(Path(sys.executable).parent), "/usr/bin", "/bin"])
    env = {
        "PATH": path,
        "HOME": str(repo),
        "FAKE_LOG": str(repo / "calls.log"),
        "FAKE_CHECKED_COPY": str(repo / "checked.json"),
        "FAKE_CONSOLE_OUTPUT": '"{\\"fail\\":{\\"CRITICAL\\":1}}"',
        "LAMBDA_ZIP": str(repo / "ecr-scan-gate-lambda-arm64.zip"),
        "AWS_REGION": "ap-northeast-1",
    }
    env.update(env_extra)
    env = {k: v for k, v in env.items() if v is not None}  # None: leave the variable unset
    result = subprocess.run(
        ["bash", str(repo / "scripts" / "deploy.sh"), *args],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    log = (repo / "calls.log").read_text(encoding="utf-8") if (repo / "calls.log").exists() else ""
    return result, log


def _applied(log: str) -> bool:
    return any(" apply " in f" {line} " for line in log.splitlines())


def test_valid_policy_file_is_checked_then_deployed(repo):
    policy = repo / "policy.json"
    policy.write_text('{"fail": {"CRITICAL": 1}}', encoding="utf-8")
    result, log = _run(repo, {"GATE_POLICY_FILE": str(policy)}, "-auto-approve")
    assert result.returncode == 0, result.stderr
    assert "checker policy validate " in log
    apply = [line for line in log.splitlines() if " apply " in f" {line} "]
    assert len(apply) == 1
    assert 'gate_policy_json={"fail": {"CRITICAL": 1}}' in apply[0]
    assert "lambda_zip_path=" in apply[0] and apply[0].endswith("-auto-approve")
    assert log.index("checker") < log.index(apply[0])


def test_invalid_policy_stops_before_apply(repo):
    policy = repo / "policy.json"
    policy.write_text('{"fail": {"BOGUS": 1}}', encoding="utf-8")
    result, log = _run(repo, {"GATE_POLICY_FILE": str(policy)})
    assert result.returncode != 0
    assert "fail.BOGUS" in result.stderr
    assert "policy is invalid" in result.stderr
    assert not _applied(log)


def test_policy_of_the_terraform_inputs_is_checked(repo):
    result, log = _run(repo, {"FAKE_CONSOLE_OUTPUT": '"{\\"fail\\":{\\"BOGUS\\":1}}"'}, "-var-file=prod.tfvars")
    assert result.returncode != 0
    assert "console -var-file=prod.tfvars" in log
    assert (repo / "checked.json").read_text(encoding="utf-8") == '{"fail":{"BOGUS":1}}'
    assert not _applied(log)


def test_default_policy_passes(repo):
    result, log = _run(repo, {})
    assert result.returncode == 0, result.stderr
    assert (repo / "checked.json").read_text(encoding="utf-8") == '{"fail":{"CRITICAL":1}}'
    assert _applied(log)


def test_without_checker_rust_or_release_binary_it_stops(repo):
    result, log = _run(repo, {}, checker=False)
    assert result.returncode != 0
    assert "no ecr-scan-gate-check" in result.stderr and "dist/ecr-scan-gate-check" in result.stderr
    assert not _applied(log)


def test_downloaded_release_binary_is_used(repo):
    (repo / "dist").mkdir()
    _write_exe(repo / "dist" / "ecr-scan-gate-check", FAKE_CHECKER)
    result, log = _run(repo, {}, checker=False)
    assert result.returncode == 0, result.stderr
    assert "checker policy validate" in log and _applied(log)


# --- Without Rust: the release's check and zip (RELEASE_URL) -------------------------------


def _release(repo: Path, tamper: str = "", omit: str = "") -> tuple:
    """A release directory as the GitHub release publishes it: the check for this machine
    (the fake checker), the arm64 zip and SHA256SUMS. `tamper`: a file changed after its
    checksum was taken; `omit`: a file SHA256SUMS does not list. Returns (URL, files)."""
    release = repo / "release" / "v0.1.0"
    release.mkdir(parents=True)
    zip_bytes = (repo / ZIP_ASSET).read_bytes()
    files = {CHECK_ASSET: FAKE_CHECKER.encode(), ZIP_ASSET: zip_bytes,
             "ecr-scan-gate-lambda-x86_64.zip": zip_bytes + b"x86_64"}
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in files.items() if name != omit)
    (release / "SHA256SUMS").write_text(sums, encoding="utf-8")
    for name, data in files.items():
        (release / name).write_bytes(data + (b"\n# changed after the release\n" if name == tamper else b""))
    return release.as_uri(), files


def _run_release(repo: Path, url: str, policy_text: str, **env):
    policy = repo / "policy.json"
    policy.write_text(policy_text, encoding="utf-8")
    # No checker on PATH, no cargo, no zip given: only what the release provides.
    return _run(repo, {"RELEASE_URL": url, "LAMBDA_ZIP": None, "GATE_POLICY_FILE": str(policy), **env},
                "-auto-approve", checker=False)


def _apply_line(log: str) -> str:
    (line,) = [line for line in log.splitlines() if " apply " in f" {line} "]
    return line


needs_release_arch = pytest.mark.skipif(
    platform.system() != "Linux" or HOST_ARCH is None, reason="the check is released for Linux x86_64 and arm64")


@needs_release_arch
def test_release_path_valid_policy_deploys_the_verified_release_zip(repo):
    url, files = _release(repo)
    result, log = _run_release(repo, url, '{"fail": {"CRITICAL": 1}}')
    assert result.returncode == 0, result.stderr
    apply = _apply_line(log)
    deployed = repo / "dist" / ZIP_ASSET
    assert f"lambda_zip_path={deployed} " in apply + " "
    assert deployed.read_bytes() == files[ZIP_ASSET]
    # The release's check, verified and kept, is what validated the policy, before apply.
    assert (repo / "dist" / CHECK_ASSET).read_bytes() == files[CHECK_ASSET]
    assert os.access(repo / "dist" / CHECK_ASSET, os.X_OK)
    assert f"{CHECK_ASSET} verified against SHA256SUMS" in result.stderr
    assert log.index("checker policy validate") < log.index(apply)


@needs_release_arch
@pytest.mark.parametrize("how", ["terraform", "LAMBDA_ARCH"])
def test_release_path_deploys_the_zip_of_the_functions_architecture(repo, how):
    url, files = _release(repo)
    env = {"FAKE_ARCH": "x86_64"} if how == "terraform" else {"LAMBDA_ARCH": "x86_64"}
    result, log = _run_release(repo, url, '{"fail": {"CRITICAL": 1}}', **env)
    assert result.returncode == 0, result.stderr
    deployed = repo / "dist" / "ecr-scan-gate-lambda-x86_64.zip"
    assert f"lambda_zip_path={deployed} " in _apply_line(log) + " "
    assert deployed.read_bytes() == files["ecr-scan-gate-lambda-x86_64.zip"]
    assert not (repo / "dist" / ZIP_ASSET).exists()


@needs_release_arch
def test_release_path_invalid_policy_stops_the_deploy(repo):
    url, _ = _release(repo)
    result, log = _run_release(repo, url, '{"fail": {"BOGUS": 1}}')
    assert result.returncode == 1
    assert "deploy: the policy is invalid" in result.stderr and "nothing was applied" in result.stderr
    assert not _applied(log)
    assert not (repo / "dist" / ZIP_ASSET).exists(), "nothing to deploy is downloaded for an invalid policy"


@needs_release_arch
def test_release_path_policy_that_cannot_be_checked_stops_the_deploy(repo):
    url, _ = _release(repo)
    result, log = _run_release(repo, url, '{"unreadable": true}')
    assert result.returncode == 1
    assert "deploy: the policy could not be checked" in result.stderr and "exited 2" in result.stderr
    assert not _applied(log)


@needs_release_arch
@pytest.mark.parametrize("asset", [CHECK_ASSET, ZIP_ASSET])
def test_release_file_with_a_wrong_checksum_is_refused_before_use(repo, asset):
    url, _ = _release(repo, tamper=asset)
    result, log = _run_release(repo, url, '{"fail": {"CRITICAL": 1}}')
    assert result.returncode == 1
    assert f"checksum mismatch for {asset}" in result.stderr
    assert not (repo / "dist" / asset).exists()
    if asset == CHECK_ASSET:
        assert "checker" not in log  # the check never ran
    assert not _applied(log)


@needs_release_arch
def test_release_file_missing_from_sha256sums_is_refused(repo):
    url, _ = _release(repo, omit=CHECK_ASSET)
    result, log = _run_release(repo, url, '{"fail": {"CRITICAL": 1}}')
    assert result.returncode == 1
    assert f"SHA256SUMS has no single entry for {CHECK_ASSET}" in result.stderr
    assert "checker" not in log and not _applied(log)


def test_release_that_cannot_be_downloaded_stops_before_terraform(repo):
    result, log = _run_release(repo, (repo / "no-such-release").as_uri(), '{"fail": {"CRITICAL": 1}}')
    assert result.returncode == 1
    assert "could not download" in result.stderr and "SHA256SUMS" in result.stderr
    assert log == ""  # not even terraform init


def test_without_any_checker_the_message_names_release_url(repo):
    result, log = _run(repo, {}, checker=False)
    assert result.returncode == 1
    assert "RELEASE_URL" in result.stderr
    assert not _applied(log)
