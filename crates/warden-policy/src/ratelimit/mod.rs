//! Rate limits: GCRA quotas per key behind a trait, and a cap on open
//! streams per key.
//!
//! GCRA is written here (not taken from `governor`) because headers need
//! exact `remaining` and `reset` figures, and because a Redis script will
//! implement the same step; the private `gcra` module is the reference for
//! both. Time is passed in as a [`Duration`] since a fixed epoch, so every
//! decision is deterministic under test.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

mod decision;
mod gcra;
mod local;
mod quota;
mod streams;

pub use decision::RateDecision;
pub use local::LocalRateLimiter;
pub use quota::{Quota, QuotaError};
pub use streams::{StreamPermit, StreamSlots};

/// The future [`RateLimiter::check`] returns.
pub type CheckFuture<'a> =
    Pin<Box<dyn Future<Output = Result<RateDecision, RateLimitError>> + Send + 'a>>;

/// The future [`RateLimiter::check_all`] returns.
pub type CheckAllFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<RateDecision>, RateLimitError>> + Send + 'a>>;

/// Where GCRA state lives: in process ([`LocalRateLimiter`]) or shared
/// (Redis, later). Object safe, so the gateway holds an `Arc<dyn RateLimiter>`.
pub trait RateLimiter: Send + Sync {
    /// Takes one cell for `key` under `quota`, if allowed. `now` is the time
    /// since an arbitrary fixed epoch; a shared backend may use its own
    /// clock instead, so that all gateways agree.
    fn check<'a>(&'a self, key: &'a str, quota: Quota, now: Duration) -> CheckFuture<'a>;

    /// What `check` would decide now, without taking a cell (the early
    /// refusal of a caller whose bucket is already empty).
    fn peek<'a>(&'a self, key: &'a str, quota: Quota, now: Duration) -> CheckFuture<'a>;

    /// Takes one cell from each bucket in order, stopping at the first
    /// refusal: the decisions up to and including it (cells taken before a
    /// refusal stay taken, as with `check` one by one). A shared backend
    /// does it in one round trip.
    fn check_all<'a>(&'a self, checks: &'a [(String, Quota)], now: Duration) -> CheckAllFuture<'a> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(checks.len());
            for (key, quota) in checks {
                let d = self.check(key, *quota, now).await?;
                let refused = !d.is_allowed();
                out.push(d);
                if refused {
                    break;
                }
            }
            Ok(out)
        })
    }
}

/// The limiter could not decide. Callers fail closed: refuse the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateLimitError {
    /// The state store could not be reached or answered nonsense.
    #[error("rate-limit state unavailable: {0}")]
    Unavailable(String),
}

/// Locks, recovering from poison: every critical section in this module is a
/// single map update that leaves the map valid (see the types' docs).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
