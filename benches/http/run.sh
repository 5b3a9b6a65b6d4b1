#!/usr/bin/env bash
# The HTTP decision point benchmark of BENCHMARKS.md ("HTTP decision point"): a release
# `writ serve examples/spec` and wrk on the same machine, over loopback.
#   apt-get install -y wrk && cargo build --release -p writ-cli && benches/http/run.sh
# WORKERS (server threads, default 1), THREADS/CONNS (wrk), SECS (per run) may be set.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/writ}
WORKERS=${WORKERS:-1}
SECS=${SECS:-10}
HERE=benches/http
"$BIN" serve examples/spec --addr 127.0.0.1:0 --no-watch --workers "$WORKERS" 2> /tmp/writ-bench-serve.log &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "listening on" /tmp/writ-bench-serve.log && break; sleep 0.1; done
ADDR=$(sed -n 's/.*listening on http:\/\/\([^ ]*\).*/\1/p' /tmp/writ-bench-serve.log)
URL="http://$ADDR"
rss() { awk '/VmRSS/ {print $2 " kB"}' /proc/$PID/status; }
# Server CPU time (user + system) in clock ticks: divided by the requests of a run, the
# cost of one request whatever else the machine is doing.
ticks() { awk '{print $14 + $15}' /proc/$PID/stat; }
TCK=$(getconf CLK_TCK)
cost() { # ticks before, ticks after, wrk output
  local n; n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<< "$3")
  awk -v a="$1" -v b="$2" -v n="$n" -v t="$TCK" 'BEGIN { if (n > 0) printf "   server CPU per request: %.1f us (%d requests)\n", (b - a) / t * 1e6 / n, n }'
}
echo "server pid $PID on $ADDR, $WORKERS worker thread(s); idle RSS $(rss)"
check() { curl -s "$URL$1" -H 'Content-Type: application/json' --data-binary @"$2" | head -c 200; echo; }
check /access/v1/evaluation $HERE/evaluation.json
check /v1/decide examples/spec/request.json

run() { # name, path, body, wrk args…
  local name=$1 path=$2 body=$3; shift 3
  echo "== $name"
  ( sleep $((SECS / 2)); echo "   RSS under load: $(rss)" ) &
  local probe=$!
  local before out; before=$(ticks)
  out=$(BODY=$body PATH_=$path wrk "$@" -d "${SECS}s" -s $HERE/post.lua "$URL")
  grep -E "Requests/sec|p50|Latency  " <<< "$out"
  cost "$before" "$(ticks)" "$out"
  wait $probe
}
echo "== GET /healthz (HTTP alone: no body, no decision)"
before=$(ticks)
out=$(wrk -t 1 -c ${CONNS:-32} -d "${SECS}s" "$URL/healthz")
grep -E "Requests/sec|Latency  " <<< "$out"
cost "$before" "$(ticks)" "$out"
run "AuthZEN evaluation, max throughput" /access/v1/evaluation $HERE/evaluation.json -t 1 -c ${CONNS:-32}
run "native /v1/decide, max throughput" /v1/decide examples/spec/request.json -t 1 -c ${CONNS:-32}
RATE=20000 CONNS=40 run "AuthZEN evaluation at about 20,000/s" /access/v1/evaluation $HERE/evaluation.json -t 1 -c 40
run "native batches of 100, max throughput" /v1/decide/batch $HERE/batch100.json -t 1 -c ${BCONNS:-8}
echo "idle RSS after the runs $(rss)"
