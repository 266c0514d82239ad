//! Schema versions, applied in order and recorded in `PRAGMA user_version`.

use sqlx::{AssertSqlSafe, SqlitePool};

use crate::StoreError;

/// Each entry brings the schema from version `i` to `i + 1`. Never edit an
/// entry that has shipped; add a new one.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE tasks (
    agent            TEXT NOT NULL,
    id               TEXT NOT NULL,
    context_id       TEXT NOT NULL,
    state            TEXT NOT NULL,
    status_timestamp TEXT NOT NULL,
    body             TEXT NOT NULL,
    PRIMARY KEY (agent, id)
);
CREATE INDEX tasks_by_status_time ON tasks (agent, status_timestamp DESC, id DESC);
CREATE INDEX tasks_by_context ON tasks (agent, context_id);
CREATE TABLE push_configs (
    agent      TEXT NOT NULL,
    task_id    TEXT NOT NULL,
    id         TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (agent, task_id, id)
);
CREATE TABLE audit_events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    kind       TEXT NOT NULL,
    agent      TEXT,
    operation  TEXT,
    binding    TEXT,
    outcome    TEXT NOT NULL,
    reason     TEXT,
    source     TEXT,
    task_id    TEXT,
    detail     TEXT
);
"#,
    r#"
CREATE TABLE registry_agents (
    id           TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    jwks         TEXT,
    jwks_url     TEXT,
    grants       TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    subject      TEXT NOT NULL,
    hash         BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   INTEGER,
    revoked_at   TEXT,
    last_used_at TEXT
);
CREATE INDEX api_keys_by_subject ON api_keys (subject);
ALTER TABLE audit_events ADD COLUMN principal TEXT;
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE signing_keys (
    kid        TEXT PRIMARY KEY,
    alg        TEXT NOT NULL,
    sealed     BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    retire_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
"#,
    r#"
ALTER TABLE registry_agents ADD COLUMN tls_subject TEXT;
"#,
];

pub async fn migrate(pool: &SqlitePool) -> Result<(), StoreError> {
    let mut conn = pool.acquire().await?;
    let current: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&mut *conn)
        .await?;
    let known = MIGRATIONS.len() as i64;
    if current > known {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        // Migrations are compile-time constants of this file.
        sqlx::raw_sql(AssertSqlSafe(*sql)).execute(&mut *tx).await?;
        sqlx::raw_sql(AssertSqlSafe(format!("PRAGMA user_version = {}", i + 1)))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(())
}
