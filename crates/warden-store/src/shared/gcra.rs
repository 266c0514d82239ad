//! Rate-limit buckets across replicas: one GCRA step as a Lua script, run
//! atomically by Redis on Redis's own clock (so replicas whose clocks
//! differ still agree). The same formulation as the local limiter
//! (`warden-policy`'s `gcra` module): a cell at `now` is allowed when
//! `max(TAT, now) + T <= now + tau`, and a refusal leaves TAT alone.
//! Times are microseconds (exact in Lua's doubles for centuries).

use std::sync::LazyLock;
use std::time::Duration;

use super::{SharedError, SharedState, unavailable};

/// KEYS[1] the bucket; ARGV[1] the emission interval T and ARGV[2] the
/// tolerance tau, in microseconds; ARGV[3] "1" to look without taking.
/// Returns {allowed, remaining, reset_after_us, retry_after_us}.
const SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_until = now + tolerance
if new_tat <= allow_until then
  if ARGV[3] ~= '1' then
    local ttl_ms = math.ceil((new_tat - now) / 1000) + 1
    redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', ttl_ms)
  end
  return {1, math.floor((allow_until - new_tat) / interval), new_tat - now, 0}
end
return {0, 0, tat - now, new_tat - allow_until}
"#;

static GCRA: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(SCRIPT));

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
        let mut conn = self.conn().await?;
        let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
        let reply: Vec<i64> = GCRA
            .key(self.key("rate", key))
            .arg(micros(interval))
            .arg(micros(tolerance))
            .arg(if peek { "1" } else { "0" })
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let [allowed, remaining, reset, retry] = reply[..] else {
            return Err(SharedError::Protocol(format!(
                "the GCRA script returned {reply:?}"
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
}
