-- SendMessage over JSON-RPC, like jsonrpc-send.lua, with a single-use access
-- token in `Authorization: Bearer`: a different token on every request.
--
-- Environment (bench/run.sh sets it for every run):
--   TOKENS_FILE     tokens, one per line (`warden token mint --count N`)
--   TOKENS_THREADS  how many wrk threads share the file (wrk's -t). Threads
--                   share nothing, so thread i (1-based) takes lines i,
--                   i + TOKENS_THREADS, i + 2 × TOKENS_THREADS, …: no two
--                   threads ever hold the same token.
--   TOKENS_CYCLE    "1": start the list again when it runs out. Only for the
--                   direct runs (the null responder ignores the header, and
--                   wrk does the same work on both sides); never for a
--                   gateway, where a replayed token is refused with 401.
--
-- Without TOKENS_CYCLE, a thread whose tokens run out sends nothing more: the
-- connection that asked for a request stays idle, the thread stops, and the
-- shortfall is counted (BENCH-COUNTERS tokens_exhausted=…). wrk still divides
-- by the full duration then, so bench/run.sh discards such a run and mints
-- more tokens for it. tokens_used counts the tokens handed to wrk (the first
-- thread's first token is taken once by wrk's start-up check of the request
-- and never sent).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local FILE = os.getenv("TOKENS_FILE")
local STRIDE = tonumber(os.getenv("TOKENS_THREADS") or "1")
local CYCLE = os.getenv("TOKENS_CYCLE") == "1"
assert(FILE and FILE ~= "", "TOKENS_FILE is not set")
assert(STRIDE and STRIDE >= 1, "TOKENS_THREADS must be a positive number")

bench{
  body = "send.json",
  counters = { "tokens_used", "tokens_exhausted" },
  setup = function(thread, index)
    -- More threads than slices would hand the same token to two threads.
    assert(index <= STRIDE, "wrk runs more threads than TOKENS_THREADS=" .. STRIDE)
    thread:set("slice", index)
  end,
  check = function(status, body)
    return status == 200
      and body:find('"result"', 1, true) ~= nil
      and body:find('"TASK_STATE_COMPLETED"', 1, true) ~= nil
      and body:find('"error"', 1, true) == nil
  end,
}

-- In each thread's own Lua state (slice was set by setup() before init()).
local tokens, next_token
tokens_used, tokens_exhausted = 0, 0

function init(args)
  tokens, next_token = {}, 1
  local n = 0
  for line in io.lines(FILE) do
    if line ~= "" then
      n = n + 1
      if (n - slice) % STRIDE == 0 then tokens[#tokens + 1] = line end
    end
  end
  assert(#tokens > 0, "no tokens for thread " .. slice .. " in " .. FILE)
end

function request()
  if tokens == nil then
    -- The main Lua state (no init): wrk only checks that this is one request.
    return wrk.format(nil, nil, nil, nil)
  end
  if next_token > #tokens then
    if not CYCLE then
      -- Out of tokens: send nothing (an empty request leaves the connection
      -- idle) and stop this thread.
      tokens_exhausted = tokens_exhausted + 1
      wrk.thread:stop()
      return ""
    end
    next_token = 1
  end
  wrk.headers["Authorization"] = "Bearer " .. tokens[next_token]
  next_token = next_token + 1
  tokens_used = tokens_used + 1
  return wrk.format(nil, nil, nil, nil)
end
