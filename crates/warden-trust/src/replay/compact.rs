//! The gateway's replay cache: a fixed table of 8-byte slots, allocated once.
//!
//! # Layout
//!
//! Each slot is one `u64`: a 48-bit fingerprint of the id and a 16-bit
//! expiry tick. A slot whose tick has passed is free; there is no list of
//! expiries to walk and nothing to allocate per id. Ids never move, so
//! nothing is forgotten early: a full table refuses ([`ReplayError::Full`]).
//!
//! The table is split into [`SHARDS`] shards, each behind its own mutex
//! (the gateway calls from many tasks at once; a call holds one lock for a
//! few dozen nanoseconds). Within a shard, slots are grouped in buckets of
//! [`BUCKET`] (two cache lines). An id has two candidate buckets; a lookup
//! scans both, and an insert goes to the one with more free slots
//! ("two choices": the fullest bucket then stays within a few slots of the
//! average). Measured (the `load_at_first_refusal` test): a table filled
//! once refuses its first id at 84–86 % of its slots in use; ids arriving
//! at a steady rate and expiring see no refusal up to 75 % (10^7 ids), a
//! few in 10^5 at 80 %. The table has [`SLOTS_PER_ID`] slots per id of
//! capacity, so it runs at 50 % at its stated capacity and takes 1.5 times
//! that before it refuses anything: 16 bytes per id held.
//!
//! Why not time-sliced tables (a ring of tables, one per period, each
//! cleared whole when its period passes)? Every slice must be sized for the
//! peak rate, and the ring must span the longest lifetime the gateway
//! accepts (a day for Warden's own tokens, an hour for an issuer's), while
//! almost every id lives a few minutes: most of the memory would wait for
//! tokens that never come. Here the expiry is in the slot, so memory follows
//! what is actually held, and an id costs the same whatever it lives.
//!
//! # Fingerprints
//!
//! The fingerprint, the shard and the two buckets all come from
//! SHA-256(key ‖ id), with a random 32-byte key drawn at start. Nobody can
//! predict where an id lands or craft ids that collide. Two ids share a
//! fingerprint with probability 2^-48; a collision can only *refuse* a good
//! id (as a replay), never accept a replayed one. A lookup compares against
//! at most `2 × BUCKET` = 32 live slots, so a good id is refused by mistake
//! with probability below 32 / 2^48 ≈ 1.1 × 10^-13: at 5,000 ids a second,
//! about once in 55 years.
//!
//! # Expiry ticks
//!
//! Expiries are stored in ticks of `tick_secs` = ⌈horizon / 16,384⌉ seconds
//! (1 s for horizons up to 4.5 hours; 6 s for a day), counted from the
//! shard's `base`, rounded *up* (an id is held at most one tick longer,
//! never shorter). Tick 0 means an empty slot. When an expiry no longer
//! fits in 16 bits, the shard is rebased: one pass moves `base` to now,
//! shifts the live ticks down and empties the expired slots. With at least
//! 65,535 − 16,384 ticks between rebases, that pass (microseconds per
//! thousand slots) runs at most every 13.6 hours. An expiry more than about
//! four horizons away cannot be stored and is refused as [`ReplayError::Full`].

use std::num::NonZeroUsize;
use std::sync::Mutex;

use super::{ReplayCache, ReplayError};

/// Number of shards (independent locks).
pub const SHARDS: usize = 16;
/// Slots per bucket: 16 × 8 bytes, two cache lines.
pub const BUCKET: usize = 16;
/// Bytes per slot.
pub const SLOT_BYTES: usize = std::mem::size_of::<u64>();
/// Slots allocated per id of capacity: at its capacity the table is half
/// full (refusals start past three quarters; see the module docs).
pub const SLOTS_PER_ID: usize = 2;
/// Bytes allocated per id of capacity.
pub const BYTES_PER_ID: usize = SLOT_BYTES * SLOTS_PER_ID;

/// Ticks a horizon may span: a quarter of the tick range, so that a shard
/// rebases at most once per three horizons.
const HORIZON_TICKS: u64 = 1 << 14;
const TICK_BITS: u32 = 16;
const TICK_MASK: u64 = (1 << TICK_BITS) - 1;
const MAX_TICK: u64 = TICK_MASK;

/// A fixed-size, sharded replay cache.
pub struct CompactReplayCache {
    shards: Box<[Mutex<Shard>]>,
    /// Buckets per shard.
    buckets: usize,
    tick_secs: u64,
    capacity: usize,
    key: [u8; 32],
}

impl std::fmt::Debug for CompactReplayCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompactReplayCache")
            .field("capacity", &self.capacity)
            .field("slots", &self.slots())
            .field("tick_secs", &self.tick_secs)
            .finish_non_exhaustive()
    }
}

struct Shard {
    /// The Unix second tick 1 stands for; set by the first call.
    base: Option<u64>,
    slots: Box<[u64]>,
}

/// Where an id lands, and what is stored for it.
struct Placement {
    shard: usize,
    first: usize,
    second: usize,
    /// The 48-bit fingerprint, already shifted into place.
    fingerprint: u64,
}

impl CompactReplayCache {
    /// Room for `capacity` ids at once (see [`SLOTS_PER_ID`]), each held at
    /// most `horizon_secs` past the call that records it. The fingerprint
    /// key is drawn from the system's random source.
    pub fn new(capacity: usize, horizon_secs: u64) -> Result<Self, ReplayError> {
        let mut key = [0u8; 32];
        aws_lc_rs::rand::fill(&mut key).map_err(|_| ReplayError::Unavailable)?;
        Ok(Self::with_key(capacity, horizon_secs, key))
    }

    /// As [`Self::new`], with a given fingerprint key (tests, benchmarks).
    pub fn with_key(capacity: usize, horizon_secs: u64, key: [u8; 32]) -> Self {
        let slots = capacity.saturating_mul(SLOTS_PER_ID);
        let shards = if slots >= SHARDS * BUCKET * 4 {
            SHARDS
        } else {
            1
        };
        let buckets = slots.div_ceil(shards * BUCKET);
        let shards = (0..shards)
            .map(|_| {
                Mutex::new(Shard {
                    base: None,
                    // Zeroed memory straight from the allocator: pages are
                    // only mapped in as ids land on them.
                    slots: vec![0u64; buckets * BUCKET].into_boxed_slice(),
                })
            })
            .collect();
        Self {
            shards,
            buckets,
            tick_secs: horizon_secs.div_ceil(HORIZON_TICKS).max(1),
            capacity,
            key,
        }
    }

    /// Room for `rate` new ids a second, each held up to `hold_secs`
    /// (capacity `rate × hold_secs`).
    pub fn for_rate(
        rate: NonZeroUsize,
        hold_secs: u64,
        horizon_secs: u64,
    ) -> Result<Self, ReplayError> {
        let hold = usize::try_from(hold_secs).unwrap_or(usize::MAX);
        Self::new(rate.get().saturating_mul(hold), horizon_secs)
    }

    /// How many ids the cache is sized to hold at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Slots allocated ([`SLOTS_PER_ID`] per id of capacity).
    pub fn slots(&self) -> usize {
        self.shards.len() * self.buckets * BUCKET
    }

    /// Bytes the table takes (its slots; the shard headers are a few
    /// hundred bytes more).
    pub fn memory_bytes(&self) -> usize {
        self.slots() * SLOT_BYTES
    }

    /// Width of an expiry tick, in seconds.
    pub fn tick_secs(&self) -> u64 {
        self.tick_secs
    }

    fn place(&self, id: &str) -> Placement {
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        ctx.update(&self.key);
        ctx.update(id.as_bytes());
        let digest = ctx.finish();
        let d = digest.as_ref();
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&d[i * 8..i * 8 + 8]);
            u64::from_le_bytes(w)
        };
        Placement {
            shard: reduce(word(3), self.shards.len()),
            first: reduce(word(1), self.buckets),
            second: reduce(word(2), self.buckets),
            fingerprint: word(0) & !TICK_MASK,
        }
    }
}

/// Maps a uniform `u64` onto `0..n` (Lemire's multiply-shift).
fn reduce(x: u64, n: usize) -> usize {
    let wide = u128::from(x) * n as u128;
    // The high half is below `n`, which is a usize.
    usize::try_from(wide >> 64).unwrap_or(0)
}

impl Shard {
    /// The tick a Unix second falls in, rounded up: a slot holding tick `t`
    /// is live at `now` iff `t >= tick(now)`. Before `base` everything is
    /// tick 1 (a clock stepping back keeps every id).
    fn tick(&self, secs: u64, tick_secs: u64) -> u64 {
        let base = self.base.unwrap_or(secs);
        1 + secs.saturating_sub(base).div_ceil(tick_secs)
    }

    /// Moves `base` so that `now` is tick 1: live ticks shift down, expired
    /// slots are emptied.
    fn rebase(&mut self, now_tick: u64, tick_secs: u64) {
        let shift = now_tick - 1;
        if let Some(base) = self.base.as_mut() {
            *base = base.saturating_add(shift.saturating_mul(tick_secs));
        }
        for slot in self.slots.iter_mut() {
            *slot = if *slot & TICK_MASK < now_tick {
                0
            } else {
                *slot - shift
            };
        }
    }
}

impl ReplayCache for CompactReplayCache {
    fn check_and_insert(&self, id: &str, expires_at: u64, now: u64) -> Result<(), ReplayError> {
        if self.buckets == 0 {
            return Err(ReplayError::Full);
        }
        let p = self.place(id);
        let g = self.tick_secs;
        let mut shard = self.shards[p.shard]
            .lock()
            .map_err(|_| ReplayError::Unavailable)?;
        shard.base.get_or_insert(now);
        let now_tick = shard.tick(now, g);
        // Scan both candidate buckets: a live slot with this fingerprint is
        // a replay; count the free ones on the way.
        let mut free = [(0usize, None::<usize>); 2];
        for (n, bucket) in [p.first, p.second].into_iter().enumerate() {
            let start = bucket * BUCKET;
            for (i, &slot) in shard.slots[start..start + BUCKET].iter().enumerate() {
                if slot & TICK_MASK >= now_tick {
                    if slot & !TICK_MASK == p.fingerprint {
                        return Err(ReplayError::Replayed);
                    }
                } else {
                    free[n].0 += 1;
                    free[n].1.get_or_insert(start + i);
                }
            }
            if p.first == p.second {
                break;
            }
        }
        if expires_at < now {
            // Already expired: nothing to hold.
            return Ok(());
        }
        let mut exp_tick = shard.tick(expires_at, g);
        if exp_tick > MAX_TICK {
            // Too far even from a base moved to now: refuse without the
            // pass over the shard.
            if exp_tick - (now_tick - 1) > MAX_TICK {
                return Err(ReplayError::Full);
            }
            // Free slots stay free and live ones stay live across a rebase,
            // so what the scan found still holds.
            shard.rebase(now_tick, g);
            exp_tick = shard.tick(expires_at, g);
        }
        let target = if free[1].0 > free[0].0 {
            free[1].1
        } else {
            free[0].1
        };
        let Some(index) = target else {
            return Err(ReplayError::Full);
        };
        shard.slots[index] = p.fingerprint | exp_tick;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
