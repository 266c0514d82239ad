//! The one writer of a SQLite store's outbox: the relay's enqueues, the
//! delivery worker's claims and the settler's outcomes all go through one
//! task per store handle (and its clones), which writes everything waiting
//! in one transaction.
//!
//! SQLite has one write lock. With a writer per purpose (the relay's
//! enqueues, the worker's claims, its settlements) each took it in turn,
//! and one that found it taken slept in SQLite's busy handler (1 ms and
//! more) while the lock was often free again within microseconds: with
//! producers queuing while the worker delivered, the two halves waited on
//! each other. One writer never waits on itself, and one commit carries
//! many writes (under load: dozens of enqueues, a batch of settlements and
//! the claims that follow from them).
//!
//! What each caller is promised does not change: an enqueue returns only
//! once its transaction has committed (the relay's 202 follows a durable
//! write); a claim's entries are leased by the commit that returns them;
//! settlements are written before the caller hears they were. Within a
//! transaction the settlements go first, then the enqueues, then the
//! claims, so a claim sees the entries the settlements made due and the
//! ones just queued. When the transaction fails, each job is written again
//! alone, so that a bad row fails only its own call.
//!
//! On a database file the writer has a connection of its own, outside the
//! pool: SQLite's page cache is per connection, and a connection discards
//! its cache whenever another one has written, so writes spread over the
//! pool's connections re-read their pages from the file each time (in the
//! profile, a seventh of the CPU). The writer's own connection keeps its
//! cache across its transactions. An in-memory store (one connection, the
//! database itself) is written through its pool.
//!
//! PostgreSQL needs none of this: row locks and `SKIP LOCKED` let its
//! writers proceed side by side (`enqueue.rs`, `claim.rs`).

use std::sync::{Arc, OnceLock};

use sqlx::sqlite::SqliteConnection;
use sqlx::{ConnectOptions as _, Connection as _, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use super::claim::{OwnedClaim, claim_in, claim_on, settle_in};
use super::enqueue::{Row, insert_in, insert_on};
use super::{OutboxEntry, Settlement};
use crate::backend::Tx;

/// The most jobs in one transaction (each a row, a claim or a batch of
/// settlements); a claim waits behind at most one transaction of this
/// many.
const MAX_JOBS: usize = 64;

/// A write for the outbox's writer, and where its outcome goes.
#[derive(Debug)]
pub(crate) enum Job {
    Settle {
        worker: String,
        batch: Vec<Settlement>,
        done: oneshot::Sender<Result<u64, sqlx::Error>>,
    },
    Enqueue {
        row: Row,
        done: oneshot::Sender<Result<(), sqlx::Error>>,
    },
    Claim {
        claim: OwnedClaim,
        done: oneshot::Sender<Result<Vec<OutboxEntry>, sqlx::Error>>,
    },
}

/// What a job wrote.
enum Outcome {
    Settled(u64),
    Enqueued,
    Claimed(Vec<OutboxEntry>),
}

impl Job {
    /// Its place in a transaction: settlements, enqueues, claims.
    fn rank(&self) -> u8 {
        match self {
            Self::Settle { .. } => 0,
            Self::Enqueue { .. } => 1,
            Self::Claim { .. } => 2,
        }
    }

    async fn apply(&self, tx: &mut Tx<'_>) -> Result<Outcome, sqlx::Error> {
        Ok(match self {
            Self::Settle { worker, batch, .. } => {
                Outcome::Settled(settle_in(tx, false, worker, batch).await?)
            }
            Self::Enqueue { row, .. } => {
                insert_in(tx, row).await?;
                Outcome::Enqueued
            }
            Self::Claim { claim, .. } => Outcome::Claimed(claim_in(tx, "", claim).await?),
        })
    }

    /// Hands the caller its outcome (after the commit, or the failure).
    fn finish(self, outcome: Result<Outcome, sqlx::Error>) {
        // A caller that went away (its future dropped) needs no answer.
        match (self, outcome) {
            (Self::Settle { done, .. }, Ok(Outcome::Settled(n))) => drop(done.send(Ok(n))),
            (Self::Enqueue { done, .. }, Ok(Outcome::Enqueued)) => drop(done.send(Ok(()))),
            (Self::Claim { done, .. }, Ok(Outcome::Claimed(e))) => drop(done.send(Ok(e))),
            (Self::Settle { done, .. }, Err(e)) => drop(done.send(Err(e))),
            (Self::Enqueue { done, .. }, Err(e)) => drop(done.send(Err(e))),
            (Self::Claim { done, .. }, Err(e)) => drop(done.send(Err(e))),
            (job, Ok(_)) => job.finish(Err(sqlx::Error::Protocol("mismatched outcome".into()))),
        }
    }
}

/// The writer of a store handle (and its clones), started by the first
/// write; it ends when the last handle is dropped.
#[derive(Debug, Clone, Default)]
pub(crate) struct Writer(Arc<OnceLock<Queues>>);

/// The writer's two queues: the delivery worker's claims and settlements
/// go ahead of the enqueues, so a flood of enqueues (many agents posting)
/// cannot hold the worker's next claim behind hundreds of inserts.
#[derive(Debug)]
struct Queues {
    worker: mpsc::UnboundedSender<Job>,
    enqueues: mpsc::UnboundedSender<Job>,
}

impl Writer {
    /// Writes `job` through the writer of `pool` (started now if need be)
    /// and returns once it is committed or failed. With no runtime left for
    /// the writer (its task ended with the runtime that started it), the
    /// job is written here, alone.
    pub(crate) async fn submit(&self, pool: &SqlitePool, job: Job) {
        let queues = self.0.get_or_init(|| start(pool.clone()));
        let queue = match job {
            Job::Enqueue { .. } => &queues.enqueues,
            _ => &queues.worker,
        };
        if let Err(mpsc::error::SendError(job)) = queue.send(job) {
            alone(&mut Conn::Pool(pool.clone()), job).await;
        }
    }
}

fn start(pool: SqlitePool) -> Queues {
    let (worker, from_worker) = mpsc::unbounded_channel();
    let (enqueues, from_relay) = mpsc::unbounded_channel();
    tokio::spawn(run(pool, from_worker, from_relay));
    Queues { worker, enqueues }
}

/// Where the writer writes: its own connection, or the pool.
enum Conn {
    Own(SqliteConnection),
    Pool(SqlitePool),
}

impl Conn {
    /// The writer's own connection to the pool's database file (the pool
    /// when it is in memory, or the connection cannot be made).
    async fn of(pool: &SqlitePool) -> Self {
        let options = pool.connect_options();
        let file = options.get_filename().to_string_lossy();
        if file == ":memory:" || file.starts_with("file:sqlx-in-memory") {
            return Self::Pool(pool.clone());
        }
        match options.connect().await {
            Ok(c) => Self::Own(c),
            Err(e) => {
                tracing::warn!(error = %e, "push outbox: no connection of its own for the writer; writing through the pool");
                Self::Pool(pool.clone())
            }
        }
    }

    async fn begin(&mut self) -> Result<Tx<'_>, sqlx::Error> {
        Ok(match self {
            Self::Own(c) => c.begin().await?.into(),
            Self::Pool(p) => p.begin().await?.into(),
        })
    }
}

async fn run(
    pool: SqlitePool,
    mut worker: mpsc::UnboundedReceiver<Job>,
    mut enqueues: mpsc::UnboundedReceiver<Job>,
) {
    let mut conn = Conn::of(&pool).await;
    drop(pool);
    let mut jobs = Vec::with_capacity(MAX_JOBS);
    loop {
        // Everything the worker has waiting, then enqueues up to the cap.
        while jobs.len() < MAX_JOBS {
            match worker.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        while jobs.len() < MAX_JOBS {
            match enqueues.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        if jobs.is_empty() {
            // Both queues' senders are dropped together (the last store
            // handle): either one closed means nobody waits any more.
            let job = tokio::select! {
                biased;
                job = worker.recv() => job,
                job = enqueues.recv() => job,
            };
            match job {
                Some(job) => jobs.push(job),
                None => break,
            }
            continue;
        }
        if jobs.len() == 1 {
            if let Some(job) = jobs.pop() {
                alone(&mut conn, job).await;
            }
            continue;
        }
        jobs.sort_by_key(Job::rank);
        match together(&mut conn, &jobs).await {
            Ok(outcomes) => {
                for (job, outcome) in jobs.drain(..).zip(outcomes) {
                    job.finish(Ok(outcome));
                }
            }
            Err(_) => {
                for job in jobs.drain(..) {
                    alone(&mut conn, job).await;
                }
            }
        }
    }
}

/// Every job in one transaction; the outcomes in the jobs' order.
async fn together(conn: &mut Conn, jobs: &[Job]) -> Result<Vec<Outcome>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    let mut outcomes = Vec::with_capacity(jobs.len());
    for job in jobs {
        outcomes.push(job.apply(&mut tx).await?);
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// One job alone: an enqueue or a claim (one statement each) as a
/// statement of its own, settlements in a transaction.
async fn alone(conn: &mut Conn, job: Job) {
    let outcome = match (&job, conn) {
        (Job::Enqueue { row, .. }, Conn::Own(c)) => {
            insert_on(c, row).await.map(|()| Outcome::Enqueued)
        }
        (Job::Claim { claim, .. }, Conn::Own(c)) => claim_on(c, claim).await.map(Outcome::Claimed),
        (_, conn) => {
            async {
                let mut tx = conn.begin().await?;
                let outcome = job.apply(&mut tx).await?;
                tx.commit().await?;
                Ok(outcome)
            }
            .await
        }
    };
    job.finish(outcome);
}
