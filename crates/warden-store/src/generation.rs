//! The authorisation generation: a counter in `settings` bumped in the same
//! transaction as every change to grants or quarantine. A gateway holds an
//! in-memory snapshot of both and reads only this counter to learn that
//! another process (the CLI, a second gateway) changed them.

use sqlx::SqliteConnection;

use crate::{Store, StoreError};

/// Adds one to the generation, creating it at 1. Call it inside the
/// transaction that makes the change, so no reader sees one without the other.
pub(crate) async fn bump(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    // `settings.value` is TEXT: the sum is stored as its decimal text.
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ('authz_generation', '1')
         ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
    )
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    /// The authorisation generation (0 before the first change). It changes
    /// whenever grants or quarantine do; compare it for inequality, not order.
    ///
    /// One primary-key lookup with a constant statement, which the connection
    /// keeps prepared, so it is cheap enough to call per request.
    pub async fn authz_generation(&self) -> Result<i64, StoreError> {
        let v: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'authz_generation'",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(v.unwrap_or(0))
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
            let mut conn = s.pool.acquire().await.expect("conn");
            super::bump(&mut conn).await.expect("bump");
            drop(conn);
            assert_eq!(s.authz_generation().await.expect("read"), want);
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
        assert_ne!(gateway.authz_generation().await.expect("read"), before);
    }
}
