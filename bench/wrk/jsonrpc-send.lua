-- SendMessage over JSON-RPC (POST to the interface root), a small body.
-- A success: HTTP 200, a JSON-RPC result holding a completed task, no error.
-- Used for the null responder and for the echo agent.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

bench{
  body = "send.json",
  check = function(status, body)
    return status == 200
      and body:find('"result"', 1, true) ~= nil
      and body:find('"TASK_STATE_COMPLETED"', 1, true) ~= nil
      and body:find('"error"', 1, true) == nil
  end,
}
