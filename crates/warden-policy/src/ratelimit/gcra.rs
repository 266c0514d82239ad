//! One GCRA step as a pure function over the stored theoretical arrival
//! time (TAT), so the local map and a future Redis script share semantics.
//!
//! With `T` the emission interval and `tau = T * burst` the tolerance, a
//! cell at `now` is allowed when `max(TAT, now) + T <= now + tau`, and then
//! `TAT` becomes `max(TAT, now) + T`. A refusal leaves `TAT` alone, so
//! hammering a limited key does not push its recovery further out. This is
//! the formulation of the common Redis Lua GCRA script (`new_tat -
//! burst * T` compared with `now`), where `burst` cells pass at once.

use std::time::Duration;

use super::{Quota, RateDecision};

/// Decides one cell. `tat` is the stored TAT in nanoseconds (`None` for an
/// unknown key, which behaves exactly like a full bucket); the second value
/// is the TAT to store, `None` when the cell was refused.
///
/// Arithmetic saturates at `u64::MAX` ns (about 584 years after the epoch).
pub(crate) fn step(tat: Option<u64>, quota: Quota, now: u64) -> (RateDecision, Option<u64>) {
    let interval = quota.interval_ns();
    let limit = quota.burst();
    let tat = tat.map_or(now, |tat| tat.max(now));
    let new_tat = tat.saturating_add(interval);
    let allow_until = now.saturating_add(quota.tolerance_ns());
    if new_tat <= allow_until {
        // Each further cell moves TAT by T, so this many more fit now;
        // at most burst - 1, so the fallback is never taken.
        let remaining = u32::try_from((allow_until - new_tat) / interval).unwrap_or(limit);
        let decision = RateDecision::Allowed {
            limit,
            remaining,
            // The bucket is full again once TAT is no longer ahead of now.
            reset_after: Duration::from_nanos(new_tat - now),
        };
        (decision, Some(new_tat))
    } else {
        let decision = RateDecision::Limited {
            limit,
            reset_after: Duration::from_nanos(tat - now),
            // The first instant at which new_tat <= now + tau holds.
            retry_after: Duration::from_nanos(new_tat - allow_until),
        };
        (decision, None)
    }
}

#[cfg(test)]
mod tests;
