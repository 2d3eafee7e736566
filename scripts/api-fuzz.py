#!/usr/bin/env python3
"""Runs schemathesis (pinned: tests/api/requirements.txt) against the real `sapk-local` from
docs/openapi.yaml: no answer may be a 5xx, and every answer must be as the document says
(status code, content type, headers such as Retry-After, body schema). The server runs on
127.0.0.1 over a fresh data directory with the demo employees. The PNS employee's password is
set through the API itself (forgot, the code from the outbox, reset); the hooks in
tests/api/fuzz_hooks.py then give every signed-in call a fresh session of its own and let half
of the valid logins and resets through (the real password, a fresh e-mailed code), so the
fuzzing reaches the logic behind authentication. Any schemathesis warning fails the run
(tests/api/schemathesis.toml): a route that answered only 401/403, or refused every valid
example, was not tested. The one exception, the authenticator's confirmation (no generator
knows a right code), runs first on its own (tests/api/schemathesis-confirm.toml). Bounded: a fixed number of examples per operation.

    scripts/api-fuzz.py SCHEMATHESIS SAPK_LOCAL
"""

import json
import pathlib
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
NIP = "198609262015051001"
RESET_NIP = "199009132025242014"
RESET_EMAIL = "ayu.lestari@example.go.id"
PASSWORD = "Danau-Toba-Kabut-64"
CODE = re.compile(r"\b([0-9A-Z]{4}-[0-9A-Z]{4})\b")
HUGE = "1000000/900"


def post(base, path, body):
    req = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def wait(what, check, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    sys.exit(f"api-fuzz: {what} within {seconds} s: no")


def newest_code(outbox):
    mails = sorted(outbox.glob("*.eml")) if outbox.is_dir() else []
    for m in reversed(mails):
        found = CODE.search(m.read_text(errors="replace"))
        if found:
            return found.group(1)
    return None


def main():
    schemathesis, server = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as data:
        env = {
            "PATH": "/usr/bin:/bin",
            "SAPK_FORGOT_MIN_MS": "0",
            "SAPK_FORGOT_COOLDOWN_SECONDS": "0",
            # Fuzzed wrong codes on the reset employee's real challenges (fuzz_hooks.py) must
            # not lock it out or cap its authenticator before the run ends.
            "SAPK_LOCKOUT_THRESHOLD": "100",
            "SAPK_LOCKOUT_NIP_CEILING": "1000",
            "SAPK_SECOND_STEP_CAP": "100",
            "RUST_LOG": "warn",
        }
        for route in ("FORGOT", "RESET", "LOGIN"):
            for scope in ("NIP", "IP", "NIP_IP"):
                env[f"SAPK_LIMIT_{route}_{scope}"] = HUGE
        proc = subprocess.Popen(
            [server, "--listen", "127.0.0.1:0", "--data-dir", data],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            first = proc.stdout.readline()
            base = first.strip().rsplit(" ", 1)[-1]
            if not base.startswith("http://127.0.0.1:"):
                sys.exit(f"api-fuzz: unexpected first line from sapk-local: {first!r}")
            # A session through the API itself.
            status, _ = post(base, "/v1/password/forgot", {"nip": NIP})
            assert status == 202, status
            code = wait("a code in the outbox", lambda: newest_code(pathlib.Path(data) / "outbox"))
            status, body = post(
                base, "/v1/password/reset", {"nip": NIP, "token": code, "new_password": PASSWORD}
            )
            assert status == 200, (status, body)
            hooks_env = {
                "PATH": "/usr/bin:/bin",
                "HOME": data,
                "PYTHONPATH": str(ROOT / "tests" / "api"),
                "SCHEMATHESIS_HOOKS": "fuzz_hooks",
                "SAPK_FUZZ_BASE": base,
                "SAPK_FUZZ_OUTBOX": str(pathlib.Path(data) / "outbox"),
                "SAPK_FUZZ_SESSION_NIP": NIP,
                "SAPK_FUZZ_PASSWORD": PASSWORD,
                "SAPK_FUZZ_RESET_NIP": RESET_NIP,
                "SAPK_FUZZ_RESET_EMAIL": RESET_EMAIL,
            }
            # The confirmation of an authenticator first, on its own configuration (the one
            # route where refused valid-looking data is expected: see the file); it leaves the
            # password as it was. Then every other route, failing on any warning.
            for config, selection in (
                ("schemathesis-confirm.toml", ["--include-operation-id", "secondFactorConfirm"]),
                ("schemathesis.toml", ["--exclude-operation-id", "secondFactorConfirm"]),
            ):
                run = subprocess.run(
                    [
                        schemathesis,
                        "--config-file",
                        str(ROOT / "tests" / "api" / config),
                        "run",
                        str(ROOT / "docs" / "openapi.yaml"),
                        *selection,
                        "--url",
                        base,
                        "--checks",
                        "not_a_server_error,status_code_conformance,content_type_conformance,"
                        "response_headers_conformance,response_schema_conformance",
                        "--max-examples",
                        "40",
                        "--seed",
                        "20261128",
                        "--no-color",
                    ],
                    env=hooks_env,
                )
                if run.returncode != 0:
                    return run.returncode
            return 0
        finally:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    sys.exit(main())
