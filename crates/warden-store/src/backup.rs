//! An online backup of a SQLite store (`warden store backup`): `VACUUM
//! INTO` writes a consistent copy of the database, as of one read
//! transaction, while gateways keep reading and writing it (WAL). The copy
//! is a complete database file: no `-wal` file goes with it, and its
//! `-changes` file is recreated from it when it is opened. PostgreSQL
//! stores are backed up with the server's own tools (`pg_dump`).

use std::path::Path;

use crate::backend::Db;
use crate::{Store, StoreError};

impl Store {
    /// Writes a copy of this SQLite store to `path`, which must not exist
    /// or be an empty file (the caller creates it with the permissions it
    /// wants: the copy holds API key hashes and sealed signing keys).
    pub async fn backup_to(&self, path: &Path) -> Result<(), StoreError> {
        let Db::Sqlite(pool) = &self.db else {
            return Err(StoreError::Io(
                "a PostgreSQL store is backed up with pg_dump (see docs/operations.md)".into(),
            ));
        };
        let target = path
            .to_str()
            .ok_or_else(|| StoreError::Io(format!("{}: not a UTF-8 path", path.display())))?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ExportOptions, RegisteredAgent};

    #[tokio::test]
    async fn a_backup_is_a_whole_store_taken_while_it_is_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let live = Store::open(&dir.path().join("warden.db"))
            .await
            .expect("open");
        for i in 0..50 {
            live.put_agent(&RegisteredAgent {
                id: format!("agent-{i}"),
                display_name: "a".into(),
                jwks: None,
                jwks_url: None,
                grants: "{}".into(),
                tls_subject: None,
                created_at: "2026-05-01T12:00:00.000Z".into(),
            })
            .await
            .expect("agent");
        }
        let copy = dir.path().join("copy.db");
        std::fs::File::create(&copy).expect("an empty file");
        live.backup_to(&copy).await.expect("backup");
        // The live store goes on.
        live.quarantine_add(
            "agent-1",
            "after the backup",
            "cli",
            "2026-05-01T12:00:01.000Z",
        )
        .await
        .expect("write after");

        let restored = Store::open(&copy).await.expect("open the copy");
        assert_eq!(restored.list_agents().await.expect("agents").len(), 50);
        assert!(restored.quarantined().await.expect("q").is_empty());
        assert_eq!(
            restored.authz_generation().await.expect("generation"),
            50,
            "the generation of the moment it was taken"
        );
        assert_eq!(
            restored.announced_generation(),
            50,
            "its -changes file agrees"
        );
        let mut a = Vec::new();
        restored
            .export(&mut a, ExportOptions::default())
            .await
            .expect("export");
        assert!(!a.is_empty());

        // An existing database is never overwritten.
        let e = live
            .backup_to(&copy)
            .await
            .expect_err("the file has a database");
        assert!(e.to_string().contains("output file already exists"), "{e}");
    }
}
