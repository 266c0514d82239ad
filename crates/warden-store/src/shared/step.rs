//! One call's shared state in one round trip: its single-use id (a token's
//! or a proof's `jti`) and its rate-limit buckets, decided by one Lua
//! script, atomically, on Redis's clock.
//!
//! The order inside the script is the contract:
//!
//! 1. **The id first.** An id already recorded answers
//!    [`StepOutcome::Replayed`] and nothing else is touched: a replayed
//!    token never spends its subject's (or anyone's) rate-limit cells.
//! 2. **Then the buckets**, in the order given, one GCRA step each (the
//!    formulation of `warden-policy`'s `gcra` module: a cell at `now` is
//!    allowed when `max(TAT, now) + T <= now + tau`; a refusal leaves that
//!    bucket alone), stopping after the first refusal. Cells taken before
//!    a refusal stay taken, as when the buckets are stepped one by one.
//! 3. **The id is recorded only when every bucket allowed**
//!    (`SET … NX EXAT`). A call refused for its rate did not happen, and
//!    its answer says "retry later": the caller may retry with the same
//!    token. (Recording it anyway would make every retry after a 429 need
//!    a new token, and a replayed token could not be told apart from one
//!    that was merely throttled.)
//!
//! One `TIME` and one `MGET` (the id and every bucket) per call, then one
//! `SET` per bucket stepped and one for the id: 8 commands for an id and
//! four buckets, where separate round trips took 16. Times are
//! microseconds (exact in Lua's doubles for centuries).

use std::sync::LazyLock;
use std::time::Duration;

use super::{GcraReply, SharedError, SharedState, unavailable};

/// ARGV[1] is "1" to look without taking (never with an id); ARGV[2] the
/// id's expiry in Unix seconds, "0" for none (with one, KEYS[1] is its
/// key); then, per bucket (the other KEYS, in order), its emission
/// interval T and tolerance tau in microseconds. Returns {{state}, then one
/// {allowed, remaining, reset_after_us, retry_after_us} per bucket
/// stepped}; state 0: the id was used before (nothing else done), 1: every
/// bucket allowed (the id recorded), 2: a bucket refused (the id not
/// recorded).
const SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local peek = ARGV[1] == '1'
local exat = tonumber(ARGV[2])
local first = 1
if exat > 0 then first = 2 end
local vals = redis.call('MGET', unpack(KEYS))
if exat > 0 and vals[1] then
  return {{0}}
end
local out = {{1}}
local stepped = {}
for i = first, #KEYS do
  local key = KEYS[i]
  local j = i - first + 1
  local interval = tonumber(ARGV[1 + 2 * j])
  local tolerance = tonumber(ARGV[2 + 2 * j])
  local tat = tonumber(stepped[key] or vals[i] or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  local allow_until = now + tolerance
  if new_tat <= allow_until then
    if not peek then
      local ttl_ms = math.ceil((new_tat - now) / 1000) + 1
      redis.call('SET', key, string.format('%.0f', new_tat), 'PX', ttl_ms)
      stepped[key] = new_tat
    end
    out[j + 1] = {1, math.floor((allow_until - new_tat) / interval), new_tat - now, 0}
  else
    out[1] = {2}
    out[j + 1] = {0, 0, tat - now, new_tat - allow_until}
    return out
  end
end
if exat > 0 then
  local at = math.max(exat, math.floor(now / 1000000) + 1)
  redis.call('SET', KEYS[1], '1', 'NX', 'EXAT', string.format('%.0f', at))
end
return out
"#;

static STEP: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(SCRIPT));

/// What one call's shared step found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// The single-use id had been recorded before (at any replica):
    /// nothing else was looked at or taken.
    Replayed,
    /// Every bucket allowed (one reply each, in order); the id, if any, is
    /// now recorded as used.
    Allowed(Vec<GcraReply>),
    /// The last reply is the bucket that refused (the ones before it were
    /// stepped and keep their cells); the id, if any, was not recorded.
    Refused(Vec<GcraReply>),
}

impl StepOutcome {
    /// The buckets' replies (none for a replay).
    pub fn replies(&self) -> &[GcraReply] {
        match self {
            Self::Replayed => &[],
            Self::Allowed(r) | Self::Refused(r) => r,
        }
    }
}

/// A bucket to step: its key, emission interval and tolerance.
pub type Bucket<'a> = (&'a str, Duration, Duration);

impl SharedState {
    /// One call's step, in one round trip: claims `once` (`(id, expires
    /// at, Unix seconds)`; `id` should be bounded, a digest: it becomes
    /// part of a Redis key) and steps `buckets`, in the order of the module
    /// docs. With `peek`, takes nothing (and `once` must be `None`).
    pub async fn step(
        &self,
        once: Option<(&str, u64)>,
        buckets: &[Bucket<'_>],
        peek: bool,
    ) -> Result<StepOutcome, SharedError> {
        if peek && once.is_some() {
            return Err(SharedError::Protocol(
                "a look at the buckets cannot claim an id".into(),
            ));
        }
        if once.is_none() && buckets.is_empty() {
            return Ok(StepOutcome::Allowed(Vec::new()));
        }
        let mut conn = self.conn().await?;
        let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
        let mut call = STEP.prepare_invoke();
        call.arg(if peek { "1" } else { "0" });
        match once {
            // 0 means "no id": an expiry of 0 is kept for a second anyway.
            Some((id, until)) => {
                call.key(self.key("replay", id)).arg(until.max(1));
            }
            None => {
                call.arg(0);
            }
        }
        for (key, interval, tolerance) in buckets {
            call.key(self.key("rate", key))
                .arg(micros(*interval))
                .arg(micros(*tolerance));
        }
        let out: Vec<Vec<i64>> = call.invoke_async(&mut conn).await.map_err(unavailable)?;
        outcome(&out, once.is_some(), buckets.len())
    }
}

/// The script's answer, checked against what was asked.
fn outcome(out: &[Vec<i64>], claimed: bool, asked: usize) -> Result<StepOutcome, SharedError> {
    let bad = || SharedError::Protocol(format!("the step script returned {out:?}"));
    let (state, rest) = out.split_first().ok_or_else(bad)?;
    let replies = rest
        .iter()
        .map(|r| super::gcra::reply(r))
        .collect::<Result<Vec<_>, _>>()?;
    match state.as_slice() {
        [0] if claimed && replies.is_empty() => Ok(StepOutcome::Replayed),
        [1] if replies.len() == asked && replies.iter().all(|r| r.allowed) => {
            Ok(StepOutcome::Allowed(replies))
        }
        [2] if !replies.is_empty()
            && replies.len() <= asked
            && replies.last().is_some_and(|r| !r.allowed) =>
        {
            Ok(StepOutcome::Refused(replies))
        }
        _ => Err(bad()),
    }
}
