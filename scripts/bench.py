"""Benchmarks of the release `bootstrap` against a minimal local Lambda Runtime API.

    python scripts/bench.py run      # cold start (and the bare runtime), per event on moto, findings volume
    python scripts/bench.py run cold events   # only some parts: cold, volume, events
    python scripts/bench.py report   # every figure: scripts/bench_report.py

`run` writes target/bench/runtime.json (the parts it ran); `report` reads it with target/criterion/
(`cargo bench --bench evaluate`), target/bench/aws-calls.json and critical-path.json (`cargo bench
--bench aws_calls`), storm-and-early-quarantine.json (`--bench storm_and_early_quarantine`),
sweep.json (`--bench sweep`) and the arm64 zip (target/lambda-arm64), prints every figure and
writes target/bench/summary.md. `make bench` runs every step. With CARGO_TARGET_DIR set, every
`target/` above is that directory instead.

The cold start also measures `examples/bare_runtime.rs` (a bare `lambda_runtime` function that
answers a fixed JSON body), built here in release (`cargo build --release --example
bare_runtime`), interleaved run by run with the gate's bootstrap, and reports the gate's init
and peak memory as ratios to it.

Environment: BENCH_COLD_RUNS, BENCH_EVENT_RUNS, BENCH_VOLUME_RUNS, BENCH_FIRST_FAIL_RUNS
(repetitions); BENCH_BOOTSTRAP (the gate's binary to measure; default target/bench/bootstrap,
else target/release/ecr-scan-gate); BENCH_BARE (a bare runtime already built: no cargo build).

Every server here listens on 127.0.0.1 only; every loop is bounded in count and in time.
"""

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import REGION, ROOT, Services, SlackReceiver  # noqa: E402

# Cargo's target directory (CARGO_TARGET_DIR, relative to the repository, else target/): the
# builds, criterion's output, the arm64 zip and this bench's output are all under it.
TARGET = ROOT / os.environ.get("CARGO_TARGET_DIR", "target")
OUT = TARGET / "bench"
# The release build that ships, copied aside by scripts/bench.sh (`cargo bench` rebuilds
# target/release/ecr-scan-gate with the dev-dependencies' features); else the release build.
BOOTSTRAP = OUT / "bootstrap"
if not BOOTSTRAP.exists():
    BOOTSTRAP = TARGET / "release" / "ecr-scan-gate"
if os.environ.get("BENCH_BOOTSTRAP"):
    BOOTSTRAP = Path(os.environ["BENCH_BOOTSTRAP"]).resolve()
# The floor: a bare lambda_runtime function (examples/bare_runtime.rs), copied aside after its build.
BARE = OUT / "bare_runtime"
ZIP = TARGET / "lambda-arm64" / "ecr-scan-gate" / "bootstrap.zip"
ACCOUNT = "123456789012"
COLD_RUNS = int(os.environ.get("BENCH_COLD_RUNS", "30"))
EVENT_RUNS = int(os.environ.get("BENCH_EVENT_RUNS", "20"))
VOLUME_RUNS = int(os.environ.get("BENCH_VOLUME_RUNS", "3"))
# Containers whose first FAIL is timed (one sample each): the long run's and this many more.
FIRST_FAIL_RUNS = int(os.environ.get("BENCH_FIRST_FAIL_RUNS", str(max(5, COLD_RUNS // 3))))
PAGE = 1000  # DescribeImageScanFindings maxResults, as the function asks
# The gate's cold start against the physical limit, the bare runtime's: at most these ratios.
TARGET_INIT_RATIO = 2.5
TARGET_RSS_RATIO = 3.0
now = time.perf_counter_ns


def ms(ns):
    return ns / 1e6


def digest_of(seed: str) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def scan_event(repo, digest, tags, counts, status="COMPLETE"):
    return {
        "version": "0", "id": "bench", "detail-type": "ECR Image Scan", "source": "aws.ecr",
        "account": ACCOUNT, "time": "2026-11-27T09:00:00Z", "region": REGION,
        "resources": [f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{repo}"],
        "detail": {"scan-status": status, "repository-name": repo, "image-digest": digest,
                   "image-tags": tags, "finding-severity-counts": counts},
    }


# --- a minimal Lambda Runtime API -------------------------------------------------------------

class RuntimeApi:
    """Serves `events` one by one on /next and records when each was handed out and answered.
    After the last one, /next is held (as Lambda freezes the sandbox) until `close`."""

    def __init__(self, events):
        self.events = list(events)
        self.lock = threading.Lock()
        self.next_calls = []   # perf_counter_ns of each GET /next
        self.handed = []       # (request id, ns after the event was written)
        self.answers = {}      # request id -> (ns, "response" | "error", body)
        self.init_error = None
        self.finished = threading.Event()
        self.closing = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, code, body=b"", headers=()):
                self.send_response(code)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()

            def do_GET(self):
                t = now()
                if self.path != "/2018-06-01/runtime/invocation/next":
                    return self._reply(404)
                with api.lock:
                    api.next_calls.append(t)
                    i = len(api.handed)
                    event = api.events[i] if i < len(api.events) else None
                    if event is not None:
                        api.handed.append((f"bench-{i}", None))
                if event is None:
                    api.finished.set()
                    api.closing.wait(60)
                    self.close_connection = True
                    return
                body = json.dumps(event).encode()
                deadline = int(time.time() * 1000) + 60_000
                self._reply(200, body, [
                    ("Content-Type", "application/json"),
                    ("Lambda-Runtime-Aws-Request-Id", f"bench-{i}"),
                    ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                    ("Lambda-Runtime-Invoked-Function-Arn",
                     f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ecr-scan-gate"),
                    ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000"),
                ])
                with api.lock:
                    api.handed[i] = (f"bench-{i}", now())

            def do_POST(self):
                t = now()
                body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                m = re.match(r"^/2018-06-01/runtime/invocation/([^/]+)/(response|error)$", self.path)
                if m:
                    with api.lock:
                        api.answers[m.group(1)] = (t, m.group(2), body)
                elif self.path == "/2018-06-01/runtime/init/error":
                    api.init_error = body.decode("utf-8", "replace")
                    api.finished.set()
                self._reply(202, b'{"status":"OK"}', [("Content-Type", "application/json")])

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


class Sentinel:
    """A loopback port that counts the connections made to it (AWS_ENDPOINT_URL at init)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.connections = 0
        self.stop = False
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
                self.connections += 1
                c.close()
            except OSError:
                pass

    def close(self):
        self.stop = True
        self.sock.close()


def lambda_env(api_address, extra):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": api_address,
        "AWS_LAMBDA_FUNCTION_NAME": "ecr-scan-gate",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/ecr-scan-gate",
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "RUST_LOG": "info",
        # No ~/.aws files: as on Lambda.
        "AWS_CONFIG_FILE": "/nonexistent/config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
    }
    env.update(extra)
    return env


def run_bootstrap(events, extra_env, timeout=120, wrapper=(), log_name="bootstrap.log", binary=None):
    """Starts the bootstrap (or `binary`), serves `events`, stops it after the last answer.
    Returns timings (ns relative to the exec), the answers and the child's rusage."""
    api = RuntimeApi(events)
    env = lambda_env(api.address, extra_env)
    log = open(OUT / log_name, "wb")
    t0 = now()
    p = subprocess.Popen([*wrapper, str(binary or BOOTSTRAP)], env=env, stdout=log, stderr=subprocess.STDOUT)
    ok = api.finished.wait(timeout)
    t_end = now()
    # Peak RSS of the bootstrap itself: VmHWM, read while it waits on /next. (The rusage of
    # wait4 would count the Python process it was forked from, before the exec.)
    hwm_kb = None
    try:
        for line in Path(f"/proc/{p.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                hwm_kb = int(line.split()[1])
    except OSError:
        pass
    p.send_signal(signal.SIGKILL)
    _, status, rusage = os.wait4(p.pid, 0)
    p.returncode = status
    log.close()
    api.close()
    if not ok:
        raise RuntimeError(f"the bootstrap did not finish {len(events)} event(s) in {timeout} s; see {OUT / log_name}")
    if api.init_error:
        raise RuntimeError(f"init error: {api.init_error}")
    rows = []
    for rid, t_handed in api.handed:
        t_ans, kind, body = api.answers.get(rid, (None, None, b""))
        rows.append({"id": rid, "handed": t_handed - t0 if t_handed else None,
                     "answered": t_ans - t0 if t_ans else None, "kind": kind,
                     "body": json.loads(body or b"null")})
    return {
        "first_next": api.next_calls[0] - t0 if api.next_calls else None,
        "events": rows,
        "wall": t_end - t0,
        "maxrss_kb": hwm_kb,
        "cpu_ms": (rusage.ru_utime + rusage.ru_stime) * 1000,
    }


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def summary(values):
    return {"n": len(values), "min": min(values), "median": statistics.median(values),
            "p90": pct(values, 90), "max": max(values)}


# --- 1. cold start ----------------------------------------------------------------------------

def build_bare():
    """The bare runtime, built in release (the profile of the gate's bootstrap) and kept aside,
    or BENCH_BARE as it is."""
    if os.environ.get("BENCH_BARE"):
        return Path(os.environ["BENCH_BARE"]).resolve()
    subprocess.run(["cargo", "build", "--release", "--example", "bare_runtime"], cwd=ROOT, check=True)
    shutil.copy2(TARGET / "release" / "examples" / "bare_runtime", BARE)
    return BARE


BARE_NAME = "bare lambda_runtime (examples/bare_runtime.rs)"
MINIMAL = "minimal (no alerts configured)"
ALERTS = "alerts configured (SNS_TOPIC_ARN, SLACK_WEBHOOK_URL)"


def cold_start(results):
    clean = scan_event("demo-api", digest_of("clean"), ["v1"], {"MEDIUM": 3, "LOW": 7})
    configs = {
        MINIMAL: {},
        ALERTS: {
            "SNS_TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:ecr-scan-gate-alerts",
            "SLACK_WEBHOOK_URL": "http://127.0.0.1:9/services/T0/B0/bench",
        },
    }
    bare = build_bare()
    # (name, binary, environment, sentinel): the bare runtime and each configuration of the gate,
    # run in turn (one run of each per round), so that a load on the machine hits them alike.
    subjects = [(BARE_NAME, bare, {}, None)]
    for name, extra in configs.items():
        sentinel = Sentinel()
        subjects.append((name, BOOTSTRAP, {"AWS_ENDPOINT_URL": sentinel.url, **extra}, sentinel))
    runs = {name: {"init": [], "first": [], "hwm": []} for name, *_ in subjects}
    for name, binary, env, _ in subjects:
        run_bootstrap([clean], env, binary=binary)  # page cache warm, not counted
    for _ in range(COLD_RUNS):
        for name, binary, env, _ in subjects:
            # The peak RSS (VmHWM) is read while the process waits on its second /next, after
            # it answered the event.
            r = run_bootstrap([clean], env, binary=binary)
            assert r["events"][0]["kind"] == "response", r
            runs[name]["init"].append(ms(r["first_next"]))
            runs[name]["first"].append(ms(r["events"][0]["answered"]))
            if r["maxrss_kb"] is not None:
                runs[name]["hwm"].append(r["maxrss_kb"])
    out = {}
    for name, _, _, sentinel in subjects:
        x = runs[name]
        out[name] = {"init_ms": summary(x["init"]), "first_response_ms": summary(x["first"]),
                     "peak_rss_kb": summary(x["hwm"]) if x["hwm"] else None}
        if sentinel is not None:
            sentinel.close()
            out[name]["aws_connections"] = sentinel.connections
        hwm = f"{statistics.median(x['hwm']) / 1024:.2f} MiB" if x["hwm"] else "?"
        conns = (f"; connections to AWS_ENDPOINT_URL: {sentinel.connections}" if sentinel is not None else "")
        print(f"  cold start, {name}: exec -> first /next median {statistics.median(x['init']):.2f} ms "
              f"(p90 {pct(x['init'], 90):.2f}), -> first response median {statistics.median(x['first']):.2f} ms; "
              f"peak RSS median {hwm}{conns}")
    results["bare_runtime"] = out.pop(BARE_NAME)
    results["bare_runtime"]["binary_bytes"] = bare.stat().st_size
    ratios = bare_ratios(out, results["bare_runtime"])
    for name, r in ratios.items():
        print(f"  {name} / bare: init {r['init']:.2f}x, peak RSS {r['peak_rss']:.2f}x")
    results["cold_start"] = out
    results["cold_start_runs"] = COLD_RUNS
    results["bare_ratios"] = ratios
    # Which sockets does init open? strace, when the machine has it.
    if shutil.which("strace"):
        trace = OUT / "init.strace"
        sentinel = Sentinel()
        run_bootstrap([clean], {"AWS_ENDPOINT_URL": sentinel.url, **configs[ALERTS]},
                      wrapper=("strace", "-f", "-qq", "-e", "trace=connect", "-o", str(trace)),
                      log_name="bootstrap-strace.log")
        sentinel.close()
        connects = sorted({m.group(0) for m in re.finditer(
            r"sa_family=AF_\w+(, sin_port=htons\(\d+\), sin_addr=inet_addr\(\"[\d.]+\"\)|, sun_path=\"[^\"]*\")?",
            trace.read_text())})
        results["init_connects"] = connects
        print(f"  connect() calls of a whole fast-path run (strace): {connects}")


def bare_ratios(cold, bare):
    """The gate's median init and peak RSS over the bare runtime's, per configuration."""
    out = {}
    for name, c in cold.items():
        r = {"init": c["init_ms"]["median"] / bare["init_ms"]["median"]}
        if c.get("peak_rss_kb") and bare.get("peak_rss_kb"):
            r["peak_rss"] = c["peak_rss_kb"]["median"] / bare["peak_rss_kb"]["median"]
        else:
            r["peak_rss"] = float("nan")
        out[name] = r
    return out


# --- 2. per event on the emulator -------------------------------------------------------------

def per_event(results):
    import boto3

    slack = SlackReceiver()
    with Services() as services:
        endpoint = services.moto()
        s = boto3.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name=REGION)
        ecr = s.client("ecr", endpoint_url=endpoint)
        sns = s.client("sns", endpoint_url=endpoint)
        ssm = s.client("ssm", endpoint_url=endpoint)
        repo = "bench-api"
        ecr.create_repository(repositoryName=repo)
        topic = sns.create_topic(Name="ecr-scan-gate-bench")["TopicArn"]

        def push(tag):
            manifest = json.dumps({
                "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1469,
                           "digest": digest_of(tag + "c")},
                "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                            "size": 3370706, "digest": digest_of(tag + "l")}]})
            d = ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag=tag)["image"]["imageId"]["imageDigest"]
            findings = [
                {"name": "CVE-2024-45491", "severity": "CRITICAL", "uri": "https://example.invalid/CVE-2024-45491",
                 "attributes": [{"key": "package_name", "value": "expat"}, {"key": "package_version", "value": "2.5.0-1"},
                                {"key": "CVSS3_SCORE", "value": "9.8"}]},
                {"name": "CVE-2024-2961", "severity": "HIGH", "uri": "https://example.invalid/CVE-2024-2961",
                 "attributes": [{"key": "package_name", "value": "glibc"}, {"key": "package_version", "value": "2.36-9"}]},
            ]
            seed = {"registryId": ACCOUNT, "repositoryName": repo, "imageId": {"imageDigest": d},
                    "imageScanStatus": {"status": "COMPLETE", "description": "ok"},
                    "imageScanFindings": {"findings": findings, "findingSeverityCounts": {"CRITICAL": 1, "HIGH": 1}}}
            req = urllib.request.Request(endpoint + "/moto-api/static/ecr/scan-finding-results",
                                         data=json.dumps({"results": [seed], "region": REGION}).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
            urllib.request.urlopen(req).read()
            ecr.start_image_scan(repositoryName=repo, imageId={"imageDigest": d})
            return d

        fail_events, pass_events = [], []
        for i in range(EVENT_RUNS + 1 + FIRST_FAIL_RUNS):
            tag = f"fail-{i:03d}"
            fail_events.append(scan_event(repo, push(tag), [tag], {"CRITICAL": 1, "HIGH": 1}))
            pass_events.append(scan_event(repo, digest_of(f"pass-{i}"), [f"pass-{i:03d}"], {"MEDIUM": 3, "LOW": 7}))
        # The first of each kind is the container's first use of that path (connection set-up).
        events = [pass_events[0], fail_events[0]]
        for i in range(1, EVENT_RUNS + 1):
            events += [fail_events[i], pass_events[i]]
        env = {"AWS_ENDPOINT_URL": endpoint, "SNS_TOPIC_ARN": topic, "SLACK_WEBHOOK_URL": slack.url}
        r = run_bootstrap(events, env, timeout=300, log_name="bootstrap-moto.log")
        rows = r["events"]
        for row in rows:
            assert row["kind"] == "response", row
        durations = {"fail": [], "pass": []}
        for row in rows[2:]:
            verdict = row["body"]["verdict"]
            durations["fail" if verdict == "FAIL" else "pass"].append(ms(row["answered"] - row["handed"]))
        fail_actions = rows[2]["body"]["actions"]
        assert all(a["status"] == "done" for a in fail_actions), fail_actions
        assert len(slack.received) == EVENT_RUNS + 1, len(slack.received)
        # The first FAIL of a container, in more containers: a PASS on the fast path, then a FAIL
        # of an image of its own (one sample per container).
        first_fails = [ms(rows[1]["answered"] - rows[1]["handed"])]
        for i in range(EVENT_RUNS + 1, EVENT_RUNS + 1 + FIRST_FAIL_RUNS):
            r1 = run_bootstrap([pass_events[i], fail_events[i]], env, timeout=120, log_name="bootstrap-first-fail.log")
            fail_row = r1["events"][1]
            assert fail_row["kind"] == "response" and fail_row["body"]["verdict"] == "FAIL", fail_row
            assert all(a["status"] == "done" for a in fail_row["body"]["actions"]), fail_row["body"]["actions"]
            first_fails.append(ms(fail_row["answered"] - fail_row["handed"]))
        out = {
            "fail": summary(durations["fail"]),
            "pass_fast_path": summary(durations["pass"]),
            "first_fail_in_container_ms": statistics.median(first_fails),
            "first_fail_in_container": summary(first_fails),
            "fail_actions": [f"{a['action']} {a.get('channel') or a.get('tag', '')[:20]}: {a['status']}" for a in fail_actions],
            "maxrss_kb": r["maxrss_kb"],
        }
        print(f"  per event on moto, FAIL end to end (findings, quarantine, SNS, Slack): median "
              f"{out['fail']['median']:.1f} ms (p90 {out['fail']['p90']:.1f}, n={EVENT_RUNS}); "
              f"first in a container median {out['first_fail_in_container_ms']:.1f} ms "
              f"(min {min(first_fails):.1f}, p90 {pct(first_fails, 90):.1f}, n={len(first_fails)} containers)")
        print(f"  per event on moto, PASS on the fast path: median {out['pass_fast_path']['median']:.3f} ms "
              f"(p90 {out['pass_fast_path']['p90']:.3f})")

        # Init with the SSM parameters set: main reads SSM at start by design.
        ssm.put_parameter(Name="/bench/policy", Value="{}", Type="String", Overwrite=True)
        ssm.put_parameter(Name="/bench/slack", Value=slack.url, Type="SecureString", Overwrite=True)
        clean = pass_events[0]
        ssm_env = {"AWS_ENDPOINT_URL": endpoint, "SNS_TOPIC_ARN": topic,
                   "GATE_POLICY_PARAMETER": "/bench/policy", "SLACK_WEBHOOK_PARAMETER": "/bench/slack"}
        init = []
        run_bootstrap([clean], ssm_env)
        for _ in range(max(5, COLD_RUNS // 3)):
            init.append(ms(run_bootstrap([clean], ssm_env)["first_next"]))
        out["init_with_ssm_parameters_ms"] = summary(init)
        print(f"  cold start with GATE_POLICY_PARAMETER and SLACK_WEBHOOK_PARAMETER (2 SSM reads from moto "
              f"on loopback, plain HTTP): median {statistics.median(init):.2f} ms")
    slack.close()
    results["per_event_moto"] = out


# --- 3. findings volume: a paging fake ECR ----------------------------------------------------

class PagedEcr:
    """DescribeImageScanFindings only, `total` basic findings in pages of 1000 (as ECR pages).
    moto cannot do this: it ignores maxResults and returns everything in one page."""

    SEVERITIES = ["LOW"] * 6 + ["MEDIUM"] * 3 + ["HIGH"]

    def __init__(self, repo, digest, total):
        self.total = total
        self.pages = max(1, -(-total // PAGE))
        self.requests = 0
        counts = {}
        for i in range(total):
            sev = "CRITICAL" if i % 997 == 0 else self.SEVERITIES[i % 10]
            counts[sev] = counts.get(sev, 0) + 1
        self.counts = counts
        self.head = {"registryId": ACCOUNT, "repositoryName": repo, "imageId": {"imageDigest": digest},
                     "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."}}
        ecr = self

        def page_body(n):
            lo, hi = n * PAGE, min(total, (n + 1) * PAGE)
            findings = []
            for i in range(lo, hi):
                sev = "CRITICAL" if i % 997 == 0 else ecr.SEVERITIES[i % 10]
                findings.append({
                    "name": f"CVE-2026-{i:06d}", "severity": sev,
                    "uri": f"https://security-tracker.debian.org/tracker/CVE-2026-{i:06d}",
                    "attributes": [{"key": "package_version", "value": f"1.{i % 50}.{i % 7}-1"},
                                   {"key": "package_name", "value": f"lib{i % 300}"},
                                   {"key": "CVSS3_SCORE", "value": f"{(i % 100) / 10:.1f}"}]})
            body = dict(ecr.head)
            body["imageScanFindings"] = {"findings": findings, "findingSeverityCounts": counts,
                                         "imageScanCompletedAt": 1795800000.0,
                                         "vulnerabilitySourceUpdatedAt": 1795790000.0}
            if n + 1 < ecr.pages:
                body["nextToken"] = f"page-{n + 1}"
            return json.dumps(body).encode()

        self.bodies = [page_body(n) for n in range(self.pages)]

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0) or 0)) or b"{}")
                target = self.headers.get("X-Amz-Target", "")
                ecr.requests += 1
                if not target.endswith(".DescribeImageScanFindings"):
                    body, code = json.dumps({"__type": "InvalidParameterException", "message": target}).encode(), 400
                else:
                    token = req.get("nextToken")
                    n = int(token.split("-")[1]) if token else 0
                    body, code = ecr.bodies[n], 200
                self.send_response(code)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("x-amzn-RequestId", "bench")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def findings_volume(results):
    repo, digest = "bench-api", digest_of("volume")
    out = {}
    baseline = None
    for total in (0, 10, 10_000, 100_000):
        ecr = PagedEcr(repo, digest, total)
        counts = ecr.counts if total else {"LOW": 1}
        event = scan_event(repo, digest, ["v1"], counts)
        runs = []
        for _ in range(VOLUME_RUNS):
            ecr.requests = 0
            r = run_bootstrap([event], {"AWS_ENDPOINT_URL": ecr.url, "DRY_RUN": "true"},
                              timeout=300, log_name="bootstrap-volume.log")
            row = r["events"][0]
            assert row["kind"] == "response", row
            if total:
                assert row["body"]["findings"]["read"] == total, row["body"]["findings"]
            runs.append({"maxrss_kb": r["maxrss_kb"], "cpu_ms": r["cpu_ms"], "pages": ecr.requests,
                         "event_ms": ms(row["answered"] - row["handed"])})
        ecr.close()
        med = {k: statistics.median(x[k] for x in runs) for k in ("maxrss_kb", "cpu_ms", "event_ms", "pages")}
        name = "fast path (no finding read)" if total == 0 else f"{total} findings"
        if total == 0:
            baseline = med
        out[name] = {**med, "cpu_above_fast_path_ms": med["cpu_ms"] - baseline["cpu_ms"],
                     "page_bytes": len(ecr.bodies[0]), "runs": VOLUME_RUNS}
        print(f"  {name}: peak RSS {med['maxrss_kb'] / 1024:.1f} MiB, process CPU {med['cpu_ms']:.1f} ms "
              f"({med['cpu_ms'] - baseline['cpu_ms']:+.1f} over the fast path), event {med['event_ms']:.1f} ms, "
              f"{med['pages']:.0f} page(s)")
    results["findings_volume"] = out


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    what = sys.argv[1] if len(sys.argv) > 1 else "run"
    if what == "report":
        from bench_report import report
        return report()
    if not BOOTSTRAP.exists():
        sys.exit(f"{BOOTSTRAP} is missing: run make bench (or cargo build --release --bin ecr-scan-gate)")
    parts = {"cold": cold_start, "volume": findings_volume, "events": per_event}
    chosen = sys.argv[2:] or list(parts)
    unknown = [p for p in chosen if p not in parts]
    if unknown:
        sys.exit(f"unknown part(s) {unknown}: choose among {list(parts)}")
    results = {}
    print(f"bench: {BOOTSTRAP} against a loopback Lambda Runtime API ({', '.join(chosen)})")
    for name in parts:
        if name in chosen:
            parts[name](results)
    (OUT / "runtime.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
