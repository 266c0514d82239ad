-- SendStreamingMessage over JSON-RPC: an SSE response of 5 events, the last
-- one completing the task. wrk times each request until the stream ends.
-- A success: HTTP 200, exactly 5 `data:` events, one completion, no error.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local EVENTS = tonumber(os.getenv("SSE_EVENTS") or "5")

bench{
  body = "stream.json",
  check = function(status, body)
    return status == 200
      and count_plain(body, "data:") == EVENTS
      and count_plain(body, '"TASK_STATE_COMPLETED"') == 1
      and body:find('"error"', 1, true) == nil
  end,
}
