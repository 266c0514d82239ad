//! `warden-store`: Warden's durable state, in one embedded SQLite file (WAL)
//! by default or on a PostgreSQL server shared by several gateways.
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
mod backend;
mod backup;
mod card_pins;
mod changes;
mod error;
mod generation;
mod grants;
mod identity;
mod inspect;
mod mail;
mod outbox;
mod ownership;
mod postgres;
mod push_follows;
mod push_subscriptions;
mod quarantine;
mod retention;
mod schema;
pub mod shared;
mod tasks;
#[cfg(test)]
mod testing;
mod transfer;

pub use audit::AuditRecord;
pub use card_pins::{CardPin, CardReview};
pub use error::StoreError;
pub use grants::GrantRecord;
pub use identity::{ApiKeyRecord, RegisteredAgent, SigningKeyRecord};
pub use inspect::{Location, SCHEMA_VERSION};
pub use mail::{
    MailDuplicate, MailFilter, MailGrant, MailKey, MailMessage, MailPage, MailSendOutcome,
    MailState, NewMail, NewMailKey, SendCheck, VOID_RECIPIENT,
};
pub use outbox::{
    Claim, DueOrigin, NewNotification, NotificationFilter, NotificationId, NotificationPage,
    NotificationRecord, NotificationState, OutboxCounts, OutboxEntry, Retried, Settle, Settlement,
    outbox_origin,
};
pub use ownership::{OwnershipWrite, TaskOwner};
pub use push_follows::PushFollow;
pub use push_subscriptions::PushSubscription;
pub use quarantine::QuarantineRecord;
pub use retention::{Cutoff, Removed, RetentionKind, RetentionLock, RetentionPlan};
pub use tasks::{PushConfigRecord, TaskFilter, TaskPage, TaskRecord};
pub use transfer::{ExportOptions, TransferError, TransferSummary};

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use backend::Db;

/// A handle to the store; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
    changes: changes::ChangeSignal,
    /// Wakes this handle's push delivery worker (`outbox.rs`).
    outbox: outbox::Signal,
    /// The mailbox's one writer of sends on SQLite (`mail/writer.rs`).
    mail: mail::Writer,
    /// The mailbox's read connections on SQLite (`mail/reader.rs`).
    mail_reads: mail::Readers,
}

impl Store {
    /// Opens the store `url` names: `postgres://…` (or `postgresql://…`), or
    /// `sqlite://PATH` (`sqlite:///abs/path`, `sqlite://relative/path`, or
    /// `sqlite::memory:`), as [`Store::open`] and [`Store::open_in_memory`].
    pub async fn open_url(url: &str) -> Result<Self, StoreError> {
        match UrlTarget::parse(url)? {
            UrlTarget::Postgres(url) => postgres::open(url).await,
            UrlTarget::Memory => Self::open_in_memory().await,
            UrlTarget::File(path) => Self::open(path).await,
        }
    }

    /// Opens (creating if needed) the database file `path`, in WAL mode, and
    /// brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Io(e.to_string()))?;
        }
        let options = file_options(path).create_if_missing(true);
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
        let db = Db::Sqlite(pool);
        schema::migrate(&db).await?;
        Ok(Self {
            db,
            changes,
            outbox: outbox::Signal::default(),
            mail: mail::Writer::default(),
            mail_reads: mail::Readers::default(),
        })
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
        schema::sqlite::migrate_to(&pool, version).await?;
        Ok(Self {
            db: Db::Sqlite(pool),
            changes: changes::ChangeSignal::in_memory(),
            outbox: outbox::Signal::default(),
            mail: mail::Writer::default(),
            mail_reads: mail::Readers::default(),
        })
    }

    /// Applies the remaining migrations (after [`Store::open_in_memory_at`]).
    #[cfg(test)]
    pub(crate) async fn migrate_fully(&self) -> Result<(), StoreError> {
        schema::migrate(&self.db).await
    }

    /// The journal mode in force (`wal` for a file database). PostgreSQL
    /// has none: it answers `postgres`. Either way a round trip to the
    /// database, so it also tells that the store answers.
    pub async fn journal_mode(&self) -> Result<String, StoreError> {
        let mode: String = match &self.db {
            Db::Sqlite(pool) => {
                sqlx::query_scalar("PRAGMA journal_mode")
                    .fetch_one(pool)
                    .await?
            }
            Db::Postgres(pool) => {
                sqlx::query_scalar("SELECT 'postgres'")
                    .fetch_one(pool)
                    .await?
            }
        };
        Ok(mode)
    }
}

/// What a store URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlTarget<'a> {
    Postgres(&'a str),
    Memory,
    File(&'a Path),
}

impl<'a> UrlTarget<'a> {
    /// `postgres://…` (or `postgresql://…`), `sqlite::memory:`, or
    /// `sqlite://PATH` (`sqlite:///abs/path`, `sqlite://relative/path`).
    pub fn parse(url: &'a str) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url));
        }
        if url == "sqlite::memory:" {
            return Ok(Self::Memory);
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| {
                StoreError::BadUrl("a store URL starts with sqlite:// or postgres://".into())
            })?;
        // The path names the database and its change-signal file beside it;
        // connection parameters would be silently ignored, so refuse them.
        if path.is_empty() || path.contains('?') {
            return Err(StoreError::BadUrl(
                "a SQLite URL is sqlite://PATH, without parameters".into(),
            ));
        }
        Ok(Self::File(Path::new(path)))
    }
}

/// How every connection to a database file is made.
pub(crate) fn file_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        // WAL + NORMAL is durable against process crashes; an OS crash may
        // lose the last transactions, which is acceptable for this data.
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_url_names_the_engine_and_the_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.db");
        let url = format!("sqlite://{}", path.display());
        let s = Store::open_url(&url).await.expect("open by URL");
        assert_eq!(s.journal_mode().await.expect("mode"), "wal");
        assert!(path.exists());
        let s = Store::open_url("sqlite::memory:").await.expect("in memory");
        assert_eq!(s.authz_generation().await.expect("read"), 0);
        let schema = testing::TestSchema::create().await;
        let s = Store::open_url(&schema.url()).await.expect("PostgreSQL");
        assert_eq!(s.journal_mode().await.expect("answers"), "postgres");
        for bad in [
            "mysql://localhost/x",
            "/var/lib/warden.db",
            "sqlite://",
            "sqlite://a.db?mode=ro",
        ] {
            assert!(
                matches!(Store::open_url(bad).await, Err(StoreError::BadUrl(_))),
                "{bad}"
            );
        }
    }
}
