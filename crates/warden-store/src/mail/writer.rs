//! The one writer of a SQLite store's mailbox: every send, read mark,
//! acknowledgement and deletion of a store handle (and its clones) goes
//! through one task, which runs all the writes waiting in one transaction.
//!
//! SQLite has one write lock. Sends from the pool's connections each took
//! it in turn, and one that found it taken slept in SQLite's busy handler
//! (a millisecond and more) while the lock was usually free again within
//! microseconds; and each paid a commit of its own. One writer never waits
//! on itself, and one commit carries many sends. (The push outbox does the
//! same, for the same reasons: `outbox/writer.rs`.)
//!
//! What a sender is promised does not change: its send returns once the
//! transaction holding it committed. Sends in one transaction are checked
//! in arrival order, each seeing the ones before it (an inbox's last place,
//! a key used twice in one batch). A send that does not pass its checks
//! writes nothing, so it does not disturb the others; when the transaction
//! fails, each send is run again alone, so a bad one fails only itself.
//!
//! On a database file the writer has a connection of its own, outside the
//! pool, whose page cache survives its transactions (a pool connection
//! discards its cache whenever another connection wrote).
//!
//! PostgreSQL needs none of this: row locks let its writers proceed side by
//! side (`send.rs`).

use std::sync::{Arc, OnceLock};

use sqlx::sqlite::SqliteConnection;
use sqlx::{ConnectOptions as _, Connection as _, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use super::inbox::{Delete, Mark, delete_in, mark_in};
use super::send::send_in;
use super::{MailMessage, MailSendOutcome, NewMail};
use crate::backend::Tx;

/// The most writes in one transaction.
const MAX_JOBS: usize = 128;

/// A write for the writer.
enum Work {
    Send(Box<NewMail>),
    Mark(Mark),
    Delete(Delete),
}

/// What a write did.
enum Done {
    Sent(MailSendOutcome),
    Marked(Option<MailMessage>),
    Deleted(bool),
}

/// A write and where its outcome goes.
struct Job {
    work: Work,
    done: oneshot::Sender<Result<Done, sqlx::Error>>,
}

impl Work {
    /// Runs the write in `tx`. A send that does not pass its checks writes
    /// nothing; None (a key taken under a send) cannot happen under
    /// SQLite's write lock: were it to, it is an error, and the batch's
    /// writes run again alone.
    async fn apply(&self, tx: &mut Tx<'_>) -> Result<Done, sqlx::Error> {
        Ok(match self {
            Self::Send(m) => Done::Sent(send_in(tx, m).await?.ok_or_else(|| {
                sqlx::Error::Protocol("an idempotency key changed under a send".into())
            })?),
            Self::Mark(m) => Done::Marked(mark_in(tx, m).await?),
            Self::Delete(d) => Done::Deleted(delete_in(tx, d).await?),
        })
    }
}

/// The writer of a store handle (and its clones), started by the first
/// send; it ends when the last handle is dropped.
#[derive(Debug, Clone, Default)]
pub(crate) struct Writer(Arc<OnceLock<mpsc::UnboundedSender<Job>>>);

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (what, id) = match &self.work {
            Work::Send(m) => ("send", &m.message.id),
            Work::Mark(m) => ("mark", &m.id),
            Work::Delete(d) => ("delete", &d.id),
        };
        f.debug_struct("Job")
            .field("what", &what)
            .field("id", id)
            .finish()
    }
}

impl Writer {
    /// Writes `mail` through the writer of `pool` (started now if need be)
    /// and returns once it is committed or failed.
    pub(crate) async fn submit(
        &self,
        pool: &SqlitePool,
        mail: NewMail,
    ) -> Result<MailSendOutcome, sqlx::Error> {
        match self.run(pool, Work::Send(Box::new(mail))).await? {
            Done::Sent(outcome) => Ok(outcome),
            _ => Err(mismatch()),
        }
    }

    /// Marks a message read (or acknowledged) through the writer.
    pub(crate) async fn mark(
        &self,
        pool: &SqlitePool,
        mark: Mark,
    ) -> Result<Option<MailMessage>, sqlx::Error> {
        match self.run(pool, Work::Mark(mark)).await? {
            Done::Marked(found) => Ok(found),
            _ => Err(mismatch()),
        }
    }

    /// Deletes a message through the writer.
    pub(crate) async fn delete(
        &self,
        pool: &SqlitePool,
        delete: Delete,
    ) -> Result<bool, sqlx::Error> {
        match self.run(pool, Work::Delete(delete)).await? {
            Done::Deleted(found) => Ok(found),
            _ => Err(mismatch()),
        }
    }

    async fn run(&self, pool: &SqlitePool, work: Work) -> Result<Done, sqlx::Error> {
        let queue = self.0.get_or_init(|| start(pool.clone()));
        let (done, outcome) = oneshot::channel();
        match queue.send(Job { work, done }) {
            Ok(()) => outcome
                .await
                .unwrap_or_else(|_| Err(sqlx::Error::WorkerCrashed)),
            // No runtime left for the writer (it ended with the runtime
            // that started it): written here, alone.
            Err(mpsc::error::SendError(job)) => {
                alone(&mut Conn::Pool(pool.clone()), &job.work).await
            }
        }
    }
}

fn mismatch() -> sqlx::Error {
    sqlx::Error::Protocol("the mailbox writer answered another kind of write".into())
}

fn start(pool: SqlitePool) -> mpsc::UnboundedSender<Job> {
    let (queue, jobs) = mpsc::unbounded_channel();
    tokio::spawn(run(pool, jobs));
    queue
}

/// Where the writer writes: its own connection, or the pool.
enum Conn {
    Own(SqliteConnection),
    Pool(SqlitePool),
}

impl Conn {
    /// A connection of its own to the pool's database file (the pool when
    /// the database is in memory, or the connection cannot be made).
    async fn of(pool: &SqlitePool) -> Self {
        let options = pool.connect_options();
        let file = options.get_filename().to_string_lossy();
        if file == ":memory:" || file.starts_with("file:sqlx-in-memory") {
            return Self::Pool(pool.clone());
        }
        match options.connect().await {
            Ok(c) => Self::Own(c),
            Err(e) => {
                tracing::warn!(error = %e, "mailbox: no connection of its own for the writer; writing through the pool");
                Self::Pool(pool.clone())
            }
        }
    }

    /// A transaction holding the write lock from its start.
    async fn begin(&mut self) -> Result<Tx<'_>, sqlx::Error> {
        Ok(match self {
            Self::Own(c) => c.begin_with("BEGIN IMMEDIATE").await?.into(),
            Self::Pool(p) => p.begin_with("BEGIN IMMEDIATE").await?.into(),
        })
    }
}

async fn run(pool: SqlitePool, mut queue: mpsc::UnboundedReceiver<Job>) {
    let mut conn = Conn::of(&pool).await;
    drop(pool);
    let mut jobs = Vec::with_capacity(MAX_JOBS);
    while let Some(first) = queue.recv().await {
        jobs.push(first);
        while jobs.len() < MAX_JOBS {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        match together(&mut conn, &jobs).await {
            Ok(outcomes) => {
                for (job, outcome) in jobs.drain(..).zip(outcomes) {
                    // A sender that went away needs no answer.
                    let _ = job.done.send(Ok(outcome));
                }
            }
            Err(_) => {
                for job in jobs.drain(..) {
                    let outcome = alone(&mut conn, &job.work).await;
                    let _ = job.done.send(outcome);
                }
            }
        }
    }
}

/// Every write in one transaction; the outcomes in the writes' order.
async fn together(conn: &mut Conn, jobs: &[Job]) -> Result<Vec<Done>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    let mut outcomes = Vec::with_capacity(jobs.len());
    for job in jobs {
        outcomes.push(job.work.apply(&mut tx).await?);
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// One write in a transaction of its own (a send that wrote nothing
/// commits nothing).
async fn alone(conn: &mut Conn, work: &Work) -> Result<Done, sqlx::Error> {
    let mut tx = conn.begin().await?;
    let done = work.apply(&mut tx).await?;
    tx.commit().await?;
    Ok(done)
}
