//! The mailbox's limits (from `[mailbox]` in the gateway's configuration)
//! and its send-rate buckets.
//!
//! Rates are GCRA buckets held in memory, per gateway process
//! (`warden-policy`'s limiter, the one the gateway's own rate limits use):
//! a sender behind several gateways gets each gateway's rate. Quotas are
//! the store's (one transaction with the write), so they hold across
//! gateways.

use std::num::NonZeroUsize;
use std::time::Duration;

use warden_policy::ratelimit::{LocalRateLimiter, Quota, RateDecision};

use crate::MailError;

/// What the mailbox allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest message: bytes of its parts' JSON, or of its sealed form.
    pub max_message_bytes: usize,
    /// Most parts in a message.
    pub max_parts: usize,
    /// Most messages one inbox holds.
    pub inbox_max_messages: u64,
    /// Most bytes (of message bodies) one inbox holds.
    pub inbox_max_bytes: u64,
    /// Sends (messages and access requests) by one sender.
    pub sender_rate: Quota,
    /// Messages from one sender to one recipient.
    pub pair_rate: Quota,
    /// Access requests from one sender to one recipient.
    pub request_rate: Quota,
    /// A grant's life when the grant names none.
    pub grant_ttl_days: u32,
    /// The longest life a grant may ask for.
    pub max_grant_ttl_days: u32,
    /// How long an idempotency key answers retries.
    pub idempotency_hours: u32,
    /// Most topics a grant or an access request names.
    pub max_topics: usize,
}

impl Default for Limits {
    fn default() -> Self {
        let quota = |count, period, burst| {
            Quota::new(count, period, burst).expect("constant quotas are valid")
        };
        Self {
            max_message_bytes: 64 * 1024,
            max_parts: 32,
            inbox_max_messages: 5_000,
            inbox_max_bytes: 64 * 1024 * 1024,
            sender_rate: quota(600, Duration::from_secs(60), 100),
            pair_rate: quota(120, Duration::from_secs(60), 30),
            request_rate: quota(5, Duration::from_secs(3600), 3),
            grant_ttl_days: 30,
            max_grant_ttl_days: 365,
            idempotency_hours: 24,
            max_topics: 32,
        }
    }
}

/// Most buckets held (senders and pairs); beyond, the limiter evicts the
/// ones owing least (`LocalRateLimiter`).
const MAX_BUCKETS: usize = 100_000;

/// The send-rate buckets of one mailbox.
pub(crate) struct Rates {
    limiter: LocalRateLimiter,
}

impl std::fmt::Debug for Rates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rates").finish_non_exhaustive()
    }
}

/// Which bucket a send takes from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Bucket {
    Sender,
    Pair,
    Request,
}

impl Rates {
    pub(crate) fn new() -> Self {
        Self {
            limiter: LocalRateLimiter::new(NonZeroUsize::new(MAX_BUCKETS).expect("non-zero")),
        }
    }

    /// Takes one cell of `sender`'s bucket (and the pair's with `to`), or
    /// says how long to wait. `now` is the mailbox clock's time since the
    /// epoch.
    pub(crate) fn take(
        &self,
        limits: &Limits,
        bucket: Bucket,
        sender: &str,
        to: &str,
        now: Duration,
    ) -> Result<(), MailError> {
        // NUL cannot occur in an address: the keys cannot collide.
        let (key, quota) = match bucket {
            Bucket::Sender => (format!("s\0{sender}"), limits.sender_rate),
            Bucket::Pair => (format!("p\0{sender}\0{to}"), limits.pair_rate),
            Bucket::Request => (format!("r\0{sender}\0{to}"), limits.request_rate),
        };
        match self.limiter.check_now(&key, quota, now) {
            RateDecision::Allowed { .. } => Ok(()),
            RateDecision::Limited { retry_after, .. } => {
                Err(MailError::RateLimited { retry_after })
            }
        }
    }
}
