//! `[push]`: how notifications in the outbox are delivered to callers'
//! webhooks (retries, caps, circuit breakers, dead letters). See
//! docs/push.md.

use std::num::NonZeroU32;
use std::time::Duration;

use serde::Deserialize;

/// `[push]` in warden.toml.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct PushSection {
    /// Attempts at one notification before it is dead.
    pub max_attempts: NonZeroU32,
    /// How long after it was queued a notification is given up (dead), in
    /// seconds (`dead_after_secs`); the last attempt is made then.
    #[serde(rename = "dead_after_secs", with = "secs")]
    pub dead_after: Duration,
    /// The first retry's longest wait (`backoff_base_ms`); each further
    /// retry doubles it, up to `backoff_max_ms`. Each wait is drawn at
    /// random below its bound (full jitter).
    #[serde(rename = "backoff_base_ms", with = "super::millis")]
    pub backoff_base: Duration,
    #[serde(rename = "backoff_max_ms", with = "super::millis")]
    pub backoff_max: Duration,
    /// Deliveries in flight at once to one destination (scheme, host and
    /// port), per gateway.
    pub per_destination_concurrency: NonZeroU32,
    /// Deliveries in flight at once, all destinations together, per
    /// gateway.
    pub max_in_flight: NonZeroU32,
    /// Failed attempts in a row that open a destination's circuit breaker.
    pub breaker_failures: NonZeroU32,
    /// How long an open breaker holds a destination's deliveries back
    /// before one attempt probes it (`breaker_cooldown_secs`).
    #[serde(rename = "breaker_cooldown_secs", with = "secs")]
    pub breaker_cooldown: Duration,
    /// The longest one attempt may take, answer included
    /// (`delivery_timeout_ms`); a claim is leased for twice this plus a
    /// second.
    #[serde(rename = "delivery_timeout_ms", with = "super::millis")]
    pub delivery_timeout: Duration,
    /// Tasks this gateway follows at once for agents without push support
    /// (`[[agents]] push_follow`); more wait in the store for a free place.
    pub max_follows: NonZeroU32,
}

impl Default for PushSection {
    fn default() -> Self {
        Self {
            max_attempts: NonZeroU32::new(200).unwrap_or(NonZeroU32::MIN),
            dead_after: Duration::from_secs(86_400),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(600),
            per_destination_concurrency: NonZeroU32::new(8).unwrap_or(NonZeroU32::MIN),
            max_in_flight: NonZeroU32::new(256).unwrap_or(NonZeroU32::MIN),
            breaker_failures: NonZeroU32::new(5).unwrap_or(NonZeroU32::MIN),
            breaker_cooldown: Duration::from_secs(30),
            delivery_timeout: Duration::from_secs(10),
            max_follows: NonZeroU32::new(1000).unwrap_or(NonZeroU32::MIN),
        }
    }
}

impl PushSection {
    /// Rules serde cannot express.
    pub fn validate(&self) -> Result<(), String> {
        if self.dead_after.is_zero() {
            return Err("push.dead_after_secs: must be above 0".into());
        }
        if self.backoff_base.is_zero() || self.backoff_max < self.backoff_base {
            return Err(
                "push.backoff_base_ms must be above 0 and push.backoff_max_ms at least as large"
                    .into(),
            );
        }
        if self.breaker_cooldown.is_zero() {
            return Err("push.breaker_cooldown_secs: must be above 0".into());
        }
        if self.delivery_timeout.is_zero() {
            return Err("push.delivery_timeout_ms: must be above 0".into());
        }
        Ok(())
    }
}

mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<PushSection, String> {
        let s: PushSection = toml::from_str(text).map_err(|e| e.to_string())?;
        s.validate().map(|()| s)
    }

    #[test]
    fn every_key_is_read_and_absent_ones_take_their_default() {
        assert_eq!(parse("").expect("empty"), PushSection::default());
        let s = parse(
            "max_attempts = 3\ndead_after_secs = 60\nbackoff_base_ms = 10\nbackoff_max_ms = 20\n\
             per_destination_concurrency = 2\nmax_in_flight = 4\nbreaker_failures = 1\n\
             breaker_cooldown_secs = 5\ndelivery_timeout_ms = 100\nmax_follows = 7",
        )
        .expect("valid");
        assert_eq!(s.max_attempts.get(), 3);
        assert_eq!(s.dead_after, Duration::from_secs(60));
        assert_eq!(
            (s.backoff_base, s.backoff_max),
            (Duration::from_millis(10), Duration::from_millis(20))
        );
        assert_eq!(
            (s.per_destination_concurrency.get(), s.max_in_flight.get()),
            (2, 4)
        );
        assert_eq!(
            (s.breaker_failures.get(), s.breaker_cooldown),
            (1, Duration::from_secs(5))
        );
        assert_eq!(s.delivery_timeout, Duration::from_millis(100));
        assert_eq!(s.max_follows.get(), 7);
    }

    #[test]
    fn zeros_inverted_bounds_and_unknown_keys_are_refused() {
        for bad in [
            "max_attempts = 0",
            "dead_after_secs = 0",
            "backoff_base_ms = 0",
            "backoff_base_ms = 2000\nbackoff_max_ms = 1000",
            "per_destination_concurrency = 0",
            "breaker_failures = 0",
            "breaker_cooldown_secs = 0",
            "delivery_timeout_ms = 0",
            "max_follows = 0",
            "retries = 3",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
