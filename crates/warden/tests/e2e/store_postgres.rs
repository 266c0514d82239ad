//! A gateway whose store is PostgreSQL (`[store] url`). The CLI, another
//! process on the same store, registers the client and then quarantines
//! it; the running gateway refuses the client's next call, told by the
//! database (NOTIFY), with no SQLite file anywhere.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

use crate::support::{Spy, gateway, rpc_with, user_message};

fn base_url() -> String {
    std::env::var("WARDEN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh schema of the test database, dropped at the end.
pub(crate) struct Schema(pub(crate) String);

impl Schema {
    pub(crate) async fn create() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("warden_test_{}_{nanos}_e2e", std::process::id());
        Self::run(&format!("CREATE SCHEMA {name}")).await;
        Self(name)
    }

    pub(crate) async fn run(sql: &str) {
        let mut conn = PgConnection::connect(&base_url())
            .await
            .expect("PostgreSQL answers (is it running on 127.0.0.1:5432?)");
        sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
            .execute(&mut conn)
            .await
            .expect("run SQL");
    }

    pub(crate) fn url(&self) -> String {
        format!("{}?options=-c%20search_path%3D{}", base_url(), self.0)
    }
}

async fn send(gateway: &str, key: &str) -> Value {
    rpc_with(
        &format!("{gateway}/agents/spy"),
        Some(key),
        "SendMessage",
        json!({"message": user_message("hi")}),
    )
    .await
}

#[tokio::test]
async fn store_postgres_a_quarantine_by_the_cli_reaches_the_running_gateway() {
    let schema = Schema::create().await;
    let spy = Spy::start().await;
    let w = gateway(&format!(
        "[store]\nurl = \"{}\"\n[[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        schema.url(),
        spy.url
    ))
    .await;
    let key = w.api_key().await;
    let v = send(&w.gateway, &key).await;
    assert!(v.get("result").is_some(), "served: {v}");
    assert!(
        !w.data_dir().join("warden.db").exists(),
        "the state is on PostgreSQL, not in the data directory"
    );

    w.cli(&["quarantine", "add", "tester", "--reason", "leaked key"])
        .await;
    let start = Instant::now();
    loop {
        let v = send(&w.gateway, &key).await;
        if v.to_string().contains("quarantined") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "still served a second after the quarantine: {v}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    w.stop().await;
    Schema::run(&format!("DROP SCHEMA {} CASCADE", schema.0)).await;
}
