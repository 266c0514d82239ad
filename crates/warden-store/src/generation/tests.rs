use std::time::{Duration, Instant};

use sqlx::{AssertSqlSafe, Connection, PgConnection};

use crate::Store;
use crate::backend::either;
use crate::testing::{TestSchema, store_test};

/// Waits (up to `within`) until `s` announces `want`.
async fn announced(s: &Store, want: i64, within: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < within {
        if s.announced_generation() == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    s.announced_generation() == want
}

async fn quarantine(s: &Store, agent: &str) {
    assert!(
        s.quarantine_add(agent, "leaking", "cli", "2026-01-01T00:00:00.000Z")
            .await
            .expect("add")
    );
}

store_test! {
    async fn starts_at_zero_and_counts_bumps(s) {
        assert_eq!(s.authz_generation().await.expect("read"), 0);
        for want in 1..=3 {
            either!(Db, &s.db, pool => s.commit_change(pool.begin().await.expect("tx")).await)
                .expect("bump");
            assert_eq!(s.authz_generation().await.expect("read"), want);
            assert_eq!(s.announced_generation(), want);
        }
    }
}

store_test! {
    async fn another_process_sees_the_change(db: TestDb) {
        let gateway = db.open().await;
        let cli = db.open().await;
        let before = gateway.authz_generation().await.expect("read");
        quarantine(&cli, "echo").await;
        let now = gateway.authz_generation().await.expect("read");
        assert_ne!(now, before);
        // Announced through the file beside the database, or a NOTIFY the
        // listener hears well before its periodic re-read: no query needed.
        assert!(announced(&gateway, now, Duration::from_secs(1)).await);
    }
}

#[tokio::test]
async fn a_lost_signal_file_is_set_again_on_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("warden.db");
    let s = Store::open(&path).await.expect("open");
    quarantine(&s, "echo").await;
    drop(s);
    std::fs::remove_file(dir.path().join("warden.db-changes")).expect("remove");
    let s = Store::open(&path).await.expect("reopen");
    assert_eq!(s.announced_generation(), 1);
}

/// A change that sent no notification (one lost in transit, as it were)
/// is still seen, by the periodic re-read.
#[tokio::test]
async fn postgres_rereads_what_no_notification_announced() {
    let schema = TestSchema::create().await;
    let s = Store::open_url(&schema.url()).await.expect("open");
    assert_eq!(s.announced_generation(), 0);
    let mut conn = PgConnection::connect(&schema.url()).await.expect("connect");
    sqlx::raw_sql(AssertSqlSafe(
        "INSERT INTO settings (key, value) VALUES ('authz_generation', '7')",
    ))
    .execute(&mut conn)
    .await
    .expect("write behind Warden's back");
    let within = crate::changes::REREAD + Duration::from_secs(2);
    assert!(announced(&s, 7, within).await);
}

/// The listening connection, killed, is made again, and what was changed
/// meanwhile is announced.
#[tokio::test]
async fn postgres_listener_reconnects() {
    let schema = TestSchema::create().await;
    let gateway = Store::open_url(&schema.url()).await.expect("open");
    let cli = Store::open_url(&schema.url()).await.expect("open again");
    let first = wait_for_listener(&gateway, 0).await;
    let mut conn = PgConnection::connect(&schema.url()).await.expect("connect");
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(first)
        .fetch_one(&mut conn)
        .await
        .expect("terminate");
    assert!(killed);
    quarantine(&cli, "echo").await;
    let second = wait_for_listener(&gateway, first).await;
    assert_ne!(second, first);
    quarantine(&cli, "alpha").await;
    assert!(announced(&gateway, 2, Duration::from_secs(1)).await);
}

/// Waits for the listener to run on a connection other than `not`.
async fn wait_for_listener(s: &Store, not: i32) -> i32 {
    let start = Instant::now();
    loop {
        let pid = s.changes.listener_pid();
        if pid != 0 && pid != not {
            return pid;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no listener after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
