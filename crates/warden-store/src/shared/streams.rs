//! Open streams per caller on every replica: one sorted set per caller,
//! whose members are the streams' ids and whose scores are the ends of
//! their leases (milliseconds, by Redis's clock, like every other shared
//! time). A gateway renews the leases of the streams it holds; a gateway
//! that dies stops renewing, and its streams stop counting when their
//! leases end, so a crash cannot lock a caller out for longer than one
//! lease.

use std::sync::LazyLock;
use std::time::Duration;

use super::{SharedError, SharedState, unavailable};

/// KEYS[1] the caller's set; ARGV[1] the stream, ARGV[2] the most open
/// streams, ARGV[3] the lease (ms). 1: taken; 0: the caller holds the most
/// already (expired leases are dropped first).
const ACQUIRE: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], lease)
return 1
"#;

/// KEYS the callers' sets; ARGV[1] the lease (ms), then the stream of each
/// key, in order. Every stream's lease starts again now; a stream Redis
/// forgot (a restart) is counted again.
const RENEW: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], now + lease, ARGV[i + 1])
  redis.call('PEXPIRE', KEYS[i], lease)
end
return #KEYS
"#;

/// KEYS[1] the caller's set: how many of its streams hold a lease now.
const COUNT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
"#;

static ACQUIRE_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(ACQUIRE));
static RENEW_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(RENEW));
static COUNT_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(COUNT));

/// Streams renewed in one script at most (a long list goes in several).
const RENEW_BATCH: usize = 500;

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl SharedState {
    /// Takes one of `caller`'s at most `max` open streams for `stream`,
    /// leased for `lease`: `Ok(false)` when every one is taken. `caller`
    /// should be bounded (a digest): it becomes part of a Redis key.
    pub async fn stream_acquire(
        &self,
        caller: &str,
        stream: &str,
        max: u32,
        lease: Duration,
    ) -> Result<bool, SharedError> {
        let mut conn = self.conn().await?;
        let taken: i64 = ACQUIRE_SCRIPT
            .key(self.key("streams", caller))
            .arg(stream)
            .arg(max)
            .arg(millis(lease))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(taken == 1)
    }

    /// Starts the lease of every `(caller, stream)` in `held` again.
    pub async fn stream_renew(
        &self,
        held: &[(String, String)],
        lease: Duration,
    ) -> Result<(), SharedError> {
        for batch in held.chunks(RENEW_BATCH) {
            let mut conn = self.conn().await?;
            let mut invocation = RENEW_SCRIPT.prepare_invoke();
            invocation.arg(millis(lease));
            for (caller, stream) in batch {
                invocation.key(self.key("streams", caller)).arg(stream);
            }
            let _: i64 = invocation
                .invoke_async(&mut conn)
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    /// Gives `stream`'s place back.
    pub async fn stream_release(&self, caller: &str, stream: &str) -> Result<(), SharedError> {
        let mut conn = self.conn().await?;
        let _: i64 = redis::cmd("ZREM")
            .arg(self.key("streams", caller))
            .arg(stream)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// How many of `caller`'s streams hold a lease now (metrics, tests).
    pub async fn stream_count(&self, caller: &str) -> Result<u64, SharedError> {
        let mut conn = self.conn().await?;
        COUNT_SCRIPT
            .key(self.key("streams", caller))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)
    }
}
