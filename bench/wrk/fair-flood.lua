-- The flooding caller of bench/fairness.sh: SendMessage over JSON-RPC with
-- an API key (API_KEY), as fast as the connections allow. Past its rate
-- limit the gateway answers 429: an expected answer here, counted
-- (`limited`) beside the successes (`ok`); anything else is a failure
-- (`bad`). wrk's own `status` count includes the 429s.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local key = os.getenv("API_KEY")
assert(key and key ~= "", "API_KEY is not set")
wrk.headers["X-API-Key"] = key

ok, limited = 0, 0

bench{
  body = "send.json",
  counters = { "ok", "limited" },
  check = function(status, body)
    if status == 429 then
      limited = limited + 1
      return body:find('"error"', 1, true) ~= nil
    end
    local good = status == 200
      and body:find('"result"', 1, true) ~= nil
      and body:find('"TASK_STATE_COMPLETED"', 1, true) ~= nil
      and body:find('"error"', 1, true) == nil
    if good then ok = ok + 1 end
    return good
  end,
}
