"""What the local emulator (moto) does not implement, answered in front of it for the demo, as
the AWS API references document it:

- ECR archive: `UpdateImageStorageClass` (answers `imageStatus` `ARCHIVED`, or `ACTIVATING` for
  a restore, which finishes - `ACTIVE` - a second later), and `DescribeImages` with each image's
  `imageStatus` (only `ACTIVE` images unless the request's filter asks for `ANY`);
- Amazon ECS `DescribeServiceRevisions` (`containerImages` of the revisions the demo registers);
- Amazon Inspector `ListFindingAggregations`: answered `AccessDeniedException`, as for an
  account where Inspector is not enabled (the demo uses basic scanning).

Everything else is forwarded to moto unchanged. A demo helper, not a test double: the Rust
tests play the same APIs at their own proxy (tests/common/archive.rs, tests/common/ecs.rs)."""

import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ECR = "AmazonEC2ContainerRegistry_V20150921."
ECS = "AmazonEC2ContainerServiceV20141113."
RESTORE_SECONDS = 1.0


class AwsGaps:
    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.lock = threading.Lock()
        self.status = {}  # digest -> "ARCHIVED" | ("ACTIVATING", since)
        self.revisions = {}  # revision ARN -> containerImages
        gaps = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                target = self.headers.get("X-Amz-Target", "")
                if target == ECR + "UpdateImageStorageClass":
                    return self._send(*gaps.update(json.loads(body or b"{}")))
                if target == ECS + "DescribeServiceRevisions":
                    return self._send(*gaps.describe_revisions(json.loads(body or b"{}")))
                if self.path.startswith("/findings/aggregation/list"):
                    return self._send(403, {"message": "Amazon Inspector is not enabled (local demo)"},
                                      {"x-amzn-ErrorType": "AccessDeniedException"})
                status, headers, answer = gaps.forward(self.command, self.path, self.headers, body)
                if target == ECR + "DescribeImages" and status == 200:
                    answer = gaps.describe_images(json.loads(body or b"{}"), answer)
                self.send_response(status)
                for k, v in headers:
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

            def _send(self, status, doc, extra=None):
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()

    def forward(self, method, path, headers, body):
        req = urllib.request.Request(self.upstream + path, data=body if body else None, method=method)
        for k, v in headers.items():
            if k.lower() not in ("host", "content-length", "connection"):
                req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.getheaders(), r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.items(), e.read()

    def image_status(self, digest):
        with self.lock:
            s = self.status.get(digest)
            if isinstance(s, tuple) and time.time() - s[1] >= RESTORE_SECONDS:
                del self.status[digest]
                s = None
        return "ACTIVE" if s is None else (s if isinstance(s, str) else s[0])

    def update(self, request):
        digest = request.get("imageId", {}).get("imageDigest")
        target = request.get("targetStorageClass")
        if not digest or target not in ("ARCHIVE", "STANDARD"):
            return 400, {"__type": "InvalidParameterException", "message": "imageId.imageDigest and targetStorageClass ARCHIVE|STANDARD"}
        now = self.image_status(digest)
        with self.lock:
            if target == "ARCHIVE":
                self.status[digest] = "ARCHIVED"
                after = "ARCHIVED"
            elif now == "ACTIVE":
                after = "ACTIVE"
            else:
                self.status[digest] = ("ACTIVATING", time.time())
                after = "ACTIVATING"
        return 200, {"registryId": "123456789012", "repositoryName": request.get("repositoryName"),
                     "imageId": {"imageDigest": digest}, "imageStatus": after}

    def describe_images(self, request, answer):
        wanted = (request.get("filter") or {}).get("imageStatus", "ACTIVE")
        doc = json.loads(answer)
        kept = []
        for d in doc.get("imageDetails", []):
            d["imageStatus"] = self.image_status(d.get("imageDigest"))
            if wanted in ("ANY", d["imageStatus"]):
                kept.append(d)
        doc["imageDetails"] = kept
        return json.dumps(doc).encode()

    def add_revision(self, arn, container_images):
        self.revisions[arn] = container_images

    def describe_revisions(self, request):
        found, failures = [], []
        for arn in request.get("serviceRevisionArns", []):
            if arn in self.revisions:
                found.append({"serviceRevisionArn": arn, "containerImages": self.revisions[arn]})
            else:
                failures.append({"arn": arn, "reason": "MISSING"})
        return 200, {"serviceRevisions": found, "failures": failures}
