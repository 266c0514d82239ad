//! Whether the store answers, and how long decisions may still be made from
//! the in-memory snapshot when it does not.
//!
//! The request path reads memory (the registry snapshot, the owner book),
//! so a store outage does not stop it at once. What it cannot do without
//! the store is bounded here:
//!
//! - **The snapshot ages.** It is confirmed current every time the watcher
//!   reads the store's generation (every `authz.poll_interval_ms`). While
//!   the store does not answer, nothing confirms it: once its last
//!   confirmation is older than `store.max_stale_secs`, every call that
//!   needs authorisation is refused (503), since a revocation or a
//!   quarantine made meanwhile could not have reached this gateway.
//! - **Known down, not asked.** Once a query has failed for want of a
//!   connection, the request path stops asking (a query would wait for a
//!   connection for seconds, then fail): owner lookups that memory cannot
//!   answer, new owner records and messages (whose answers name tasks whose
//!   owners must be written) are refused at once. The watcher keeps asking,
//!   and its first answer ends the outage.
//!
//! Real time, not the gateway's clock: a debug build's tests move that
//! clock to expire tokens, which must not age the snapshot.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use warden_store::StoreError;

use crate::metrics::{Metrics, WhatLabels};

/// The shortest time between two warnings about the same outage.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// What a refusal for want of the store is counted as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The snapshot is older than `store.max_stale_secs`.
    FreshSnapshot,
    /// An owner memory does not hold.
    OwnerLookup,
    /// A new task or context owner (a message, or an answer naming one).
    OwnerWrite,
    /// A task count (ListTasks).
    TaskCount,
}

impl Need {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FreshSnapshot => "stale_snapshot",
            Self::OwnerLookup => "owner_lookup",
            Self::OwnerWrite => "owner_write",
            Self::TaskCount => "task_count",
        }
    }
}

/// The snapshot is older than the bound: decisions are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the store has not confirmed the snapshot for {age:?}, longer than store.max_stale_secs")]
pub struct Stale {
    pub age: Duration,
}

/// What `/readyz` reports about the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub reachable: bool,
    /// Since when it has not answered (while it does not).
    pub unreachable_for: Option<Duration>,
    /// The last failure seen, while it does not answer.
    pub error: Option<String>,
    /// Time since the snapshot was last confirmed current.
    pub snapshot_age: Duration,
    pub max_stale: Duration,
}

pub struct StoreHealth {
    start: Instant,
    max_stale: Duration,
    /// Milliseconds after `start` at which the snapshot was last confirmed.
    confirmed_ms: AtomicU64,
    /// 0 while the store answers; else 1 + milliseconds after `start` of
    /// the first failure of this outage.
    down_since: AtomicU64,
    state: Mutex<Outage>,
    up: Gauge,
    refused: Family<WhatLabels, Counter>,
    /// Added to the elapsed time: unit tests age the snapshot with it.
    #[cfg(test)]
    skew_ms: AtomicU64,
}

#[derive(Default)]
struct Outage {
    error: Option<String>,
    warned: Option<Instant>,
}

impl std::fmt::Debug for StoreHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreHealth")
            .field("reachable", &self.reachable())
            .finish_non_exhaustive()
    }
}

impl StoreHealth {
    /// Healthy, with a snapshot confirmed now; refusals counted in
    /// `metrics`.
    pub fn new(max_stale: Duration, metrics: &Metrics) -> Self {
        metrics.store_up.set(1);
        Self {
            start: Instant::now(),
            max_stale,
            confirmed_ms: AtomicU64::new(0),
            down_since: AtomicU64::new(0),
            state: Mutex::new(Outage::default()),
            up: metrics.store_up.clone(),
            refused: metrics.store_unavailable.clone(),
            #[cfg(test)]
            skew_ms: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        #[cfg(test)]
        let ms = ms.saturating_add(self.skew_ms.load(Ordering::Relaxed));
        ms
    }

    fn ms_of(&self, at: Instant) -> u64 {
        let ms =
            u64::try_from(at.saturating_duration_since(self.start).as_millis()).unwrap_or(u64::MAX);
        #[cfg(test)]
        let ms = ms.saturating_add(self.skew_ms.load(Ordering::Relaxed));
        ms
    }

    fn outage(&self) -> std::sync::MutexGuard<'_, Outage> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The store answered a read of its generation that started at
    /// `started`: the snapshot is current as of then, and an outage is
    /// over.
    pub fn confirmed(&self, started: Instant) {
        self.confirmed_ms
            .fetch_max(self.ms_of(started), Ordering::AcqRel);
        let since = self.down_since.swap(0, Ordering::AcqRel);
        if since != 0 {
            self.up.set(1);
            self.outage().error = None;
            let lasted = Duration::from_millis(self.now_ms().saturating_sub(since - 1));
            tracing::warn!(after = ?lasted, "the store answers again: serving as usual");
        }
    }

    /// A query failed. Only a failure to reach the store starts an outage
    /// (a statement the store refused is an answer).
    pub fn failed(&self, e: &StoreError) {
        if e.is_unreachable() {
            self.unreachable(e.to_string());
        }
    }

    /// The store did not answer (`why`): refuse what needs it from now on.
    pub fn unreachable(&self, why: String) {
        let now = self.now_ms();
        let began = self
            .down_since
            .compare_exchange(0, now + 1, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        self.up.set(0);
        let mut o = self.outage();
        let warn = began || o.warned.is_none_or(|t| t.elapsed() >= WARN_EVERY);
        if warn {
            o.warned = Some(Instant::now());
            tracing::warn!(
                error = %why,
                max_stale = ?self.max_stale,
                "the store is unreachable: calls that need it are refused; others are decided from memory until the snapshot is older than store.max_stale_secs"
            );
        }
        o.error = Some(why);
    }

    /// Whether the store answered the last time it was asked.
    pub fn reachable(&self) -> bool {
        self.down_since.load(Ordering::Acquire) == 0
    }

    /// Time since the snapshot was last confirmed current.
    pub fn snapshot_age(&self) -> Duration {
        let confirmed = self.confirmed_ms.load(Ordering::Acquire);
        Duration::from_millis(self.now_ms().saturating_sub(confirmed))
    }

    /// Ok while decisions may be made from the snapshot.
    pub fn fresh_enough(&self) -> Result<(), Stale> {
        let age = self.snapshot_age();
        if age > self.max_stale {
            return Err(Stale { age });
        }
        Ok(())
    }

    /// Counts a call refused because `need` could not be met.
    pub fn refused(&self, need: Need) {
        self.refused
            .get_or_create(&WhatLabels {
                what: need.as_str(),
            })
            .inc();
    }

    pub fn report(&self) -> Report {
        let since = self.down_since.load(Ordering::Acquire);
        let reachable = since == 0;
        Report {
            reachable,
            unreachable_for: (!reachable)
                .then(|| Duration::from_millis(self.now_ms().saturating_sub(since - 1))),
            error: if reachable {
                None
            } else {
                self.outage().error.clone()
            },
            snapshot_age: self.snapshot_age(),
            max_stale: self.max_stale,
        }
    }

    /// Moves this health's time `by` forward (unit tests).
    #[cfg(test)]
    pub fn skew(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.skew_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_begins_with_a_connection_failure_and_ends_with_an_answer() {
        let metrics = Metrics::new();
        let h = StoreHealth::new(Duration::from_secs(30), &metrics);
        assert!(h.reachable());
        h.failed(&StoreError::BadPageToken);
        assert!(h.reachable(), "a refused statement is an answer");
        // What `failed` does with a connection failure (`is_unreachable`,
        // tested in warden-store).
        h.unreachable("database error: connection refused".into());
        assert!(!h.reachable());
        let r = h.report();
        assert!(r.error.is_some_and(|e| e.contains("connection refused")));
        assert!(metrics.render().contains("warden_store_up 0"));
        h.confirmed(Instant::now());
        assert!(h.reachable());
        assert_eq!(h.report().error, None);
        assert!(metrics.render().contains("warden_store_up 1"));
    }

    #[test]
    fn the_snapshot_is_served_until_it_is_older_than_the_bound() {
        let metrics = Metrics::new();
        let h = StoreHealth::new(Duration::from_secs(30), &metrics);
        h.confirmed(Instant::now());
        h.unreachable("connection refused".into());
        h.skew(Duration::from_secs(29));
        assert_eq!(h.fresh_enough(), Ok(()), "within the bound");
        h.skew(Duration::from_secs(2));
        let stale = h.fresh_enough().expect_err("beyond the bound");
        assert!(stale.age >= Duration::from_secs(31), "{stale:?}");
        h.confirmed(Instant::now());
        assert_eq!(h.fresh_enough(), Ok(()), "confirmed again");
        h.refused(Need::FreshSnapshot);
        assert!(
            metrics
                .render()
                .contains("warden_store_unavailable_total{what=\"stale_snapshot\"} 1"),
            "{}",
            metrics.render()
        );
    }
}
