//! What a delivery worker asks of the outbox: which destinations have
//! entries waiting, claims of due entries (leased, in order per task), the
//! settlement of each attempt, and the postponement of a destination whose
//! circuit breaker opened.
//!
//! Every statement names the open states literally
//! (`state IN ('pending', 'delivering')`), as the partial index
//! `push_outbox_due` is written: SQLite uses a partial index only for a
//! query that repeats its condition.

use sqlx::AssertSqlSafe;

use sqlx::SqliteConnection;
use tokio::sync::oneshot;

use super::writer::Job;
use super::{LOCK_TASK, NotificationId, OutboxEntry, PARKED, entry_from_row};
use crate::backend::{Db, Tx, either, map_rows};

/// Rows per multi-row statement (a bound value or three each: far below
/// either engine's limit on parameters).
const ROWS_PER_STATEMENT: usize = 300;
use crate::{Store, StoreError};

/// A destination with open entries, and when the first of them is due (or
/// its lease ends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueOrigin {
    pub origin: String,
    pub next_due_ms: i64,
}

/// A claim: up to `limit` due entries of one destination, leased to
/// `worker` until `lease_until_ms`.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    pub origin: &'a str,
    pub worker: &'a str,
    pub now_ms: i64,
    pub lease_until_ms: i64,
    pub limit: u32,
}

/// How an attempt ended, for the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    /// The receiver answered 2xx: done (the body is dropped); the next
    /// entry of its task is due.
    Delivered,
    /// Tried again at `next_attempt_ms`; the entries after it in its task's
    /// order stay parked.
    Retry { next_attempt_ms: i64, error: String },
    /// Given up; the next entry of its task is due.
    Dead { error: String },
    /// Not attempted (the worker is stopping): due again at
    /// `next_attempt_ms`, no attempt counted.
    Release { next_attempt_ms: i64 },
}

/// One attempt's outcome for a claimed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub id: NotificationId,
    pub subscription_id: String,
    pub task_id: String,
    pub seq: i64,
    pub at_ms: i64,
    pub outcome: Settle,
}

impl Settlement {
    /// The settlement of `entry` at `at_ms`.
    pub fn of(entry: &OutboxEntry, at_ms: i64, outcome: Settle) -> Self {
        Self {
            id: entry.id.clone(),
            subscription_id: entry.subscription_id.clone(),
            task_id: entry.task_id.clone(),
            seq: entry.seq,
            at_ms,
            outcome,
        }
    }
}

impl Store {
    /// Destinations with open entries, in order after `after` (a worker
    /// going round them all, a page at a time), at most `limit`: a loose
    /// index scan, one seek per destination, however many entries wait.
    pub async fn outbox_due_origins(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DueOrigin>, StoreError> {
        let sql = "WITH RECURSIVE o(origin, n) AS (
                SELECT (SELECT MIN(origin) FROM push_outbox
                        WHERE state IN ('pending', 'delivering') AND origin > $1),
                       CAST(1 AS BIGINT)
                UNION ALL
                SELECT (SELECT MIN(p.origin) FROM push_outbox p
                        WHERE p.state IN ('pending', 'delivering') AND p.origin > o.origin),
                       o.n + 1
                FROM o WHERE o.origin IS NOT NULL AND o.n < $2
            )
            SELECT o.origin AS origin,
                   (SELECT MIN(d.next_attempt_ms) FROM push_outbox d
                    WHERE d.state IN ('pending', 'delivering') AND d.origin = o.origin)
                       AS next_due_ms
            FROM o WHERE o.origin IS NOT NULL";
        let rows: Vec<(String, i64)> = either!(Db, &self.db, pool => {
            sqlx::query_as(sql)
                .bind(after.unwrap_or(""))
                .bind(i64::from(limit.max(1)))
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(origin, next_due_ms)| DueOrigin {
                origin,
                next_due_ms,
            })
            .collect())
    }

    /// Claims up to `c.limit` due entries of `c.origin`, each the first open
    /// entry of its subscription and task, due ones first; an entry whose
    /// lease ran out counts as due. Returned in the order claimed, once the
    /// lease is committed.
    pub async fn outbox_claim(&self, c: &Claim<'_>) -> Result<Vec<OutboxEntry>, StoreError> {
        let claim = OwnedClaim {
            origin: c.origin.to_string(),
            worker: c.worker.to_string(),
            now_ms: c.now_ms,
            lease_until_ms: c.lease_until_ms,
            limit: c.limit,
        };
        match &self.db {
            Db::Sqlite(pool) => {
                let (done, outcome) = oneshot::channel();
                self.outbox
                    .writer
                    .submit(pool, Job::Claim { claim, done })
                    .await;
                Ok(outcome.await.map_err(|_| stopped())??)
            }
            Db::Postgres(pool) => {
                // Rows another transaction is claiming are skipped, not
                // waited for (and a row it claimed is re-read and no
                // longer due).
                let mut tx: Tx<'_> = pool.begin().await?.into();
                let entries = claim_in(&mut tx, "FOR UPDATE SKIP LOCKED", &claim).await?;
                tx.commit().await?;
                Ok(entries)
            }
        }
    }

    /// Settles attempts of `worker`'s claims, in one transaction. An entry
    /// no longer leased to `worker` (its lease ran out and another worker
    /// claimed it) is left to that worker. An entry settled delivered or
    /// dead makes the next of its task due. Returns how many were settled.
    ///
    /// The deliveries of a batch are settled by one statement and the next
    /// entries of their tasks made due by another (the common case under
    /// load: a few statements for many settlements); retries and dead
    /// letters one by one.
    pub async fn outbox_settle(
        &self,
        worker: &str,
        batch: &[Settlement],
    ) -> Result<u64, StoreError> {
        match &self.db {
            Db::Sqlite(pool) => {
                let (done, outcome) = oneshot::channel();
                let job = Job::Settle {
                    worker: worker.to_string(),
                    batch: batch.to_vec(),
                    done,
                };
                self.outbox.writer.submit(pool, job).await;
                Ok(outcome.await.map_err(|_| stopped())??)
            }
            Db::Postgres(pool) => {
                let mut tx: Tx<'_> = pool.begin().await?.into();
                let n = settle_in(&mut tx, true, worker, batch).await?;
                tx.commit().await?;
                Ok(n)
            }
        }
    }

    /// Makes due (at `now_ms`) every parked entry that no open entry of its
    /// task precedes: none should be (enqueues and settlements keep them
    /// in step), so this is the worker's occasional safety net. Returns how
    /// many it found.
    pub async fn outbox_unpark_stranded(&self, now_ms: i64) -> Result<u64, StoreError> {
        let n = either!(Db, &self.db, pool => {
            sqlx::query(
                "UPDATE push_outbox SET next_attempt_ms = $1
                 WHERE id IN (
                     SELECT o.id FROM push_outbox o
                     WHERE o.state IN ('pending', 'delivering') AND o.state = 'pending'
                       AND o.next_attempt_ms = $2
                       AND NOT EXISTS (
                           SELECT 1 FROM push_outbox p
                           WHERE p.subscription_id = o.subscription_id
                             AND p.task_id = o.task_id AND p.seq < o.seq
                             AND p.state IN ('pending', 'delivering')))",
            )
            .bind(now_ms)
            .bind(PARKED)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n)
    }

    /// Moves the pending entries of `origin` due before `until_ms` to
    /// `until_ms` (its circuit breaker is open until then), so claims do
    /// not find them due meanwhile. Returns how many moved.
    pub async fn outbox_postpone(&self, origin: &str, until_ms: i64) -> Result<u64, StoreError> {
        let n = either!(Db, &self.db, pool => {
            sqlx::query(
                "UPDATE push_outbox SET next_attempt_ms = $1
                 WHERE origin = $2 AND state IN ('pending', 'delivering')
                   AND next_attempt_ms < $1 AND state = 'pending'",
            )
            .bind(until_ms)
            .bind(origin)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n)
    }
}

/// A claim with its values owned (for the SQLite writer's queue).
#[derive(Debug, Clone)]
pub(crate) struct OwnedClaim {
    pub origin: String,
    pub worker: String,
    pub now_ms: i64,
    pub lease_until_ms: i64,
    pub limit: u32,
}

/// The claim statement (`lock`: the engine's row-locking clause).
fn claim_sql(lock: &str) -> String {
    format!(
        "UPDATE push_outbox SET state = 'delivering', lease_owner = $1,
             next_attempt_ms = $2, updated_ms = $3
         WHERE id IN (
             SELECT o.id FROM push_outbox o
             WHERE o.origin = $4 AND o.state IN ('pending', 'delivering')
               AND o.next_attempt_ms <= $3
               AND NOT EXISTS (
                   SELECT 1 FROM push_outbox p
                   WHERE p.subscription_id = o.subscription_id AND p.task_id = o.task_id
                     AND p.seq < o.seq AND p.state IN ('pending', 'delivering'))
             ORDER BY o.next_attempt_ms
             LIMIT $5 {lock})
         RETURNING id, subscription_id, task_id, seq, destination, origin, body, attempts,
             since_ms, created_ms"
    )
}

/// The claim of `c` on `$conn`, its entries in task order.
macro_rules! claim {
    ($conn:expr, $lock:expr, $c:expr) => {{
        let rows = sqlx::query(AssertSqlSafe(claim_sql($lock)))
            .bind(&$c.worker)
            .bind($c.lease_until_ms)
            .bind($c.now_ms)
            .bind(&$c.origin)
            .bind(i64::from($c.limit))
            .fetch_all($conn)
            .await?;
        let mut entries = map_rows(&rows, entry_from_row)?;
        // RETURNING gives no order; deliveries start in task order.
        entries.sort_by_key(|e| (e.created_ms, e.seq));
        entries
    }};
}

/// Claims in `tx` (`lock`: the engine's row-locking clause); see
/// [`Store::outbox_claim`].
pub(crate) async fn claim_in(
    tx: &mut Tx<'_>,
    lock: &str,
    c: &OwnedClaim,
) -> Result<Vec<OutboxEntry>, sqlx::Error> {
    Ok(either!(Tx, tx, tx => claim!(&mut **tx, lock, c)))
}

/// Claims on a SQLite connection, as a statement of its own (it commits
/// alone).
pub(crate) async fn claim_on(
    conn: &mut SqliteConnection,
    c: &OwnedClaim,
) -> Result<Vec<OutboxEntry>, sqlx::Error> {
    Ok(claim!(conn, "", c))
}

fn stopped() -> StoreError {
    StoreError::Io("the outbox writer stopped".into())
}

/// Settles `batch` in `tx` (`postgres`: the engine's task locks taken
/// first); see [`Store::outbox_settle`].
pub(crate) async fn settle_in(
    tx: &mut Tx<'_>,
    postgres: bool,
    worker: &str,
    batch: &[Settlement],
) -> Result<u64, sqlx::Error> {
    let now = batch.iter().map(|s| s.at_ms).max().unwrap_or_default();
    let (delivered, others): (Vec<&Settlement>, Vec<&Settlement>) = batch
        .iter()
        .partition(|s| matches!(s.outcome, Settle::Delivered));
    if postgres {
        // Task locks in one order, so two gateways settling at once
        // cannot deadlock.
        let mut keys: Vec<(&str, &str)> = batch
            .iter()
            .filter(|s| matches!(s.outcome, Settle::Delivered | Settle::Dead { .. }))
            .map(|s| (s.subscription_id.as_str(), s.task_id.as_str()))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        for (sub, task) in keys {
            either!(Tx, &mut *tx, tx => {
                sqlx::query(LOCK_TASK).bind(sub).bind(task).execute(&mut **tx).await?;
            });
        }
    }
    // Tasks whose next entry is due now: (subscription, task, seq).
    let mut done: Vec<(String, String, i64)> = Vec::new();
    for chunk in delivered.chunks(ROWS_PER_STATEMENT) {
        let rows: Vec<(String, String, i64)> = either!(Tx, &mut *tx, tx => {
            let mut q = sqlx::QueryBuilder::new(
                "UPDATE push_outbox SET state = 'delivered', attempts = attempts + 1, body = ",
            );
            q.push_bind(&[][..] as &[u8])
                .push(", last_error = NULL, lease_owner = NULL, updated_ms = ")
                .push_bind(now)
                .push(" WHERE state = 'delivering' AND lease_owner = ")
                .push_bind(worker)
                .push(" AND id IN (");
            let mut ids = q.separated(", ");
            for s in chunk {
                ids.push_bind(s.id.as_str());
            }
            q.push(") RETURNING subscription_id, task_id, seq");
            q.build_query_as().fetch_all(&mut **tx).await?
        });
        done.extend(rows);
    }
    let mut settled = done.len() as u64;
    for s in others {
        let (sql, ints, text) = statement(s);
        let n = either!(Tx, &mut *tx, tx => {
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(s.id.as_str()).bind(worker);
            for v in ints {
                q = q.bind(v);
            }
            if let Some(t) = text {
                q = q.bind(t);
            }
            q.bind(s.at_ms).execute(&mut **tx).await?.rows_affected()
        });
        if n == 1 && matches!(s.outcome, Settle::Dead { .. }) {
            done.push((s.subscription_id.clone(), s.task_id.clone(), s.seq));
        }
        settled += n;
    }
    for chunk in done.chunks(ROWS_PER_STATEMENT / 3) {
        either!(Tx, &mut *tx, tx => {
            // The first entry parked behind each, made due now.
            let mut q = sqlx::QueryBuilder::new("UPDATE push_outbox SET next_attempt_ms = ");
            q.push_bind(now)
                .push(
                    " WHERE id IN (SELECT (SELECT p.id FROM push_outbox p
                        WHERE p.subscription_id = k.column1 AND p.task_id = k.column2
                          AND p.seq > k.column3 AND p.state = 'pending'
                          AND p.next_attempt_ms = ",
                )
                .push_bind(PARKED)
                .push(" ORDER BY p.seq LIMIT 1) FROM (VALUES ");
            let mut keys = q.separated(", ");
            for (sub, task, seq) in chunk {
                keys.push("(")
                    .push_bind_unseparated(sub.as_str())
                    .push_unseparated(", ")
                    .push_bind_unseparated(task.as_str())
                    .push_unseparated(", ")
                    .push_bind_unseparated(*seq)
                    .push_unseparated(")");
            }
            q.push(") AS k)");
            q.build().execute(&mut **tx).await?;
        });
    }
    Ok(settled)
}

/// The statement that settles `s`, with the values it binds after the id
/// and the worker (`$1`, `$2`): integers, then text, then the time.
fn statement(s: &Settlement) -> (String, Vec<i64>, Option<&str>) {
    let held = "WHERE id = $1 AND state = 'delivering' AND lease_owner = $2";
    match &s.outcome {
        // Settled together by `outbox_settle`.
        Settle::Delivered => (String::new(), vec![], None),
        Settle::Retry {
            next_attempt_ms,
            error,
        } => (
            format!(
                "UPDATE push_outbox SET state = 'pending', attempts = attempts + 1,
                     next_attempt_ms = $3, last_error = $4, lease_owner = NULL,
                     updated_ms = $5 {held}"
            ),
            vec![*next_attempt_ms],
            Some(error),
        ),
        Settle::Dead { error } => (
            format!(
                "UPDATE push_outbox SET state = 'dead', attempts = attempts + 1,
                     last_error = $3, lease_owner = NULL, updated_ms = $4 {held}"
            ),
            vec![],
            Some(error),
        ),
        Settle::Release { next_attempt_ms } => (
            format!(
                "UPDATE push_outbox SET state = 'pending', next_attempt_ms = $3,
                     lease_owner = NULL, updated_ms = $4 {held}"
            ),
            vec![*next_attempt_ms],
            None,
        ),
    }
}
