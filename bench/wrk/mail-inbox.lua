-- A mailbox inbox read (GET /mail/v1/inbox?limit=N, the path given on wrk's
-- command line) by bob, with bob's API key in X-API-Key (API_KEY, set by
-- bench/mailbox.sh). Every answer must be a page of messages.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local key = os.getenv("API_KEY")
assert(key and key ~= "", "API_KEY is not set")
wrk.headers["X-API-Key"] = key

bench{
  body = "mail-send.json",
  check = function(status, body)
    return status == 200 and body:find('"messages":[{', 1, true) ~= nil
  end,
}
-- bench{} prepares a POST with a body; an inbox read is a bare GET.
wrk.method = "GET"
wrk.body = nil
wrk.headers["Content-Type"] = nil
wrk.headers["A2A-Version"] = nil
