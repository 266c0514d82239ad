//! Every table of the store, with its columns and their kinds, as of the
//! schema version this code migrates to ([`crate::SCHEMA_VERSION`]): what
//! an export writes and an import reads. A test compares this list with
//! the live schema of both engines, so a migration that adds a table or a
//! column fails it until the list (and the format's documentation) follow.

/// How a column's values are written: text as JSON strings, integers as
/// JSON numbers, bytes as standard base64 strings; NULL as `null`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Int,
    Blob,
}

/// One table: its name, its columns in schema order, and the ORDER BY that
/// lists its rows the same way on both engines (its primary key; text is
/// compared byte by byte on both).
#[derive(Debug)]
pub(crate) struct Table {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
    pub order_by: &'static str,
}

use Kind::{Blob, Int, Text};

/// The audit table, which an export may leave out.
pub(crate) const AUDIT: &str = "audit_events";

/// Every table, in the order an export writes them (configuration and
/// identity first, then ownership, tasks and audit).
pub(crate) const TABLES: &[Table] = &[
    Table {
        name: "settings",
        columns: &[("key", Text), ("value", Text)],
        order_by: "key",
    },
    Table {
        name: "registry_agents",
        columns: &[
            ("id", Text),
            ("display_name", Text),
            ("jwks", Text),
            ("jwks_url", Text),
            ("grants", Text),
            ("created_at", Text),
            ("tls_subject", Text),
        ],
        order_by: "id",
    },
    Table {
        name: "api_keys",
        columns: &[
            ("id", Text),
            ("subject", Text),
            ("hash", Blob),
            ("created_at", Text),
            ("expires_at", Int),
            ("revoked_at", Text),
            ("last_used_at", Text),
        ],
        order_by: "id",
    },
    Table {
        name: "signing_keys",
        columns: &[
            ("kid", Text),
            ("alg", Text),
            ("sealed", Blob),
            ("created_at", Int),
            ("retire_at", Int),
            ("expires_at", Int),
        ],
        order_by: "kid",
    },
    Table {
        name: "grants",
        columns: &[
            ("id", Text),
            ("caller", Text),
            ("target", Text),
            ("skills", Text),
            ("operations", Text),
            ("tasks_of", Text),
            ("not_before", Int),
            ("not_after", Int),
            ("created_at", Text),
            ("revoked_at", Text),
            ("note", Text),
        ],
        order_by: "id",
    },
    Table {
        name: "quarantine",
        columns: &[
            ("agent", Text),
            ("reason", Text),
            ("created_at", Text),
            ("created_by", Text),
        ],
        order_by: "agent",
    },
    Table {
        name: "card_pins",
        columns: &[
            ("agent", Text),
            ("digest", Text),
            ("card", Text),
            ("key_thumbprints", Text),
            ("pinned_at", Text),
        ],
        order_by: "agent",
    },
    Table {
        name: "card_reviews",
        columns: &[
            ("id", Text),
            ("agent", Text),
            ("digest", Text),
            ("card", Text),
            ("key_thumbprints", Text),
            ("changes", Text),
            ("status", Text),
            ("raised_at", Text),
            ("decided_at", Text),
        ],
        order_by: "id",
    },
    Table {
        name: "task_owners",
        columns: &[
            ("agent", Text),
            ("task_id", Text),
            ("context_id", Text),
            ("owner", Text),
            ("created_at", Text),
        ],
        order_by: "agent, task_id",
    },
    Table {
        name: "context_owners",
        columns: &[
            ("agent", Text),
            ("context_id", Text),
            ("owner", Text),
            ("created_at", Text),
        ],
        order_by: "agent, context_id",
    },
    Table {
        name: "tasks",
        columns: &[
            ("agent", Text),
            ("id", Text),
            ("context_id", Text),
            ("state", Text),
            ("status_timestamp", Text),
            ("body", Text),
        ],
        order_by: "agent, id",
    },
    Table {
        name: "push_configs",
        columns: &[
            ("agent", Text),
            ("task_id", Text),
            ("id", Text),
            ("body", Text),
            ("created_at", Text),
        ],
        order_by: "agent, task_id, id",
    },
    Table {
        name: "push_outbox",
        columns: &[
            ("id", Text),
            ("subscription_id", Text),
            ("task_id", Text),
            ("seq", Int),
            ("destination", Text),
            ("origin", Text),
            ("body", Blob),
            ("state", Text),
            ("attempts", Int),
            ("next_attempt_ms", Int),
            ("lease_owner", Text),
            ("last_error", Text),
            ("since_ms", Int),
            ("created_ms", Int),
            ("updated_ms", Int),
        ],
        order_by: "id",
    },
    Table {
        name: "push_subscriptions",
        columns: &[
            ("id", Text),
            ("agent", Text),
            ("owner", Text),
            ("task_id", Text),
            ("config_id", Text),
            ("url", Text),
            ("config", Text),
            ("sealed", Blob),
            ("relay_hash", Blob),
            ("created_ms", Int),
        ],
        order_by: "id",
    },
    Table {
        name: "push_follows",
        columns: &[
            ("agent", Text),
            ("task_id", Text),
            ("owner", Text),
            ("seen", Text),
            ("lease_owner", Text),
            ("lease_until_ms", Int),
            ("created_ms", Int),
            ("updated_ms", Int),
        ],
        order_by: "agent, task_id",
    },
    Table {
        name: "mail_messages",
        columns: &[
            ("id", Text),
            ("sender", Text),
            ("recipient", Text),
            ("kind", Text),
            ("topic", Text),
            ("thread", Text),
            ("reply_to", Text),
            ("body", Text),
            ("sealed", Int),
            ("size", Int),
            ("signature", Text),
            ("created", Text),
            ("created_ms", Int),
            ("read_ms", Int),
            ("acked_ms", Int),
        ],
        order_by: "id",
    },
    Table {
        name: "mail_grants",
        columns: &[
            ("recipient", Text),
            ("sender", Text),
            ("topics", Text),
            ("request_id", Text),
            ("created_ms", Int),
            ("expires_ms", Int),
            ("revoked_ms", Int),
        ],
        order_by: "recipient, sender",
    },
    Table {
        name: "mail_idempotency",
        columns: &[
            ("sender", Text),
            ("key", Text),
            ("digest", Blob),
            ("message_id", Text),
            ("thread", Text),
            ("created", Text),
            ("signature", Text),
            ("expires_ms", Int),
        ],
        order_by: "sender, key",
    },
    Table {
        name: "mail_keys",
        columns: &[
            ("address", Text),
            ("kid", Text),
            ("jwk", Text),
            ("published_ms", Int),
        ],
        order_by: "address",
    },
    Table {
        name: AUDIT,
        columns: &[
            ("seq", Int),
            ("at", Text),
            ("kind", Text),
            ("agent", Text),
            ("operation", Text),
            ("binding", Text),
            ("outcome", Text),
            ("reason", Text),
            ("source", Text),
            ("task_id", Text),
            ("detail", Text),
            ("principal", Text),
        ],
        order_by: "seq",
    },
];

/// Tables derived from others, kept by triggers (`mail_boxes`, the counts
/// of `mail_messages`): not exported; an import's inserts rebuild them.
/// (Only the schema test needs the list: export and import name tables.)
#[cfg(test)]
pub(crate) const DERIVED: &[&str] = &["mail_boxes"];

/// The table called `name`.
pub(crate) fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}
