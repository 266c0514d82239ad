//! Writes the outcomes of attempts to the store, off the worker's loop:
//! everything that finished while the last write ran goes in the next
//! transaction (one per write, up to [`MAX_BATCH`]), so under load a
//! transaction carries many settlements and when idle each is written at
//! once. After each write the worker is woken: the entries after a
//! delivered one in its task's order are due now.
//!
//! A destination's postponement (its circuit breaker opened) is written
//! after the settlements sent before it, so the attempt that opened the
//! breaker is pending when its destination's entries are moved.
//!
//! A write the store refuses is tried again every [`RETRY_EVERY`], its
//! settlements kept; if the gateway stops meanwhile they are lost and the
//! entries' leases run out, so they are delivered again (at least once).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use warden_store::{Settlement, Store};

/// The most settlements in one transaction.
const MAX_BATCH: usize = 512;
/// Between tries of a write the store refused.
const RETRY_EVERY: Duration = Duration::from_millis(500);

/// What the settling task writes.
#[derive(Debug)]
enum Write {
    Settle(Settlement),
    /// `Store::outbox_postpone`: the destination's breaker is open.
    Postpone {
        origin: String,
        until_ms: i64,
    },
}

/// The way to the settling task; dropping every one ends it once it has
/// written what it was given.
#[derive(Debug, Clone)]
pub struct Settler(mpsc::UnboundedSender<Write>);

impl Settler {
    /// Starts the task that writes `worker`'s settlements to `store`,
    /// ringing `written` after each write.
    pub fn start(store: Store, worker: String, written: Arc<Notify>) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self(tx), tokio::spawn(run(store, worker, rx, written)))
    }

    /// Queues one settlement (bounded by the deliveries in flight, each of
    /// which sends one).
    pub fn send(&self, s: Settlement) {
        // The task ends only once every sender is gone.
        let _ = self.0.send(Write::Settle(s));
    }

    /// Queues the postponement of `origin`'s pending entries to `until_ms`.
    pub fn postpone(&self, origin: String, until_ms: i64) {
        let _ = self.0.send(Write::Postpone { origin, until_ms });
    }
}

async fn run(
    store: Store,
    worker: String,
    mut rx: mpsc::UnboundedReceiver<Write>,
    written: Arc<Notify>,
) {
    let mut writes = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut writes, MAX_BATCH).await > 0 {
        let mut settlements = Vec::with_capacity(writes.len());
        for w in writes.drain(..) {
            match w {
                Write::Settle(s) => settlements.push(s),
                Write::Postpone { origin, until_ms } => {
                    settle(&store, &worker, &settlements).await;
                    settlements.clear();
                    if let Err(e) = store.outbox_postpone(&origin, until_ms).await {
                        tracing::warn!(error = %e, "push outbox: cannot postpone a destination");
                    }
                }
            }
        }
        settle(&store, &worker, &settlements).await;
        written.notify_one();
    }
}

/// Writes `batch`, trying again until the store takes it.
async fn settle(store: &Store, worker: &str, batch: &[Settlement]) {
    if batch.is_empty() {
        return;
    }
    let mut warned = false;
    while let Err(e) = store.outbox_settle(worker, batch).await {
        if !warned {
            tracing::warn!(error = %e, n = batch.len(), "push outbox: cannot record delivery outcomes; trying again");
            warned = true;
        }
        tokio::time::sleep(RETRY_EVERY).await;
    }
}
