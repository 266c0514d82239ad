//! The SQLite schema versions, applied in order and recorded in
//! `PRAGMA user_version`.

use sqlx::{AssertSqlSafe, SqlitePool};

use crate::StoreError;

/// Each entry brings the schema from version `i` to `i + 1`. Never edit an
/// entry that has shipped; add a new one, and its PostgreSQL twin in
/// `postgres.rs`.
pub(crate) const MIGRATIONS: &[&str] = &[
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
    // Version 4: per-pair grants replace the registry's per-agent grants;
    // task and context ownership; quarantine.
    r#"
CREATE TABLE grants (
    id         TEXT PRIMARY KEY,
    caller     TEXT NOT NULL,
    target     TEXT NOT NULL,
    skills     TEXT NOT NULL,
    operations TEXT NOT NULL,
    tasks_of   TEXT,
    not_before INTEGER,
    not_after  INTEGER,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    note       TEXT
);
CREATE INDEX grants_by_pair ON grants (caller, target);
-- The old reader parsed `registry_agents.grants` as an object of string
-- arrays and gave an agent no grants at all when it did not parse, so such an
-- agent migrates to no grants rather than to something wider. Empty skill
-- lists (which the CLI never wrote) are dropped for the same reason, and a
-- duplicated target keeps only its last value, as the old reader did. No JSON
-- function here can fail: `doc` is always valid JSON.
INSERT INTO grants (id, caller, target, skills, operations, created_at, note)
SELECT 'g_' || lower(hex(randomblob(8))), a.id, e.key, json(e.value),
       '["send","get","list","cancel","subscribe"]', a.created_at,
       'migrated from the registry'
FROM (SELECT id, created_at,
             CASE WHEN json_valid(grants) THEN grants ELSE 'null' END AS doc
      FROM registry_agents) AS a,
     json_each(a.doc) AS e
WHERE json_type(a.doc) = 'object'
  AND NOT EXISTS (
      SELECT 1 FROM json_tree(a.doc) AS t
      WHERE t.fullkey <> '$'
        AND CASE WHEN t.path = '$' THEN t.type <> 'array' ELSE t.type <> 'text' END)
  AND json_array_length(CASE WHEN e.type = 'array' THEN e.value ELSE '[]' END) > 0
  AND NOT EXISTS (
      SELECT 1 FROM json_each(a.doc) AS later WHERE later.key = e.key AND later.id > e.id)
ORDER BY a.id, e.key;
-- The column stays (NOT NULL, read by older code) but no longer means anything.
UPDATE registry_agents SET grants = '{}';
CREATE TABLE task_owners (
    agent      TEXT NOT NULL,
    task_id    TEXT NOT NULL,
    context_id TEXT,
    owner      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (agent, task_id)
);
CREATE INDEX task_owners_by_owner ON task_owners (agent, owner);
CREATE TABLE context_owners (
    agent      TEXT NOT NULL,
    context_id TEXT NOT NULL,
    owner      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (agent, context_id)
);
CREATE TABLE quarantine (
    agent      TEXT PRIMARY KEY,
    reason     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);
"#,
    // Version 5: pinned upstream cards, and the reviews a changed card raises.
    r#"
CREATE TABLE card_pins (
    agent           TEXT PRIMARY KEY,
    digest          TEXT NOT NULL,
    card            TEXT NOT NULL,
    key_thumbprints TEXT NOT NULL,
    pinned_at       TEXT NOT NULL
);
CREATE TABLE card_reviews (
    id              TEXT PRIMARY KEY,
    agent           TEXT NOT NULL,
    digest          TEXT NOT NULL,
    card            TEXT NOT NULL,
    key_thumbprints TEXT NOT NULL,
    changes         TEXT NOT NULL,
    status          TEXT NOT NULL,
    raised_at       TEXT NOT NULL,
    decided_at      TEXT,
    UNIQUE (agent, digest)
);
CREATE INDEX card_reviews_by_status ON card_reviews (status, raised_at);
"#,
    // Version 6: the task owners of a context, found by index. Retention
    // keeps a context owner while a kept task of that context has one
    // (`retention.rs`), asked once per context it considers.
    r#"
CREATE INDEX task_owners_by_context ON task_owners (agent, context_id);
"#,
    // Version 7: the push outbox (`outbox.rs`): notifications waiting for,
    // or done with, delivery to a caller's webhook. `next_attempt_ms` is
    // when an open entry is due (for one being delivered, when its lease
    // runs out); the partial index finds the due entries of a destination,
    // the unique key the entry before one in its task's order.
    r#"
CREATE TABLE push_outbox (
    id              TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    task_id         TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    destination     TEXT NOT NULL,
    origin          TEXT NOT NULL,
    body            BLOB NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL,
    lease_owner     TEXT,
    last_error      TEXT,
    since_ms        INTEGER NOT NULL,
    created_ms      INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL,
    UNIQUE (subscription_id, task_id, seq)
);
CREATE INDEX push_outbox_due ON push_outbox (origin, next_attempt_ms)
    WHERE state IN ('pending', 'delivering');
CREATE INDEX push_outbox_by_state ON push_outbox (state, updated_ms);
CREATE INDEX push_outbox_by_task ON push_outbox (task_id, seq);
"#,
    // Version 8: push subscriptions (`push_subscriptions.rs`): the push
    // configs callers registered through the gateway, their credentials
    // sealed, the agent's relay token kept as a hash only. A config sent
    // with a first message has no task id until the task exists.
    r#"
CREATE TABLE push_subscriptions (
    id         TEXT PRIMARY KEY,
    agent      TEXT NOT NULL,
    owner      TEXT NOT NULL,
    task_id    TEXT,
    config_id  TEXT NOT NULL,
    url        TEXT NOT NULL,
    config     TEXT NOT NULL,
    sealed     BLOB NOT NULL,
    relay_hash BLOB NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE INDEX push_subscriptions_by_task ON push_subscriptions (agent, task_id, config_id);
"#,
    // Version 9: tasks Warden follows for agents without push support
    // (`push_follows.rs`): what was last seen of each, and which gateway
    // follows it until when (a lease, so one gateway at a time does).
    r#"
CREATE TABLE push_follows (
    agent          TEXT NOT NULL,
    task_id        TEXT NOT NULL,
    owner          TEXT NOT NULL,
    seen           TEXT,
    lease_owner    TEXT,
    lease_until_ms INTEGER NOT NULL,
    created_ms     INTEGER NOT NULL,
    updated_ms     INTEGER NOT NULL,
    PRIMARY KEY (agent, task_id)
);
CREATE INDEX push_follows_by_lease ON push_follows (lease_until_ms);
"#,
    // Next version: the open entries of the push outbox by subscription,
    // task and sequence (`outbox/enqueue.rs`, `outbox/claim.rs`): an
    // enqueue asks whether its task has an open entry, a claim whether an
    // earlier one is open; through the unique key both passed over every
    // delivered entry of the task (a long task's history, until
    // retention), now only over the open ones.
    r#"
CREATE INDEX push_outbox_open ON push_outbox (subscription_id, task_id, seq)
    WHERE state IN ('pending', 'delivering');
"#,
    // Version 11: the mailbox (`mail.rs`, issue 16). Messages between
    // registry agents, each signed by Warden when it was stored; the
    // messaging grants recipients give senders (one row a pair: a new
    // grant replaces the old one, a revoked one stays until retention);
    // the idempotency keys of senders, with what the first send stored,
    // so a retry is answered without the message (which its recipient may
    // have deleted); the sealing keys recipients publish. The inbox index
    // carries `size` so a quota check (count and bytes of one inbox) reads
    // the index alone; there is no counter table to drift.
    r#"
CREATE TABLE mail_messages (
    id         TEXT PRIMARY KEY,
    sender     TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    topic      TEXT,
    thread     TEXT NOT NULL,
    reply_to   TEXT,
    body       TEXT NOT NULL,
    sealed     INTEGER NOT NULL,
    size       INTEGER NOT NULL,
    signature  TEXT NOT NULL,
    created    TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    read_ms    INTEGER,
    acked_ms   INTEGER
);
CREATE INDEX mail_messages_inbox ON mail_messages (recipient, created_ms, id, size);
CREATE INDEX mail_messages_by_age ON mail_messages (created_ms);
CREATE TABLE mail_grants (
    recipient  TEXT NOT NULL,
    sender     TEXT NOT NULL,
    topics     TEXT NOT NULL,
    request_id TEXT,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    revoked_ms INTEGER,
    PRIMARY KEY (recipient, sender)
);
CREATE INDEX mail_grants_by_sender ON mail_grants (sender);
CREATE TABLE mail_idempotency (
    sender     TEXT NOT NULL,
    key        TEXT NOT NULL,
    digest     BLOB NOT NULL,
    message_id TEXT NOT NULL,
    thread     TEXT NOT NULL,
    created    TEXT NOT NULL,
    signature  TEXT NOT NULL,
    expires_ms INTEGER NOT NULL,
    PRIMARY KEY (sender, key)
);
CREATE INDEX mail_idempotency_by_expiry ON mail_idempotency (expires_ms);
CREATE TABLE mail_keys (
    address      TEXT PRIMARY KEY,
    kid          TEXT NOT NULL,
    jwk          TEXT NOT NULL,
    published_ms INTEGER NOT NULL
);
"#, // Version 12: the count and bytes of each inbox (`mail_boxes`), kept
    // by triggers on `mail_messages` — every insert and delete, whoever
    // makes it (a send, a delete, retention, an import) — so a send's
    // quota check reads one row instead of counting the inbox (which made
    // every send through SQLite's one writer slower as a popular inbox
    // filled). Derived: not exported, rebuilt by the triggers on import.
    r#"
CREATE TABLE mail_boxes (
    address  TEXT PRIMARY KEY,
    messages INTEGER NOT NULL,
    bytes    INTEGER NOT NULL
);
INSERT INTO mail_boxes (address, messages, bytes)
    SELECT recipient, COUNT(*), SUM(size) FROM mail_messages GROUP BY recipient;
CREATE TRIGGER mail_boxes_add AFTER INSERT ON mail_messages BEGIN
    INSERT OR IGNORE INTO mail_boxes (address, messages, bytes) VALUES (NEW.recipient, 0, 0);
    UPDATE mail_boxes SET messages = messages + 1, bytes = bytes + NEW.size
        WHERE address = NEW.recipient;
END;
CREATE TRIGGER mail_boxes_remove AFTER DELETE ON mail_messages BEGIN
    UPDATE mail_boxes SET messages = messages - 1, bytes = bytes - OLD.size
        WHERE address = OLD.recipient;
END;
"#,
];

/// Brings the schema up to version `target` (tests stop short of the latest
/// to check a migration against data written by the version before it).
pub(crate) async fn migrate_to(pool: &SqlitePool, target: usize) -> Result<(), StoreError> {
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
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .take(target)
        .skip(current as usize)
    {
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
