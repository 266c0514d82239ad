//! Audit events: one per gateway decision, written off the request path by a
//! batching writer; rate-limit refusals as one count per caller and second
//! (`floods`). Never carries message bodies or credentials.
//!
//! While the store cannot be reached, the writer holds its batch and tries
//! again until it can: events wait in the bounded queue meanwhile (the
//! request path never waits for them), and what does not fit is dropped and
//! counted (`warden_audit_events_dropped`), as a full queue always was.

mod floods;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use tokio::sync::{mpsc, oneshot};
use warden_a2a::{A2aOp, Binding};
use warden_store::{AuditRecord, Store};

use crate::store_health::StoreHealth;

/// What the gateway decided about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Forwarded to the agent (whatever the agent then answered).
    Forwarded,
    /// Answered by the gateway without reaching the agent.
    Refused,
    /// Forwarding failed (unreachable, timed out, invalid answer).
    UpstreamFailed,
    /// A retried call answered with its first answer (`[retries]`),
    /// without reaching the agent again.
    RetryAnswered,
    /// A card served by the gateway.
    CardServed,
    /// A change made through the admin API (kind `admin`; the action, such
    /// as `apikey.revoke`, in `reason`).
    AdminChange,
    /// A changed upstream card held for review (kind `card`); the pinned
    /// card is served meanwhile.
    CardHeld,
    /// An upstream card whose `version` alone changed, pinned (kind `card`).
    CardRepinned,
    /// An upstream card that looks like another agent's, served but
    /// recorded (kind `card`; refused look-alikes are `Refused`).
    CardFlagged,
    /// Answered by Warden itself, with nothing forwarded (a mailbox
    /// operation over REST or MCP).
    Answered,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Forwarded => "forwarded",
            Self::Refused => "refused",
            Self::UpstreamFailed => "upstream_failed",
            Self::RetryAnswered => "retry_answered",
            Self::CardServed => "card_served",
            Self::AdminChange => "admin_change",
            Self::CardHeld => "held",
            Self::CardRepinned => "repinned",
            Self::CardFlagged => "flagged",
            Self::Answered => "answered",
        }
    }
}

/// A typed audit event.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// `request` (a call through the gateway) or `admin` (the admin API).
    pub kind: &'static str,
    pub agent: Option<String>,
    pub operation: Option<&'static str>,
    pub binding: Option<Binding>,
    pub outcome: Outcome,
    /// Why (an `ErrorInfo.reason`, or the upstream HTTP status).
    pub reason: Option<String>,
    pub source: IpAddr,
    /// The authenticated caller, by the name grants know it by
    /// ([`Principal::key`](crate::principal::Principal::key)): the bare subject
    /// for Warden's own issuer (its tokens and API keys), `ISSUER#SUBJECT`
    /// for another issuer's. `admin` or `cli` for admin changes.
    pub principal: Option<String>,
    pub task_id: Option<String>,
    pub context_id: Option<String>,
    /// Further detail (ids of what an admin change touched); never secrets.
    pub detail: Option<serde_json::Value>,
}

impl AuditEvent {
    pub fn new(agent: Option<&str>, source: IpAddr, outcome: Outcome) -> Self {
        Self {
            kind: "request",
            agent: agent.map(str::to_owned),
            operation: None,
            binding: None,
            outcome,
            reason: None,
            source,
            principal: None,
            task_id: None,
            context_id: None,
            detail: None,
        }
    }

    /// An admin API event: `outcome` is [`Outcome::AdminChange`] for a
    /// change (the action in `reason`) or [`Outcome::Refused`] for a refused
    /// request; `detail` names what was touched (ids, never secrets).
    pub fn admin(
        source: IpAddr,
        outcome: Outcome,
        action: impl Into<String>,
        detail: Option<serde_json::Value>,
    ) -> Self {
        let mut e = Self::new(None, source, outcome).with_reason(action);
        e.kind = "admin";
        e.detail = detail;
        e
    }

    pub fn with_principal(mut self, p: &crate::principal::Principal) -> Self {
        self.principal = Some(p.key());
        self
    }

    pub fn with_op(mut self, op: &A2aOp) -> Self {
        self.operation = Some(op.operation.name());
        self.binding = Some(op.binding);
        self.task_id = op.task_id.clone();
        self.context_id = op.context_id.clone();
        self
    }

    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// The row this event is stored as.
    pub fn record(&self) -> AuditRecord {
        let detail = match (&self.detail, &self.context_id) {
            (None, None) => None,
            (d, c) => {
                let mut v = d.clone().unwrap_or_else(|| serde_json::json!({}));
                if let (Some(c), Some(o)) = (c, v.as_object_mut()) {
                    o.insert("contextId".into(), serde_json::Value::String(c.clone()));
                }
                Some(v.to_string())
            }
        };
        AuditRecord {
            at: crate::clock::now_rfc3339(),
            kind: self.kind.into(),
            agent: self.agent.clone(),
            operation: self.operation.map(str::to_owned),
            binding: self.binding.map(|b| b.as_str().to_owned()),
            outcome: self.outcome.as_str().into(),
            reason: self.reason.clone(),
            source: Some(self.source.to_string()),
            principal: self.principal.clone(),
            task_id: self.task_id.clone(),
            detail,
        }
    }
}

/// The request path's handle: a bounded queue to the writer.
#[derive(Debug, Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<Msg>,
    floods: std::sync::Arc<floods::FloodCounts>,
    health: Arc<StoreHealth>,
}

/// What the writer's queue carries: events, and flush requests queued
/// behind them (the queue is FIFO, so a flush is answered once every event
/// queued before it has been written).
// Events are the common case and are not boxed (no allocation per event);
// a flush is rare.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Msg {
    Event(AuditRecord),
    Flush(oneshot::Sender<bool>),
}

const QUEUE: usize = 16_384;
const BATCH: usize = 256;
/// The window rate-limit refusals are counted over.
const FLOOD_WINDOW: Duration = Duration::from_secs(1);

impl AuditSink {
    /// Starts the writer task on `store`; events it has to give up are
    /// counted in `metrics`' `audit_dropped`.
    pub fn start(
        store: Store,
        health: Arc<StoreHealth>,
        metrics: &crate::metrics::Metrics,
    ) -> Self {
        let (tx, mut rx) = mpsc::channel::<Msg>(QUEUE);
        let writer = Writer {
            store,
            health: Arc::clone(&health),
            lost: metrics.audit_dropped.clone(),
        };
        tokio::spawn(async move {
            let mut msgs = Vec::with_capacity(BATCH);
            let mut batch = Vec::with_capacity(BATCH);
            let mut waiters = Vec::new();
            while rx.recv_many(&mut msgs, BATCH).await > 0 {
                sort(&mut msgs, &mut batch, &mut waiters);
                // Let a busy gateway fill the batch for a moment: one write
                // transaction (and one wake-up) per batch, not per request.
                // Not when someone waits for a flush.
                if batch.len() < BATCH && waiters.is_empty() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    while batch.len() < BATCH && waiters.is_empty() {
                        match rx.try_recv() {
                            Ok(m) => {
                                msgs.push(m);
                                sort(&mut msgs, &mut batch, &mut waiters);
                            }
                            Err(_) => break,
                        }
                    }
                }
                let written = writer.write(&batch, &mut waiters).await;
                for w in waiters.drain(..) {
                    let _ = w.send(written);
                }
                batch.clear();
            }
        });
        let sink = Self {
            tx,
            floods: std::sync::Arc::default(),
            health,
        };
        let ticker = sink.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FLOOD_WINDOW);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if ticker.tx.is_closed() {
                    break;
                }
                ticker.emit_floods();
            }
        });
        sink
    }

    /// Queues the counts of the current window (one event per caller,
    /// agent, operation and reason).
    fn emit_floods(&self) {
        let ms = u64::try_from(FLOOD_WINDOW.as_millis()).unwrap_or(u64::MAX);
        for e in self.floods.take(ms) {
            let _ = self.tx.try_send(Msg::Event(e.record()));
        }
    }

    /// Queues an event. Returns false if the queue was full (the event is
    /// lost; the caller counts it in metrics).
    ///
    /// Refusals may only use the first half of the queue: a flood of bad
    /// requests cannot crowd out the record of calls that were let through.
    ///
    /// Rate-limit refusals are counted, and written as one event per caller
    /// and second: see `floods.rs`.
    pub fn emit(&self, event: &AuditEvent) -> bool {
        if floods::is_flood(event) {
            self.floods.add(event);
            return true;
        }
        if event.outcome == Outcome::Refused && self.tx.capacity() < QUEUE / 2 {
            return false;
        }
        self.tx.try_send(Msg::Event(event.record())).is_ok()
    }

    /// Resolves once every event emitted before the call has been written
    /// (or given up): true if they were all stored. Waits for room in the
    /// queue, and never delays or drops an event. False if the writer is
    /// gone or a batch could not be written, and at once while the store is
    /// known to be unreachable (the events wait in the queue for it).
    pub async fn flush(&self) -> bool {
        if !self.health.reachable() {
            return false;
        }
        // The counts so far go first, as a window cut short.
        self.emit_floods();
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).await.is_err() {
            return false;
        }
        rx.await.unwrap_or(false)
    }
}

/// Moves `msgs` into the batch to write and the flushes to answer after it.
fn sort(
    msgs: &mut Vec<Msg>,
    batch: &mut Vec<AuditRecord>,
    waiters: &mut Vec<oneshot::Sender<bool>>,
) {
    for m in msgs.drain(..) {
        match m {
            Msg::Event(r) => batch.push(r),
            Msg::Flush(w) => waiters.push(w),
        }
    }
}

/// The writer task's store and what it reports to.
struct Writer {
    store: Store,
    health: Arc<StoreHealth>,
    lost: Counter,
}

/// Pauses between attempts while the store cannot be reached.
const RETRY: (Duration, Duration) = (Duration::from_millis(200), Duration::from_secs(5));

impl Writer {
    /// Stores a batch. While the store cannot be reached, tries again
    /// until it can (those waiting for a flush are told `false` at once);
    /// a batch the store refuses is tried once more, then given up and
    /// counted as dropped.
    async fn write(&self, batch: &[AuditRecord], waiters: &mut Vec<oneshot::Sender<bool>>) -> bool {
        if batch.is_empty() {
            return true;
        }
        let mut pause = RETRY.0;
        let mut refused = None;
        loop {
            let e = match self.store.append_audit(batch).await {
                Ok(()) => return true,
                Err(e) => e,
            };
            if e.is_unreachable() {
                self.health.failed(&e);
                for w in waiters.drain(..) {
                    let _ = w.send(false);
                }
                tracing::debug!(error = %e, held = batch.len(), "audit events held until the store answers");
            } else if let Some(first) = refused {
                tracing::error!(error = %first, retry_error = %e, lost = batch.len(), "audit write failed");
                self.lost.inc_by(batch.len() as u64);
                return false;
            } else {
                refused = Some(e);
                pause = RETRY.0;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(RETRY.1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_flush_resolves_once_earlier_events_are_stored() {
        let store = Store::open_in_memory().await.expect("store");
        let metrics = crate::metrics::Metrics::new();
        let health = Arc::new(StoreHealth::new(Duration::from_secs(30), &metrics));
        let sink = AuditSink::start(store.clone(), health, &metrics);
        assert!(sink.flush().await, "nothing to write: resolves at once");
        let source = IpAddr::from([127, 0, 0, 1]);
        for i in 0..600 {
            let e = AuditEvent::new(Some("echo"), source, Outcome::Forwarded)
                .with_reason(format!("#{i}"));
            assert!(sink.emit(&e));
        }
        assert!(sink.flush().await);
        // Read once, no waiting: more than one batch, every event there.
        let rows = store.recent_audit(1000).await.expect("audit");
        assert_eq!(rows.len(), 600);
        assert!(rows.iter().any(|r| r.reason.as_deref() == Some("#599")));
        // Flushes from several tasks at once are all answered.
        let all = futures_util::future::join_all((0..8).map(|_| sink.flush())).await;
        assert!(all.into_iter().all(|ok| ok));
    }
}
