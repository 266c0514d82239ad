//! Queuing a notification ([`Store::outbox_enqueue`]): one insert that
//! takes the next sequence number of its subscription and task and parks
//! the entry when an earlier one of its task is still open.
//!
//! On SQLite, enqueues made at once (the relay answering many agents) are
//! written together: a writer task of the store handle takes what is
//! waiting and inserts it in one transaction. SQLite has one write lock,
//! and a writer that finds it taken sleeps in its busy handler (1 ms and
//! more) while the lock is often free again within microseconds; one
//! writer for the enqueues instead of one per request, and one commit for
//! many, keep the relay's answers and the worker's claims from waiting on
//! each other. An enqueue that finds nothing waiting is written at once,
//! alone. On PostgreSQL each enqueue is its own transaction, under the
//! task's lock (`outbox.rs`).

use std::sync::{Arc, OnceLock};

use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use super::{LOCK_TASK, NewNotification, NotificationId, PARKED, outbox_origin};
use crate::backend::Db;
use crate::{Store, StoreError};

/// How often an enqueue tries again when another gateway took the same
/// sequence number at the same moment (PostgreSQL only).
const TRIES: usize = 5;

/// The most enqueues in one transaction.
const MAX_BATCH: usize = 256;

/// The sequence number is taken in the insert: on SQLite under the write
/// lock; on PostgreSQL two gateways may take the same one at once, and the
/// unique key refuses the second, which tries again. Parked when an
/// earlier entry of its task is still open.
const INSERT: &str = "INSERT INTO push_outbox (id, subscription_id, task_id, seq, destination,
        origin, body, state, attempts, next_attempt_ms, since_ms, created_ms, updated_ms)
    SELECT $1, $2, $3, COALESCE(MAX(seq), 0) + 1, $4, $5, $6, 'pending', 0,
        CASE WHEN EXISTS (
            SELECT 1 FROM push_outbox p
            WHERE p.subscription_id = $2 AND p.task_id = $3
              AND p.state IN ('pending', 'delivering'))
        THEN $8 ELSE $7 END,
        $7, $7, $7
    FROM push_outbox WHERE subscription_id = $2 AND task_id = $3";

/// One notification to insert, with its id and destination.
#[derive(Debug)]
struct Row {
    n: NewNotification,
    id: NotificationId,
    origin: String,
}

/// A row for the writer, and where its outcome goes.
#[derive(Debug)]
struct Job {
    row: Row,
    done: oneshot::Sender<Result<(), sqlx::Error>>,
}

/// The SQLite writer of a store handle (and its clones), started by the
/// first enqueue; it ends when the last handle is dropped.
#[derive(Debug, Clone, Default)]
pub(crate) struct Writer(Arc<OnceLock<mpsc::UnboundedSender<Job>>>);

macro_rules! insert {
    ($r:expr) => {
        sqlx::query(INSERT)
            .bind($r.id.as_str())
            .bind(&$r.n.subscription_id)
            .bind(&$r.n.task_id)
            .bind(&$r.n.destination)
            .bind(&$r.origin)
            .bind(&$r.n.body)
            .bind($r.n.created_ms)
            .bind(PARKED)
    };
}

impl Store {
    /// Keeps a notification for delivery and returns its id. Due at once
    /// (`created_ms`), unless an earlier one of its task is still open;
    /// wakes this handle's delivery worker.
    pub async fn outbox_enqueue(&self, n: &NewNotification) -> Result<NotificationId, StoreError> {
        let row = Row {
            origin: outbox_origin(&n.destination)?,
            id: NotificationId(format!("msg_{}", uuid::Uuid::new_v4().simple())),
            n: n.clone(),
        };
        let id = row.id.clone();
        match &self.db {
            Db::Sqlite(pool) => {
                let writer = self.outbox.1.0.get_or_init(|| start(pool.clone())).clone();
                let (done, outcome) = oneshot::channel();
                match writer.send(Job { row, done }) {
                    Ok(()) => outcome
                        .await
                        .map_err(|_| StoreError::Io("the outbox writer stopped".into()))??,
                    // No runtime left for the writer: write it here.
                    Err(mpsc::error::SendError(job)) => {
                        insert!(job.row).execute(pool).await?;
                    }
                }
            }
            Db::Postgres(pool) => {
                let mut tries = 0;
                loop {
                    tries += 1;
                    let done = async {
                        let mut tx = pool.begin().await?;
                        sqlx::query(LOCK_TASK)
                            .bind(&row.n.subscription_id)
                            .bind(&row.n.task_id)
                            .execute(&mut *tx)
                            .await?;
                        insert!(row).execute(&mut *tx).await?;
                        tx.commit().await
                    }
                    .await;
                    match done {
                        Ok(()) => break,
                        Err(sqlx::Error::Database(e))
                            if e.is_unique_violation() && tries < TRIES => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        self.outbox_wake();
        Ok(id)
    }
}

fn start(pool: SqlitePool) -> mpsc::UnboundedSender<Job> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(write(pool, rx));
    tx
}

/// Inserts what is waiting, in one transaction; when that fails, each
/// alone, so that one bad row fails only its own enqueue.
async fn write(pool: SqlitePool, mut rx: mpsc::UnboundedReceiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let together = match jobs.len() {
            1 => Err(()),
            _ => {
                let all = async {
                    let mut tx = pool.begin().await?;
                    for j in &jobs {
                        insert!(j.row).execute(&mut *tx).await?;
                    }
                    tx.commit().await
                };
                all.await.map_err(|_| ())
            }
        };
        for j in jobs.drain(..) {
            let outcome = match together {
                Ok(()) => Ok(()),
                Err(()) => insert!(j.row).execute(&pool).await.map(|_| ()),
            };
            let _ = j.done.send(outcome);
        }
    }
}
