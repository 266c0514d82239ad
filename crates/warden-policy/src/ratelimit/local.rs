//! The in-process limiter: a sharded map from key to TAT with a hard cap.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::{CheckFuture, Quota, RateDecision, RateLimiter, gcra, lock};

/// Shards keep lock contention low; a cap below this uses fewer shards so
/// that every shard holds at least one key.
const SHARDS: usize = 16;

/// GCRA state for one process, bounded to `max_keys` keys.
///
/// Memory stays bounded under key churn. A shard at its cap first drops
/// every key whose TAT is not in the future: such a key behaves exactly like
/// an unknown one, so no decision changes. If that leaves the shard above
/// 7/8 of its cap, it evicts the keys whose TAT is nearest (those owing the
/// least) down to 7/8, so the cost is amortised over the next cap/8 inserts.
///
/// An evicted key starts again with a full bucket: under a flood of distinct
/// keys the limiter fails *open* for evicted keys rather than refusing new
/// legitimate callers. Evicting the nearest TATs first keeps the keys that
/// are actually being limited (their TAT runs far ahead) tracked, and hands
/// the flood's one-cell keys the least extra budget. [`evictions`] counts
/// these so the gateway can alert on them.
///
/// A poisoned shard lock is recovered rather than reported: each critical
/// section is one map update that leaves the map valid, whereas failing
/// closed would turn one panic into a permanent denial for every key in the
/// shard.
///
/// [`evictions`]: Self::evictions
pub struct LocalRateLimiter {
    shards: Box<[Mutex<HashMap<String, u64>>]>,
    shard_cap: usize,
    /// Randomly keyed per process, so callers cannot aim keys at one shard.
    hasher: RandomState,
    evictions: AtomicU64,
}

impl LocalRateLimiter {
    /// A limiter tracking at most `max_keys` keys (rounded down to a
    /// multiple of the shard count when above it).
    pub fn new(max_keys: NonZeroUsize) -> Self {
        let shards = SHARDS.min(max_keys.get());
        Self {
            shards: (0..shards).map(|_| Mutex::default()).collect(),
            shard_cap: max_keys.get() / shards,
            hasher: RandomState::new(),
            evictions: AtomicU64::new(0),
        }
    }

    /// Takes one cell for `key` at `now` (time since a fixed epoch), if the
    /// quota allows. The same semantics as [`RateLimiter::check`], without
    /// the boxed future, for the gateway's hot path.
    pub fn check_now(&self, key: &str, quota: Quota, now: Duration) -> RateDecision {
        let now = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
        let mut map = lock(self.shard(key));
        if let Some(tat) = map.get_mut(key) {
            let (decision, new_tat) = gcra::step(Some(*tat), quota, now);
            if let Some(new_tat) = new_tat {
                *tat = new_tat;
            }
            return decision;
        }
        let (decision, new_tat) = gcra::step(None, quota, now);
        if let Some(new_tat) = new_tat {
            let evicted = make_room(&mut map, self.shard_cap, now);
            if evicted > 0 {
                self.evictions.fetch_add(evicted, Ordering::Relaxed);
            }
            map.insert(key.to_owned(), new_tat);
        }
        decision
    }

    /// What [`check_now`](Self::check_now) would decide for `key` at `now`,
    /// without taking a cell: a caller whose bucket is empty can be refused
    /// before any work is done for it, while a call that goes on spends its
    /// cell only once it is decided.
    pub fn peek_now(&self, key: &str, quota: Quota, now: Duration) -> RateDecision {
        let now = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
        let tat = lock(self.shard(key)).get(key).copied();
        gcra::step(tat, quota, now).0
    }

    /// The number of keys tracked now.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).len()).sum()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The effective cap: `len()` never exceeds it.
    pub fn max_keys(&self) -> usize {
        self.shard_cap * self.shards.len()
    }

    /// How many keys have been evicted while still owing cells (a monotonic
    /// counter for a metric). Expired keys dropped for free are not counted.
    pub fn evictions(&self) -> u64 {
        self.evictions.load(Ordering::Relaxed)
    }

    fn shard(&self, key: &str) -> &Mutex<HashMap<String, u64>> {
        // Modulo of a u64 by a small length: the result fits in usize.
        let index = self.hasher.hash_one(key) % self.shards.len() as u64;
        &self.shards[index as usize]
    }
}

impl fmt::Debug for LocalRateLimiter {
    /// Keys are caller identities: leave them out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalRateLimiter")
            .field("shards", &self.shards.len())
            .field("max_keys", &self.max_keys())
            .field("evictions", &self.evictions())
            .finish_non_exhaustive()
    }
}

impl RateLimiter for LocalRateLimiter {
    fn check<'a>(&'a self, key: &'a str, quota: Quota, now: Duration) -> CheckFuture<'a> {
        Box::pin(std::future::ready(Ok(self.check_now(key, quota, now))))
    }

    fn peek<'a>(&'a self, key: &'a str, quota: Quota, now: Duration) -> CheckFuture<'a> {
        Box::pin(std::future::ready(Ok(self.peek_now(key, quota, now))))
    }
}

/// Makes room for one insert into a shard capped at `cap`; returns how many
/// live keys it evicted.
fn make_room(map: &mut HashMap<String, u64>, cap: usize, now: u64) -> u64 {
    if map.len() < cap {
        return 0;
    }
    map.retain(|_, tat| *tat > now);
    // Leave at least one free slot even for caps below 8.
    let target = cap - (cap / 8).max(1);
    if map.len() <= target {
        return 0;
    }
    let excess = map.len() - target;
    // The excess smallest TATs go; ties at the threshold fill the quota.
    let mut tats: Vec<u64> = map.values().copied().collect();
    let (_, &mut threshold, _) = tats.select_nth_unstable(excess - 1);
    let below = tats.iter().filter(|&&tat| tat < threshold).count();
    let mut ties = excess - below;
    map.retain(|_, tat| {
        if *tat < threshold {
            false
        } else if *tat == threshold && ties > 0 {
            ties -= 1;
            false
        } else {
            true
        }
    });
    excess as u64
}

#[cfg(test)]
mod tests;
