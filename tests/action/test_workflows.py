"""The workflows: this repository's own (.github/workflows/) and the deploy example
(examples/github-actions/deploy.yml), as far as they can be tried off GitHub.

Every third-party action is pinned by a full commit SHA with its release tag in a comment; the
release workflow attests the build provenance of every file it uploads; the repository's
published names (owner placeholder, release version) are one across the documentation.

The example's shell steps run here for real with `docker` and `aws` stand-ins on PATH that
record what they were asked: the push step must hand on the pushed digest, and the deploy step
must register a task definition with exactly that digest and point the service at it."""

import fnmatch
import json
import os
import re
import subprocess
import tempfile
import unittest
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "github-actions" / "deploy.yml"
WORKFLOWS = ROOT / ".github" / "workflows"
DIGEST = "sha256:" + "5d0da3dc" * 8


def load(path: Path) -> dict:
    doc = yaml.safe_load(path.read_text())
    if True in doc:  # YAML 1.1 reads the key `on` as true
        doc["on"] = doc.pop(True)
    return doc


def steps(doc: dict) -> list:
    (job,) = doc["jobs"].values()
    return job["steps"]


# A third-party action pinned as GitHub recommends: the full commit SHA, the tag in a comment.
PINNED = re.compile(r"^\s*(?:#\s*)?(?:-\s+)?uses:\s*(?P<name>[\w.-]+/[\w./-]+)@(?P<ref>\S+)(?:\s+#\s*(?P<tag>\S+))?\s*$")
OWN_ACTION = "your-org/ecr-scan-gate"  # this project's action: pinned to a release tag (its binary's version)


def uses_lines(path: Path) -> list:
    """(name, ref, tag comment) of every `uses:` line of a workflow, commented-out ones included."""
    return [(m["name"], m["ref"], m["tag"]) for m in map(PINNED.match, path.read_text().splitlines()) if m]


def pinned_tags(path: Path) -> dict:
    """name -> the release tag in the comment beside its SHA."""
    return {name: tag for name, ref, tag in uses_lines(path) if name != OWN_ACTION}


def action_version(tag: str) -> int:
    m = re.fullmatch(r"v(\d+)(?:\.\d+)*", tag or "")
    assert m, f"{tag!r} is not a release tag"
    return int(m.group(1))


STUB = r"""#!/usr/bin/env python3
import json, os, sys
name = os.path.basename(sys.argv[0])
args = sys.argv[1:]
with open(os.environ["STUB_LOG"], "a") as f:
    f.write(json.dumps([name] + args) + "\n")
if name == "aws" and args[:2] == ["ecr", "describe-images"]:
    print(os.environ["STUB_DIGEST"])
elif name == "aws" and args[:2] == ["ecs", "describe-task-definition"]:
    print(json.dumps({
        "taskDefinitionArn": "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/demo-api:7",
        "family": "demo-api", "revision": 7, "status": "ACTIVE",
        "containerDefinitions": [
            {"name": "app", "image": "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/demo-api:latest",
             "essential": True},
            {"name": "log-router", "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"}],
        "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.ecr-auth"}],
        "compatibilities": ["EC2", "FARGATE"], "requiresCompatibilities": ["FARGATE"],
        "cpu": "256", "memory": "512", "networkMode": "awsvpc",
        "registeredAt": "2026-11-27T09:00:00+00:00", "registeredBy": "arn:aws:iam::123456789012:role/deploy"}))
elif name == "aws" and args[:2] == ["ecs", "register-task-definition"]:
    src = args[args.index("--cli-input-json") + 1]
    assert src.startswith("file://")
    with open(src[len("file://"):]) as f:
        registered = json.load(f)
    with open(os.environ["STUB_LOG"] + ".registered", "w") as f:
        json.dump(registered, f)
    print("arn:aws:ecs:ap-northeast-1:123456789012:task-definition/demo-api:8")
"""


def run_step(step: dict, env: dict, cwd: Path):
    """Runs a `run:` step as the runner does (bash -e), with docker and aws stand-ins."""
    bindir = cwd / "bin"
    bindir.mkdir(exist_ok=True)
    for name in ("docker", "aws"):
        (bindir / name).write_text(STUB)
        (bindir / name).chmod(0o755)
    log = cwd / "calls.jsonl"
    out = cwd / "github_output"
    out.write_text("")
    full = {"PATH": f"{bindir}:{os.environ['PATH']}", "STUB_LOG": str(log), "STUB_DIGEST": DIGEST,
            "GITHUB_OUTPUT": str(out), "HOME": os.environ.get("HOME", "/tmp"), **env}
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                          cwd=cwd, env=full, capture_output=True, text=True, timeout=60)
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return proc, calls, out.read_text()


def expand(value: str, context: dict) -> str:
    """Replaces ${{ expr }} with context[expr]."""
    def one(m):
        key = m.group(1).strip()
        assert key in context, f"no value for ${{{{ {key} }}}} in the test"
        return context[key]
    return re.sub(r"\$\{\{(.*?)\}\}", one, str(value))


class DeployExample(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.doc = load(EXAMPLE)
        cls.steps = steps(cls.doc)
        cls.by_id = {s["id"]: s for s in cls.steps if "id" in s}
        cls.context = {
            "steps.login-ecr.outputs.registry": "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com",
            "steps.push.outputs.digest": DIGEST, "steps.gate.outputs.digest": DIGEST,
            "github.sha": "3f2a9c1e7b5d4a6f8e0c2b4d6f8a0c2e4b6d8f0a", "github.run_id": "1",
            "env.ECR_REPOSITORY": "demo-api", "env.AWS_REGION": "ap-northeast-1",
            "env.GATE_POLICY_PARAMETER": "/ecr-scan-gate/policy",
            "vars.ECS_CLUSTER": "demo", "vars.ECS_SERVICE": "demo-api", "vars.ECS_TASK_FAMILY": "demo-api",
            "vars.ECS_CONTAINER_NAME": "app", "vars.AWS_DEPLOY_ROLE_ARN": "arn:aws:iam::123456789012:role/deploy",
        }

    def env_of(self, step):
        env = {k: expand(v, self.context) for k, v in self.doc.get("env", {}).items()}
        env.update({k: expand(v, self.context) for k, v in step.get("env", {}).items()})
        return env

    def test_it_is_not_a_workflow_of_this_repository(self):
        self.assertFalse((WORKFLOWS / "deploy.yml").exists())

    def test_oidc_permissions_and_concurrency(self):
        self.assertEqual(self.doc["permissions"], {"id-token": "write", "contents": "read",
                                                   "security-events": "write", "actions": "read"})
        self.assertIn("group", self.doc["concurrency"])
        self.assertIs(self.doc["concurrency"]["cancel-in-progress"], False)
        creds = [s for s in self.steps if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")]
        self.assertEqual(len(creds), 1)
        self.assertIn("role-to-assume", creds[0]["with"])
        self.assertNotIn("aws-access-key-id", creds[0]["with"])
        text = EXAMPLE.read_text()
        self.assertIn("#     aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}", text,
                      "the design's static-key variant is kept as a commented alternative")

    def test_current_action_versions(self):
        minimum = {"actions/checkout": 4, "aws-actions/configure-aws-credentials": 4,
                   "aws-actions/amazon-ecr-login": 2, "github/codeql-action/upload-sarif": 4}
        tags = pinned_tags(EXAMPLE)
        for name, major in minimum.items():
            self.assertIn(name, tags)
            self.assertGreaterEqual(action_version(tags[name]), major, f"{name} {tags[name]}")
        self.assertTrue(all(any(s.get("uses", "").startswith(n + "@") for s in self.steps) for n in minimum))

    def test_third_party_actions_are_pinned_by_commit_sha_with_the_tag_in_a_comment(self):
        lines = uses_lines(EXAMPLE)
        self.assertGreaterEqual(len(lines), 5)
        for name, ref, tag in lines:
            if name == OWN_ACTION:
                continue
            self.assertRegex(ref, r"^[0-9a-f]{40}$", f"{name}@{ref} is not pinned by commit SHA")
            action_version(tag)
        # The same action at the same pin wherever it appears (the commented static-key step too).
        pins = {}
        for name, ref, tag in lines:
            self.assertEqual(pins.setdefault(name, (ref, tag)), (ref, tag), name)

    def test_the_commented_environment_keeps_the_oidc_trust_right(self):
        (job,) = self.doc["jobs"].values()
        self.assertNotIn("environment", job, "an environment changes the OIDC sub the role trusts")
        text = EXAMPLE.read_text()
        commented = text.index("# environment: production")
        block = text[text.rindex("runs-on:", 0, commented):commented]
        # The comment right above says what the sub becomes and that the trust must follow.
        self.assertIn(":environment:production", block)
        self.assertIn("trust", block)
        # The header's trust policy names both forms of the sub.
        header = text[:text.index("\nname:")]
        self.assertIn(":ref:refs/heads/main", header)
        self.assertIn(":environment:<name>", header)

    def test_order_push_check_latest_deploy(self):
        def index(pred, what):
            for i, s in enumerate(self.steps):
                if pred(s):
                    return i
            self.fail(f"no step {what}")
        push = index(lambda s: "docker push $ECR_REGISTRY/$ECR_REPOSITORY:$IMAGE_TAG" in s.get("run", ""), "push")
        check = index(lambda s: re.search(r"/ecr-scan-gate@", s.get("uses", "")), "check")
        latest = index(lambda s: "docker push $ECR_REGISTRY/$ECR_REPOSITORY:latest" in s.get("run", ""), "latest")
        deploy = index(lambda s: "aws ecs update-service" in s.get("run", ""), "deploy")
        self.assertLess(push, check)
        self.assertLess(check, latest)
        self.assertLess(latest, deploy)

    def test_the_check_uses_this_action_pinned_to_a_release_with_real_inputs(self):
        gate = self.by_id["gate"]
        self.assertRegex(gate["uses"], r"^[\w.-]+/ecr-scan-gate@v\d+\.\d+\.\d+$")
        inputs = yaml.safe_load((ROOT / "action.yml").read_text())["inputs"]
        self.assertLessEqual(set(gate["with"]), set(inputs))
        self.assertEqual(gate["with"]["digest"], "${{ steps.push.outputs.digest }}")
        self.assertIn("wait", gate["with"])

    def test_the_findings_reach_code_scanning_even_when_the_image_is_blocked(self):
        gate = self.by_id["gate"]
        i = self.steps.index(gate)
        upload = self.steps[i + 1]
        self.assertTrue(upload.get("uses", "").startswith("github/codeql-action/upload-sarif@"), upload)
        self.assertEqual(upload["with"]["sarif_file"], gate["with"]["sarif-file"])
        # Runs after a failed (blocked) check step, and only when the check judged the image.
        cond = upload["if"]
        self.assertIn("always()", cond)
        for meaning in ("blocked", "deployable"):
            self.assertIn(f"steps.gate.outputs.exit-meaning == '{meaning}'", cond)
        self.assertNotIn("undecided", cond)
        self.assertEqual(self.doc["permissions"].get("security-events"), "write")

    def test_the_push_step_builds_pushes_and_hands_on_the_digest(self):
        with tempfile.TemporaryDirectory() as d:
            proc, calls, outputs = run_step(self.by_id["push"], self.env_of(self.by_id["push"]), Path(d))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        image = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/demo-api:" + self.context["github.sha"]
        self.assertEqual(calls[0], ["docker", "build", "-t", image, "./app"])
        self.assertEqual(calls[1], ["docker", "push", image])
        self.assertIn(f"digest={DIGEST}\n", outputs)

    def test_the_deploy_step_deploys_the_checked_digest(self):
        step = next(s for s in self.steps if "aws ecs update-service" in s.get("run", ""))
        self.assertIn("steps.gate.outputs.digest", str(step["env"]))
        self.assertNotIn("--force-new-deployment", step["run"])
        with tempfile.TemporaryDirectory() as d:
            proc, calls, _ = run_step(step, self.env_of(step), Path(d))
            registered = json.loads((Path(d) / "calls.jsonl.registered").read_text())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        images = {c["name"]: c["image"] for c in registered["containerDefinitions"]}
        self.assertEqual(images["app"], f"123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/demo-api@{DIGEST}")
        self.assertEqual(images["log-router"], "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable")
        for dropped in ("taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
                        "registeredAt", "registeredBy"):
            self.assertNotIn(dropped, registered)
        update = next(c for c in calls if c[1:3] == ["ecs", "update-service"])
        self.assertIn("arn:aws:ecs:ap-northeast-1:123456789012:task-definition/demo-api:8", update)

    def test_the_deploy_step_refuses_a_container_name_that_is_not_there(self):
        step = next(s for s in self.steps if "aws ecs update-service" in s.get("run", ""))
        with tempfile.TemporaryDirectory() as d:
            proc, calls, _ = run_step(step, {**self.env_of(step), "ECS_CONTAINER_NAME": "typo"}, Path(d))
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("no container named typo", proc.stdout)
        self.assertFalse(any(c[1:3] == ["ecs", "update-service"] for c in calls))


class RepositoryWorkflows(unittest.TestCase):
    def test_every_workflow_parses_limits_its_token_and_pins_actions_by_sha(self):
        for path in WORKFLOWS.glob("*.yml"):
            doc = load(path)
            self.assertIn("permissions", doc, path.name)
            used = [s["uses"] for job in doc["jobs"].values() for s in job["steps"] if "uses" in s]
            lines = uses_lines(path)
            self.assertEqual(len(lines), len(used), f"{path.name}: a uses: line the pattern does not read")
            for name, ref, tag in lines:
                self.assertRegex(ref, r"^[0-9a-f]{40}$", f"{path.name}: {name}@{ref} is not pinned by commit SHA")
                action_version(tag)

    def test_ci_runs_ci_run_with_terraform_and_the_provider_mirror(self):
        doc = load(WORKFLOWS / "ci.yml")
        self.assertIn("pull_request", doc["on"])
        runs = "\n".join(s.get("run", "") for s in steps(doc))
        self.assertIn("bash .ci/run", runs)
        self.assertIn("providers mirror /opt/tf-plugins", runs)
        tf = next(s for s in steps(doc) if s.get("uses", "").startswith("hashicorp/setup-terraform@"))
        self.assertTrue(tf["with"]["terraform_version"].startswith("1.11"))

    def test_release_builds_with_make_dists_script_and_uploads(self):
        doc = load(WORKFLOWS / "release.yml")
        self.assertEqual(doc["on"], {"push": {"tags": ["v*"]}})
        self.assertEqual(doc["permissions"], {"contents": "write", "id-token": "write", "attestations": "write"})
        runs = "\n".join(s.get("run", "") for s in steps(doc))
        self.assertIn("bash scripts/dist.sh", runs)
        self.assertIn("gh release upload", runs)
        self.assertIn("bash scripts/dist.sh", (ROOT / "Makefile").read_text())

    def test_release_attests_every_file_it_uploads_before_uploading_it(self):
        doc = load(WORKFLOWS / "release.yml")
        all_steps = steps(doc)
        build = next(i for i, s in enumerate(all_steps) if "bash scripts/dist.sh" in s.get("run", ""))
        uploads = [(i, s) for i, s in enumerate(all_steps) if "gh release upload" in s.get("run", "")]
        attests = [(i, s) for i, s in enumerate(all_steps)
                   if s.get("uses", "").startswith("actions/attest-build-provenance@")]
        self.assertEqual(len(attests), 1, "one attestation step")
        (attest_at, attest), = attests
        self.assertEqual(set(attest["with"]), {"subject-path"})
        subjects = attest["with"]["subject-path"].split()
        self.assertTrue(uploads)
        for upload_at, upload in uploads:
            self.assertLess(build, attest_at)
            self.assertLess(attest_at, upload_at, "a file is attested before it is uploaded")
            # What `gh release upload TAG FILES... [--clobber]` uploads: its file arguments.
            line = next(l for l in upload["run"].splitlines() if "gh release upload" in l).split()
            uploaded = [a for a in line[line.index("upload") + 2:] if not a.startswith("-")]
            for pattern in uploaded:
                self.assertIn(pattern, subjects, f"{pattern} is uploaded but not attested")
        # Every file scripts/dist.sh writes (its header lists them) is covered by the attested globs.
        dist = (ROOT / "scripts" / "dist.sh").read_text()
        header = dist[:dist.index("set -euo pipefail")]
        written = re.findall(r"^#\s+((?:ecr-scan-gate-[\w.-]+)|SHA256SUMS|VERSION)\s{2,}", header, re.M)
        self.assertEqual(len(written), 6, written)
        for name in written:
            self.assertTrue(any(fnmatch.fnmatch(f"dist/{name}", p) for p in subjects), f"dist/{name} not attested")

    def test_the_readme_says_how_to_verify_an_attestation_beside_sha256sums(self):
        readme = (ROOT / "README.md").read_text()
        self.assertRegex(readme, r"gh attestation verify \S+ --repo your-org/ecr-scan-gate")
        self.assertIn("SHA256SUMS", readme[readme.index("gh attestation verify") - 400:])


class PublishedNames(unittest.TestCase):
    """One placeholder for the repository's owner and one release version wherever the
    documentation names the published repository or a release of it."""

    FILES = ["README.md", "infra/README.md", "action.yml", "scripts/deploy.sh", "scripts/action-check.sh",
             *(p.relative_to(ROOT).as_posix() for p in sorted((ROOT / "docs").glob("*.md"))),
             *(p.relative_to(ROOT).as_posix() for p in sorted((ROOT / "examples" / "github-actions").glob("*.yml"))),
             *(p.relative_to(ROOT).as_posix() for p in sorted(WORKFLOWS.glob("*.yml")))]
    OWNER = [r"github\.com/([^/\s`'\"]+)/ecr-scan-gate\b", r"uses: ([^/\s]+)/ecr-scan-gate@",
             r"--repo ([^/\s]+)/ecr-scan-gate\b",
             # `<owner>/ecr-scan-gate`, not a path such as `target/lambda-<architecture>/ecr-scan-gate`
             r"(?<![\w-])(<[\w -]+>)/ecr-scan-gate\b"]
    VERSION = [r"ecr-scan-gate@(v\d+\.\d+\.\d+)", r"/releases/download/(v\d+\.\d+\.\d+)",
               r"\?ref=(v\d+\.\d+\.\d+)", r"--branch (v\d+\.\d+\.\d+)", r"version: (v\d+\.\d+\.\d+)",
               r"ecr-scan-gate/(v\d+\.\d+\.\d+)/"]
    # Message formats that show the shape of a tag, not a release.
    FORMATS = {"scripts/action-check.sh"}

    def found(self, patterns, files):
        for name in files:
            for n, line in enumerate((ROOT / name).read_text().splitlines(), 1):
                for pattern in patterns:
                    for m in re.finditer(pattern, line):
                        yield f"{name}:{n}", m.group(1)

    def test_one_owner_placeholder(self):
        owners = list(self.found(self.OWNER, self.FILES))
        self.assertGreater(len(owners), 10)
        self.assertEqual([(where, o) for where, o in owners if o != "your-org"], [])

    def test_one_release_version_the_one_of_cargo_toml(self):
        cargo = re.search(r'^version = "(.+)"$', (ROOT / "Cargo.toml").read_text(), re.M).group(1)
        versions = list(self.found(self.VERSION, [f for f in self.FILES if f not in self.FORMATS]))
        self.assertGreater(len(versions), 5)
        self.assertEqual([(where, v) for where, v in versions if v != f"v{cargo}"], [])

    def test_the_license_is_the_one_cargo_toml_names(self):
        self.assertIn('license = "MIT"', (ROOT / "Cargo.toml").read_text())
        text = (ROOT / "LICENSE").read_text()
        self.assertTrue(text.startswith("MIT License\n"))
        self.assertIn("Copyright (c) 2026 ecr-scan-gate contributors", text)


if __name__ == "__main__":
    unittest.main()
