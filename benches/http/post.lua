-- wrk script: POST the JSON body in the file named by the env variable BODY to the path
-- in PATH_ (default /access/v1/evaluation). With RATE set (requests per second for the
-- whole run) and CONNS (wrk's -c), each connection waits CONNS/RATE seconds between
-- requests, which keeps the total near RATE; latency is still measured per request.
local f = assert(io.open(os.getenv("BODY"), "r"))
local body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.path = os.getenv("PATH_") or "/access/v1/evaluation"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"

local rate = tonumber(os.getenv("RATE") or "0")
local conns = tonumber(os.getenv("CONNS") or "1")
if rate > 0 then
  function delay()
    return conns * 1000 / rate
  end
end

function done(summary, latency, requests)
  io.write(string.format("p50 %.0f us, p90 %.0f us, p99 %.0f us, p99.9 %.0f us, max %.0f us; errors: connect %d, read %d, write %d, status %d, timeout %d\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout))
end
