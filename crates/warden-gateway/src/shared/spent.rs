//! Buckets this gateway last saw refused on Redis, and until when: the
//! early refusal at admission (a caller whose bucket is empty is refused
//! before its body is read) answered without a round trip.
//!
//! It is exact, not a guess. A refusal's `retry_after` is the time until
//! the bucket's next cell, counted on Redis's clock when the script ran,
//! and no gateway can give a bucket cells back: the bucket refuses every
//! call until then. The time is counted here from the moment the request
//! was sent, before the script ran, so the entry ends no later than the
//! refusal it stands for; calls after that are decided by Redis as usual.
//! A bucket emptied at another gateway is not known here until this one
//! is refused once: the early refusal is only a saving, the call's own
//! step decides.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use warden_policy::ratelimit::RateDecision;

/// Refused buckets remembered at most (an entry is a key and three
/// figures); beyond that, new refusals are not remembered until old ones
/// expire, which only costs their early refusal.
const MOST: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The next cell, on the gateway's rate-limit clock.
    until: Duration,
    /// When the bucket is full again, on the same clock.
    full_at: Duration,
    limit: u32,
}

/// Refused buckets by key, on the gateway's rate-limit clock (the `now`
/// the authoriser passes, which a debug build's tests may move).
#[derive(Debug, Default)]
pub(super) struct Spent {
    map: Mutex<HashMap<String, Entry>>,
}

impl Spent {
    /// Notes `decision` for `key`, asked at `sent` (a refusal is kept
    /// until its next cell; an allowed step forgets the key).
    pub(super) fn note(&self, key: &str, decision: &RateDecision, sent: Duration) {
        let mut map = lock(&self.map);
        let RateDecision::Limited {
            limit,
            reset_after,
            retry_after,
        } = *decision
        else {
            if !map.is_empty() {
                map.remove(key);
            }
            return;
        };
        if map.len() >= MOST && !map.contains_key(key) {
            map.retain(|_, e| e.until > sent);
            if map.len() >= MOST {
                return;
            }
        }
        map.insert(
            key.to_string(),
            Entry {
                until: sent + retry_after,
                full_at: sent + reset_after,
                limit,
            },
        );
    }

    /// The refusal `key` is known to get at `now`, if any.
    pub(super) fn refusal(&self, key: &str, now: Duration) -> Option<RateDecision> {
        let mut map = lock(&self.map);
        let entry = *map.get(key)?;
        if now >= entry.until {
            map.remove(key);
            return None;
        }
        Some(RateDecision::Limited {
            limit: entry.limit,
            reset_after: entry.full_at.saturating_sub(now),
            retry_after: entry.until - now,
        })
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        lock(&self.map).len()
    }
}

/// Every critical section is one map update that leaves it valid.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(retry: u64, reset: u64) -> RateDecision {
        RateDecision::Limited {
            limit: 5,
            reset_after: Duration::from_millis(reset),
            retry_after: Duration::from_millis(retry),
        }
    }

    #[test]
    fn a_refusal_holds_until_its_next_cell_counted_from_when_it_was_asked() {
        let s = Spent::default();
        let ms = Duration::from_millis;
        s.note("principal:a", &limited(100, 900), ms(1_000));
        let d = s.refusal("principal:a", ms(1_040)).expect("still spent");
        assert_eq!(d.retry_after(), Some(ms(60)));
        assert_eq!(d.reset_after(), ms(860));
        assert!(s.refusal("principal:b", ms(1_040)).is_none());
        assert!(
            s.refusal("principal:a", ms(1_100)).is_none(),
            "the next cell"
        );
        assert_eq!(s.len(), 0, "expired entries go");
    }

    #[test]
    fn an_allowed_step_forgets_the_key_and_the_map_stays_bounded() {
        let s = Spent::default();
        let ms = Duration::from_millis;
        s.note("k", &limited(100, 100), ms(0));
        let allowed = RateDecision::Allowed {
            limit: 5,
            remaining: 4,
            reset_after: ms(10),
        };
        s.note("k", &allowed, ms(1));
        assert!(s.refusal("k", ms(2)).is_none());
        for i in 0..MOST + 10 {
            s.note(&format!("k{i}"), &limited(1_000, 1_000), ms(0));
        }
        assert_eq!(s.len(), MOST);
        // Once the old ones have expired, a new refusal is remembered.
        s.note("late", &limited(1_000, 1_000), ms(5_000));
        assert!(s.refusal("late", ms(5_001)).is_some());
    }
}
