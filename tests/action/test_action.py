"""The GitHub Action (action.yml, scripts/action-check.sh) as far as it runs off GitHub.

- the script against a moto server on loopback with a locally built ecr-scan-gate-check
  (ECR_SCAN_GATE_CHECK_BIN): outputs for a failing, a passing and an undecided image;
- the download path against a loopback HTTP server standing in for the release
  (ECR_SCAN_GATE_DOWNLOAD_BASE): a good checksum runs the binary, a wrong or missing one is
  refused and the binary never runs; the version comes from the action's ref or path;
- every input of action.yml reaches the script and lands on a real flag of
  `ecr-scan-gate-check --help` (or the environment variable the help names).

Run by `make test-action` (part of `make test`). Builds the check with
`cargo build --bin ecr-scan-gate-check`, honouring CARGO_TARGET_DIR."""

import functools
import hashlib
import http.server
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.request
from pathlib import Path

import boto3
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from harness import REGION, Services  # noqa: E402

SCRIPT = ROOT / "scripts" / "action-check.sh"
ACTION = ROOT / "action.yml"
VERSION = "v0.0.0-test"

# How each input of action.yml reaches ecr-scan-gate-check.
INPUT_MAP = {
    "repository": ("argument", "REPOSITORY"),
    "tag": ("flag", "--tag"),
    "digest": ("flag", "--digest"),
    "wait": ("flag", "--wait"),
    "poll-interval": ("flag", "--poll-interval"),
    "policy-file": ("flag", "--policy-file"),
    "policy": ("env", "GATE_POLICY"),
    "policy-parameter": ("env", "GATE_POLICY_PARAMETER"),
    "region": ("env", "AWS_REGION"),  # the AWS SDK's own variable
    "sarif-file": ("flag", "--sarif-file"),  # written in addition to the JSON the script reads
    "version": ("action", None),  # which release to install; not passed to the check
    "release-host": ("action", None),  # where that release is downloaded from; not passed either
}


@functools.lru_cache(maxsize=None)
def check_binary() -> Path:
    subprocess.run(["cargo", "build", "--quiet", "--bin", "ecr-scan-gate-check"], cwd=ROOT, check=True)
    meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT, check=True,
                          capture_output=True, text=True)
    path = Path(json.loads(meta.stdout)["target_directory"]) / "debug" / "ecr-scan-gate-check"
    assert path.is_file(), path
    return path


def host_arch() -> str:
    return {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine().lower()]


def read_outputs(path: Path) -> dict:
    """Parses a $GITHUB_OUTPUT file: name=value and name<<DELIMITER ... DELIMITER."""
    out, lines, i = {}, path.read_text().split("\n"), 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            j = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1:j])
            i = j + 1
        elif "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
            i += 1
        else:
            i += 1
    return out


class Run:
    def __init__(self, proc, outputs):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.outputs = outputs

    def __repr__(self):
        return f"rc={self.rc} outputs={self.outputs}\nstdout={self.stdout}\nstderr={self.stderr}"


def run_action(inputs: dict, env: dict) -> Run:
    """Runs the script as action.yml does: inputs as INPUT_<NAME>, outputs into a temp file."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "github_output"
        out.write_text("")
        full = {k: v for k, v in os.environ.items()
                if not k.startswith(("INPUT_", "GATE_POLICY", "ECR_SCAN_GATE_", "ACTION_", "GITHUB_"))}
        full.update({"GITHUB_OUTPUT": str(out), "RUNNER_TEMP": tmp})
        full.pop("QUARANTINE_TAG_PREFIX", None)
        for name, value in inputs.items():
            full["INPUT_" + name.upper().replace("-", "_")] = value
        full.update(env)
        proc = subprocess.run(["bash", str(SCRIPT)], env=full, capture_output=True, text=True, timeout=120)
        return Run(proc, read_outputs(out))


STUB = """#!/usr/bin/env python3
import json, os, sys
record = {"argv": sys.argv[1:], "env": {k: os.environ.get(k) for k in
          ("GATE_POLICY", "GATE_POLICY_FILE", "GATE_POLICY_PARAMETER", "AWS_REGION")}}
with open(os.environ["STUB_RECORD"], "a") as f:
    f.write(json.dumps(record) + "\\n")
print(json.dumps({"decision": "deployable", "exit_code": 0, "message": "stub",
                  "evaluation": {"verdict": "PASS", "digest": "sha256:" + "0" * 64}}))
"""


class ReleaseServer:
    """A loopback HTTP server serving a directory, standing in for a GitHub release."""

    def __init__(self, directory: Path):
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def finding(cve, severity, package, version):
    return {"name": cve, "uri": f"https://nvd.nist.gov/vuln/detail/{cve}", "severity": severity,
            "attributes": [{"key": "package_version", "value": version}, {"key": "package_name", "value": package}]}


def push_image(ecr, endpoint, repo, findings):
    """A repository with one image tagged v1 in the emulator; its basic scan result seeded when
    findings is given. Returns the image's digest."""
    ecr.create_repository(repositoryName=repo)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 100,
                   "digest": "sha256:" + hashlib.sha256(repo.encode()).hexdigest()},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1000,
                    "digest": "sha256:" + hashlib.sha256((repo + "-layer").encode()).hexdigest()}],
    })
    digest = ecr.put_image(repositoryName=repo, imageManifest=manifest,
                           imageTag="v1")["image"]["imageId"]["imageDigest"]
    if findings is not None:
        counts = {}
        for f in findings:
            counts[f["severity"]] = counts.get(f["severity"], 0) + 1
        seed = {"registryId": "123456789012", "repositoryName": repo, "imageId": {"imageDigest": digest},
                "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
                "imageScanFindings": {"findings": findings, "findingSeverityCounts": counts}}
        req = urllib.request.Request(endpoint + "/moto-api/static/ecr/scan-finding-results",
                                     data=json.dumps({"results": [seed], "region": REGION}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        urllib.request.urlopen(req).read()
        ecr.start_image_scan(repositoryName=repo, imageId={"imageDigest": digest})
    return digest


class ActionAgainstTheEmulator(unittest.TestCase):
    """The real check binary against moto, through the script."""

    @classmethod
    def setUpClass(cls):
        cls.binary = check_binary()
        cls.services = Services()
        cls.endpoint = cls.services.moto()
        session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
        cls.ecr = session.client("ecr", endpoint_url=cls.endpoint)
        cls.aws = {"AWS_ENDPOINT_URL": cls.endpoint, "AWS_REGION": REGION,
                   "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}

    @classmethod
    def tearDownClass(cls):
        cls.services.stop()

    def image(self, repo, findings):
        """A repository with one image tagged v1; its scan result seeded when findings is given."""
        return push_image(self.ecr, self.endpoint, repo, findings)

    def local(self, **env):
        return {**self.aws, "ECR_SCAN_GATE_CHECK_BIN": str(self.binary), **env}

    def test_a_failing_image_is_blocked_and_the_outputs_say_so(self):
        digest = self.image("action-fail", [finding("CVE-2024-0001", "CRITICAL", "openssl", "3.0.1")])
        r = run_action({"repository": "action-fail", "tag": "v1"}, self.local())
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.outputs["verdict"], "FAIL", r)
        self.assertEqual(r.outputs["digest"], digest, r)
        self.assertEqual(r.outputs["exit-meaning"], "blocked", r)
        self.assertIn("1 CRITICAL finding", r.outputs["message"], r)
        self.assertEqual(json.loads(r.stdout)["decision"], "blocked", r)

    def test_a_passing_image_is_deployable_and_names_the_digest_it_judged(self):
        digest = self.image("action-pass", [finding("CVE-2019-5188", "MEDIUM", "e2fsprogs", "1.44.1")])
        r = run_action({"repository": "action-pass", "digest": digest, "wait": "5s", "poll-interval": "5s"},
                       self.local())
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.outputs, {**r.outputs, "verdict": "PASS", "digest": digest, "exit-meaning": "deployable"})

    def test_the_inline_policy_and_the_policy_file_are_applied(self):
        digest = self.image("action-policy", [finding("CVE-2024-0002", "CRITICAL", "curl", "7.88.1")])
        allow = json.dumps({"allowlist": [{"id": "CVE-2024-0002", "reason": "not reachable"}]})
        r = run_action({"repository": "action-policy", "digest": digest, "policy": allow}, self.local())
        self.assertEqual((r.rc, r.outputs["exit-meaning"], r.outputs["verdict"]), (0, "deployable", "PASS"), r)
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            f.write(json.dumps({"fail": {"CRITICAL": 1}}))  # no allowlist
            f.flush()
            r = run_action({"repository": "action-policy", "digest": digest, "policy-file": f.name},
                           self.local(GATE_POLICY=allow))  # the input replaces the job's GATE_POLICY
            self.assertEqual((r.rc, r.outputs["exit-meaning"], r.outputs["verdict"]), (1, "blocked", "FAIL"), r)

    def test_an_image_without_a_scan_is_undecided(self):
        self.image("action-noscan", None)
        r = run_action({"repository": "action-noscan", "tag": "v1"}, self.local())
        self.assertEqual(r.rc, 2, r)
        self.assertEqual(r.outputs["exit-meaning"], "undecided", r)
        self.assertIn("not complete", r.outputs["message"], r)

    def test_bad_inputs_are_undecided_with_a_message(self):
        r = run_action({"repository": "demo-api", "tag": "v1", "digest": "sha256:" + "a" * 64}, self.local())
        self.assertEqual((r.rc, r.outputs["exit-meaning"]), (2, "undecided"), r)
        self.assertIn("not both", r.outputs["message"])
        r = run_action({"repository": "demo-api", "tag": "v1", "policy": "{}", "policy-parameter": "/p"}, self.local())
        self.assertEqual((r.rc, r.outputs["exit-meaning"]), (2, "undecided"), r)
        self.assertIn("at most one", r.outputs["message"])
        # Refused by the check itself (no JSON on stdout): the message is its last line.
        r = run_action({"repository": "demo-api", "digest": "sha256:1234"}, self.local())
        self.assertEqual((r.rc, r.outputs["exit-meaning"], r.outputs["verdict"]), (2, "undecided", ""), r)
        self.assertIn("--digest", r.outputs["message"], r)

    def test_the_downloaded_binary_runs_when_its_checksum_matches(self):
        with tempfile.TemporaryDirectory() as d:
            asset = f"ecr-scan-gate-check-linux-{host_arch()}"
            shutil.copy(self.binary, Path(d) / asset)
            digest_hex = hashlib.sha256((Path(d) / asset).read_bytes()).hexdigest()
            (Path(d) / "SHA256SUMS").write_text(f"{'0' * 64}  other-file\n{digest_hex}  {asset}\n")
            server = ReleaseServer(Path(d))
            try:
                digest = self.image("action-download", [finding("CVE-2024-0003", "CRITICAL", "zlib", "1.2")])
                r = run_action({"repository": "action-download", "digest": digest, "version": VERSION},
                               {**self.aws, "ECR_SCAN_GATE_DOWNLOAD_BASE": server.url})
            finally:
                server.close()
        self.assertEqual((r.rc, r.outputs["exit-meaning"], r.outputs["digest"]), (1, "blocked", digest), r)
        self.assertIn(f"{asset} verified (sha256 {digest_hex})", r.stderr)


class DownloadAndVerify(unittest.TestCase):
    """The download path with a stub binary that records whether it ran."""

    def setUp(self):
        self.dir = Path(tempfile.mkdtemp())
        self.record = self.dir / "record.jsonl"
        self.asset = f"ecr-scan-gate-check-linux-{host_arch()}"
        (self.dir / self.asset).write_text(STUB)
        self.server = ReleaseServer(self.dir)

    def tearDown(self):
        self.server.close()
        shutil.rmtree(self.dir)

    def sums(self, text):
        (self.dir / "SHA256SUMS").write_text(text)

    def run_it(self, **env):
        inputs = {"repository": "demo-api", "tag": "v1"}
        if "INPUT_VERSION" not in env:
            inputs["version"] = VERSION
        return run_action(inputs, {"ECR_SCAN_GATE_DOWNLOAD_BASE": self.server.url,
                                   "STUB_RECORD": str(self.record), **env})

    def ran(self):
        return self.record.exists()

    def good_sum(self):
        return hashlib.sha256((self.dir / self.asset).read_bytes()).hexdigest()

    def test_a_matching_checksum_runs_the_binary(self):
        self.sums(f"{self.good_sum()}  {self.asset}\n")
        r = self.run_it()
        self.assertEqual((r.rc, r.outputs["exit-meaning"]), (0, "deployable"), r)
        self.assertTrue(self.ran())

    def test_a_wrong_checksum_is_refused_and_the_binary_never_runs(self):
        wrong = hashlib.sha256(b"something else").hexdigest()
        self.sums(f"{wrong}  {self.asset}\n")
        r = self.run_it()
        self.assertEqual((r.rc, r.outputs["exit-meaning"]), (2, "undecided"), r)
        self.assertIn("checksum mismatch", r.outputs["message"])
        self.assertIn("refusing to run it", r.stderr)
        self.assertFalse(self.ran(), "the binary ran despite a wrong checksum")

    def test_a_binary_missing_from_the_sums_is_refused(self):
        self.sums(f"{self.good_sum()}  ecr-scan-gate-check-linux-other\n")
        r = self.run_it()
        self.assertEqual(r.rc, 2, r)
        self.assertIn("no single entry", r.outputs["message"])
        self.assertFalse(self.ran())

    def test_no_sums_file_is_refused(self):
        r = self.run_it()
        self.assertEqual(r.rc, 2, r)
        self.assertIn("SHA256SUMS", r.outputs["message"])
        self.assertFalse(self.ran())

    def test_the_version_defaults_to_the_actions_ref_or_path(self):
        self.sums(f"{self.good_sum()}  {self.asset}\n")
        r = self.run_it(INPUT_VERSION="", ACTION_REF=VERSION)
        self.assertEqual(r.rc, 0, r)
        r = self.run_it(INPUT_VERSION="", ACTION_PATH=f"/home/runner/work/_actions/acme/ecr-scan-gate/{VERSION}")
        self.assertEqual(r.rc, 0, r)
        r = self.run_it(INPUT_VERSION="", ACTION_REF="main")
        self.assertEqual(r.rc, 2, r)
        self.assertIn("not a release tag", r.outputs["message"])

    def fake_curl(self):
        """A curl on PATH that records the URL asked for and fails as an unreachable host does."""
        bindir = self.dir / "bin"
        bindir.mkdir(exist_ok=True)
        (bindir / "curl").write_text('#!/usr/bin/env bash\nprintf \'%s\\n\' "${@: -1}" >>"$CURL_LOG"\nexit 6\n')
        (bindir / "curl").chmod(0o755)
        return {"PATH": f"{bindir}:{os.environ['PATH']}", "CURL_LOG": str(self.dir / "curl.log")}

    def asked(self):
        return (self.dir / "curl.log").read_text().split()

    def test_the_release_is_downloaded_from_github_com_even_on_enterprise_server(self):
        # GitHub Enterprise Server sets GITHUB_SERVER_URL to its own host, which does not hold
        # this project's releases: the download must still go to github.com.
        r = run_action({"repository": "demo-api", "tag": "v1"},
                       {"ACTION_PATH": f"/home/runner/work/_actions/acme/ecr-scan-gate/{VERSION}",
                        "GITHUB_SERVER_URL": "https://ghe.example.com", "STUB_RECORD": str(self.record),
                        **self.fake_curl()})
        self.assertEqual(r.rc, 2, r)
        url = f"https://github.com/acme/ecr-scan-gate/releases/download/{VERSION}/SHA256SUMS"
        self.assertEqual(self.asked(), [url])
        self.assertIn(url, r.outputs["message"])
        self.assertFalse(self.ran())

    def test_the_input_release_host_replaces_github_com(self):
        r = run_action({"repository": "demo-api", "tag": "v1", "release-host": "https://mirror.example.com/gh/"},
                       {"ACTION_REPOSITORY": "acme/ecr-scan-gate", "ACTION_REF": VERSION,
                        "GITHUB_SERVER_URL": "https://ghe.example.com", "STUB_RECORD": str(self.record),
                        **self.fake_curl()})
        self.assertEqual(r.rc, 2, r)
        self.assertEqual(self.asked(),
                         [f"https://mirror.example.com/gh/acme/ecr-scan-gate/releases/download/{VERSION}/SHA256SUMS"])
        r = run_action({"repository": "demo-api", "tag": "v1", "release-host": "github.com"},
                       {"ACTION_REPOSITORY": "acme/ecr-scan-gate", "ACTION_REF": VERSION, **self.fake_curl()})
        self.assertEqual(r.rc, 2, r)
        self.assertIn("release-host", r.outputs["message"])
        self.assertEqual(len(self.asked()), 1, "nothing is downloaded from a release-host that is not a URL")

    def test_the_actions_default_release_host_is_github_com(self):
        action = yaml.safe_load(ACTION.read_text())
        self.assertEqual(action["inputs"]["release-host"]["default"], "https://github.com")


class InputsMatchTheCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.action = yaml.safe_load(ACTION.read_text())
        cls.help = subprocess.run([str(check_binary()), "--help"], capture_output=True, text=True,
                                  check=True).stdout

    def test_every_input_is_classified(self):
        self.assertEqual(set(self.action["inputs"]), set(INPUT_MAP),
                         "an input of action.yml without an entry in INPUT_MAP (or the reverse)")

    def test_every_input_reaches_the_script(self):
        steps = self.action["runs"]["steps"]
        self.assertEqual(self.action["runs"]["using"], "composite")
        env = steps[0]["env"]
        for name in self.action["inputs"]:
            var = "INPUT_" + name.upper().replace("-", "_")
            self.assertEqual(env.get(var), "${{ inputs.%s }}" % name, var)
            self.assertIn(var, SCRIPT.read_text(), var)
        self.assertIn("scripts/action-check.sh", steps[-1]["run"])

    def test_every_output_is_set_by_the_script(self):
        for name, spec in self.action["outputs"].items():
            self.assertEqual(spec["value"], "${{ steps.check.outputs.%s }}" % name)
            self.assertIn(f"{name}=" if name != "message" else "message<<", SCRIPT.read_text(), name)

    def test_flags_and_variables_are_the_clis(self):
        for name, (kind, target) in INPUT_MAP.items():
            if kind == "flag":
                self.assertRegex(self.help, rf"(?m)^\s+{target}\b", f"input {name}: {target} is not in --help")
            elif kind == "argument":
                self.assertIn(f"<{target}>", self.help, name)
            elif kind == "env" and target.startswith("GATE_POLICY"):
                self.assertIn(target, self.help, f"input {name}: --help does not name {target}")
        self.assertRegex(self.help, r"(?m)^\s+--output\b")
        self.assertIn("json", self.help)

    def test_the_script_passes_each_input_where_the_map_says(self):
        record = Path(tempfile.mkdtemp()) / "record.jsonl"
        stub = record.parent / "stub"
        stub.write_text(STUB)
        stub.chmod(0o755)
        env = {"ECR_SCAN_GATE_CHECK_BIN": str(stub), "STUB_RECORD": str(record)}
        values = {"repository": "team/api", "tag": "v9", "wait": "7m", "poll-interval": "6s",
                  "policy-file": "/p.json", "region": "eu-west-3", "version": VERSION,
                  "sarif-file": "reports/gate.sarif", "release-host": "https://github.com"}
        runs = [values, {**values, "tag": "", "digest": "sha256:" + "b" * 64, "policy-file": "",
                         "policy": '{"fail": {"HIGH": 1}}'},
                {**values, "policy-file": "", "policy-parameter": "/gate/policy"}]
        for inputs in runs:
            r = run_action(inputs, env)
            self.assertEqual(r.rc, 0, r)
        seen = [json.loads(line) for line in record.read_text().splitlines()]
        shutil.rmtree(record.parent)
        covered = set()
        for inputs, got in zip(runs, seen):
            self.assertEqual(got["argv"][0], inputs["repository"])
            self.assertEqual(got["argv"][-2:], ["--output", "json"])
            for name, value in inputs.items():
                kind, target = INPUT_MAP[name]
                if not value or kind in ("argument", "action"):
                    covered.add(name)
                    continue
                if kind == "flag":
                    i = got["argv"].index(target)
                    self.assertEqual(got["argv"][i + 1], value, name)
                else:
                    self.assertEqual(got["env"][target], value, name)
                covered.add(name)
        self.assertEqual(covered, set(INPUT_MAP))


if __name__ == "__main__":
    unittest.main()
