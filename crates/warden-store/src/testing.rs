//! The conformance suite's harness: every store test runs on SQLite and on
//! the PostgreSQL every machine of this project runs (127.0.0.1:5432, or
//! `WARDEN_TEST_POSTGRES_URL`; `.ci/run` starts it), each PostgreSQL run in
//! a fresh schema of its own, dropped when the test ends (passed or not).

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{AssertSqlSafe, Connection, PgConnection};

use crate::Store;

fn base_url() -> String {
    std::env::var("WARDEN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A database for one test: a temporary SQLite file, or a fresh schema.
pub(crate) enum TestDb {
    Sqlite(tempfile::TempDir),
    Postgres(TestSchema),
}

impl TestDb {
    pub(crate) async fn sqlite() -> Self {
        Self::Sqlite(tempfile::tempdir().expect("tempdir"))
    }

    pub(crate) async fn postgres() -> Self {
        Self::Postgres(TestSchema::create().await)
    }

    /// A store whose schema stops at `version`: a fresh in-memory database
    /// for SQLite, this schema for PostgreSQL.
    pub(crate) async fn open_at(&self, version: usize) -> Store {
        match self {
            Self::Sqlite(_) => Store::open_in_memory_at(version).await,
            Self::Postgres(schema) => crate::postgres::open_at(&schema.url(), version).await,
        }
        .expect("open at a version")
    }

    /// A new handle on this database (a second process, as it were).
    pub(crate) async fn open(&self) -> Store {
        self.try_open().await.expect("open the store")
    }

    pub(crate) async fn try_open(&self) -> Result<Store, crate::StoreError> {
        match self {
            Self::Sqlite(dir) => Store::open(&dir.path().join("warden.db")).await,
            Self::Postgres(schema) => Store::open_url(&schema.url()).await,
        }
    }
}

/// A schema of the test database that lives as long as this value.
pub(crate) struct TestSchema {
    name: String,
}

impl TestSchema {
    pub(crate) async fn create() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "warden_test_{}_{nanos}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut conn = PgConnection::connect(&base_url())
            .await
            .expect("PostgreSQL answers (is it running on 127.0.0.1:5432?)");
        static CLEANED: std::sync::Once = std::sync::Once::new();
        let mut first = false;
        CLEANED.call_once(|| first = true);
        if first {
            drop_stale_schemas(&mut conn)
                .await
                .expect("drop stale schemas");
        }
        // The name is made of this function's digits and letters.
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&mut conn)
            .await
            .expect("create schema");
        let _ = conn.close().await;
        Self { name }
    }

    /// The URL of a store in this schema.
    pub(crate) fn url(&self) -> String {
        let base = base_url();
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}options=-c%20search_path%3D{}", self.name)
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        // Drop runs outside async code (and on a panic too): the schema is
        // dropped from a thread with a runtime of its own. The test's
        // runtime waits meanwhile, so a lock it would have to release (a
        // transaction still rolling back) makes the DROP give up after
        // `lock_timeout` rather than wait for ever; such a schema is
        // dropped by a later run (`drop_stale_schemas`).
        let name = self.name.clone();
        let done = std::thread::spawn(move || drop_schema(&name)).join();
        if !matches!(done, Ok(Ok(()))) {
            eprintln!("left the test schema {} for a later run to drop", self.name);
        }
    }
}

fn drop_schema(name: &str) -> Result<(), sqlx::Error> {
    let sql = format!("SET lock_timeout = '2s'; DROP SCHEMA IF EXISTS {name} CASCADE");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let mut conn = PgConnection::connect(&base_url()).await?;
            sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await?;
            conn.close().await
        })
}

/// Drops the test schemas of processes of this machine that are gone.
async fn drop_stale_schemas(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    let names: Vec<String> = sqlx::query_scalar(
        r"SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'warden\_test\_%'",
    )
    .fetch_all(&mut *conn)
    .await?;
    for name in names {
        let pid = name.split('_').nth(2).unwrap_or_default();
        if pid.is_empty() || std::path::Path::new("/proc").join(pid).exists() {
            continue;
        }
        // Another run may be dropping it too.
        let _ = sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE"
        )))
        .execute(&mut *conn)
        .await;
    }
    Ok(())
}

/// Defines a test twice, as `<name>::sqlite` and `<name>::postgres`.
///
/// `async fn name(s) { … }` gets a fresh store `s` (SQLite in memory, or a
/// fresh PostgreSQL schema); `async fn name(db: TestDb) { … }` gets a
/// [`TestDb`] to open as many handles on one database as it needs.
macro_rules! store_test {
    (async fn $name:ident($s:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let $s = $crate::Store::open_in_memory().await.expect("open SQLite");
                $body
            }

            #[tokio::test]
            async fn postgres() {
                let db = $crate::testing::TestDb::postgres().await;
                let $s = db.open().await;
                $body
            }
        }
    };
    (async fn $name:ident($db:ident: TestDb) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let $db = $crate::testing::TestDb::sqlite().await;
                $body
            }

            #[tokio::test]
            async fn postgres() {
                let $db = $crate::testing::TestDb::postgres().await;
                $body
            }
        }
    };
}
pub(crate) use store_test;
