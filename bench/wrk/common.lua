-- Shared by the wrk scripts in this directory: one A2A request, a per-response
-- correctness check, and a machine-readable summary line.
--
-- A script calls
--   bench{ body = "send.json", check = function(status, body) ... end }
-- where `body` names a file next to the scripts (the same file bench/run.sh
-- sends with curl before every run) and `check` says whether one response is a
-- success. Set CHECK_BODIES=0 in the environment to skip the per-response
-- check (wrk then never hands bodies to Lua, which is cheaper for wrk); HTTP
-- statuses >= 400 and socket errors are counted by wrk either way.
--
-- done() prints one line that bench/run.sh parses:
--   BENCH requests=… duration_us=… rps=… p50_us=… p90_us=… p99_us=… max_us=…
--         connect=… read=… write=… status=… timeout=… checked=… bad=…
-- A script may also name per-thread counters (globals of its threads) in
-- `opts.counters`; done() sums them over the threads into a second line:
--   BENCH-COUNTERS name=… name=…

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"

local function read_file(name)
  local f = assert(io.open(here .. name, "rb"), "cannot open " .. here .. name)
  local s = f:read("*a")
  f:close()
  return s
end

-- Counts `needle` (a plain string) in `s`.
function count_plain(s, needle)
  local n, i = 0, 1
  while true do
    local at = s:find(needle, i, true)
    if not at then return n end
    n, i = n + 1, at + #needle
  end
end

local threads = {}

function bench(opts)
  wrk.method = "POST"
  wrk.body = read_file(opts.body)
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["A2A-Version"] = "1.0"

  function setup(thread)
    table.insert(threads, thread)
    if opts.setup then opts.setup(thread, #threads) end
  end

  if os.getenv("CHECK_BODIES") ~= "0" then
    checked, bad, first_bad = 0, 0, nil
    function response(status, headers, body)
      checked = checked + 1
      if not opts.check(status, body or "") then
        bad = bad + 1
        if first_bad == nil then
          first_bad = "HTTP " .. tostring(status) .. " " .. (body or ""):sub(1, 300):gsub("%s+", " ")
        end
      end
    end
  end

  function done(summary, latency, requests)
    local checked_total, bad_total, sample = 0, 0, nil
    for _, t in ipairs(threads) do
      checked_total = checked_total + (t:get("checked") or 0)
      bad_total = bad_total + (t:get("bad") or 0)
      sample = sample or t:get("first_bad")
    end
    local e = summary.errors
    io.write(string.format(
      "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d "
        .. "connect=%d read=%d write=%d status=%d timeout=%d checked=%d bad=%d\n",
      summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      e.connect, e.read, e.write, e.status, e.timeout, checked_total, bad_total))
    if opts.counters then
      local parts = {}
      for _, name in ipairs(opts.counters) do
        local sum = 0
        for _, t in ipairs(threads) do sum = sum + (t:get(name) or 0) end
        parts[#parts + 1] = name .. "=" .. sum
      end
      io.write("BENCH-COUNTERS " .. table.concat(parts, " ") .. "\n")
    end
    if sample then
      io.write("BENCH-FIRST-BAD " .. sample .. "\n")
    end
  end
end
