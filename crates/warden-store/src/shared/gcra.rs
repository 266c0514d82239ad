//! Rate-limit buckets across replicas: one GCRA step as a Lua script, run
//! atomically by Redis on Redis's own clock (so replicas whose clocks
//! differ still agree). The same formulation as the local limiter
//! (`warden-policy`'s `gcra` module): a cell at `now` is allowed when
//! `max(TAT, now) + T <= now + tau`, and a refusal leaves TAT alone.
//! Times are microseconds (exact in Lua's doubles for centuries).

use std::sync::LazyLock;
use std::time::Duration;

use super::{SharedError, SharedState, unavailable};

/// KEYS are the buckets, in order; ARGV[1] is "1" to look without taking;
/// then, per bucket, its emission interval T and tolerance tau in
/// microseconds. Steps the buckets in order and stops after the first
/// refusal. Returns one {allowed, remaining, reset_after_us,
/// retry_after_us} per bucket stepped.
const SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local peek = ARGV[1] == '1'
local out = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i])
  local tolerance = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  local allow_until = now + tolerance
  if new_tat <= allow_until then
    if not peek then
      local ttl_ms = math.ceil((new_tat - now) / 1000) + 1
      redis.call('SET', key, string.format('%.0f', new_tat), 'PX', ttl_ms)
    end
    out[i] = {1, math.floor((allow_until - new_tat) / interval), new_tat - now, 0}
  else
    out[i] = {0, 0, tat - now, new_tat - allow_until}
    return out
  end
end
return out
"#;

static GCRA: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(SCRIPT));

fn reply(r: &[i64]) -> Result<GcraReply, SharedError> {
    let [allowed, remaining, reset, retry] = r[..] else {
        return Err(SharedError::Protocol(format!(
            "the GCRA script returned {r:?}"
        )));
    };
    let us = |v: i64| Duration::from_micros(u64::try_from(v).unwrap_or(0));
    Ok(GcraReply {
        allowed: allowed == 1,
        remaining: u32::try_from(remaining).unwrap_or(0),
        reset_after: us(reset),
        retry_after: us(retry),
    })
}

/// One step's outcome, in the figures rate-limit headers need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcraReply {
    pub allowed: bool,
    /// Cells left right now, after this one.
    pub remaining: u32,
    /// Until the bucket is full again.
    pub reset_after: Duration,
    /// Until the next cell is allowed (zero when allowed).
    pub retry_after: Duration,
}

impl SharedState {
    /// Takes one cell from bucket `key` (or, with `peek`, says whether one
    /// could be taken, taking nothing).
    pub async fn gcra(
        &self,
        key: &str,
        interval: Duration,
        tolerance: Duration,
        peek: bool,
    ) -> Result<GcraReply, SharedError> {
        let mut replies = self.gcra_all(&[(key, interval, tolerance)], peek).await?;
        replies
            .pop()
            .ok_or_else(|| SharedError::Protocol("the GCRA script returned nothing".into()))
    }

    /// Steps the buckets `(key, interval, tolerance)` in order, in one
    /// round trip, stopping after the first refusal: one reply per bucket
    /// stepped (cells taken before a refusal stay taken).
    pub async fn gcra_all(
        &self,
        buckets: &[(&str, Duration, Duration)],
        peek: bool,
    ) -> Result<Vec<GcraReply>, SharedError> {
        let mut conn = self.conn().await?;
        let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
        let mut call = GCRA.prepare_invoke();
        call.arg(if peek { "1" } else { "0" });
        for (key, interval, tolerance) in buckets {
            call.key(self.key("rate", key))
                .arg(micros(*interval))
                .arg(micros(*tolerance));
        }
        let replies: Vec<Vec<i64>> = call.invoke_async(&mut conn).await.map_err(unavailable)?;
        if replies.is_empty() || replies.len() > buckets.len() {
            return Err(SharedError::Protocol(format!(
                "the GCRA script returned {} replies for {} buckets",
                replies.len(),
                buckets.len()
            )));
        }
        replies.iter().map(|r| reply(r)).collect()
    }
}
