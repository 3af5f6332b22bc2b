-- meshperf's script for wrk and wrk2.
--
-- The request is set once through the wrk table, not in request(): with no
-- request() function wrk formats the request once per thread and keeps its
-- fast path. Headers come as -H flags; the method and body as files named in
-- the environment, so any bytes pass through unchanged.

local function slurp(name)
  local path = os.getenv(name)
  if path == nil or path == "" then return nil end
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local method = slurp("MESHPERF_METHOD_FILE")
if method then wrk.method = method end
local body = slurp("MESHPERF_BODY_FILE")
if body then wrk.body = body end

-- The percentiles printed: every percent, then finer steps in the tail.
local function points()
  local ps = {}
  for p = 0, 99 do ps[#ps + 1] = p end
  local step, base = 0.1, 99
  for _ = 1, 4 do
    for i = 1, 9 do ps[#ps + 1] = base + i * step end
    base, step = base + 9 * step, step / 10
  end
  ps[#ps + 1] = 100
  return ps
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write("MESHPERF-BEGIN\n")
  io.write(string.format("requests %d\n", summary.requests))
  io.write(string.format("duration_us %d\n", summary.duration))
  io.write(string.format("bytes %d\n", summary.bytes))
  io.write(string.format("errors_connect %d\n", e.connect))
  io.write(string.format("errors_read %d\n", e.read))
  io.write(string.format("errors_write %d\n", e.write))
  io.write(string.format("errors_status %d\n", e.status))
  io.write(string.format("errors_timeout %d\n", e.timeout))
  io.write(string.format("latency_min_us %.3f\n", latency.min))
  io.write(string.format("latency_max_us %.3f\n", latency.max))
  io.write(string.format("latency_mean_us %.3f\n", latency.mean))
  io.write(string.format("latency_stdev_us %.3f\n", latency.stdev))
  for _, p in ipairs(points()) do
    io.write(string.format("p %.4f %.3f\n", p, latency:percentile(p)))
  end
  io.write("MESHPERF-END\n")
  io.flush()
end
