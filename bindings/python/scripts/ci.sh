#!/usr/bin/env bash
# The Python binding's CI: a fresh virtual environment, the binding built from source and
# installed in it, its pytest suite and the tests of examples/python.
#
#   bash bindings/python/scripts/ci.sh            # from anywhere; needs python3 (>= 3.9) and cargo
#
# Environment: WRIT_PY_VENV (default: $CARGO_TARGET_DIR/py-venv, else target/py-venv) is
# the virtual environment, created when missing; WRIT_PY_RELEASE=1 builds the extension
# in release mode (slower to build; CI uses a debug build: the tests check behaviour, not
# speed); WRIT_PY_BENCH=1 also installs cedarpy and runs bench/bench.py (release build).
# The agreement tests run the `writ` command, built here with cargo (debug).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="${WRIT_PY_VENV:-$target/py-venv}"
python="${PYTHON:-python3}"

echo "== python binding: $("$python" --version), venv $venv"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "maturin>=1.9.4,<2" "pytest>=7"

build_args=()
if [ "${WRIT_PY_RELEASE:-0}" = 1 ] || [ "${WRIT_PY_BENCH:-0}" = 1 ]; then
  build_args+=(--release)
fi
echo "== building the extension (maturin develop ${build_args[*]:-(debug)})"
(cd "$here" && VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" maturin develop --quiet "${build_args[@]}")

echo "== building the writ command (for the agreement tests)"
(cd "$root" && cargo build --quiet -p writ-cli)
export WRIT_CLI="$target/debug/writ"

echo "== pytest: bindings/python/tests and examples/python/tests"
cd "$root"
"$venv/bin/python" -m pytest -q -p no:cacheprovider bindings/python/tests examples/python/tests

if [ "${WRIT_PY_BENCH:-0}" = 1 ]; then
  "$venv/bin/python" -m pip install --quiet "cedarpy>=4.12,<4.13"
  "$venv/bin/python" bindings/python/bench/bench.py
fi
