//! A fresh schema of the machine's PostgreSQL (`WARDEN_TEST_POSTGRES_URL`,
//! by default `postgres://postgres@127.0.0.1:5432/test`) for one test.
//! Named like the store's test schemas (`warden_test_<pid>_…`), so one a
//! failed test leaves is dropped by a later run of the store's tests.

use sqlx::{AssertSqlSafe, Connection, PgConnection};

fn base_url() -> String {
    std::env::var("WARDEN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub struct Schema(String);

impl Schema {
    pub async fn create() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("warden_test_{}_{nanos}_outbox", std::process::id());
        run(&format!("CREATE SCHEMA {name}")).await;
        Self(name)
    }

    pub fn url(&self) -> String {
        format!("{}?options=-c%20search_path%3D{}", base_url(), self.0)
    }

    pub async fn drop(self) {
        run(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0)).await;
    }
}

async fn run(sql: &str) {
    let mut conn = PgConnection::connect(&base_url())
        .await
        .expect("PostgreSQL answers (is it running on 127.0.0.1:5432?)");
    // The statement is made of this module's text and digits.
    sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
        .execute(&mut conn)
        .await
        .expect("run SQL");
    let _ = conn.close().await;
}
