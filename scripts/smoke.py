"""Smoke test of the built function: every file of events/ through `cargo lambda watch` +
`cargo lambda invoke`, each answer checked against events/expected.json.

The emulator is empty, so events that need findings get verdict ERROR ("repository ... does not
exist"); DRY_RUN keeps the function from changing anything. Exit code 0 only if every event gave
its expected outcome."""

import json
import sys

from harness import ROOT, Services, aws_env, invoke


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
    return None


def main():
    expected = json.loads((ROOT / "events" / "expected.json").read_text())
    failures = []
    with Services() as services:
        endpoint = services.moto()
        port = services.watch({**aws_env(endpoint), "DRY_RUN": "true", "RUST_LOG": "warn"})
        for name, want in sorted(expected.items()):
            rc, out, err = invoke(port, data_file=f"events/{name}")
            problem = check(name, want, rc, out, err)
            print(f"{'FAIL' if problem else 'ok  '} events/{name}" + (f": {problem}" if problem else ""))
            if problem:
                failures.append(name)
    passed = len(expected) - len(failures)
    print(f"smoke: {passed} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
