//! Single-use enforcement for token and proof ids (`jti`).
//!
//! An id is remembered until the token that carried it expires. The cache is
//! bounded; when it is full of unexpired ids it refuses new ones rather than
//! forgetting one early, which would let that token be replayed.
//!
//! Two in-process caches:
//! - [`CompactReplayCache`], the gateway's: a table of 8-byte slots
//!   allocated once, sized from the rate of ids and how long they are held
//!   (16 bytes per id of capacity, half the slots spare).
//! - [`MemoryReplayCache`]: exact (a hash map and an expiry index, ~90
//!   bytes per id, allocating as it grows) and simple, for tests and tools
//!   that hold a handful of ids.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

mod compact;

pub use compact::{BYTES_PER_ID, CompactReplayCache};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("this token or proof was already used")]
    Replayed,
    #[error("the replay cache is full")]
    Full,
    #[error("the replay cache is unavailable")]
    Unavailable,
}

/// Remembers ids until they expire. Behind a trait so a shared store (Redis)
/// can back it when several gateways run.
pub trait ReplayCache: Send + Sync {
    /// Records `id` as used until `expires_at` (Unix seconds). Fails if it
    /// was already recorded and has not expired.
    fn check_and_insert(&self, id: &str, expires_at: u64, now: u64) -> Result<(), ReplayError>;
}

/// An exact in-process cache with a hard limit of `capacity` ids (see the
/// module docs; the gateway uses [`CompactReplayCache`]).
#[derive(Debug)]
pub struct MemoryReplayCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

/// Ids are kept as 128-bit digests: a fixed, small entry whatever the id's
/// length (about 90 bytes each with both indexes, measured by the
/// `replay_memory` example), so a large cache stays
/// affordable. A collision would need 2^64 work against SHA-256.
type IdKey = [u8; 16];

fn key_of(id: &str) -> IdKey {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, id.as_bytes());
    let mut k = [0u8; 16];
    k.copy_from_slice(&d.as_ref()[..16]);
    k
}

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<IdKey, u64>,
    by_expiry: BTreeSet<(u64, IdKey)>,
}

impl MemoryReplayCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.by_id.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ReplayCache for MemoryReplayCache {
    fn check_and_insert(&self, id: &str, expires_at: u64, now: u64) -> Result<(), ReplayError> {
        let mut inner = self.inner.lock().map_err(|_| ReplayError::Unavailable)?;
        // Forget what has expired (it can no longer be replayed anyway).
        while let Some((exp, _)) = inner.by_expiry.first() {
            if *exp >= now {
                break;
            }
            if let Some((_, old)) = inner.by_expiry.pop_first() {
                inner.by_id.remove(&old);
            }
        }
        let key = key_of(id);
        if inner.by_id.get(&key).is_some_and(|exp| *exp >= now) {
            return Err(ReplayError::Replayed);
        }
        if inner.by_id.len() >= self.capacity {
            return Err(ReplayError::Full);
        }
        inner.by_id.insert(key, expires_at);
        inner.by_expiry.insert((expires_at, key));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_use_is_refused_until_expiry() {
        let c = MemoryReplayCache::new(10);
        assert_eq!(c.check_and_insert("a", 100, 50), Ok(()));
        assert_eq!(c.check_and_insert("a", 100, 60), Err(ReplayError::Replayed));
        assert_eq!(
            c.check_and_insert("a", 100, 100),
            Err(ReplayError::Replayed)
        );
        // Past its expiry the id is forgotten: the token itself is dead.
        assert_eq!(c.check_and_insert("a", 200, 101), Ok(()));
    }

    #[test]
    fn full_cache_refuses_rather_than_forgets() {
        let c = MemoryReplayCache::new(2);
        c.check_and_insert("a", 100, 0).expect("a");
        c.check_and_insert("b", 100, 0).expect("b");
        assert_eq!(c.check_and_insert("c", 100, 0), Err(ReplayError::Full));
        assert_eq!(c.check_and_insert("a", 100, 1), Err(ReplayError::Replayed));
        // Once entries expire there is room again.
        assert_eq!(c.check_and_insert("c", 300, 101), Ok(()));
        assert_eq!(c.len(), 1);
    }
}
