//! The authorisation generation: a counter in `settings` bumped in the same
//! transaction as every change a request decision reads — grants,
//! quarantine, registry entries and API keys. A gateway holds an in-memory
//! snapshot of all of them and learns that another process (the CLI, a
//! second gateway) changed them from the change signal (`changes.rs`),
//! without a query per call.

use sqlx::{Sqlite, SqliteConnection, Transaction};

use crate::{Store, StoreError};

/// Adds one to the generation, creating it at 1, and returns the new value.
/// Call it inside the transaction that makes the change, so no reader sees
/// one without the other.
async fn bump(conn: &mut SqliteConnection) -> Result<i64, sqlx::Error> {
    // `settings.value` is TEXT: the sum is stored as its decimal text.
    sqlx::query_scalar(
        "INSERT INTO settings (key, value) VALUES ('authz_generation', '1')
         ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1
         RETURNING CAST(value AS INTEGER)",
    )
    .fetch_one(conn)
    .await
}

impl Store {
    /// Bumps the generation in `tx`, announces it, and commits.
    pub(crate) async fn commit_change(
        &self,
        mut tx: Transaction<'_, Sqlite>,
    ) -> Result<(), StoreError> {
        let generation = bump(&mut tx).await?;
        // Announced before the commit, while this transaction still holds
        // the write lock: announcements come in generation order.
        self.changes.announce(generation);
        tx.commit().await?;
        Ok(())
    }

    /// Makes the change signal agree with the store (a database from before
    /// the signal existed, or a signal file lost): under the write lock, so
    /// no change can be announced meanwhile.
    pub(crate) async fn sync_change_signal(&self) -> Result<(), StoreError> {
        if self.changes.read() == self.authz_generation().await? {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        // A write statement takes the write lock even when it matches no row.
        sqlx::query("UPDATE settings SET value = value WHERE key = 'authz_generation'")
            .execute(&mut *tx)
            .await?;
        let v: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'authz_generation'",
        )
        .fetch_optional(&mut *tx)
        .await?;
        self.changes.announce(v.unwrap_or(0));
        tx.commit().await?;
        Ok(())
    }

    /// Commits `tx`, bumping and announcing the generation only when it
    /// `changed` something (a no-op leaves readers' snapshots alone).
    pub(crate) async fn commit_if_changed(
        &self,
        tx: Transaction<'_, Sqlite>,
        changed: bool,
    ) -> Result<(), StoreError> {
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
        let v: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'authz_generation'",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(v.unwrap_or(0))
    }

    /// The latest generation announced by any process on this database,
    /// without a query: a read of 8 bytes. When it differs from the
    /// generation a snapshot was loaded at, read [`Store::authz_generation`]
    /// (it may not be committed yet) and reload if that moved too.
    pub fn announced_generation(&self) -> i64 {
        self.changes.read()
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;

    #[tokio::test]
    async fn starts_at_zero_and_counts_bumps() {
        let s = Store::open_in_memory().await.expect("open");
        assert_eq!(s.authz_generation().await.expect("read"), 0);
        for want in 1..=3 {
            let tx = s.pool.begin().await.expect("tx");
            s.commit_change(tx).await.expect("bump");
            assert_eq!(s.authz_generation().await.expect("read"), want);
            assert_eq!(s.announced_generation(), want);
        }
    }

    #[tokio::test]
    async fn another_process_sees_the_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("warden.db");
        let gateway = Store::open(&path).await.expect("open");
        let cli = Store::open(&path).await.expect("open again");
        let before = gateway.authz_generation().await.expect("read");
        assert!(
            cli.quarantine_add("echo", "leaking", "cli", "2026-01-01T00:00:00.000Z")
                .await
                .expect("add")
        );
        let now = gateway.authz_generation().await.expect("read");
        assert_ne!(now, before);
        // Announced through the file beside the database: no query needed.
        assert_eq!(gateway.announced_generation(), now);
    }

    #[tokio::test]
    async fn a_lost_signal_file_is_set_again_on_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("warden.db");
        let s = Store::open(&path).await.expect("open");
        assert!(
            s.quarantine_add("echo", "leaking", "cli", "2026-01-01T00:00:00.000Z")
                .await
                .expect("add")
        );
        drop(s);
        std::fs::remove_file(dir.path().join("warden.db-changes")).expect("remove");
        let s = Store::open(&path).await.expect("reopen");
        assert_eq!(s.announced_generation(), 1);
    }
}
