"""scripts/deploy.sh validates the policy with ecr-scan-gate-check before apply,
and applies nothing when it is invalid. terraform and the checker are fakes on
PATH that record their calls; no AWS, no Rust."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from hcl_helpers import REPO_ROOT

FAKE_TERRAFORM = """#!/usr/bin/env bash
printf '%s\\n' "$*" >>"$FAKE_LOG"
for a in "$@"; do
    if [[ "$a" == console ]]; then cat >/dev/null; printf '%s\\n' "$FAKE_CONSOLE_OUTPUT"; exit 0; fi
done
exit 0
"""

# Valid unless the policy mentions "bogus"; prints a message naming the field.
FAKE_CHECKER = """#!/usr/bin/env bash
printf 'checker %s\\n' "$*" >>"$FAKE_LOG"
cp "$3" "$FAKE_CHECKED_COPY"
if grep -qi bogus "$3"; then echo "policy: fail.BOGUS: unknown severity" >&2; exit 1; fi
echo "policy: valid"
"""


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
