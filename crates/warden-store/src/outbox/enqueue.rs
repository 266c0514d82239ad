//! Queuing a notification ([`Store::outbox_enqueue`]): one insert that
//! takes the next sequence number of its subscription and task and parks
//! the entry when an earlier one of its task is still open.
//!
//! On SQLite the insert goes through the outbox's one writer
//! (`writer.rs`), with whatever else is waiting (other enqueues, the
//! worker's claims and settlements) in one transaction, and the call
//! returns once that transaction has committed. On PostgreSQL each enqueue
//! is its own transaction, under the task's lock (`outbox.rs`).

use sqlx::SqliteConnection;
use tokio::sync::oneshot;

use super::writer::Job;
use super::{LOCK_TASK, NewNotification, NotificationId, PARKED, outbox_origin};
use crate::backend::{Db, Tx, either};
use crate::{Store, StoreError};

/// How often an enqueue tries again when another gateway took the same
/// sequence number at the same moment (PostgreSQL only).
const TRIES: usize = 5;

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
pub(crate) struct Row {
    n: NewNotification,
    id: NotificationId,
    origin: String,
}

/// The insert of `r`, its values bound.
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

/// Inserts `r` in `tx`.
pub(crate) async fn insert_in(tx: &mut Tx<'_>, r: &Row) -> Result<(), sqlx::Error> {
    either!(Tx, tx, tx => {
        insert!(r).execute(&mut **tx).await?;
    });
    Ok(())
}

/// Inserts `r` on a SQLite connection, as a statement of its own (no
/// transaction around it: one statement commits alone, and a lone enqueue
/// is spared the trips for `BEGIN` and `COMMIT`).
pub(crate) async fn insert_on(c: &mut SqliteConnection, r: &Row) -> Result<(), sqlx::Error> {
    insert!(r).execute(c).await?;
    Ok(())
}

impl Store {
    /// Keeps a notification for delivery and returns its id once it is
    /// committed. Due at once (`created_ms`), unless an earlier one of its
    /// task is still open; wakes this handle's delivery worker.
    pub async fn outbox_enqueue(&self, n: &NewNotification) -> Result<NotificationId, StoreError> {
        let row = Row {
            origin: outbox_origin(&n.destination)?,
            id: NotificationId(format!("msg_{}", uuid::Uuid::new_v4().simple())),
            n: n.clone(),
        };
        let id = row.id.clone();
        match &self.db {
            Db::Sqlite(pool) => {
                let (done, outcome) = oneshot::channel();
                self.outbox
                    .writer
                    .submit(pool, Job::Enqueue { row, done })
                    .await;
                outcome
                    .await
                    .map_err(|_| StoreError::Io("the outbox writer stopped".into()))??;
            }
            Db::Postgres(pool) => {
                let mut tries = 0;
                loop {
                    tries += 1;
                    let done = async {
                        let mut tx: Tx<'_> = pool.begin().await?.into();
                        either!(Tx, &mut tx, t => {
                            sqlx::query(LOCK_TASK)
                                .bind(&row.n.subscription_id)
                                .bind(&row.n.task_id)
                                .execute(&mut **t)
                                .await?;
                        });
                        insert_in(&mut tx, &row).await?;
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
