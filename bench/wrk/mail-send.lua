-- A mailbox send (POST /mail/v1/messages) from alice to bob, who granted
-- alice, with alice's API key in X-API-Key (API_KEY, set by
-- bench/mailbox.sh). No Idempotency-Key: every request is a new message.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local key = os.getenv("API_KEY")
assert(key and key ~= "", "API_KEY is not set")
wrk.headers["X-API-Key"] = key

bench{
  body = "mail-send.json",
  check = function(status, body)
    return status == 201 and body:find('"id":"msg_', 1, true) ~= nil
  end,
}
wrk.headers["A2A-Version"] = nil
