-- SendMessage over JSON-RPC, like jsonrpc-send.lua, with an API key in
-- X-API-Key (from the API_KEY environment variable, which bench/run.sh sets to
-- a key it created for the run). For a gateway that authenticates every call.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local key = os.getenv("API_KEY")
assert(key and key ~= "", "API_KEY is not set")
wrk.headers["X-API-Key"] = key

bench{
  body = "send.json",
  check = function(status, body)
    return status == 200
      and body:find('"result"', 1, true) ~= nil
      and body:find('"TASK_STATE_COMPLETED"', 1, true) ~= nil
      and body:find('"error"', 1, true) == nil
  end,
}
