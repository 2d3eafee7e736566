"""A minimal AWS Lambda Runtime API on 127.0.0.1, to run a function's real `bootstrap` (here:
the arm64 build under qemu-aarch64) for exactly one invocation.

It serves what a custom runtime calls (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):
`GET /2018-06-01/runtime/invocation/next` answers the one event (later calls wait until the
process is stopped), `POST .../invocation/<id>/response` and `.../error` take the answer,
`POST /2018-06-01/runtime/init/error` a failed start. Bounded: the caller's deadline stops
the process.
"""

import http.server
import json
import os
import subprocess
import threading
import time
import uuid


def invoke_once(command, env, event, deadline_s, log_path):
    """Runs `command` as a Lambda function with `env`, gives it `event`, and returns
    (kind, body): kind "response", "error" or "init_error"; raises on the deadline."""
    request_id = str(uuid.uuid4())
    done = threading.Event()
    outcome = {}
    served = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _body(self):
            n = int(self.headers.get("content-length") or 0)
            return self.rfile.read(n) if n else b""

        def _answer(self, status, body=b"", headers=None):
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path != "/2018-06-01/runtime/invocation/next":
                return self._answer(404)
            if served.is_set():
                # One invocation only: the next waits until the process is stopped.
                done.wait(deadline_s)
                return self._answer(500)
            served.set()
            self._answer(200, json.dumps(event).encode(), {
                "content-type": "application/json",
                "Lambda-Runtime-Aws-Request-Id": request_id,
                "Lambda-Runtime-Deadline-Ms": str(int((time.time() + deadline_s) * 1000)),
                "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:ap-southeast-3:123456789012:function:sapk-arm64-check",
                "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
            })

        def do_POST(self):
            body = self._body()
            if self.path == f"/2018-06-01/runtime/invocation/{request_id}/response":
                outcome["response"] = body
            elif self.path == f"/2018-06-01/runtime/invocation/{request_id}/error":
                outcome["error"] = body
            elif self.path == "/2018-06-01/runtime/init/error":
                outcome["init_error"] = body
            else:
                return self._answer(404)
            self._answer(202, b"{}")
            done.set()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    full_env = {
        **env,
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": "sapk-arm64-check",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1769",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/sapk-arm64-check",
        "AWS_LAMBDA_LOG_STREAM_NAME": "arm64-check",
        "PATH": os.environ.get("PATH", ""),
    }
    with open(log_path, "w") as log:
        proc = subprocess.Popen(command, env=full_env, stdout=log, stderr=subprocess.STDOUT)
        try:
            end = time.monotonic() + deadline_s
            while not done.is_set():
                if proc.poll() is not None:
                    raise SystemExit(f"{command[-1]} exited ({proc.returncode}) before answering; see {log_path}")
                if time.monotonic() > end:
                    raise SystemExit(f"{command[-1]} did not answer within {deadline_s} s; see {log_path}")
                done.wait(0.2)
        finally:
            proc.kill()
            proc.wait()
            server.shutdown()
    kind = next(iter(outcome))
    return kind, outcome[kind]


# The shape of the events API Gateway delivers, kept once: the fixture the Rust event
# builder (sapk_http::ApiGatewayV2) is held to.
EVENT_FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates",
                             "sapk-http", "tests", "data", "apigw_v2_forgot_request.json")


def apigw_v2_event(method, path, body, source_ip="203.0.113.10"):
    """An API Gateway HTTP API (payload 2.0) event, as the functions receive it: the fixture
    with this method, path, JSON body and source, received now."""
    with open(EVENT_FIXTURE, encoding="utf-8") as f:
        event = json.load(f)
    now = time.time()
    text = json.dumps(body)
    event["routeKey"] = f"{method} {path}"
    event["rawPath"] = path
    event["headers"]["content-length"] = str(len(text.encode("utf-8")))
    event["headers"]["x-forwarded-for"] = source_ip
    event["headers"]["user-agent"] = "sapk-smoke"
    ctx = event["requestContext"]
    ctx["http"].update({"method": method, "path": path, "sourceIp": source_ip,
                        "userAgent": "sapk-smoke"})
    ctx["routeKey"] = event["routeKey"]
    ctx["requestId"] = str(uuid.uuid4())
    ctx["time"] = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now))
    ctx["timeEpoch"] = int(now * 1000)
    event["body"] = text
    return event
