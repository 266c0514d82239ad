//! Schema versions. Both engines go through the same numbered versions,
//! each written in its engine's SQL (`sqlite.rs`, `postgres.rs`), applied
//! in order at open; a database at a version newer than this code knows is
//! refused ([`StoreError::SchemaTooNew`]) rather than used.

pub(crate) mod postgres;
pub(crate) mod sqlite;

use crate::StoreError;
use crate::backend::Db;

// A version added on one engine only would leave the two schemas apart.
const _: () = assert!(sqlite::MIGRATIONS.len() == postgres::MIGRATIONS.len());

/// Brings the schema up to date.
pub(crate) async fn migrate(db: &Db) -> Result<(), StoreError> {
    match db {
        Db::Sqlite(pool) => sqlite::migrate_to(pool, sqlite::MIGRATIONS.len()).await,
        Db::Postgres(pool) => postgres::migrate(pool).await,
    }
}

/// The version the database is at: 0 for a database no Warden has
/// migrated yet (on PostgreSQL, a schema without `schema_versions`).
pub(crate) async fn version(db: &Db) -> Result<i64, StoreError> {
    let v = match db {
        Db::Sqlite(pool) => {
            sqlx::query_scalar("PRAGMA user_version")
                .fetch_one(pool)
                .await?
        }
        Db::Postgres(pool) => {
            // In the schema the store works in (the first of the search
            // path), not one further down it.
            let exists: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM pg_tables
                 WHERE schemaname = current_schema() AND tablename = 'schema_versions')",
            )
            .fetch_one(pool)
            .await?;
            if !exists {
                return Ok(0);
            }
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_versions")
                .fetch_one(pool)
                .await?
        }
    };
    Ok(v)
}

/// Records `version` as the database's, as a newer Warden would (tests).
#[cfg(test)]
pub(crate) async fn set_version(db: &Db, version: i64) -> Result<(), StoreError> {
    match db {
        Db::Sqlite(pool) => {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "PRAGMA user_version = {version}"
            )))
            .execute(pool)
            .await?;
        }
        Db::Postgres(pool) => {
            sqlx::query("INSERT INTO schema_versions (version, applied_at) VALUES ($1, 'test')")
                .bind(version)
                .execute(pool)
                .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
