//! The authorisation generation: a counter in `settings` bumped in the same
//! transaction as every change a request decision reads — grants,
//! quarantine, registry entries and API keys. A gateway holds an in-memory
//! snapshot of all of them and learns that another process (the CLI, a
//! second gateway) changed them from the change signal (`changes.rs`),
//! without a query per call.

use crate::backend::{Db, Tx, either};
use crate::{Store, StoreError};

/// Reads the generation (no row: 0). `settings.value` is TEXT.
pub(crate) const READ: &str =
    "SELECT CAST(value AS BIGINT) FROM settings WHERE key = 'authz_generation'";

/// Adds one to the generation, creating it at 1, and returns the new value.
/// Run it inside the transaction that makes the change, so no reader sees
/// one without the other. On PostgreSQL the row lock it takes holds a
/// concurrent change back until this one commits, so generations commit in
/// order there too.
const BUMP: &str = "INSERT INTO settings (key, value) VALUES ('authz_generation', '1')
     ON CONFLICT (key) DO UPDATE
         SET value = CAST(CAST(settings.value AS BIGINT) + 1 AS TEXT)
     RETURNING CAST(value AS BIGINT)";

impl Store {
    /// Bumps the generation in `tx`, announces it, and commits.
    pub(crate) async fn commit_change(&self, tx: impl Into<Tx<'_>>) -> Result<(), StoreError> {
        match tx.into() {
            Tx::Sqlite(mut tx) => {
                let generation: i64 = sqlx::query_scalar(BUMP).fetch_one(&mut *tx).await?;
                // Announced before the commit, while this transaction still
                // holds the write lock: announcements come in generation order.
                self.changes.announce(generation);
                tx.commit().await?;
            }
            Tx::Postgres(mut tx) => {
                let generation: i64 = sqlx::query_scalar(BUMP).fetch_one(&mut *tx).await?;
                // Delivered to every listener when (and only if) this commits.
                sqlx::query("SELECT pg_notify($1, current_schema() || ' ' || $2)")
                    .bind(crate::changes::CHANNEL)
                    .bind(generation.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                self.changes.announce(generation);
            }
        }
        Ok(())
    }

    /// Bumps and announces the generation in a transaction of its own,
    /// after a change made elsewhere that every gateway must notice at
    /// once: a mailbox webhook registered or removed (gateways remember
    /// which addresses have none until the generation moves). Called
    /// after that change committed, so a process that sees the new
    /// generation also sees the change.
    pub async fn announce_change(&self) -> Result<(), StoreError> {
        let tx: Tx<'_> = match &self.db {
            Db::Sqlite(pool) => pool.begin_with("BEGIN IMMEDIATE").await?.into(),
            Db::Postgres(pool) => pool.begin().await?.into(),
        };
        self.commit_change(tx).await
    }

    /// Makes a file's change signal agree with the store (a database from
    /// before the signal existed, or a signal file lost): under the write
    /// lock, so no change can be announced meanwhile.
    pub(crate) async fn sync_change_signal(&self) -> Result<(), StoreError> {
        let Db::Sqlite(pool) = &self.db else {
            return Ok(());
        };
        if self.changes.read() == self.authz_generation().await? {
            return Ok(());
        }
        let mut tx = pool.begin().await?;
        // A write statement takes the write lock even when it matches no row.
        sqlx::query("UPDATE settings SET value = value WHERE key = 'authz_generation'")
            .execute(&mut *tx)
            .await?;
        let v: Option<i64> = sqlx::query_scalar(READ).fetch_optional(&mut *tx).await?;
        self.changes.announce(v.unwrap_or(0));
        tx.commit().await?;
        Ok(())
    }

    /// Commits `tx`, bumping and announcing the generation only when it
    /// `changed` something (a no-op leaves readers' snapshots alone).
    pub(crate) async fn commit_if_changed(
        &self,
        tx: impl Into<Tx<'_>>,
        changed: bool,
    ) -> Result<(), StoreError> {
        let tx = tx.into();
        if changed {
            self.commit_change(tx).await
        } else {
            tx.commit().await?;
            Ok(())
        }
    }

    /// The authorisation generation (0 before the first change). It changes
    /// whenever what decisions read does; compare it for inequality, not
    /// order.
    pub async fn authz_generation(&self) -> Result<i64, StoreError> {
        let v: Option<i64> = either!(Db, &self.db, pool => {
            sqlx::query_scalar(READ).fetch_optional(pool).await?
        });
        Ok(v.unwrap_or(0))
    }

    /// The latest generation announced by any process on this database,
    /// without a query: a read of 8 bytes (a file) or of a counter the
    /// store's listener keeps (PostgreSQL). When it differs from the
    /// generation a snapshot was loaded at, read [`Store::authz_generation`]
    /// (it may not be committed yet) and reload if that moved too.
    pub fn announced_generation(&self) -> i64 {
        self.changes.read()
    }

    /// On PostgreSQL, whether the connection that listens for other
    /// processes' changes is up (false while it reconnects, after an
    /// outage); `None` for SQLite, which announces through a file.
    pub fn change_listener_up(&self) -> Option<bool> {
        self.changes.listening()
    }
}

#[cfg(test)]
mod tests;
