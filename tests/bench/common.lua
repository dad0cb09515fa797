-- tests/bench: shared by the wrk scripts here. Writes one machine-readable RESULT line that
-- sso.sh parses (the rest of wrk's output is for people).
local M = {}

function M.result(summary, latency, extra)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f"
      .. " non2xx3xx=%d connect_err=%d read_err=%d write_err=%d timeouts=%d%s\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.status, e.connect, e.read, e.write, e.timeout, extra or ""))
end

return M
