//! Durable delivery (issue 15; `docs/push.md`, "Durable delivery"): the
//! worker that takes notifications from the store's outbox
//! (`warden_store::Store::outbox_enqueue` and what follows it) to callers'
//! webhooks. One per gateway, a background task: the request path only
//! enqueues, and never waits on a delivery.
//!
//! - **At least once.** An entry is settled `delivered` only after the
//!   receiver's 2xx. Claims are leased (twice `push.delivery_timeout_ms`
//!   plus a second): a gateway killed between the receiver's answer and
//!   the settlement leaves the lease to run out, and the entry is delivered
//!   again, by any gateway, with the same `webhook-id`.
//! - **In order per task** (per subscription and task): entry n+1 is not
//!   attempted before n is delivered or dead, whichever gateway holds it.
//! - **Retries** with exponential backoff and full jitter
//!   ([`schedule`]), a receiver's `Retry-After` honoured, until
//!   `push.max_attempts` or `push.dead_after_secs` is spent: then the
//!   entry is dead (kept for the admin API, which can retry it).
//! - **Per destination** (`scheme://host:port`): at most
//!   `push.per_destination_concurrency` deliveries in flight, and a circuit
//!   breaker ([`breaker`]). Both are this gateway's: N gateways may have N
//!   times the cap in flight to one receiver.
//! - **Scheduling on the gateway's [`Clock`]**: tests move time instead of
//!   waiting; an enqueue or an admin retry through this gateway's store
//!   handle wakes the worker at once.
//!
//! # The interface
//!
//! The relay writes with `Store::outbox_enqueue(&NewNotification { … })`,
//! which returns the entry's id. A delivery is a [`Deliver`]: one attempt
//! at one entry, returning a [`DeliveryOutcome`]; the gateway's is
//! `push::deliver` (egress re-validation, signing, the POST).
//! [`Outbox::start`] runs the worker until [`OutboxHandle::stop`].
//!
//! # Stopping
//!
//! [`OutboxHandle::stop_within`] (the gateway's SIGTERM) stops claiming,
//! gives the deliveries in flight until a grace period ends to finish and
//! records their outcomes; those still in flight then are cut short and
//! **released**: pending again and due at once, no attempt counted, so
//! another gateway (or this one, restarted) takes them without waiting for
//! the lease. A receiver may have had a released POST: it gets it again,
//! with the same `webhook-id`.

mod breaker;
mod schedule;
mod settler;
mod worker;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use warden_store::{OutboxEntry, Store};

pub use schedule::{Next, Schedule};

use crate::clock::Clock;
use crate::config::PushSection;
use crate::metrics::PushMetrics;

/// How one delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx.
    Delivered,
    /// Try again later (a connection failure, a timeout, 408, 429, 5xx),
    /// no sooner than `after` when the receiver said so (`Retry-After`).
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// Never again: the entry is dead.
    Permanent { reason: String },
}

/// One attempt at delivering one entry. The worker bounds each attempt by
/// `push.delivery_timeout_ms` (past it, the attempt is dropped and counts
/// as a retry).
pub trait Deliver: Send + Sync + 'static {
    fn deliver(&self, entry: &OutboxEntry) -> impl Future<Output = DeliveryOutcome> + Send;
}

/// What the worker needs of `[push]`.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub schedule: Schedule,
    pub(crate) limits: breaker::Limits,
    pub max_in_flight: u32,
    pub delivery_timeout: Duration,
    /// How long a claim holds an entry.
    pub lease: Duration,
}

impl Settings {
    pub fn of(push: &PushSection) -> Self {
        Self {
            schedule: Schedule::of(push),
            limits: breaker::Limits {
                per_destination: push.per_destination_concurrency.get(),
                failures: push.breaker_failures.get(),
                cooldown_ms: i64::try_from(push.breaker_cooldown.as_millis()).unwrap_or(i64::MAX),
            },
            max_in_flight: push.max_in_flight.get(),
            delivery_timeout: push.delivery_timeout,
            lease: push.delivery_timeout.saturating_mul(2) + Duration::from_secs(1),
        }
    }
}

/// The delivery worker.
pub struct Outbox;

impl Outbox {
    /// Starts the worker on `store`'s outbox, delivering with `deliver`.
    pub fn start<D: Deliver>(
        store: Store,
        settings: Settings,
        clock: Arc<dyn Clock>,
        metrics: PushMetrics,
        deliver: Arc<D>,
    ) -> OutboxHandle {
        let id = worker_id();
        let (stop, stopped) = watch::channel(None);
        let (passes, _) = watch::channel(0);
        let task = tokio::spawn(
            worker::Worker {
                store,
                clock,
                deliver,
                settings,
                id: id.clone(),
                metrics,
                stop: stopped,
                passes: passes.clone(),
            }
            .run(),
        );
        OutboxHandle {
            id,
            stop,
            task,
            passes,
        }
    }
}

/// A running worker. Dropping it leaves the worker running until the
/// runtime ends; [`OutboxHandle::stop`] ends it.
#[derive(Debug)]
pub struct OutboxHandle {
    id: String,
    /// Some(grace): stop, cutting short what is still in flight after it.
    stop: watch::Sender<Option<Duration>>,
    task: JoinHandle<()>,
    passes: watch::Sender<u64>,
}

impl OutboxHandle {
    /// The worker's name on its leases (`lease_owner`).
    pub fn worker_id(&self) -> &str {
        &self.id
    }

    /// How many passes over the outbox the worker has made: one follows
    /// every wake-up, so a test that wakes the worker can wait for the pass
    /// that saw what it changed.
    pub fn passes(&self) -> watch::Receiver<u64> {
        self.passes.subscribe()
    }

    /// Stops claiming, lets the deliveries in flight finish (each within
    /// the delivery timeout), records their outcomes, and returns.
    pub async fn stop(self) {
        self.stop_within(Duration::MAX).await;
    }

    /// Stops claiming and gives the deliveries in flight `grace` to finish
    /// (their outcomes recorded); any still in flight then are cut short
    /// and released (due again at once, no attempt counted). Returns once
    /// everything is written (a store that refuses the writes holds it:
    /// bound the call when that matters).
    pub async fn stop_within(self, grace: Duration) {
        let _ = self.stop.send(Some(grace));
        let _ = self.task.await;
    }

    /// Ends the worker at once, as a crash would: deliveries in flight are
    /// dropped unrecorded and their leases left to run out. Returns once
    /// the worker is gone.
    pub async fn abort(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// How long a stopping gateway gives the deliveries in flight to finish
/// before it releases them ([`OutboxHandle::stop_within`]).
pub const STOP_GRACE: Duration = Duration::from_secs(5);

pub use crate::background::WorkerSlot;

impl crate::background::Stoppable for OutboxHandle {
    fn stop_within(
        self: Box<Self>,
        grace: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(OutboxHandle::stop_within(*self, grace))
    }
}

/// `w_` and 16 random hex digits.
fn worker_id() -> String {
    let mut bytes = [0u8; 8];
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("w_{hex}")
}

#[cfg(test)]
mod tests;
