-- SendMessage over HTTP+JSON (REST): POST {base}/message:send, a small body.
-- A success: HTTP 200 and a completed task, no error.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

bench{
  body = "rest-send.json",
  check = function(status, body)
    return status == 200
      and body:find('"task"', 1, true) ~= nil
      and body:find('"TASK_STATE_COMPLETED"', 1, true) ~= nil
      and body:find('"error"', 1, true) == nil
  end,
}
