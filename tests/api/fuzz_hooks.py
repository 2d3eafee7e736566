"""schemathesis hooks for scripts/api-fuzz.py: every call reaches the server's logic, not only
its front door.

- A signed-in route gets a session of its own, fresh for each call (a login of the session
  employee just before), so a fuzzed logout or password change cannot end the sessions of the
  calls after it, and no call is refused for a token an earlier call spent.
- Valid data (schemathesis's positive mode) for a route that asks for the current password gets
  the real one; when a fuzzed password change succeeds, the new password is the one used next.
- Before a valid confirmation of an authenticator, the hook starts a set-up in that session, so
  the generated code is checked against a real one.
- The reset employee is given an authenticator at the first valid second step (through the
  API: a reset to a known password, a login, the set-up and its confirmation with a code the
  hook computes, RFC 6238). Then every second valid second step carries a real challenge
  (a login of that employee just before), and a right code (the authenticator's while a time
  step is free, else a recovery code) while there is one; the other half keeps the generated
  challenges and codes.
- Every second valid login is for the session employee with the real password, and every second
  valid reset carries a fresh code e-mailed to the reset employee (through the API and the
  outbox): the other half keeps the generated NIPs, passwords and codes.

Configured by scripts/api-fuzz.py through the environment: SAPK_FUZZ_BASE (the server),
SAPK_FUZZ_OUTBOX (its outbox), SAPK_FUZZ_SESSION_NIP and SAPK_FUZZ_PASSWORD (an employee whose
password is set), SAPK_FUZZ_RESET_NIP and SAPK_FUZZ_RESET_EMAIL (an employee for resets, and the address its codes
go to).
"""

import base64
import hashlib
import hmac
import json
import os
import struct
import pathlib
import re
import time
import urllib.error
import urllib.request

import schemathesis
from hypothesis import strategies as st

BASE = os.environ["SAPK_FUZZ_BASE"]
OUTBOX = pathlib.Path(os.environ["SAPK_FUZZ_OUTBOX"])
SESSION_NIP = os.environ["SAPK_FUZZ_SESSION_NIP"]
RESET_NIP = os.environ["SAPK_FUZZ_RESET_NIP"]
RESET_TO = "To: " + os.environ["SAPK_FUZZ_RESET_EMAIL"]
CODE = re.compile(r"\b([0-9A-Z]{4}-[0-9A-Z]{4})\b")

SIGNED_IN = {
    ("GET", "/v1/session"),
    ("POST", "/v1/logout"),
    ("POST", "/v1/password/change"),
    ("GET", "/v1/account/activity"),
    ("POST", "/v1/account/second-factor"),
    ("POST", "/v1/account/second-factor/confirm"),
    ("POST", "/v1/account/recovery-codes"),
}
CURRENT_PASSWORD = {
    ("POST", "/v1/password/change"),
    ("POST", "/v1/account/second-factor"),
    ("POST", "/v1/account/recovery-codes"),
}

# What the schema's `format: sapk-new-password` stands for: a password the policy takes (its
# length, letters and digit are in the schema; its strength score cannot be). Random letters and
# digits from a seeded generator, never the all-alike strings a shrinker prefers.
ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
schemathesis.openapi.format(
    "sapk-new-password",
    st.tuples(st.randoms(use_true_random=True), st.integers(min_value=12, max_value=40)).map(
        lambda t: "K7" + "".join(t[0].choice(ALPHABET) for _ in range(t[1] - 2))
    ),
)

# What the schema's `format: sapk-nip` stands for: a NIP the server takes (its pattern is in
# the schema; its dates' rules cannot be): a real birth date, then a PNS's TMT (year and month)
# or a PPPK's year and code at least 20 years later and not after 2025, a gender digit and a
# sequence number.
def nip_of(t):
    year, month, day, after, appointed_month, pppk_code, gender, seq, spaced = t
    tmt_year = min(year + after, 2025)
    middle = f"{tmt_year}{pppk_code if pppk_code else appointed_month:02d}"
    parts = [f"{year}{month:02d}{day:02d}", middle, str(gender), f"{seq:03d}"]
    return (" " if spaced else "").join(parts)


schemathesis.openapi.format(
    "sapk-nip",
    st.tuples(
        st.integers(1960, 2000),
        st.integers(1, 12),
        st.integers(1, 28),
        st.integers(20, 40),
        st.integers(1, 12),
        st.sampled_from([0, 0, 21, 24]),
        st.integers(1, 2),
        st.integers(1, 999),
        st.booleans(),
    ).map(nip_of),
)

# The mails already in the outbox (the reset that set the session employee's password) are not
# the reset employee's.
state = {
    "password": os.environ["SAPK_FUZZ_PASSWORD"],
    "logins": 0,
    "resets": 0,
    "second_steps": 0,
    "seen": {m.name for m in OUTBOX.glob("*.eml")},
}


def post(path, body):
    return post_with(path, body, None)


def post_with(path, body, authorization):
    headers = {"Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    req = urllib.request.Request(
        BASE + path, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def fresh_token():
    status, body = post("/v1/login", {"nip": SESSION_NIP, "password": state["password"]})
    if status != 200 or "access_token" not in body:
        raise RuntimeError(f"fuzz hooks: the session employee's login answered {status}: {body}")
    return body["access_token"]


def fresh_code():
    """A reset code for the reset employee that no earlier call has seen."""
    status, body = post("/v1/password/forgot", {"nip": RESET_NIP})
    if status != 202:
        raise RuntimeError(f"fuzz hooks: forgot answered {status}: {body}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for mail in sorted(OUTBOX.glob("*.eml")):
            if mail.name in state["seen"]:
                continue
            text = mail.read_text(errors="replace")
            if not mail.name.endswith("-reset-code.eml") or RESET_TO not in text:
                continue
            found = CODE.search(text)
            state["seen"].add(mail.name)
            if found:
                return found.group(1)
        time.sleep(0.02)
    raise RuntimeError("fuzz hooks: no reset code in the outbox within 30 s")


def route(case):
    return case.operation.method.upper(), case.operation.path


def positive(case):
    meta = case.meta
    return meta is None or meta.generation.mode.value == "positive"


def totp(secret, step):
    """RFC 6238: six digits, SHA-1, the 30-second step `step`."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def now_step():
    return int(time.time()) // 30


def enrol_reset_employee():
    """Gives the reset employee a known password and an authenticator, through the API."""
    password = "Fuzz-Langkah-Kedua-" + os.urandom(4).hex()
    status, body = post(
        "/v1/password/reset", {"nip": RESET_NIP, "token": fresh_code(), "new_password": password}
    )
    if status != 200:
        raise RuntimeError(f"fuzz hooks: the reset employee's reset answered {status}: {body}")
    state["reset_password"] = password
    status, body = post("/v1/login", {"nip": RESET_NIP, "password": password})
    token = "Bearer " + body.get("access_token", "")
    status, body = post_with("/v1/account/second-factor", {"current_password": password}, token)
    if status != 200:
        raise RuntimeError(f"fuzz hooks: the set-up answered {status}: {body}")
    state["secret"] = body["secret"]
    step = now_step()
    status, body = post_with(
        "/v1/account/second-factor/confirm", {"code": totp(state["secret"], step)}, token
    )
    if status != 200:
        raise RuntimeError(f"fuzz hooks: the confirmation answered {status}: {body}")
    state["last_step"] = step
    state["recovery"] = list(body["recovery_codes"])


def real_second_step(case):
    """A real challenge of the reset employee, and the current code when its step is unused."""
    if "secret" not in state:
        enrol_reset_employee()
    status, body = post("/v1/login", {"nip": RESET_NIP, "password": state["reset_password"]})
    if status != 200 or "challenge" not in body:
        raise RuntimeError(f"fuzz hooks: the reset employee's login answered {status}: {body}")
    case.body["challenge"] = body["challenge"]
    # The server takes one step of drift and never a step twice: the current step, or the
    # next while the current one is used; else one of the recovery codes.
    step = max(now_step(), state["last_step"] + 1)
    if step <= now_step() + 1:
        case.body["code"] = totp(state["secret"], step)
        state["last_step"] = step
    elif state["recovery"]:
        case.body["code"] = state["recovery"].pop()


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    here = route(case)
    if here in SIGNED_IN:
        case.headers = dict(case.headers or {})
        case.headers["Authorization"] = f"Bearer {fresh_token()}"
    if not positive(case) or not isinstance(case.body, dict):
        return
    if here == ("POST", "/v1/account/second-factor/confirm"):
        # A set-up the code is checked against (each session's own; an earlier one is replaced).
        status, body = post_with(
            "/v1/account/second-factor",
            {"current_password": state["password"]},
            case.headers["Authorization"],
        )
        if status != 200:
            raise RuntimeError(f"fuzz hooks: starting a set-up answered {status}: {body}")
    elif here in CURRENT_PASSWORD:
        case.body["current_password"] = state["password"]
    elif here == ("POST", "/v1/login"):
        state["logins"] += 1
        if state["logins"] % 2 == 0:
            case.body.update(nip=SESSION_NIP, password=state["password"])
    elif here == ("POST", "/v1/password/reset"):
        state["resets"] += 1
        if state["resets"] % 2 == 0:
            case.body.update(nip=RESET_NIP, token=fresh_code())
    elif here == ("POST", "/v1/login/second-factor"):
        state["second_steps"] += 1
        if state["second_steps"] % 2 == 0:
            real_second_step(case)


@schemathesis.hook
def after_call(ctx, case, response):
    """A password a fuzzed call changed is the one used next."""
    if response.status_code != 200 or not isinstance(case.body, dict):
        return
    new = case.body.get("new_password")
    if not isinstance(new, str):
        return
    if route(case) == ("POST", "/v1/password/change"):
        state["password"] = new
    elif route(case) == ("POST", "/v1/password/reset") and case.body.get("nip") == RESET_NIP:
        state["reset_password"] = new

