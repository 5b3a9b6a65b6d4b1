#!/usr/bin/env bash
# End-to-end tests of `writ guard` against real MCP peers (the official `mcp` Python SDK on
# both sides). Creates a virtualenv, installs the SDK and pytest, builds `writ` (unless
# WRIT_BIN names one) and runs the tests. Usage: crates/writ-guard/tests/python/ci.sh
# Environment: PYTHON (default python3), MCP_SPEC (default "mcp", e.g. "mcp<2" for the 1.x
# SDK), VENV (default: target/guard-venv), WRIT_BIN, CARGO_TARGET_DIR.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="${VENV:-$target/guard-venv}"
"${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade "${MCP_SPEC:-mcp}" pytest
if [ -z "${WRIT_BIN:-}" ]; then
  (cd "$root" && cargo build --quiet -p writ-cli)
  export WRIT_BIN="$target/debug/writ"
fi
"$venv/bin/python" -c 'import importlib.metadata as m; print("mcp", m.version("mcp"))'
exec "$venv/bin/python" -m pytest -q "$here"
