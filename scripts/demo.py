"""The demo: ecr-scan-gate end to end on a local AWS emulator, no AWS account needed.

Creates the design's `demo-api` repository in a moto server, pushes an image with Critical
findings, runs the function through `cargo lambda watch` + `cargo lambda invoke` on the
matching `ECR Image Scan` event, and shows the verdict, the image's tags before and after, the
SNS message (read from a subscribed SQS queue) and the Slack payload (from a loopback receiver).
The policy archives a failing image nobody uses (`block.archive` `unused`), so ECR answers 404
to every pull of it. Then it plays the deploy pipeline: `ecr-scan-gate-check` refuses the image
(exit 1, BLOCKED (archived)), and ECS asks the function through its deployment lifecycle hook and
is refused (`FAILED`: ECS rolls back). An allowlist entry is added to the policy, the function
re-evaluates the image, restores it and releases it; the check passes (exit 0) and the hook
answers `SUCCEEDED`. It prints the policy each step runs with. Everything it starts is stopped at
the end. The emulator has no ECR archive and no ECS service revisions: scripts/aws_gaps.py
answers them in front of it, as the AWS API references document them."""

import datetime
import hashlib
import json
import os
import subprocess
import textwrap
import time
import urllib.request

import boto3

from aws_gaps import RESTORE_SECONDS, AwsGaps
from harness import REGION, ROOT, Services, SlackReceiver, aws_env, die, invoke

REPO = "demo-api"
REVISION = "arn:aws:ecs:us-east-1:123456789012:service-revision/demo-cluster/demo-api/4381071257198210813"
GIT_SHA = "3f2a9c1e7b5d4a6f8e0c2b4d6f8a0c2e4b6d8f0a"


def fake_digest(seed):
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def finding(cve, severity, package, version, score):
    return {
        "name": cve,
        "uri": f"https://security-tracker.debian.org/tracker/{cve}",
        "severity": severity,
        "attributes": [
            {"key": "package_version", "value": version},
            {"key": "package_name", "value": package},
            {"key": "CVSS3_SCORE", "value": score},
        ],
    }


def write_policy(path, policy):
    path.write_text(json.dumps(policy, indent=2) + "\n")
    print(f"    policy ({path.relative_to(ROOT)}), for the function (GATE_POLICY_FILE) and the check (--policy-file):")
    print(textwrap.indent(json.dumps(policy, indent=2), "    | "))


def check_binary():
    """Builds ecr-scan-gate-check (debug, like the function under watch) and returns its path."""
    subprocess.run(["cargo", "build", "--quiet", "--bin", "ecr-scan-gate-check"], cwd=ROOT, check=True)
    meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT, check=True,
                          capture_output=True, text=True)
    return os.path.join(json.loads(meta.stdout)["target_directory"], "debug", "ecr-scan-gate-check")


def pipeline_check(binary, endpoint, digest, policy_file, expected):
    """Runs the deploy pipeline's check as a pipeline would; stops the demo on a surprise."""
    args = [REPO, "--digest", digest, "--policy-file", str(policy_file.relative_to(ROOT))]
    print(f"    ecr-scan-gate-check {' '.join(args)}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATE_POLICY", "QUARANTINE_TAG_PREFIX"))}
    env.update(aws_env(endpoint))
    p = subprocess.run([binary] + args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    print(textwrap.indent((p.stdout + p.stderr).rstrip(), "    | "))
    meaning = {0: "deployable", 1: "blocked", 2: "undecided"}.get(p.returncode, "undecided")
    print(f"    exit {p.returncode}: {meaning}")
    if p.returncode != expected:
        die(f"the check exited {p.returncode}, the demo expected {expected}")


def print_actions(response):
    print(f"\n    verdict: {response['verdict']}")
    for r in response["reasons"]:
        print(f"      - {r}")
    print("    actions:")
    for a in response["actions"]:
        what = a.get("tag") or ", ".join(a.get("tags", [])) or a.get("channel", "")
        what = f" {what}" if what else ""
        print(f"      - {a['action']}{what}: {a['status']}" + (f" ({a.get('error') or a.get('reason')})" if a.get("error") or a.get("reason") else ""))


def ecs_hook_event():
    """What ECS sends a lifecycle hook (ECS developer guide, "Lambda hooks for Amazon ECS service
    deployments")."""
    return {
        "executionId": "a1b2c3d4-demo-4e5f-8a9b-0c1d2e3f4a5b",
        "lifecycleStage": "PRE_SCALE_UP",
        "resourceArn": "arn:aws:ecs:us-east-1:123456789012:service-deployment/demo-cluster/demo-api/Qz1kB0GZeJBXWpdd",
        "executionDetails": {
            "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/demo-cluster/demo-api",
            "targetServiceRevisionArn": REVISION,
            "testTrafficWeights": {},
            "productionTrafficWeights": {},
        },
    }


def ecs_hook(port, hook_file):
    print(f"    cargo lambda invoke ecr-scan-gate --data-file {hook_file.relative_to(ROOT)}")
    rc, out, err = invoke(port, data_file=str(hook_file.relative_to(ROOT)))
    if rc != 0:
        die(f"the hook invocation failed:\n{err}")
    answer = json.loads(out)
    print(f"    answer: {json.dumps(answer)}")
    return answer


def main():
    out_dir = ROOT / "target" / "demo"
    out_dir.mkdir(parents=True, exist_ok=True)
    slack = SlackReceiver()
    with Services() as services:
        endpoint = services.moto()
        print(f"[1] local AWS emulator (moto server) on {endpoint}")
        gaps = AwsGaps(endpoint)
        print(f"    with ECR archive and ECS service revisions answered in front of it on {gaps.url}")
        session = boto3.Session(aws_access_key_id="demo", aws_secret_access_key="demo", region_name=REGION)
        ecr = session.client("ecr", endpoint_url=endpoint)
        sns = session.client("sns", endpoint_url=endpoint)
        sqs = session.client("sqs", endpoint_url=endpoint)

        # The design's repository (docs/design.md, "Repository").
        ecr.create_repository(
            repositoryName=REPO,
            imageTagMutability="MUTABLE",
            imageScanningConfiguration={"scanOnPush": True},
            encryptionConfiguration={"encryptionType": "AES256"},
            tags=[{"Key": "Name", "Value": REPO}, {"Key": "Environment", "Value": "poc"}],
        )
        manifest = json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1469,
                       "digest": fake_digest("demo-config")},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 3370706,
                        "digest": fake_digest("demo-layer")}],
        })
        pushed = ecr.put_image(repositoryName=REPO, imageManifest=manifest, imageTag=GIT_SHA)
        digest = pushed["image"]["imageId"]["imageDigest"]
        findings = [
            finding("CVE-2024-45491", "CRITICAL", "expat", "2.5.0-1", "9.8"),
            finding("CVE-2023-38545", "CRITICAL", "curl", "7.88.1-10", "9.8"),
            finding("CVE-2024-2961", "HIGH", "glibc", "2.36-9+deb12u4", "8.8"),
            finding("CVE-2019-5188", "MEDIUM", "e2fsprogs", "1.44.1-1ubuntu1.1", "4.6"),
        ]
        seed = {
            "registryId": "123456789012", "repositoryName": REPO, "imageId": {"imageDigest": digest},
            "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
            "imageScanFindings": {"findings": findings,
                                  "findingSeverityCounts": {"CRITICAL": 2, "HIGH": 1, "MEDIUM": 1}},
        }
        req = urllib.request.Request(endpoint + "/moto-api/static/ecr/scan-finding-results",
                                     data=json.dumps({"results": [seed], "region": REGION}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        urllib.request.urlopen(req).read()
        ecr.start_image_scan(repositoryName=REPO, imageId={"imageDigest": digest})
        # The CI workflow of the design tags the same image `latest` too.
        ecr.put_image(repositoryName=REPO, imageManifest=manifest, imageTag="latest")
        print(f"[2] pushed {REPO}:{GIT_SHA[:12]}… and {REPO}:latest -> {digest}")
        print("    seeded ECR basic scan result: CRITICAL 2, HIGH 1, MEDIUM 1")

        topic = sns.create_topic(Name="ecr-scan-gate-alerts")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="ecr-scan-gate-alerts-demo")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        print(f"[3] SNS topic {topic} -> SQS queue (stands in for e-mail); Slack webhook -> loopback receiver")

        def tags():
            d = ecr.describe_images(repositoryName=REPO, imageIds=[{"imageDigest": digest}])["imageDetails"][0]
            return sorted(d.get("imageTags", []))

        print(f"[4] tags before: {', '.join(tags())}")

        event = {
            "version": "0", "id": "5d1e0a4c-demo-4f7e-9a1b-3c5d7e9f1a2b", "detail-type": "ECR Image Scan",
            "source": "aws.ecr", "account": "123456789012", "time": "2026-11-27T09:00:00Z", "region": REGION,
            "resources": [f"arn:aws:ecr:{REGION}:123456789012:repository/{REPO}"],
            "detail": {"scan-status": "COMPLETE", "repository-name": REPO,
                       "finding-severity-counts": {"CRITICAL": 2, "HIGH": 1, "MEDIUM": 1},
                       "image-digest": digest, "image-tags": [GIT_SHA, "latest"]},
        }
        event_file = out_dir / "ecr-image-scan.json"
        event_file.write_text(json.dumps(event, indent=2) + "\n")

        print("[5] starting `cargo lambda watch` (the first run builds the function)...")
        policy = {"strip_tags": ["latest"], "block": {"archive": "unused"}}
        policy_file = out_dir / "policy.json"
        write_policy(policy_file, policy)
        function_env = {**aws_env(gaps.url), "SNS_TOPIC_ARN": topic, "SLACK_WEBHOOK_URL": slack.url}
        port = services.watch({**function_env, "GATE_POLICY_FILE": str(policy_file)})
        rel = event_file.relative_to(ROOT)
        print(f"    cargo lambda invoke ecr-scan-gate --data-file {rel}")
        rc, out, err = invoke(port, data_file=str(rel))
        if rc != 0:
            die(f"the invocation failed:\n{err}")
        response = json.loads(out)
        print_actions(response)
        (out_dir / "response.json").write_text(json.dumps(response, indent=2) + "\n")
        print(f"    full response: {(out_dir / 'response.json').relative_to(ROOT)}")

        print(f"\n[6] tags after: {', '.join(tags())}")
        print(f"    storage: {gaps.image_status(digest)} (ECR answers 404 to every pull of it: docker, ECS, EKS)")
        if gaps.image_status(digest) != "ARCHIVED":
            die("the failing image was not archived")

        print("\n[7] SNS message (as the subscribed SQS queue received it; e-mail gets a text version):")
        msgs = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                   MessageAttributeNames=["All"]).get("Messages", [])
        if not msgs:
            print("    (none)")
        for m in msgs:
            envelope = json.loads(m["Body"])
            print(f"    Subject: {envelope.get('Subject')}")
            attrs = {k: v.get("Value") for k, v in envelope.get("MessageAttributes", {}).items()}
            print(f"    MessageAttributes: {json.dumps(attrs, sort_keys=True)}")
            body = json.loads(envelope.get("Message", "{}"))
            (out_dir / "sns.json").write_text(json.dumps(body, indent=2) + "\n")
            shown = {k: body.get(k) for k in ("schema_version", "verdict", "highest_severity", "image", "digest",
                                               "counts", "reasons", "outcome", "scan_results_url")}
            print(textwrap.indent(json.dumps(shown, indent=2), "    | "))
            print(f"    | … full body: {(out_dir / 'sns.json').relative_to(ROOT)}")

        print("\n[8] Slack message (as the loopback webhook received it):")
        if not slack.received:
            print("    (none)")
        for payload in slack.received:
            (out_dir / "slack.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
            print(f"    text: {payload.get('text')}")
            for block in payload.get("blocks", []):
                texts = []
                if isinstance(block.get("text"), dict):
                    texts.append(block["text"].get("text", ""))
                texts += [f.get("text", "") for f in block.get("fields", [])]
                texts += [e.get("text", "") if isinstance(e.get("text"), str) else e.get("url", "")
                          for e in block.get("elements", [])]
                line = " | ".join(t.replace("\n", " / ") for t in texts if t)
                print(f"    [{block.get('type')}] {line}"[:220])
            print(f"    full Block Kit payload: {(out_dir / 'slack.json').relative_to(ROOT)}")

        print("\n[9] the deploy pipeline asks before it deploys (same policy as the function):")
        binary = check_binary()
        pipeline_check(binary, gaps.url, digest, policy_file, expected=1)

        print("\n[10] ECS rolls out a service revision with this image (blue/green); its deployment lifecycle")
        print("     hook asks the function, which judges the digest ECS resolved:")
        gaps.add_revision(REVISION, [{
            "containerName": "api", "imageDigest": digest,
            "image": f"123456789012.dkr.ecr.{REGION}.amazonaws.com/{REPO}:{GIT_SHA}"}])
        hook_file = out_dir / "ecs-lifecycle-hook.json"
        hook_file.write_text(json.dumps(ecs_hook_event(), indent=2) + "\n")
        slack_before = len(slack.received)
        answer = ecs_hook(port, hook_file)
        if answer.get("hookStatus") != "FAILED":
            die(f"the hook did not refuse the deployment: {answer}")
        for payload in slack.received[slack_before:]:
            print(f"    Slack: {payload.get('text')}")

        print("\n[11] the team accepts the two Critical findings for now: an allowlist entry each, with a reason")
        print("     and an expiry date; the function starts again with the new policy and re-evaluates the image")
        expires = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
        policy = {**policy, "allowlist": [
            {"id": cve, "repository": REPO, "expires": expires, "reason": "demo: not reachable in demo-api; fix tracked"}
            for cve in ("CVE-2024-45491", "CVE-2023-38545")]}
        write_policy(policy_file, policy)
        # The function reads its policy once, at start: a second watch starts with the new one.
        port = services.watch({**function_env, "GATE_POLICY_FILE": str(policy_file)}, log_name="watch-2.log")
        request = out_dir / "re-evaluate.json"
        request.write_text(json.dumps({"repository": REPO, "digest": digest}) + "\n")
        print(f"    cargo lambda invoke ecr-scan-gate --data-file {request.relative_to(ROOT)}")
        slack_before = len(slack.received)
        rc, out, err = invoke(port, data_file=str(request.relative_to(ROOT)))
        if rc != 0:
            die(f"the re-evaluation failed:\n{err}")
        response = json.loads(out)
        print_actions(response)
        for step in ("restore", "release"):
            if not any(a["action"] == step and a["status"] == "done" for a in response["actions"]):
                die(f"the re-evaluation did not {step} the image")
        (out_dir / "release.json").write_text(json.dumps(response, indent=2) + "\n")
        print(f"    tags now: {', '.join(tags())}")
        for payload in slack.received[slack_before:]:
            print(f"    Slack: {payload.get('text')}")
        # ECR copies the image back from the archive (ACTIVATING), then it is ACTIVE.
        time.sleep(RESTORE_SECONDS)
        print(f"    storage: {gaps.image_status(digest)}")

        print("\n[12] the pipeline asks again:")
        pipeline_check(binary, gaps.url, digest, policy_file, expected=0)

        print("\n[13] and ECS deploys the revision again:")
        answer = ecs_hook(port, hook_file)
        if answer.get("hookStatus") != "SUCCEEDED":
            die(f"the hook did not let the deployment go on: {answer}")
        gaps.close()
    slack.close()
    print("\ndemo: done; the emulator and cargo lambda watch are stopped.")


if __name__ == "__main__":
    main()
