-- tests/bench: one fixed request, repeated. Env:
--   BENCH_METHOD  GET or POST (default POST)
--   BENCH_BODY    form body for POST (application/x-www-form-urlencoded)
--   BENCH_AUTH    Authorization header value (Basic … or Bearer …), optional
--   BENCH_COOKIE  Cookie header value, optional
--   BENCH_LUA_DIR directory of common.lua
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

wrk.method = os.getenv("BENCH_METHOD") or "POST"
wrk.headers["Accept"] = "application/json, text/html"
if wrk.method == "POST" then
  wrk.body = os.getenv("BENCH_BODY") or ""
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
local cookie = os.getenv("BENCH_COOKIE")
if cookie and cookie ~= "" then wrk.headers["Cookie"] = cookie end

function done(summary, latency, requests)
  common.result(summary, latency)
end
