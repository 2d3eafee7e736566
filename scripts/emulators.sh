# Sourced by scripts/test: installs (pinned) and starts the AWS stand-ins on 127.0.0.1,
# waits for them by polling, exports their URLs, and stops them on exit.
#   moto[server] (PyPI, tests/emulators/requirements.txt) for DynamoDB, in .venv
#   aws-ses-v2-local (npm, tests/emulators/package-lock.json) for SES v2

EMU_DIR="$PWD/tests/emulators"
EMU_LOGS="$PWD/target/emulator-logs"
mkdir -p "$EMU_LOGS"

source "$PWD/scripts/tools.sh"

install_emulators() {
    ensure_venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$EMU_DIR/requirements.txt"
    if [ ! -d "$EMU_DIR/node_modules/aws-ses-v2-local" ] || [ "$EMU_DIR/package-lock.json" -nt "$EMU_DIR/node_modules" ]; then
        (cd "$EMU_DIR" && npm ci --no-audit --no-fund --loglevel=error)
    fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL NAME PID: polls until URL answers, the process dies, or 60 s pass.
wait_http() {
    .venv/bin/python - "$1" "$2" "$3" <<'PY'
import os, sys, time, urllib.request, urllib.error
url, name, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(f"{name} exited before it was ready")
    try:
        urllib.request.urlopen(url, timeout=1)
        sys.exit(0)
    except urllib.error.HTTPError:
        sys.exit(0)  # it answered
    except Exception:
        time.sleep(0.1)
sys.exit(f"{name} not ready after 60 s")
PY
}

EMU_PIDS=()
stop_emulators() {
    for pid in "${EMU_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${EMU_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}

start_emulators() {
    local moto_port ses_port
    moto_port=$(free_port)
    ses_port=$(free_port)
    .venv/bin/python "$EMU_DIR/moto_serialized.py" 127.0.0.1 "$moto_port" >"$EMU_LOGS/moto.log" 2>&1 &
    EMU_PIDS+=($!)
    local moto_pid=$!
    node "$EMU_DIR/node_modules/aws-ses-v2-local/dist/cli.js" --host 127.0.0.1 --port "$ses_port" >"$EMU_LOGS/ses.log" 2>&1 &
    EMU_PIDS+=($!)
    local ses_pid=$!
    trap stop_emulators EXIT
    wait_http "http://127.0.0.1:$moto_port/" moto "$moto_pid"
    wait_http "http://127.0.0.1:$ses_port/health-check" aws-ses-v2-local "$ses_pid"
    export SAPK_TEST_DYNAMODB_URL="http://127.0.0.1:$moto_port"
    export SAPK_TEST_SES_URL="http://127.0.0.1:$ses_port"
    echo "moto on $SAPK_TEST_DYNAMODB_URL, aws-ses-v2-local on $SAPK_TEST_SES_URL (logs in $EMU_LOGS)"
}
