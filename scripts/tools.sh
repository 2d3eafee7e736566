# Sourced by the scripts: the project's Python venv (.venv) with the pinned tools of
# infra/requirements.txt (cargo-lambda, zig, cfn-lint, SAM CLI, SAM translator) on PATH.
ensure_venv() {
    if [ ! -x .venv/bin/python ]; then
        python3 -m venv .venv
    fi
}

# checkov (infra/checkov-requirements.txt) in a venv of its own: its pins differ from the
# SAM CLI's and moto's.
install_checkov() {
    if [ ! -x .venv-checkov/bin/python ]; then
        python3 -m venv .venv-checkov
    fi
    .venv-checkov/bin/python -m pip install --quiet --disable-pip-version-check -r infra/checkov-requirements.txt
}

install_infra_tools() {
    ensure_venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r infra/requirements.txt
    export PATH="$PWD/.venv/bin:$PATH"
}

# qemu-aarch64 and the arm64 C library (Debian's qemu-user and libc6-arm64-cross), to run
# the arm64 Lambda binaries here (scripts/smoke.py).
install_qemu() {
    if command -v qemu-aarch64 >/dev/null && [ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]; then
        return
    fi
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends qemu-user libc6-arm64-cross >/dev/null
}

# Headless Chromium and ChromeDriver (Debian's chromium and chromium-driver) and axe-core
# (npm, tests/web/package-lock.json) for the browser tests of the recovery page
# (tests/tests/e2e/browser.rs); exports where they are.
install_browser() {
    if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
    fi
    if [ ! -f tests/web/node_modules/axe-core/axe.min.js ] || [ tests/web/package-lock.json -nt tests/web/node_modules ]; then
        (cd tests/web && npm ci --no-audit --no-fund --loglevel=error)
    fi
    export SAPK_TEST_CHROMIUM="$(command -v chromium)"
    export SAPK_TEST_CHROMEDRIVER="$(command -v chromedriver)"
    export SAPK_TEST_AXE="$PWD/tests/web/node_modules/axe-core/axe.min.js"
}

# schemathesis (tests/api/requirements.txt) in a venv of its own, for scripts/api-fuzz.py.
install_schemathesis() {
    if [ ! -x .venv-schemathesis/bin/python ]; then
        python3 -m venv .venv-schemathesis
    fi
    .venv-schemathesis/bin/python -m pip install --quiet --disable-pip-version-check -r tests/api/requirements.txt
}
