"""What the check leaves for CI, with the real binary against a moto server on loopback:

- the SARIF log (`--output sarif`, `--sarif-file`, and the Action's `sarif-file` input) of a
  failing, a warning and a passing image, each validated against the SARIF 2.1.0 JSON schema
  (tests/fixtures/sarif/sarif-schema-2.1.0.json, the OASIS schema) with Python `jsonschema`;
  levels error / warning / note by what each finding does under the policy; exit codes as
  without SARIF;
- the Markdown summary appended to GITHUB_STEP_SUMMARY: the earlier content kept, the verdict,
  the reasons, the findings' table and the policy; a file that cannot be written is a warning
  and changes no exit code.

Run by `make test-action` (part of `make test`)."""

import copy
import json
import os
import subprocess
import tempfile
import unittest
import urllib.parse
from pathlib import Path

import boto3
import jsonschema

from test_action import ROOT, check_binary, finding, push_image, read_outputs, run_action
from harness import REGION, Services

SCHEMA = json.loads((ROOT / "tests" / "fixtures" / "sarif" / "sarif-schema-2.1.0.json").read_text())

# The schema's formats: `uri` (informationUri, helpUri, $schema) must be absolute, and no URI
# may hold white space. jsonschema checks neither without extra packages, so they are here.
FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("uri", raises=ValueError)
def _uri(value):
    parts = urllib.parse.urlsplit(value)
    if not (parts.scheme and parts.netloc) or any(c.isspace() for c in value):
        raise ValueError(f"not an absolute URI: {value!r}")
    return True


@FORMATS.checks("uri-reference", raises=ValueError)
def _uri_reference(value):
    if not value or any(c.isspace() for c in value):
        raise ValueError(f"not a URI reference: {value!r}")
    return True


VALIDATOR = jsonschema.Draft7Validator(SCHEMA, format_checker=FORMATS)


def schema_errors(log) -> list:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(log)]


def levels(log) -> dict:
    """ruleId -> the levels of its results."""
    out = {}
    for r in log["runs"][0]["results"]:
        out.setdefault(r["ruleId"], []).append(r["level"])
    return out


class SarifAndSummary(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.binary = check_binary()
        cls.services = Services()
        cls.endpoint = cls.services.moto()
        session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
        cls.ecr = session.client("ecr", endpoint_url=cls.endpoint)
        cls.aws = {"AWS_ENDPOINT_URL": cls.endpoint, "AWS_REGION": REGION,
                   "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
        critical = finding("CVE-2024-0001", "CRITICAL", "openssl", "3.0.1")
        high = finding("CVE-2024-0002", "HIGH", "curl", "7.88.1")
        medium = finding("CVE-2019-5188", "MEDIUM", "e2fsprogs", "1.44.1")
        cls.digests = {
            "sarif-fail": push_image(cls.ecr, cls.endpoint, "sarif-fail", [critical, high, medium]),
            "sarif-warn": push_image(cls.ecr, cls.endpoint, "sarif-warn", [high, medium]),
            "sarif-pass": push_image(cls.ecr, cls.endpoint, "sarif-pass", [medium]),
        }

    @classmethod
    def tearDownClass(cls):
        cls.services.stop()

    def check(self, *args, **env):
        """Runs the check with the default policy (fail on CRITICAL, warn on HIGH)."""
        full = {k: v for k, v in os.environ.items()
                if not k.startswith(("GATE_POLICY", "GITHUB_", "QUARANTINE_TAG_PREFIX"))}
        full.update(self.aws)
        full.update(env)
        return subprocess.run([str(self.binary), *args], env=full, capture_output=True, text=True, timeout=120)

    def test_a_failing_a_warning_and_a_passing_image_give_valid_sarif(self):
        expected = {
            "sarif-fail": (1, "FAIL", {"CVE-2024-0001": ["error"], "CVE-2024-0002": ["warning"],
                                       "CVE-2019-5188": ["note"]}),
            "sarif-warn": (0, "WARN", {"CVE-2024-0002": ["warning"], "CVE-2019-5188": ["note"]}),
            "sarif-pass": (0, "PASS", {"CVE-2019-5188": ["note"]}),
        }
        for repo, (rc, verdict, want) in expected.items():
            with self.subTest(repo=repo):
                digest = self.digests[repo]
                p = self.check(repo, "--tag", "v1", "--output", "sarif")
                self.assertEqual(p.returncode, rc, p.stderr)
                log = json.loads(p.stdout)
                self.assertEqual(schema_errors(log), [], f"{repo}: not valid SARIF 2.1.0")
                self.assertEqual(levels(log), want)
                run = log["runs"][0]
                self.assertEqual(run["tool"]["driver"]["name"], "ecr-scan-gate")
                self.assertEqual(run["properties"]["verdict"], verdict)
                uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
                self.assertEqual(uris, {f"{repo}@{digest}"})
                rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
                self.assertEqual(set(rules), set(want))
                for rule_id, rule in rules.items():
                    self.assertEqual(rule["helpUri"], f"https://nvd.nist.gov/vuln/detail/{rule_id}")
                # The short summary a person reads is on stderr; the exit code is the text output's.
                self.assertIn(f"{repo}:v1", p.stderr)
                self.assertEqual(self.check(repo, "--tag", "v1").returncode, rc)

    def test_the_schema_check_fails_on_a_log_that_breaks_it(self):
        p = self.check("sarif-fail", "--tag", "v1", "--output", "sarif")
        log = json.loads(p.stdout)
        self.assertEqual(schema_errors(log), [])
        for name, breaks in [
            ("a level SARIF does not have", lambda l: l["runs"][0]["results"][0].update(level="critical")),
            ("a result without a message", lambda l: l["runs"][0]["results"][0].pop("message")),
            ("a relative informationUri", lambda l: l["runs"][0]["tool"]["driver"].update(informationUri="x")),
            ("a line 0", lambda l: l["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
             ["region"].update(startLine=0)),
            ("another version", lambda l: l.update(version="2.0.0")),
        ]:
            broken = copy.deepcopy(log)
            breaks(broken)
            self.assertNotEqual(schema_errors(broken), [], name)

    def test_sarif_file_is_written_beside_the_json_output(self):
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "gate.sarif"
            p = self.check("sarif-fail", "--tag", "v1", "--output", "json", "--sarif-file", str(path))
            self.assertEqual(p.returncode, 1, p.stderr)
            report = json.loads(p.stdout)
            self.assertEqual(report["decision"], "blocked")
            log = json.loads(path.read_text())
            self.assertEqual(schema_errors(log), [])
            self.assertEqual(levels(log)["CVE-2024-0001"], ["error"])
            # Undecided (no such repository): still a valid log, a run that did not succeed.
            p = self.check("sarif-none", "--tag", "v1", "--sarif-file", str(path))
            self.assertEqual(p.returncode, 2, p.stderr)
            log = json.loads(path.read_text())
            self.assertEqual(schema_errors(log), [])
            self.assertEqual(log["runs"][0]["results"], [])
            self.assertIs(log["runs"][0]["invocations"][0]["executionSuccessful"], False)

    def test_an_unwritable_sarif_file_is_a_warning_and_changes_no_exit_code(self):
        with tempfile.TemporaryDirectory() as d:
            p = self.check("sarif-pass", "--tag", "v1", "--sarif-file", d)  # a directory
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("warning: cannot write the SARIF log", p.stderr)

    def test_the_summary_is_appended_to_the_step_summary_file(self):
        with tempfile.TemporaryDirectory() as d:
            summary = Path(d) / "summary.md"
            summary.write_text("## an earlier step\n\n")
            p = self.check("sarif-fail", "--tag", "v1", GITHUB_STEP_SUMMARY=str(summary))
            self.assertEqual(p.returncode, 1, p.stderr)
            p = self.check("sarif-pass", "--tag", "v1", GITHUB_STEP_SUMMARY=str(summary))
            self.assertEqual(p.returncode, 0, p.stderr)
            text = summary.read_text()
        self.assertTrue(text.startswith("## an earlier step\n\n### ecr-scan-gate-check: BLOCKED sarif-fail:v1\n"), text)
        self.assertIn("### ecr-scan-gate-check: DEPLOYABLE sarif-pass:v1\n", text)
        self.assertIn("| **FAIL** | blocked (exit 1) |", text)
        self.assertIn("- 1 CRITICAL finding (policy: fail at 1 or more)", text)
        self.assertIn("| effect | id | severity | package | version | fix |", text)
        self.assertIn("| fails | [CVE-2024-0001](https://nvd.nist.gov/vuln/detail/CVE-2024-0001) | CRITICAL "
                      "| openssl | 3.0.1 | fix unknown |", text)
        self.assertIn("| warns | [CVE-2024-0002]", text)
        self.assertRegex(text, r"Policy: built-in default[^\n]* \(hash `[0-9a-f]{12}`\)")

    def test_an_unwritable_summary_is_a_warning_and_changes_no_exit_code(self):
        with tempfile.TemporaryDirectory() as d:
            p = self.check("sarif-fail", "--tag", "v1", GITHUB_STEP_SUMMARY=d)  # a directory
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("warning: cannot append the summary", p.stderr)

    def test_the_action_writes_the_sarif_file_and_one_summary(self):
        with tempfile.TemporaryDirectory() as d:
            sarif = Path(d) / "reports" / "gate.sarif"
            sarif.parent.mkdir()
            summary = Path(d) / "summary.md"
            summary.write_text("")
            r = run_action({"repository": "sarif-warn", "tag": "v1", "sarif-file": str(sarif)},
                           {**self.aws, "ECR_SCAN_GATE_CHECK_BIN": str(self.binary),
                            "GITHUB_STEP_SUMMARY": str(summary)})
            self.assertEqual((r.rc, r.outputs["verdict"], r.outputs["exit-meaning"]), (0, "WARN", "deployable"), r)
            self.assertEqual(r.outputs["digest"], self.digests["sarif-warn"])
            log = json.loads(sarif.read_text())
            self.assertEqual(schema_errors(log), [])
            self.assertEqual(levels(log), {"CVE-2024-0002": ["warning"], "CVE-2019-5188": ["note"]})
            text = summary.read_text()
        self.assertEqual(text.count("### ecr-scan-gate-check"), 1, text)
        self.assertIn("| warns | [CVE-2024-0002]", text)
        # A check that printed no report (it died, or refused to start): the script writes the
        # summary then, with the last line the check said.
        with tempfile.TemporaryDirectory() as d:
            summary = Path(d) / "summary.md"
            broken = Path(d) / "broken-check"
            broken.write_text("#!/usr/bin/env bash\necho 'error: cannot start' >&2\nexit 2\n")
            broken.chmod(0o755)
            r = run_action({"repository": "sarif-warn", "tag": "v1"},
                           {"ECR_SCAN_GATE_CHECK_BIN": str(broken), "GITHUB_STEP_SUMMARY": str(summary)})
            self.assertEqual(r.rc, 2, r)
            text = summary.read_text()
        self.assertEqual(text.count("### ecr-scan-gate-check"), 1, text)
        self.assertIn("### ecr-scan-gate-check: undecided", text)
        self.assertIn("error: cannot start", text)


if __name__ == "__main__":
    unittest.main()
