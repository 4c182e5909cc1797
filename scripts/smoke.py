"""Smoke test of the built function: every file of events/ through `cargo lambda watch` +
`cargo lambda invoke`, each answer checked against events/expected.json.

The emulator is empty but for the images an expectation asks to seed (`"seeded"`: the image,
its findings, and what the event gives then); the other events that need findings get verdict
ERROR ("repository ... does not exist"). The seeded one is a failing image: its event goes the
whole quarantine path under `cargo lambda watch` (findings read, `BatchGetImage`, `PutImage`),
and the smoke checks the answer (`FAIL`, quarantine `done`) and the quarantine tag on the image
in the emulator. The top-level keys of such an expectation are what the event gives against an
empty registry, as tests/events.rs checks. Exit code 0 only if every event gave its expected
outcome."""

import hashlib
import json
import sys
import urllib.request

import boto3

from harness import REGION, ROOT, Services, aws_env, invoke


def squash(text):
    return "".join(ch for ch in text if not ch.isspace() and ch != "\u2502")


def check(name, want, rc, out, err):
    if "error" in want:
        if rc == 0:
            return f"expected an error containing {want['error']!r}, got success: {out[:300]}"
        # cargo lambda wraps the message to the terminal width: compare without whitespace.
        if squash(want["error"]) not in squash(err):
            return f"error lacks {want['error']!r}: {err[-500:]}"
        return None
    if rc != 0:
        return f"invocation failed: {err[-500:]}"
    got = json.loads(out)
    for key in ("outcome", "verdict", "repository", "basis", "hookStatus"):
        if key in want and got.get(key) != want[key]:
            return f"{key} is {got.get(key)!r}, expected {want[key]!r}"
    if "reason_contains" in want and want["reason_contains"] not in json.dumps(got.get("reasons")):
        return f"reasons {got.get('reasons')} lack {want['reason_contains']!r}"
    if "quarantine" in want:
        statuses = [a.get("status") for a in got.get("actions", []) if a.get("action") == "quarantine"]
        if statuses != [want["quarantine"]]:
            return f"quarantine action {statuses}, expected [{want['quarantine']!r}]: {got.get('actions')}"
    return None


def fake_digest(seed):
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def seed(ecr, endpoint, image, event):
    """Pushes the image (a manifest only) with its scan result in the emulator, in a repository
    made anew; returns its digest, which must be the one the event names."""
    repo, tag = image["repository"], image["tag"]
    try:
        ecr.delete_repository(repositoryName=repo, force=True)
    except ecr.exceptions.RepositoryNotFoundException:
        pass
    ecr.create_repository(repositoryName=repo)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1469,
                   "digest": fake_digest(f"{repo}/{tag}/config")},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 3370706,
                    "digest": fake_digest(f"{repo}/{tag}/layer")}],
    })
    digest = ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag=tag)["image"]["imageId"]["imageDigest"]
    named = event["detail"]["image-digest"]
    if digest != named:
        raise SystemExit(f"smoke: the emulator gave {repo}:{tag} the digest {digest}, the event names {named}: "
                         "update the event (the emulator computes digests from the manifest's layers)")
    findings = [{
        "name": f["name"], "uri": f"https://security-tracker.debian.org/tracker/{f['name']}",
        "severity": f["severity"],
        "attributes": [{"key": "package_version", "value": f["version"]},
                       {"key": "package_name", "value": f["package"]}],
    } for f in image["findings"]]
    counts = {}
    for f in image["findings"]:
        counts[f["severity"]] = counts.get(f["severity"], 0) + 1
    result = {
        "registryId": "123456789012", "repositoryName": repo, "imageId": {"imageDigest": digest},
        "imageScanStatus": {"status": "COMPLETE", "description": "seeded by the smoke"},
        "imageScanFindings": {"findings": findings, "findingSeverityCounts": counts},
    }
    req = urllib.request.Request(endpoint + "/moto-api/static/ecr/scan-finding-results",
                                 data=json.dumps({"results": [result], "region": REGION}).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(req).read()
    ecr.start_image_scan(repositoryName=repo, imageId={"imageDigest": digest})
    return digest


def quarantined(ecr, repo, digest):
    """Whether the image carries its quarantine tag in the emulator (the default prefix)."""
    details = ecr.describe_images(repositoryName=repo, imageIds=[{"imageDigest": digest}])["imageDetails"]
    return "quarantine-" + digest.removeprefix("sha256:") in details[0].get("imageTags", [])


def main():
    expected = json.loads((ROOT / "events" / "expected.json").read_text())
    failures = []
    with Services() as services:
        endpoint = services.moto()
        env = aws_env(endpoint)
        ecr = boto3.client("ecr", endpoint_url=endpoint, region_name=REGION,
                           aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                           aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
        seeded = {}
        for name, want in sorted(expected.items()):
            if "seeded" in want:
                event = json.loads((ROOT / "events" / name).read_text())
                image = want["seeded"]["image"]
                seeded[name] = (image["repository"], seed(ecr, endpoint, image, event))
        # Not a dry run: the seeded image is quarantined for real; the other events find
        # nothing to change.
        port = services.watch({**env, "RUST_LOG": "warn"})
        for name, want in sorted(expected.items()):
            rc, out, err = invoke(port, data_file=f"events/{name}")
            problem = check(name, want.get("seeded", want), rc, out, err)
            if not problem and name in seeded and not quarantined(ecr, *seeded[name]):
                problem = "no quarantine tag on the image in the emulator"
            print(f"{'FAIL' if problem else 'ok  '} events/{name}" + (f": {problem}" if problem else ""))
            if problem:
                failures.append(name)
    passed = len(expected) - len(failures)
    print(f"smoke: {passed} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
