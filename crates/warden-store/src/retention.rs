//! Retention: removing what no longer matters once it is older than a
//! cutoff — audit events, finished tasks of Warden's own agents (and their
//! push configs), task and context owners, push notifications delivered or
//! dead, push subscriptions whose task is forgotten, ended grants, dead API keys, signing keys past their publication. `warden clean` and the gateway's
//! scheduled run both come here.
//!
//! Rows go in batches of [`BATCH`], each its own short transaction, so a
//! large clean never holds SQLite's one write lock for long: the audit and
//! ownership writers get it between batches (on SQLite retention rests
//! between batches so they can: [`Store::pause_after`]). Every batch selects the rows
//! it deletes by key, so running twice at once (two processes on one
//! store) deletes each row once and counts it once. On PostgreSQL,
//! gateways sharing the store also take [`Store::try_retention_lock`] so
//! that one of them does the work.
//!
//! What each kind keeps and why is in `sweeps.rs`.

mod sql;
mod sweeps;

use sqlx::{Postgres, Transaction};

use crate::backend::{Db, either};
use crate::{Store, StoreError};

/// Rows per batch: small enough that one batch holds SQLite's write lock
/// for a few milliseconds, large enough that a clean of millions of rows is
/// not dominated by round trips. Measured (`retention::tests::figures`,
/// 350,000 rows on a file database): 1000 a batch, with the pause below,
/// kept a concurrent audit write waiting at most ~20 ms (2000: ~40 ms;
/// 2000 without the pause: ~340 ms).
pub const BATCH: u32 = 1000;

/// On SQLite, how long retention rests between batches, as a multiple of
/// how long the batch took (see [`Store::pause_after`]).
const PAUSE_FACTOR: u32 = 3;

/// A kind of row retention removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RetentionKind {
    /// Audit events, by their time.
    Audit,
    /// Finished tasks of Warden's own agents (completed, failed, canceled,
    /// rejected), by their last status time.
    Tasks,
    /// Push configs of those tasks (and of tasks no longer stored).
    PushConfigs,
    /// Task owners, by when they were recorded, except the owner of a task
    /// of Warden's own agents that is not finished.
    TaskOwners,
    /// Context owners, once no kept task (owner) is in the context.
    ContextOwners,
    /// Push notifications delivered or dead (the outbox), by their last
    /// change, with the ownership records.
    PushNotifications,
    /// Push subscriptions (the configs callers registered through the
    /// gateway), by their age, once their task's owner is forgotten and no
    /// notification of theirs waits.
    PushSubscriptions,
    /// Grants revoked or ended before the cutoff.
    Grants,
    /// API keys revoked or expired before the cutoff.
    ApiKeys,
    /// Signing keys whose public key stopped being published before the
    /// cutoff.
    SigningKeys,
    /// Mailbox messages, by their age, read or not (`[mailbox]
    /// retention_days`).
    MailMessages,
    /// Mailbox idempotency keys spent (past their window) before the cutoff.
    MailIdempotency,
    /// Messaging grants revoked or expired before the cutoff.
    MailGrants,
}

impl RetentionKind {
    /// Every kind, in the order a run removes them.
    pub const ALL: [Self; 13] = [
        Self::Audit,
        Self::Tasks,
        Self::PushConfigs,
        Self::TaskOwners,
        Self::ContextOwners,
        Self::PushNotifications,
        Self::PushSubscriptions,
        Self::Grants,
        Self::ApiKeys,
        Self::SigningKeys,
        Self::MailMessages,
        Self::MailIdempotency,
        Self::MailGrants,
    ];

    /// The name in output, logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Audit => "audit",
            Self::Tasks => "tasks",
            Self::PushConfigs => "push_configs",
            Self::TaskOwners => "task_owners",
            Self::ContextOwners => "context_owners",
            Self::PushNotifications => "push_notifications",
            Self::PushSubscriptions => "push_subscriptions",
            Self::Grants => "grants",
            Self::ApiKeys => "api_keys",
            Self::SigningKeys => "signing_keys",
            Self::MailMessages => "mail_messages",
            Self::MailIdempotency => "mail_idempotency",
            Self::MailGrants => "mail_grants",
        }
    }

    /// Whether removing rows of this kind changes what authorisation reads
    /// (and so bumps the generation, for every gateway to reload).
    fn changes_decisions(self) -> bool {
        matches!(self, Self::Grants | Self::ApiKeys)
    }
}

/// A moment: rows that stopped mattering before it go. Both forms the
/// store keeps times in: Unix seconds and RFC 3339 text (UTC,
/// milliseconds; text order is time order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cutoff {
    unix: i64,
    text: String,
}

impl Cutoff {
    /// The moment `unix` (seconds since the epoch; an earlier one is the
    /// epoch, before every row).
    pub fn at_unix(unix: i64) -> Self {
        let unix = unix.max(0);
        let text = chrono::DateTime::from_timestamp(unix, 0)
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        Self { unix, text }
    }

    /// `days` days before `now_unix`.
    pub fn days_before(now_unix: i64, days: u32) -> Self {
        Self::at_unix(now_unix.saturating_sub(i64::from(days).saturating_mul(86_400)))
    }

    pub fn unix(&self) -> i64 {
        self.unix
    }

    /// RFC 3339, UTC, milliseconds.
    pub fn rfc3339(&self) -> &str {
        &self.text
    }
}

/// What a run removes: each group of kinds before its own cutoff, or
/// nothing of it (None).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionPlan {
    pub audit: Option<Cutoff>,
    /// Finished tasks and their push configs.
    pub tasks: Option<Cutoff>,
    /// Task and context owners, push notifications done with, push
    /// subscriptions of forgotten tasks.
    pub ownership: Option<Cutoff>,
    pub grants: Option<Cutoff>,
    pub api_keys: Option<Cutoff>,
    pub signing_keys: Option<Cutoff>,
    /// The mailbox: messages, spent idempotency keys, ended messaging
    /// grants.
    pub mail: Option<Cutoff>,
}

impl RetentionPlan {
    /// The cutoff of `kind`, when the plan removes it.
    pub fn cutoff(&self, kind: RetentionKind) -> Option<&Cutoff> {
        match kind {
            RetentionKind::Audit => self.audit.as_ref(),
            RetentionKind::Tasks | RetentionKind::PushConfigs => self.tasks.as_ref(),
            RetentionKind::TaskOwners
            | RetentionKind::ContextOwners
            | RetentionKind::PushNotifications
            | RetentionKind::PushSubscriptions => self.ownership.as_ref(),
            RetentionKind::Grants => self.grants.as_ref(),
            RetentionKind::ApiKeys => self.api_keys.as_ref(),
            RetentionKind::SigningKeys => self.signing_keys.as_ref(),
            RetentionKind::MailMessages
            | RetentionKind::MailIdempotency
            | RetentionKind::MailGrants => self.mail.as_ref(),
        }
    }
}

/// How many rows of each kind the plan covers went (or, in a dry run,
/// would go), in [`RetentionKind::ALL`] order.
pub type Removed = Vec<(RetentionKind, u64)>;

/// The PostgreSQL lock one retention run holds, so that gateways sharing
/// a store take turns; released when dropped (or when the connection
/// holding it ends). On SQLite it holds nothing.
#[must_use = "the lock is released when this is dropped"]
pub struct RetentionLock {
    held: Option<Transaction<'static, Postgres>>,
}

impl RetentionLock {
    /// Releases the lock now. (Dropping it releases it too, as soon as the
    /// rollback sqlx queues on the connection reaches the server.)
    pub async fn release(self) -> Result<(), StoreError> {
        if let Some(tx) = self.held {
            tx.rollback().await?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for RetentionLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetentionLock")
            .field("postgres", &self.held.is_some())
            .finish()
    }
}

impl Store {
    /// Removes what `plan` covers, [`BATCH`] rows per transaction, and
    /// returns how many rows of each kind went. With `dry_run`, removes
    /// nothing and counts what would go.
    pub async fn apply_retention(
        &self,
        plan: &RetentionPlan,
        dry_run: bool,
    ) -> Result<Removed, StoreError> {
        self.apply_retention_in(plan, dry_run, BATCH).await
    }

    pub(crate) async fn apply_retention_in(
        &self,
        plan: &RetentionPlan,
        dry_run: bool,
        batch: u32,
    ) -> Result<Removed, StoreError> {
        let mut out = Vec::new();
        for kind in RetentionKind::ALL {
            let Some(condition) = sweeps::condition(kind, plan) else {
                continue;
            };
            let n = if dry_run {
                self.count_where(kind, condition).await?
            } else {
                self.delete_where(kind, condition, batch.max(1)).await?
            };
            out.push((kind, n));
        }
        Ok(out)
    }

    async fn count_where(
        &self,
        kind: RetentionKind,
        condition: sql::Sql,
    ) -> Result<u64, StoreError> {
        let (table, _) = sweeps::target(kind);
        let query =
            sql::Sql::new(&format!("SELECT COUNT(*) FROM {table} r WHERE ")).then(condition);
        let n: i64 = either!(Db, &self.db, pool => {
            query.build().build_query_scalar().fetch_one(pool).await?
        });
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Deletes the rows `condition` selects, `batch` at a time, until a
    /// batch comes back short.
    async fn delete_where(
        &self,
        kind: RetentionKind,
        condition: sql::Sql,
        batch: u32,
    ) -> Result<u64, StoreError> {
        let (table, key) = sweeps::target(kind);
        // The same selection every time: what the previous batch deleted
        // no longer matches, so each batch takes the next rows.
        let statement = sql::Sql::new(&format!(
            "DELETE FROM {table} WHERE ({key}) IN (SELECT {key} FROM {table} r WHERE "
        ))
        .then(condition)
        .sql(" LIMIT ")
        .int(i64::from(batch))
        .sql(")");
        let mut total = 0;
        loop {
            let started = std::time::Instant::now();
            let n = either!(Db, &self.db, pool => {
                let mut tx = pool.begin().await?;
                let n = statement.build().build().execute(&mut *tx).await?.rows_affected();
                if kind.changes_decisions() {
                    self.commit_if_changed(tx, n > 0).await?;
                } else {
                    tx.commit().await?;
                }
                n
            });
            total += n;
            if n < u64::from(batch) {
                return Ok(total);
            }
            // Let the request path's writers have the lock between batches.
            self.pause_after(started.elapsed()).await;
        }
    }

    /// Between two batches. SQLite has one write lock, and a writer that
    /// found it taken sleeps in its busy handler (1, 2, 5, … up to 100 ms
    /// between tries), so it may sleep through a short gap: retention rests
    /// PAUSE_FACTOR times as long as its batch held the lock, so that a
    /// waiting writer's next try most likely finds it free. PostgreSQL
    /// locks rows, not the database: no pause.
    async fn pause_after(&self, batch_took: std::time::Duration) {
        match &self.db {
            Db::Sqlite(_) => tokio::time::sleep(batch_took * PAUSE_FACTOR).await,
            Db::Postgres(_) => tokio::task::yield_now().await,
        }
    }

    /// Takes the retention lock when no other process on this store holds
    /// it: `None` when one does (it is running retention now). PostgreSQL
    /// only; on SQLite, where a second run is harmless (see the module
    /// documentation), always granted.
    pub async fn try_retention_lock(&self) -> Result<Option<RetentionLock>, StoreError> {
        let Db::Postgres(pool) = &self.db else {
            return Ok(Some(RetentionLock { held: None }));
        };
        // A transaction-level lock: released by the commit or rollback
        // that ends the transaction (dropping it rolls back), so a run
        // that fails or panics cannot leave it held. Keyed by schema, like
        // the migration lock, in the two-key space (which never meets the
        // migration's one-key lock).
        let mut tx = pool.begin().await?;
        let got: bool = sqlx::query_scalar(
            "SELECT pg_try_advisory_xact_lock(hashtext(current_schema()), hashtext('warden retention'))",
        )
        .fetch_one(&mut *tx)
        .await?;
        Ok(got.then_some(RetentionLock { held: Some(tx) }))
    }
}

#[cfg(test)]
mod tests;
