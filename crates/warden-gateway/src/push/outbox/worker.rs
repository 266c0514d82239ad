//! The delivery loop: one task per gateway. Each pass goes round the
//! destinations with open entries (a page of them at a time), claims for
//! each as many due entries as its cap, its breaker and the gateway's cap
//! allow, and starts their deliveries; then it waits for a delivery to
//! finish, an entry to become due through this gateway (the store's
//! wake-up), or the earliest known due time, at most [`POLL`] (entries
//! other gateways queue or release).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};
use tokio::task::{Id, JoinSet};
use warden_store::{Claim, OutboxEntry, Settle, Settlement, Store};

use super::breaker::{Change, Destinations, Verdict};
use super::schedule::Next;
use super::settler::Settler;
use super::{Deliver, DeliveryOutcome, Settings};
use crate::clock::Clock;
use crate::metrics::PushMetrics;

/// The longest wait between passes.
const POLL: Duration = Duration::from_secs(1);
/// The shortest time between two passes while deliveries are in flight:
/// under load, the deliveries that finished meanwhile are claimed for
/// together (one claim and one scan for many, not for each), at the cost
/// of this much latency.
const MIN_GAP: Duration = Duration::from_millis(2);
/// Destinations looked at per pass; with more, passes take turns.
const ORIGINS_PER_PASS: u32 = 256;
/// Between two reads of the queue's length for the gauge.
const GAUGE_EVERY: Duration = Duration::from_secs(1);
/// Between two looks for entries parked with nothing open before them
/// (`Store::outbox_unpark_stranded`: a safety net, none are expected).
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// A finished delivery: its outcome, or None when stopping cut it short.
struct Done {
    entry: OutboxEntry,
    outcome: Option<DeliveryOutcome>,
}

pub(super) struct Worker<D> {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub deliver: Arc<D>,
    pub settings: Settings,
    pub id: String,
    pub metrics: PushMetrics,
    /// Some(grace) once the worker is to stop.
    pub stop: watch::Receiver<Option<Duration>>,
    /// Counts passes (tests wait for one to have happened).
    pub passes: watch::Sender<u64>,
}

/// The loop's own state.
struct Loop<D> {
    w: Worker<D>,
    destinations: Destinations,
    in_flight: JoinSet<Done>,
    /// The destination of each delivery in flight, so a delivery that
    /// panicked still frees its place.
    origins: HashMap<Id, String>,
    settler: Settler,
    /// Where the next pass starts among the destinations.
    cursor: Option<String>,
    gauge_read: Option<Instant>,
    swept: Option<Instant>,
    last_pass: Option<Instant>,
    /// Rung by the settler after each write: the next entries of the tasks
    /// it settled are due.
    settled: Arc<Notify>,
    warned: Option<Instant>,
    /// Set when stopping's grace is over: the deliveries still in flight
    /// give up their attempt.
    cut: watch::Sender<bool>,
}

impl<D: Deliver> Worker<D> {
    pub async fn run(self) {
        let settled = Arc::new(Notify::new());
        let (settler, settling) =
            Settler::start(self.store.clone(), self.id.clone(), Arc::clone(&settled));
        let mut l = Loop {
            destinations: Destinations::new(self.settings.limits),
            w: self,
            in_flight: JoinSet::new(),
            origins: HashMap::new(),
            settler,
            cursor: None,
            gauge_read: None,
            swept: None,
            last_pass: None,
            settled,
            warned: None,
            cut: watch::channel(false).0,
        };
        // A dropped handle leaves the worker running (detached), as a
        // dropped JoinHandle does; only `stop` ends it.
        let mut detached = false;
        while l.w.stop.borrow().is_none() {
            l.sweep().await;
            if let Some(last) = l.last_pass.filter(|_| !l.in_flight.is_empty()) {
                let gap = MIN_GAP.saturating_sub(last.elapsed());
                if !gap.is_zero() {
                    tokio::time::sleep(gap).await;
                }
            }
            while let Some(done) = l.in_flight.try_join_next_with_id() {
                l.finish(done);
            }
            l.last_pass = Some(Instant::now());
            let wake_at = l.pass().await;
            l.w.passes.send_modify(|n| *n += 1);
            l.gauges().await;
            let now = l.now();
            let wait = wake_at.map_or(POLL, |t| {
                Duration::from_millis(u64::try_from(t.saturating_sub(now)).unwrap_or(0)).min(POLL)
            });
            let store = l.w.store.clone();
            let settled = Arc::clone(&l.settled);
            tokio::select! {
                Some(done) = l.in_flight.join_next_with_id(), if !l.in_flight.is_empty() => {
                    l.finish(done);
                }
                () = store.outbox_wakeup() => {}
                () = settled.notified() => {}
                () = tokio::time::sleep(wait) => {}
                changed = l.w.stop.changed(), if !detached => detached = changed.is_err(),
            }
            while let Some(done) = l.in_flight.try_join_next_with_id() {
                l.finish(done);
            }
        }
        let grace = (*l.w.stop.borrow()).unwrap_or(Duration::MAX);
        l.drain(grace).await;
        drop(l.settler);
        let _ = settling.await;
    }
}

impl<D: Deliver> Loop<D> {
    fn now(&self) -> i64 {
        i64::try_from(self.w.clock.now_unix_ms()).unwrap_or(i64::MAX)
    }

    /// Claims and starts what may start now; returns the earliest time a
    /// destination it passed over becomes due (None: only a finished
    /// delivery, a wake-up or the poll can change anything).
    async fn pass(&mut self) -> Option<i64> {
        let now = self.now();
        let max = self.w.settings.max_in_flight as usize;
        if self.in_flight.len() >= max {
            return None;
        }
        let due = match self
            .w
            .store
            .outbox_due_origins(self.cursor.as_deref(), ORIGINS_PER_PASS)
            .await
        {
            Ok(due) => due,
            Err(e) => {
                self.warn(&format!("cannot read the outbox: {e}"));
                return None;
            }
        };
        self.cursor = match due.last() {
            Some(last) if due.len() == ORIGINS_PER_PASS as usize => Some(last.origin.clone()),
            _ => None,
        };
        let mut wake_at: Option<i64> = self.cursor.as_ref().map(|_| now);
        let mut earliest = |t: i64| wake_at = Some(wake_at.map_or(t, |w: i64| w.min(t)));
        for d in due {
            if let Some(until) = self.destinations.blocked_until(&d.origin, now) {
                earliest(until.max(d.next_due_ms));
                continue;
            }
            if d.next_due_ms > now {
                earliest(d.next_due_ms);
                continue;
            }
            let room = u32::try_from(max.saturating_sub(self.in_flight.len())).unwrap_or(0);
            let free = self.destinations.free(&d.origin, now).min(room);
            if free == 0 {
                continue;
            }
            let lease_until =
                now.saturating_add(i64::try_from(self.w.settings.lease.as_millis()).unwrap_or(0));
            let claim = Claim {
                origin: &d.origin,
                worker: &self.w.id,
                now_ms: now,
                lease_until_ms: lease_until,
                limit: free,
            };
            match self.w.store.outbox_claim(&claim).await {
                Ok(entries) => entries.into_iter().for_each(|e| self.start(e)),
                Err(e) => self.warn(&format!("cannot claim from the outbox: {e}")),
            }
            if self.in_flight.len() >= max {
                break;
            }
        }
        wake_at
    }

    fn start(&mut self, entry: OutboxEntry) {
        self.destinations.started(&entry.origin);
        let origin = entry.origin.clone();
        let deliver = Arc::clone(&self.w.deliver);
        let timeout = self.w.settings.delivery_timeout;
        let mut cut = self.cut.subscribe();
        let handle = self.in_flight.spawn(async move {
            let attempt = tokio::time::timeout(timeout, deliver.deliver(&entry));
            let outcome = tokio::select! {
                biased;
                r = attempt => Some(r.unwrap_or_else(|_| DeliveryOutcome::Retry {
                    after: None,
                    reason: "no answer within push.delivery_timeout_ms".into(),
                })),
                Ok(_) = cut.wait_for(|c| *c) => None,
            };
            Done { entry, outcome }
        });
        self.origins.insert(handle.id(), origin);
    }

    fn finish(&mut self, done: Result<(Id, Done), tokio::task::JoinError>) {
        let now = self.now();
        let (id, done) = match done {
            Ok(d) => d,
            Err(e) => {
                // Its lease runs out and it is delivered again.
                if let Some(origin) = self.origins.remove(&e.id()) {
                    self.destinations.finished(&origin, Verdict::Neutral, now);
                }
                tracing::error!(error = %e, "push outbox: a delivery task failed");
                return;
            }
        };
        self.origins.remove(&id);
        let Done { entry, outcome } = done;
        let Some(outcome) = outcome else {
            // Cut short by stopping: due again at once, for any worker.
            self.destinations
                .finished(&entry.origin, Verdict::Neutral, now);
            let release = Settle::Release {
                next_attempt_ms: now,
            };
            self.settler.send(Settlement::of(&entry, now, release));
            return;
        };
        let verdict = match &outcome {
            DeliveryOutcome::Delivered => Verdict::Success,
            DeliveryOutcome::Retry { .. } => Verdict::Failure,
            DeliveryOutcome::Permanent { .. } => Verdict::Neutral,
        };
        let change = self.destinations.finished(&entry.origin, verdict, now);
        let settle = self.settle(&entry, outcome, now);
        self.settler.send(Settlement::of(&entry, now, settle));
        match change {
            Change::Opened { until_ms } => {
                tracing::warn!(destination = %entry.origin, until_ms, "push outbox: circuit breaker open");
                // Its pending entries wait out the cool-down in the store
                // too: no pass (here or at another gateway) finds them due.
                self.settler.postpone(entry.origin.clone(), until_ms);
            }
            Change::Closed => {
                tracing::info!(destination = %entry.origin, "push outbox: circuit breaker closed");
            }
            Change::None => {}
        }
    }

    /// What `outcome` makes of `entry` (counted in the metrics).
    fn settle(&mut self, entry: &OutboxEntry, outcome: DeliveryOutcome, now: i64) -> Settle {
        let m = &self.w.metrics;
        match outcome {
            DeliveryOutcome::Delivered => {
                m.settled("delivered");
                let waited = now.saturating_sub(entry.created_ms).max(0);
                m.delivery_seconds.observe(waited as f64 / 1000.0);
                Settle::Delivered
            }
            DeliveryOutcome::Retry { after, reason } => {
                let next = self.w.settings.schedule.after_failure(
                    entry.attempts,
                    entry.since_ms,
                    now,
                    after,
                );
                match next {
                    Next::RetryAt(t) => {
                        m.settled("retried");
                        // Not before its destination's breaker lets it.
                        let blocked = self.destinations.blocked_until(&entry.origin, now);
                        Settle::Retry {
                            next_attempt_ms: blocked.map_or(t, |until| t.max(until)),
                            error: reason,
                        }
                    }
                    Next::Dead(why) => {
                        m.settled("dead");
                        Settle::Dead {
                            error: format!("{reason} (push.{why} spent)"),
                        }
                    }
                }
            }
            DeliveryOutcome::Permanent { reason } => {
                m.settled("dead");
                Settle::Dead { error: reason }
            }
        }
    }

    /// Stopping: lets the deliveries in flight finish (each is bounded by
    /// the delivery timeout) for `grace`, then cuts short those left (they
    /// are released), and settles them all.
    async fn drain(&mut self, grace: Duration) {
        let deadline = tokio::time::Instant::now().checked_add(grace);
        let over = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(over);
        loop {
            tokio::select! {
                done = self.in_flight.join_next_with_id() => match done {
                    Some(done) => self.finish(done),
                    None => return,
                },
                () = &mut over, if !*self.cut.borrow() => {
                    self.cut.send_replace(true);
                }
            }
        }
    }

    /// The safety net for parked entries, once a minute.
    async fn sweep(&mut self) {
        if self.swept.is_some_and(|t| t.elapsed() < SWEEP_EVERY) {
            return;
        }
        self.swept = Some(Instant::now());
        match self.w.store.outbox_unpark_stranded(self.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                n,
                "push outbox: notifications waited with nothing before them; due now"
            ),
            Err(e) => self.warn(&format!("cannot look for stranded notifications: {e}")),
        }
    }

    async fn gauges(&mut self) {
        let (open, half_open) = self.destinations.breaker_counts();
        self.w.metrics.breakers(open, half_open);
        if self.gauge_read.is_some_and(|t| t.elapsed() < GAUGE_EVERY) {
            return;
        }
        self.gauge_read = Some(Instant::now());
        if let Ok(n) = self.w.store.outbox_queued().await {
            self.w
                .metrics
                .queued
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    /// Logs a store failure at most every ten seconds.
    fn warn(&mut self, message: &str) {
        if self
            .warned
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(10))
        {
            self.warned = Some(Instant::now());
            tracing::warn!("push outbox: {message}");
        }
    }
}
