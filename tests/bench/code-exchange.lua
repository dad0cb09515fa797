-- tests/bench: the authorization-code exchange with PKCE, each code posted exactly once.
-- sso.sh pre-creates codes `bench-<n>` (n = 1..CODES) in the database; thread t of T posts
-- codes FIRST+t, FIRST+t+T, … so no code is sent twice. A thread that runs past LAST sends
-- an unknown code on purpose: it gets invalid_grant (400), the run counts a non-2xx answer
-- and sso.sh fails with "code pool exhausted" instead of reporting a figure.
-- Env: BENCH_AUTH (Basic …), BENCH_REST (the form body after `code=…`), BENCH_THREADS,
--      BENCH_CODE_FIRST, BENCH_CODE_LAST, BENCH_LUA_DIR.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local headers, rest, step, last, n

function init(args)
  headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept"] = "application/json",
    ["Authorization"] = os.getenv("BENCH_AUTH"),
  }
  rest = os.getenv("BENCH_REST")
  step = tonumber(os.getenv("BENCH_THREADS"))
  last = tonumber(os.getenv("BENCH_CODE_LAST"))
  n = tonumber(os.getenv("BENCH_CODE_FIRST")) + tid
  issued = 0     -- globals, read by done() through thread:get
  exhausted = 0
end

function request()
  local code
  if n > last then
    exhausted = 1
    code = "bench-exhausted"
  else
    code = "bench-" .. n
    issued = n
    n = n + step
  end
  return wrk.format("POST", nil, headers, "grant_type=authorization_code&code=" .. code .. "&" .. rest)
end

function done(summary, latency, requests)
  local highest, out = 0, 0
  for _, t in ipairs(threads) do
    highest = math.max(highest, t:get("issued") or 0)
    out = math.max(out, t:get("exhausted") or 0)
  end
  common.result(summary, latency, string.format(" next_code=%d exhausted=%d", highest + 1, out))
end
