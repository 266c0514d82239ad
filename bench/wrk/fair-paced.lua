-- The well-behaved caller of bench/fairness.sh: SendMessage over JSON-RPC
-- with an API key (API_KEY), one request at a time with a pause of
-- PACE_MS milliseconds before each (wrk's delay(); the pause is not part
-- of the latency), so that it stays under its rate limit. A success is as
-- in apikey-send.lua; a 429 is also counted on its own (`limited`).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local key = os.getenv("API_KEY")
assert(key and key ~= "", "API_KEY is not set")
wrk.headers["X-API-Key"] = key
local pace = tonumber(os.getenv("PACE_MS") or "")
assert(pace and pace >= 0, "PACE_MS is not set")

function delay()
  return pace
end

limited = 0

bench{
  body = "send.json",
  counters = { "limited" },
  check = function(status, body)
    if status == 429 then limited = limited + 1 end
    return status == 200
      and body:find('"result"', 1, true) ~= nil
      and body:find('"TASK_STATE_COMPLETED"', 1, true) ~= nil
      and body:find('"error"', 1, true) == nil
  end,
}
