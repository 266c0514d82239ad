//! The change signal: how a gateway learns, without a database query, that
//! the authorisation generation moved (in this process or in another one,
//! such as the CLI writing to the same file).
//!
//! A file database has a sidecar file beside it (`<db>-changes`) holding the
//! latest generation as 8 little-endian bytes. Every change writes it inside
//! its transaction, before the commit (writers are serialised by SQLite's
//! write lock, so the file's value only grows with the generation), and a
//! reader compares it with the generation of its snapshot: one `pread` of 8
//! bytes from the page cache per call instead of a query. A reader that sees
//! the new value before the commit is visible reads the old generation from
//! the store, keeps its snapshot and asks again on its next call, so no
//! change is missed; a torn or failed read only causes a needless check.
//! An in-memory database (tests) uses a counter in the process instead.
//!
//! On PostgreSQL the database announces a change itself: the transaction
//! that bumps the generation sends a `NOTIFY` (delivered at its commit), and
//! a task of each process listening for it keeps the latest generation in a
//! counter in memory, re-reading it every few seconds in case a notification
//! was lost (`listener.rs`). Reading it is a load from memory, as for the
//! in-memory database.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use sqlx::PgPool;

use crate::StoreError;

mod listener;

pub(crate) use listener::CHANNEL;
#[cfg(test)]
pub(crate) use listener::REREAD;

#[derive(Debug, Clone)]
pub(crate) enum ChangeSignal {
    File(Arc<File>),
    Memory(Arc<AtomicI64>),
    /// The counter the listener keeps; the tasks stop with the last clone.
    Listened {
        counter: Arc<AtomicI64>,
        _tasks: Arc<listener::Tasks>,
    },
}

impl ChangeSignal {
    /// The sidecar of the database at `db`, created when missing.
    pub(crate) fn beside(db: &Path) -> Result<Self, StoreError> {
        let mut name = db.as_os_str().to_owned();
        name.push("-changes");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(Path::new(&name))
            .map_err(|e| StoreError::Io(format!("{}: {e}", Path::new(&name).display())))?;
        Ok(Self::File(Arc::new(file)))
    }

    pub(crate) fn in_memory() -> Self {
        Self::Memory(Arc::new(AtomicI64::new(0)))
    }

    /// Follows the changes announced on the PostgreSQL database of `pool`,
    /// starting from `generation` (read at open).
    pub(crate) async fn listen(pool: PgPool, generation: i64) -> Result<Self, StoreError> {
        let counter = Arc::new(AtomicI64::new(generation));
        let tasks = listener::start(pool, counter.clone()).await?;
        Ok(Self::Listened {
            counter,
            _tasks: Arc::new(tasks),
        })
    }

    /// The latest generation announced (0 when none was, or when it cannot
    /// be read: the caller then checks the store, as after any change).
    pub(crate) fn read(&self) -> i64 {
        match self {
            Self::File(f) => {
                let mut buf = [0u8; 8];
                match f.read_exact_at(&mut buf, 0) {
                    Ok(()) => i64::from_le_bytes(buf),
                    Err(_) => 0,
                }
            }
            Self::Memory(n) | Self::Listened { counter: n, .. } => n.load(Ordering::Acquire),
        }
    }

    /// The server process of the PostgreSQL listener (0 when there is none).
    pub(crate) fn listener_pid(&self) -> i32 {
        match self {
            Self::Listened { _tasks, .. } => _tasks.listener_pid(),
            _ => 0,
        }
    }

    /// Whether changes are announced by a listening connection that is up:
    /// `None` when the store does not work that way (a file, memory).
    pub(crate) fn listening(&self) -> Option<bool> {
        match self {
            Self::Listened { .. } => Some(self.listener_pid() != 0),
            _ => None,
        }
    }

    /// Announces `generation`: for a file, inside the transaction that set
    /// it (before its commit); on PostgreSQL, to this process, after it.
    pub(crate) fn announce(&self, generation: i64) {
        match self {
            Self::File(f) => {
                if let Err(e) = f.write_all_at(&generation.to_le_bytes(), 0) {
                    // Readers still poll the store (the gateway's watcher),
                    // so a change is seen late rather than never.
                    tracing::warn!(error = %e, "could not announce a registry change");
                }
            }
            Self::Memory(n) => n.store(generation, Ordering::Release),
            // Others hear of it through the NOTIFY; this process at once.
            // The generation only grows on PostgreSQL, and a notification
            // may arrive after a newer re-read: keep the largest.
            Self::Listened { counter: n, .. } => {
                n.fetch_max(generation, Ordering::AcqRel);
            }
        }
    }
}
