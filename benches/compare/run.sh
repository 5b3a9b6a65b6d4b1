#!/usr/bin/env bash
# Regenerates every figure of benches/compare/RESULTS.md, in one run:
#   bash benches/compare/run.sh            (from the repository root; about 10 minutes)
# The criterion run first checks that Writ, Cedar and regorus agree on every case of every
# scenario. Extra arguments go to criterion (e.g. a filter: `bash benches/compare/run.sh gen-10/`).
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${CARGO_TARGET_DIR:-target}"

echo "## Machine"
lscpu | head -n 16
rustc -V
echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src grammar stdlib benches/compare || echo ' (with local changes)')"
echo

cargo build --release -p writ-compare --bins
"$target/release/gen" --all > /dev/null        # scenarios/gen-10000 (not kept in git)
mkdir -p "$target/compare"
: > "$target/compare/rss.jsonl"
for engine in writ writ-interpreted cedar rego; do
  "$target/release/rss" "$engine" >> "$target/compare/rss.jsonl"
done

cargo bench -p writ-compare --bench compare -- "$@" 2>&1 | tee "$target/compare/bench.log" | grep -E "agree|^[a-z0-9-]+/(prepared|json)" || true
echo
"$target/release/report" | tee "$target/compare/report.md"
