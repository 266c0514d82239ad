//! The push outbox: notifications for callers' webhooks, kept until their
//! receiver has them (issue 15, durable delivery).
//!
//! The relay writes a notification here ([`Store::outbox_enqueue`]) before
//! it answers the agent, so a crash after that loses nothing; the gateway's
//! delivery worker (`warden_gateway::push::outbox`) claims due entries,
//! posts them and settles each with its outcome. Everything that makes
//! delivery durable and ordered is decided here, in single statements:
//!
//! - **A stable id** (`msg_` + 32 hex digits), the `webhook-id` receivers
//!   dedupe on: a notification delivered twice (after a crash between the
//!   receiver's 2xx and the settlement) arrives twice with the same id.
//! - **Order per task.** Each entry has a sequence number per subscription
//!   and task (1, 2, …, assigned in the insert itself). An entry is claimed
//!   only when no earlier entry of its subscription and task is open
//!   (pending or being delivered), so entry n+1 is never attempted before
//!   n is delivered or dead. Different subscriptions of one task do not
//!   wait on each other: a dead receiver holds back only its own entries.
//!   The number restarts at 1 only once every earlier entry of the task is
//!   gone (retention).
//! - **Waiting entries are parked**: one queued behind an open entry of its
//!   task is written never due ([`PARKED`]), and settling the one before it
//!   as delivered or dead makes it due, so claims scan due entries only and
//!   stay cheap however long a task's queue. On PostgreSQL the enqueue and
//!   that settlement take a transaction lock on the subscription and task,
//!   so one cannot miss the other; [`Store::outbox_unpark_stranded`] is the
//!   worker's periodic safety net.
//! - **Claims with leases** ([`Store::outbox_claim`]): a claim marks entries
//!   `delivering`, names the worker, and moves `next_attempt_ms` to the end
//!   of the lease. A worker that dies leaves its claims to expire; they are
//!   then due again and claimed by any worker, the same id delivered once
//!   more. Only the lease holder settles an entry. On PostgreSQL claims
//!   skip rows another gateway is claiming (`FOR UPDATE SKIP LOCKED`), so
//!   several gateways never hold one entry at once; on SQLite a claim is one
//!   statement under the database's write lock.
//! - **Delivered only on the receiver's 2xx**: the worker settles an entry
//!   `delivered` after the answer, never before. A delivered entry keeps
//!   its metadata (for the admin API) but not its body.
//!
//! States: `pending` (waiting for `next_attempt_ms`), `delivering` (leased),
//! `delivered`, `dead` (given up: a permanent refusal, the attempts or the
//! horizon spent; the admin API can retry it). Times are Unix
//! milliseconds on the gateway's clock.
//!
//! Bodies are A2A stream responses: they may hold task content, as the
//! tasks table does. Retention removes delivered and dead entries with the
//! ownership records (`retention.rs`).

mod admin;
mod claim;
mod enqueue;
mod writer;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use tokio::sync::Notify;

use crate::backend::Columns;
use crate::{Store, StoreError};

pub use admin::{NotificationFilter, NotificationPage, NotificationRecord, OutboxCounts, Retried};
pub use claim::{Claim, DueOrigin, Settle, Settlement};

/// `next_attempt_ms` of an entry that waits for an earlier one of its
/// subscription and task ("parked"): never due, so a claim's scan of due
/// entries never passes over it. Settling the earlier one (delivered or
/// dead) makes the next one due.
pub(crate) const PARKED: i64 = i64::MAX;

/// A notification to keep until it is delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    /// The push subscription (the caller's registered config) it is for.
    pub subscription_id: String,
    pub task_id: String,
    /// The caller's webhook URL (http or https).
    pub destination: String,
    /// The A2A `StreamResponse` JSON, as it is to be posted.
    pub body: Vec<u8>,
    /// Unix milliseconds on the gateway's clock: due from then.
    pub created_ms: i64,
}

/// A notification's stable id: the `webhook-id` a receiver dedupes on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NotificationId(String);

impl NotificationId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for NotificationId {
    fn from(id: String) -> Self {
        Self(id)
    }
}

impl std::fmt::Display for NotificationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an entry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationState {
    Pending,
    Delivering,
    Delivered,
    Dead,
}

impl NotificationState {
    pub const ALL: [Self; 4] = [Self::Pending, Self::Delivering, Self::Delivered, Self::Dead];

    /// The name in the store and the admin API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivering => "delivering",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A claimed entry, as a delivery needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub id: NotificationId,
    pub subscription_id: String,
    pub task_id: String,
    /// Its place in its subscription and task's order (from 1).
    pub seq: i64,
    pub destination: String,
    /// `scheme://host:port` of the destination: what concurrency caps and
    /// circuit breakers count by.
    pub origin: String,
    pub body: Vec<u8>,
    /// Attempts settled before this one.
    pub attempts: u32,
    /// When the current schedule began (the enqueue, or an admin retry):
    /// the dead-letter horizon counts from here.
    pub since_ms: i64,
    pub created_ms: i64,
}

pub(crate) fn entry_from_row(row: &impl Columns) -> Result<OutboxEntry, sqlx::Error> {
    let attempts: i64 = row.col("attempts")?;
    Ok(OutboxEntry {
        id: NotificationId(row.col("id")?),
        subscription_id: row.col("subscription_id")?,
        task_id: row.col("task_id")?,
        seq: row.col("seq")?,
        destination: row.col("destination")?,
        origin: row.col("origin")?,
        body: row.col("body")?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        since_ms: row.col("since_ms")?,
        created_ms: row.col("created_ms")?,
    })
}

/// What a store handle (and its clones) shares for push delivery.
#[derive(Debug, Clone, Default)]
pub(crate) struct Signal {
    /// The wake-up it gives its delivery worker when an entry becomes due
    /// now: an enqueue, an admin retry. Entries written through another
    /// handle (another gateway) are found by the worker's own schedule.
    wake: Arc<Notify>,
    /// The outbox's one writer on SQLite (`writer.rs`).
    writer: writer::Writer,
    /// Counts the push subscriptions removed through this handle
    /// (`push_subscriptions.rs`): what a cache of opened subscriptions
    /// checks to drop what it holds.
    pub(crate) subscriptions_removed: Arc<AtomicU64>,
}

/// `scheme://host:port` of an http(s) URL (the port spelled out, its
/// default when the URL has none): a destination, for caps, breakers and
/// the admin API's filter.
pub fn outbox_origin(url: &str) -> Result<String, StoreError> {
    let bad = |why: &str| StoreError::BadNotification(format!("destination {url:?}: {why}"));
    let parsed = url::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("not an http or https URL"));
    }
    let host = parsed.host_str().ok_or_else(|| bad("no host"))?;
    let port = parsed
        .port_or_known_default()
        .ok_or_else(|| bad("no port"))?;
    Ok(format!("{}://{host}:{port}", parsed.scheme()))
}

impl Store {
    /// Resolves when an entry became due now through this handle (an
    /// enqueue, an admin retry) since the last call returned; one waiter
    /// (the delivery worker) is meant.
    pub async fn outbox_wakeup(&self) {
        self.outbox.wake.notified().await;
    }

    /// Wakes this handle's delivery worker (after its own settlements, so
    /// the next entries of a task are claimed at once).
    pub fn outbox_wake(&self) {
        self.outbox.wake.notify_one();
    }
}

/// The statement that takes a transaction's lock on one subscription and
/// task, which an enqueue and the settlement that makes the next entry due
/// both run on PostgreSQL: without it, an entry queued while the open one
/// before it is settled could be parked after the settlement looked for it,
/// and wait until the worker's safety net finds it. On SQLite the write
/// lock already orders them.
pub(crate) const LOCK_TASK: &str = "SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))";

#[cfg(test)]
mod tests;
