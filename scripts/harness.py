"""Starts and stops what the demo and the smoke need: the moto server (local AWS emulator),
`cargo lambda watch`, and a loopback Slack receiver. Used by demo.py and smoke.py."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
REGION = "us-east-1"
FUNCTION = "ecr-scan-gate"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


class Services:
    """Processes started here are stopped on exit, whatever happens."""

    def __init__(self):
        self.procs = []
        self.tmp = ROOT / "target" / "harness"
        self.tmp.mkdir(parents=True, exist_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                    p.wait(timeout=10)
                except Exception:
                    try:
                        os.killpg(p.pid, signal.SIGKILL)
                    except Exception:
                        pass
        self.procs.clear()

    def _spawn(self, args, log_name, env=None):
        log = open(self.tmp / log_name, "w")
        p = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
                             start_new_session=True)
        self.procs.append(p)
        return p

    def moto(self) -> str:
        """Starts a moto server on a free loopback port (or uses MOTO_ENDPOINT)."""
        if os.environ.get("MOTO_ENDPOINT"):
            url = os.environ["MOTO_ENDPOINT"]
        else:
            port = free_port()
            self._spawn([str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], "moto.log")
            url = f"http://127.0.0.1:{port}"
        wait_http(url + "/moto-api/data.json", 30)
        return url

    def watch(self, env_vars: dict, log_name: str = "watch.log") -> int:
        """Starts `cargo lambda watch` with the function's environment; returns the invoke port.
        cargo lambda splits an --env-var value at commas: pass JSON through a file instead."""
        port = free_port()
        env = dict(os.environ)
        env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}"
        args = ["cargo", "lambda", "watch", "--invoke-port", str(port), "--ignore-changes"]
        for k, v in env_vars.items():
            args += ["--env-var", f"{k}={v}"]
        proc = self._spawn(args, log_name, env=env)
        # watch builds the function on the first invoke: an ignored event warms it up.
        deadline = time.time() + 1200
        while True:
            try:
                rc, out, err = invoke(port, data='{"warm-up": true}')
            except subprocess.TimeoutExpired:
                # The first invoke waits for the build (minutes on a cold, busy machine): ask
                # again until the deadline rather than give up after one call's timeout.
                rc, out, err = 1, "", "the first invoke timed out while the function was built"
            if rc == 0:
                return port
            if proc.poll() is not None:
                raise RuntimeError(f"cargo lambda watch exited ({proc.returncode}); see {self.tmp / log_name}")
            if time.time() > deadline:
                raise RuntimeError(f"cargo lambda watch did not answer: {err[-2000:]}")
            time.sleep(1)


def invoke(port: int, data_file: str = None, data: str = None):
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}"
    args = ["cargo", "lambda", "invoke", FUNCTION, "--invoke-port", str(port), "--output-format", "json"]
    args += ["--data-file", data_file] if data_file else ["--data-ascii", data]
    p = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


class SlackReceiver:
    """A loopback HTTP server that records what a Slack incoming webhook would receive."""

    def __init__(self):
        self.received = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    receiver.received.append(json.loads(body))
                except ValueError:
                    receiver.received.append({"unparsed": body.decode("utf-8", "replace")})
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T0DEMO/B0DEMO/local-demo-only"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def aws_env(endpoint: str) -> dict:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "demo",
        "AWS_SECRET_ACCESS_KEY": "demo",
    }


def die(msg: str) -> None:
    print(msg, file=sys.stderr)
    sys.exit(1)
