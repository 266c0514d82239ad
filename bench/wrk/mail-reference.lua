-- The machine's speed in the same run: GET /.well-known/jwks.json on the same
-- gateway (no authentication, no store), so the mailbox figures can be read
-- as a ratio to a request that does no mailbox work.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

bench{
  body = "mail-send.json",
  check = function(status, body)
    return status == 200 and body:find('"keys"', 1, true) ~= nil
  end,
}
wrk.method = "GET"
wrk.body = nil
wrk.headers["Content-Type"] = nil
wrk.headers["A2A-Version"] = nil
