//! The webhook ids one receiver has accepted, with one addition to the
//! verifier's replay cache: an id can be given back.
//!
//! The verifier records an id when it accepts a notification, before
//! Warden passes it on. If the agent then does not take it, the sender is
//! told to retry, and its retry (the same id) must not be refused as a
//! replay or the notification is lost: [`Seen::give_back`] lets the next
//! arrival of that id through once. Concurrent arrivals still meet the
//! recorded id, so only one of them is taken.

use std::collections::HashMap;
use std::sync::Mutex;

use warden_trust::{MemoryReplayCache, ReplayCache, ReplayError};

/// Ids given back at most at once (beyond that, the oldest expired ones
/// are dropped first; if none has expired the id is not given back and
/// its retry is answered as a replay).
const MOST_GIVEN_BACK: usize = 10_000;

#[derive(Debug)]
pub struct Seen {
    ids: MemoryReplayCache,
    /// Replay keys given back, each until its id leaves the window.
    given_back: Mutex<HashMap<String, u64>>,
}

impl Seen {
    pub fn new(capacity: usize) -> Self {
        Self {
            ids: MemoryReplayCache::new(capacity),
            given_back: Mutex::new(HashMap::new()),
        }
    }

    /// Lets the next arrival of webhook id `id` through once (`until`:
    /// when the window refuses it anyway). Returns whether it was kept.
    pub fn give_back(&self, id: &str, until: u64, now: u64) -> bool {
        let mut map = self.given_back.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MOST_GIVEN_BACK {
            map.retain(|_, u| *u >= now);
        }
        if map.len() >= MOST_GIVEN_BACK {
            return false;
        }
        map.insert(replay_key(id), until);
        true
    }
}

/// The key the verifier records an id under (`warden_webhooks`'s).
fn replay_key(id: &str) -> String {
    format!("webhook:{id}")
}

impl ReplayCache for Seen {
    fn check_and_insert(&self, id: &str, expires_at: u64, now: u64) -> Result<(), ReplayError> {
        match self.ids.check_and_insert(id, expires_at, now) {
            Err(ReplayError::Replayed) => {
                let mut map = self.given_back.lock().unwrap_or_else(|p| p.into_inner());
                match map.remove(id) {
                    Some(until) if until >= now => Ok(()),
                    _ => Err(ReplayError::Replayed),
                }
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_given_back_passes_once_and_only_once() {
        let seen = Seen::new(10);
        let key = replay_key("msg_1");
        assert!(seen.check_and_insert(&key, 100, 10).is_ok());
        assert_eq!(
            seen.check_and_insert(&key, 100, 11),
            Err(ReplayError::Replayed)
        );
        assert!(seen.give_back("msg_1", 100, 12));
        assert!(seen.check_and_insert(&key, 100, 13).is_ok(), "the retry");
        assert_eq!(
            seen.check_and_insert(&key, 100, 14),
            Err(ReplayError::Replayed),
            "a second arrival after the retry"
        );
    }

    #[test]
    fn an_id_given_back_does_not_outlive_its_window() {
        let seen = Seen::new(10);
        let key = replay_key("msg_2");
        assert!(seen.check_and_insert(&key, 300, 10).is_ok());
        assert!(seen.give_back("msg_2", 20, 11));
        assert_eq!(
            seen.check_and_insert(&key, 300, 21),
            Err(ReplayError::Replayed)
        );
    }
}
