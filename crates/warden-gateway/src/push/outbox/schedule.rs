//! When a failed notification is tried again, or given up: exponential
//! backoff with full jitter, a receiver's `Retry-After` honoured, and the
//! dead-letter bounds (`max_attempts`, `dead_after_secs`). Pure: times are
//! Unix milliseconds handed in.

use std::time::Duration;

use crate::config::PushSection;

/// What follows a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Tried again at this time (Unix ms).
    RetryAt(i64),
    /// Given up, and why.
    Dead(&'static str),
}

/// How each wait is drawn below its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Jitter {
    /// Uniformly at random from 0 to the bound ("full jitter": gateways
    /// retrying one receiver spread out instead of returning together).
    Full,
    /// Always the bound (tests that check the schedule itself).
    #[cfg_attr(not(test), allow(dead_code))]
    Bound,
}

/// The retry schedule of `[push]`.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    base_ms: u64,
    max_ms: u64,
    max_attempts: u32,
    dead_after_ms: i64,
    pub(crate) jitter: Jitter,
}

impl Schedule {
    pub fn of(push: &PushSection) -> Self {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Self {
            base_ms: ms(push.backoff_base),
            max_ms: ms(push.backoff_max),
            max_attempts: push.max_attempts.get(),
            dead_after_ms: i64::try_from(ms(push.dead_after)).unwrap_or(i64::MAX),
            jitter: Jitter::Full,
        }
    }

    /// The longest wait after the `failures`-th failed attempt in a row:
    /// the base, doubled for each failure after the first, at most the
    /// maximum.
    pub fn bound_ms(&self, failures: u32) -> u64 {
        let doublings = failures.saturating_sub(1).min(63);
        self.base_ms
            .saturating_mul(1u64 << doublings)
            .min(self.max_ms)
    }

    /// After a failed attempt at `now_ms` of a notification that had
    /// `attempts_before` failed attempts since `since_ms` (its enqueue or
    /// an admin retry): dead once the attempts or the horizon are spent,
    /// else the next attempt, no sooner than `retry_after` and no later
    /// than the horizon (so the last attempt is made at it).
    pub fn after_failure(
        &self,
        attempts_before: u32,
        since_ms: i64,
        now_ms: i64,
        retry_after: Option<Duration>,
    ) -> Next {
        let failures = attempts_before.saturating_add(1);
        if failures >= self.max_attempts {
            return Next::Dead("max_attempts");
        }
        let horizon = since_ms.saturating_add(self.dead_after_ms);
        if now_ms >= horizon {
            return Next::Dead("dead_after_secs");
        }
        let bound = self.bound_ms(failures);
        let drawn = match self.jitter {
            Jitter::Full => random_below_or_at(bound),
            Jitter::Bound => bound,
        };
        let asked = retry_after.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let wait = i64::try_from(drawn.max(asked)).unwrap_or(i64::MAX);
        Next::RetryAt(now_ms.saturating_add(wait).min(horizon))
    }
}

/// A uniform draw from `0..=bound` (the modulo bias of 64 random bits is
/// far below anything a schedule notices).
fn random_below_or_at(bound: u64) -> u64 {
    let mut bytes = [0u8; 8];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        return bound;
    }
    match bound.checked_add(1) {
        Some(n) => u64::from_le_bytes(bytes) % n,
        None => u64::from_le_bytes(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(text: &str) -> Schedule {
        let push: PushSection = toml::from_str(text).expect("section");
        Schedule::of(&push)
    }

    #[test]
    fn the_bound_doubles_from_the_base_up_to_the_maximum() {
        let s = schedule("backoff_base_ms = 100\nbackoff_max_ms = 1000");
        let bounds: Vec<u64> = (1..=7).map(|n| s.bound_ms(n)).collect();
        assert_eq!(bounds, [100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(s.bound_ms(u32::MAX), 1000, "no overflow");
    }

    #[test]
    fn each_wait_is_drawn_at_random_below_its_bound() {
        let s = schedule("backoff_base_ms = 1000\nbackoff_max_ms = 1000");
        let waits: Vec<i64> = (0..200)
            .map(|_| match s.after_failure(0, 0, 10_000, None) {
                Next::RetryAt(t) => t - 10_000,
                Next::Dead(why) => panic!("dead: {why}"),
            })
            .collect();
        assert!(waits.iter().all(|w| (0..=1000).contains(w)), "{waits:?}");
        let distinct: std::collections::HashSet<_> = waits.iter().collect();
        assert!(
            distinct.len() > 50,
            "spread out: {} distinct",
            distinct.len()
        );
    }

    #[test]
    fn retry_after_is_a_floor_and_the_horizon_a_ceiling() {
        let mut s = schedule("backoff_base_ms = 100\nbackoff_max_ms = 100\ndead_after_secs = 60");
        s.jitter = Jitter::Bound;
        let after = |secs| Some(Duration::from_secs(secs));
        assert_eq!(s.after_failure(0, 0, 1_000, None), Next::RetryAt(1_100));
        assert_eq!(s.after_failure(0, 0, 1_000, after(7)), Next::RetryAt(8_000));
        // Never past the horizon: the last attempt is made at it.
        assert_eq!(
            s.after_failure(0, 0, 1_000, after(600)),
            Next::RetryAt(60_000)
        );
        assert_eq!(
            s.after_failure(3, 0, 60_000, None),
            Next::Dead("dead_after_secs")
        );
        // An admin retry moves the horizon (`since_ms`).
        assert_eq!(
            s.after_failure(0, 50_000, 60_000, None),
            Next::RetryAt(60_100)
        );
    }

    #[test]
    fn the_last_allowed_attempt_makes_it_dead() {
        let s = schedule("max_attempts = 3");
        assert!(matches!(s.after_failure(0, 0, 1, None), Next::RetryAt(_)));
        assert!(matches!(s.after_failure(1, 0, 1, None), Next::RetryAt(_)));
        assert_eq!(s.after_failure(2, 0, 1, None), Next::Dead("max_attempts"));
    }
}
