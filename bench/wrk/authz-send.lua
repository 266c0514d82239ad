-- SendMessage over JSON-RPC naming its skill with the Warden skill extension
-- (message.metadata["urn:warden:a2a:skill:v1"] = "null", the URI listed in
-- message.extensions), with an API key in X-API-Key (API_KEY in the
-- environment). For the authz-send scenario: a gateway with strict
-- authentication, policy rules and rate limits.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local key = os.getenv("API_KEY")
assert(key and key ~= "", "API_KEY is not set")
wrk.headers["X-API-Key"] = key

bench{
  body = "skill-send.json",
  check = function(status, body)
    return status == 200
      and body:find('"result"', 1, true) ~= nil
      and body:find('"TASK_STATE_COMPLETED"', 1, true) ~= nil
      and body:find('"error"', 1, true) == nil
  end,
}
