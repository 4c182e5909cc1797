"""The workflows: this repository's own (.github/workflows/) and the deploy example
(examples/github-actions/deploy.yml), as far as they can be tried off GitHub.

The example's shell steps run here for real with `docker` and `aws` stand-ins on PATH that
record what they were asked: the push step must hand on the pushed digest, and the deploy step
must register a task definition with exactly that digest and point the service at it."""

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


def action_version(uses: str) -> int:
    m = re.search(r"@v(\d+)", uses)
    assert m, f"{uses} is not pinned to a version"
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
        for s in self.steps:
            name = s.get("uses", "").split("@")[0]
            if name in minimum:
                self.assertGreaterEqual(action_version(s["uses"]), minimum[name], s["uses"])
        self.assertTrue(all(any(s.get("uses", "").startswith(n + "@") for s in self.steps) for n in minimum))

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
    def test_every_workflow_parses_and_limits_its_token(self):
        for path in WORKFLOWS.glob("*.yml"):
            doc = load(path)
            self.assertIn("permissions", doc, path.name)
            for s in (s for job in doc["jobs"].values() for s in job["steps"]):
                if "uses" in s:
                    self.assertRegex(s["uses"], r"@v\d", f"{path.name}: {s['uses']} is not pinned")

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
        self.assertEqual(doc["permissions"], {"contents": "write"})
        runs = "\n".join(s.get("run", "") for s in steps(doc))
        self.assertIn("bash scripts/dist.sh", runs)
        self.assertIn("gh release upload", runs)
        self.assertIn("bash scripts/dist.sh", (ROOT / "Makefile").read_text())


if __name__ == "__main__":
    unittest.main()
