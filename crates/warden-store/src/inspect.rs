//! Looking at a store without changing it, and migrating it on demand
//! (`warden store status | migrate | export`).
//!
//! [`Store::open_url`] brings the schema up to date as it opens; an
//! operator asking what state a store is in, or exporting it, must not
//! have it migrated behind their back, so [`Store::open_url_unmigrated`]
//! opens it as it is. Such a handle is for reading and for
//! [`Store::migrate`]: it has no change signal (no `-changes` file is
//! created, no PostgreSQL listener started), so a write made through it
//! would reach running gateways only at their next periodic re-read. Its
//! statements are not logged: an export's one long read per table would
//! otherwise be reported as a slow statement.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions as _};

use crate::backend::{Db, either};
use crate::transfer::tables::TABLES;
use crate::{Store, StoreError, UrlTarget, changes, file_options, postgres, schema};

/// The schema version this code migrates to and reads.
pub const SCHEMA_VERSION: i64 = schema::sqlite::MIGRATIONS.len() as i64;

/// Where a store is, for printing: never a password.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "backend", rename_all = "lowercase")]
pub enum Location {
    Sqlite {
        path: PathBuf,
    },
    /// A private in-memory SQLite database.
    Memory,
    Postgres {
        host: String,
        port: u16,
        database: Option<String>,
        user: String,
        /// The schema the store works in (`current_schema()`): None when
        /// no schema of the search path exists.
        schema: Option<String>,
    },
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite { path } => write!(f, "SQLite {}", path.display()),
            Self::Memory => write!(f, "SQLite in memory"),
            Self::Postgres {
                host,
                port,
                database,
                user,
                schema,
            } => write!(
                f,
                "PostgreSQL {user}@{host}:{port}/{} schema {}",
                database.as_deref().unwrap_or("(default)"),
                schema
                    .as_deref()
                    .unwrap_or("(none: no schema of the search path exists)")
            ),
        }
    }
}

impl Store {
    /// Opens the store `url` names as it is: no migration, nothing created.
    /// A SQLite file must exist. See the module documentation.
    pub async fn open_url_unmigrated(url: &str) -> Result<Self, StoreError> {
        match UrlTarget::parse(url)? {
            UrlTarget::Postgres(url) => {
                let options = PgConnectOptions::from_str(url)?.disable_statement_logging();
                Ok(Self {
                    db: Db::Postgres(postgres::connect_with(options).await?),
                    changes: changes::ChangeSignal::in_memory(),
                    outbox: Default::default(),
                    mail: Default::default(),
                    mail_reads: Default::default(),
                })
            }
            UrlTarget::Memory => {
                let options = SqliteConnectOptions::from_str("sqlite::memory:")?;
                Self::unmigrated_sqlite(options).await
            }
            UrlTarget::File(path) => Self::open_unmigrated(path).await,
        }
    }

    /// Opens the database file `path` as it is (see
    /// [`Store::open_url_unmigrated`]); a missing file is an error, not a
    /// new store.
    pub async fn open_unmigrated(path: &Path) -> Result<Self, StoreError> {
        if !path.is_file() {
            return Err(StoreError::Io(format!(
                "{}: no store there (nothing was created)",
                path.display()
            )));
        }
        Self::unmigrated_sqlite(file_options(path)).await
    }

    async fn unmigrated_sqlite(options: SqliteConnectOptions) -> Result<Self, StoreError> {
        let options = options.disable_statement_logging();
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        Ok(Self {
            db: Db::Sqlite(pool),
            changes: changes::ChangeSignal::in_memory(),
            outbox: Default::default(),
            mail: Default::default(),
            mail_reads: Default::default(),
        })
    }

    /// The schema version the database is at (0: never migrated). Compare
    /// it with [`SCHEMA_VERSION`].
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        schema::version(&self.db).await
    }

    /// Applies the pending migrations; returns the version before and
    /// after. A schema newer than this code is refused
    /// ([`StoreError::SchemaTooNew`]) and left as it is.
    pub async fn migrate(&self) -> Result<(i64, i64), StoreError> {
        let before = self.schema_version().await?;
        schema::migrate(&self.db).await?;
        Ok((before, self.schema_version().await?))
    }

    /// The rows of every table, in the order of the export format; None for
    /// a table the schema does not have (yet).
    pub async fn row_counts(&self) -> Result<Vec<(&'static str, Option<u64>)>, StoreError> {
        let mut counts = Vec::with_capacity(TABLES.len());
        for t in TABLES {
            let exists: bool = match &self.db {
                Db::Sqlite(pool) => {
                    sqlx::query_scalar(
                        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1)",
                    )
                    .bind(t.name)
                    .fetch_one(pool)
                    .await?
                }
                Db::Postgres(pool) => {
                    sqlx::query_scalar(
                        "SELECT EXISTS (SELECT 1 FROM pg_tables
                         WHERE schemaname = current_schema() AND tablename = $1)",
                    )
                    .bind(t.name)
                    .fetch_one(pool)
                    .await?
                }
            };
            let count = if exists {
                // Table names are constants of `tables.rs`.
                let sql = format!("SELECT COUNT(*) FROM {}", t.name);
                let n: i64 = either!(Db, &self.db, pool => {
                    sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(pool).await?
                });
                Some(u64::try_from(n).unwrap_or(0))
            } else {
                None
            };
            counts.push((t.name, count));
        }
        Ok(counts)
    }

    /// Where the store is (a round trip to the database for PostgreSQL's
    /// schema and SQLite's file name).
    pub async fn location(&self) -> Result<Location, StoreError> {
        match &self.db {
            Db::Sqlite(pool) => {
                let file: String =
                    sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
                        .fetch_one(pool)
                        .await?;
                Ok(if file.is_empty() {
                    Location::Memory
                } else {
                    Location::Sqlite {
                        path: PathBuf::from(file),
                    }
                })
            }
            Db::Postgres(pool) => {
                let schema: Option<String> = sqlx::query_scalar("SELECT current_schema()::text")
                    .fetch_one(pool)
                    .await?;
                let o = pool.connect_options();
                Ok(Location::Postgres {
                    host: o.get_host().to_string(),
                    port: o.get_port(),
                    database: o.get_database().map(str::to_owned),
                    user: o.get_username().to_string(),
                    schema,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests;
