//! `warden-store`: Warden's durable state in one embedded SQLite file (WAL).
//!
//! It stores tasks and push configs for Warden's own agents, the audit
//! events of the gateway, the token authority's registry, API keys and
//! (sealed) signing keys, and the state authorisation reads: grants, task and
//! context ownership, and quarantine. It knows nothing of A2A types: rows hold
//! the JSON the callers give it, plus the few columns it must sort and filter
//! on.
//!
//! [`shared`] is the state replicated gateways share on Redis (single-use
//! ids, rate-limit buckets).

mod audit;
mod card_pins;
mod changes;
mod error;
mod generation;
mod grants;
mod identity;
mod ownership;
mod quarantine;
mod schema;
pub mod shared;
mod tasks;

pub use audit::AuditRecord;
pub use card_pins::{CardPin, CardReview};
pub use error::StoreError;
pub use grants::GrantRecord;
pub use identity::{ApiKeyRecord, RegisteredAgent, SigningKeyRecord};
pub use ownership::{OwnershipWrite, TaskOwner};
pub use quarantine::QuarantineRecord;
pub use tasks::{PushConfigRecord, TaskFilter, TaskPage, TaskRecord};

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// A handle to the store; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    changes: changes::ChangeSignal,
}

impl Store {
    /// Opens (creating if needed) the database file `path`, in WAL mode, and
    /// brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Io(e.to_string()))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL is durable against process crashes; an OS crash may
            // lose the last transactions, which is acceptable for this data.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let changes = changes::ChangeSignal::beside(path)?;
        let store = Self::connect(options, 4, changes).await?;
        store.sync_change_signal().await?;
        Ok(store)
    }

    /// A private in-memory database (tests and throwaway agents).
    pub async fn open_in_memory() -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?;
        // One connection: every in-memory connection would be its own database.
        Self::connect(options, 1, changes::ChangeSignal::in_memory()).await
    }

    async fn connect(
        options: SqliteConnectOptions,
        max: u32,
        changes: changes::ChangeSignal,
    ) -> Result<Self, StoreError> {
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .connect_with(options)
            .await?;
        schema::migrate(&pool).await?;
        Ok(Self { pool, changes })
    }

    /// An in-memory store whose schema stops at `version`, so a test can
    /// write data as that version did and then migrate it.
    #[cfg(test)]
    pub(crate) async fn open_in_memory_at(version: usize) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?;
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        schema::migrate_to(&pool, version).await?;
        Ok(Self {
            pool,
            changes: changes::ChangeSignal::in_memory(),
        })
    }

    /// Applies the remaining migrations (after [`Store::open_in_memory_at`]).
    #[cfg(test)]
    pub(crate) async fn migrate_fully(&self) -> Result<(), StoreError> {
        schema::migrate(&self.pool).await
    }

    /// The journal mode in force (`wal` for a file database).
    pub async fn journal_mode(&self) -> Result<String, StoreError> {
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&self.pool)
            .await?;
        Ok(mode)
    }
}
