#!/usr/bin/env python3
"""Checks the licence of every crate built into the shipped binaries, as `cargo deny check
licenses` would: each package's SPDX expression (Cargo.toml's `license`) must be satisfiable
with the licences allowed below. Expressions are parsed by `license-expression` (PyPI, pinned
in infra/requirements.txt); the crate graph comes from `cargo metadata --locked` for the two
targets the project ships (x86_64 and aarch64 Linux), followed from the workspace's members
through normal and build dependencies (not dev-dependencies, nor the test-only crate). Exit 1 on a crate with no licence, an
unknown licence, or an expression the policy does not satisfy.

Policy: permissive licences only. The binaries are distributed to a government agency's AWS
account (and the embedded build to laptops): nothing copyleft may be linked in, so GPL, LGPL,
AGPL and MPL are refused unless an OR offers a permissive choice.
"""

import json
import subprocess
import sys

from license_expression import (
    AND,
    OR,
    LicenseSymbol,
    LicenseWithExceptionSymbol,
    get_spdx_licensing,
)

ALLOWED = {
    "0BSD",
    "Apache-2.0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSL-1.0",
    "CC0-1.0",
    "ISC",
    "MIT",
    "MIT-0",
    "Unicode-3.0",
    "Unlicense",
    "Zlib",
}
# Exceptions that only widen what a licence allows.
ALLOWED_EXCEPTIONS = {"LLVM-exception"}
TARGETS = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"]


def satisfied(node) -> bool:
    if isinstance(node, LicenseWithExceptionSymbol):
        return (
            node.license_symbol.key in ALLOWED
            and node.exception_symbol.key in ALLOWED_EXCEPTIONS
        )
    if isinstance(node, LicenseSymbol):
        return node.key in ALLOWED
    if isinstance(node, AND):
        return all(satisfied(a) for a in node.args)
    if isinstance(node, OR):
        return any(satisfied(a) for a in node.args)
    return False


def self_test() -> None:
    """The policy on expressions whose answer is known, before it judges the real ones."""
    licensing = get_spdx_licensing()
    cases = {
        "MIT": True,
        "MIT OR Apache-2.0": True,
        "Apache-2.0 WITH LLVM-exception OR MIT": True,
        "(MIT OR Apache-2.0) AND Unicode-3.0": True,
        "MIT OR Apache-2.0 OR LGPL-2.1-or-later": True,
        "GPL-3.0-only": False,
        "MIT AND GPL-2.0-only": False,
        "MPL-2.0": False,
        "AGPL-3.0-or-later OR SSPL-1.0": False,
        "GPL-2.0-only WITH Classpath-exception-2.0": False,
    }
    for text, want in cases.items():
        got = satisfied(licensing.parse(text))
        assert got == want, f"policy self-test: {text!r} gave {got}, expected {want}"


# Workspace members that only test: their dependencies (a WebDriver client, a mail parser,
# an HTTP client) are never built into a binary the project ships.
TEST_ONLY = {"sapk-e2e", "sapk-testkit"}


def built_into_binaries(meta, workspace):
    """Package ids reachable from the workspace's shipping members through normal and build
    dependencies (dev-dependencies are for tests and benches only)."""
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    names = {p["id"]: p["name"] for p in meta["packages"]}
    todo = [i for i in workspace if names.get(i) not in TEST_ONLY]
    seen = set(todo)
    while todo:
        node = nodes.get(todo.pop())
        if node is None:
            continue
        for dep in node["deps"]:
            kinds = {k.get("kind") for k in dep.get("dep_kinds", [])}
            if kinds <= {"dev"}:
                continue
            if dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                todo.append(dep["pkg"])
    return seen


def main() -> int:
    self_test()
    cmd = ["cargo", "metadata", "--format-version", "1", "--locked"]
    for t in TARGETS:
        cmd += ["--filter-platform", t]
    meta = json.loads(subprocess.run(cmd, check=True, capture_output=True).stdout)
    workspace = set(meta["workspace_members"])
    shipped = built_into_binaries(meta, workspace)
    licensing = get_spdx_licensing()
    problems = []
    seen = 0
    for p in sorted(meta["packages"], key=lambda p: (p["name"], p["version"])):
        if p["id"] in workspace or p["id"] not in shipped:
            continue
        seen += 1
        name = f'{p["name"]} {p["version"]}'
        text = p.get("license")
        if not text:
            problems.append(f"{name}: no SPDX licence (license-file: {p.get('license_file')})")
            continue
        # The legacy `/` separator means OR (as cargo and cargo-deny read it).
        text = " OR ".join(part.strip() for part in text.split("/"))
        info = licensing.validate(text, strict=True)
        if info.errors:
            problems.append(f"{name}: {text!r}: {'; '.join(info.errors)}")
            continue
        if not satisfied(licensing.parse(text)):
            problems.append(f"{name}: {text!r} is not satisfied by the allowed licences")
    if problems:
        print(f"licence check failed for {len(problems)} of {seen} crates:")
        for line in problems:
            print(f"  {line}")
        return 1
    print(f"licences: {seen} crates, every one under a permissive licence the policy allows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
