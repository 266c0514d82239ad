//! A send: the idempotency key, the grant (or the recipient, for an access
//! request) and the inbox quota are checked and the message written in one
//! transaction, so a retry racing its first attempt, a revocation racing a
//! send, or two sends racing for an inbox's last place each resolve one way.
//!
//! On SQLite the transaction holds the write lock from BEGIN (a read that
//! later upgrades to a write could fail against a concurrent writer instead
//! of waiting), and all sends go through one writer (`writer.rs`). On
//! PostgreSQL sends to one recipient take turns on an advisory lock (the
//! quota), and two sends with one idempotency key to different recipients
//! may both pass the first read: the key's insert tells the later one,
//! which starts again and finds the earlier one's row.

use crate::backend::{Db, Tx, either};
use crate::{Store, StoreError};

use super::MailMessage;

/// The recipient address an access request is stored under when its
/// recipient does not exist or its inbox is full: a control character
/// starts it, which no registry id may contain, so no caller ever reads
/// it (the request is written all the same, so that the answer and the
/// work are the same as for a delivered one). Retention removes it.
pub const VOID_RECIPIENT: &str = "\u{1}void";

/// What must hold for the message to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendCheck {
    /// A message: the recipient's grant to the sender must be live (not
    /// revoked, not expired) and cover `topic` (a grant with no topics
    /// covers every message; one with topics only messages with one of
    /// them).
    Grant,
    /// An access request: no grant, the recipient must exist — in the
    /// registry, or `known` (an address the gateway knows of itself, such
    /// as a bridged agent). When it does not, or its inbox is full, the
    /// request goes to [`VOID_RECIPIENT`] and the outcome is the same.
    Request { known: bool },
}

/// A sender's idempotency key for a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMailKey {
    pub key: String,
    /// SHA-256 of the canonical content: a retry must carry the same.
    pub digest: Vec<u8>,
    pub expires_ms: i64,
}

/// A message to store, with what the send must check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMail {
    pub message: MailMessage,
    pub check: SendCheck,
    pub key: Option<NewMailKey>,
    pub now_ms: i64,
    /// The recipient's inbox quota: messages, and bytes of their bodies.
    pub max_messages: i64,
    pub max_bytes: i64,
}

/// What the first send with an idempotency key stored: with the content of
/// the retry (the same, by digest), the original message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailDuplicate {
    pub message_id: String,
    pub thread: String,
    pub created: String,
    pub signature: String,
}

/// How a send ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailSendOutcome {
    Stored,
    /// An access request written to [`VOID_RECIPIENT`]: its caller must be
    /// answered exactly as for [`MailSendOutcome::Stored`]; only delivery
    /// (webhooks, the bridge) tells them apart.
    Voided,
    /// The key was used before with the same content.
    Duplicate(MailDuplicate),
    /// The key was used before with other content.
    KeyConflict,
    /// No live grant covering the topic (for a message).
    NotGranted,
    /// The recipient's inbox is at its quota (for a message).
    InboxFull,
}

impl MailSendOutcome {
    /// Whether the send wrote its message (the transaction commits).
    pub fn wrote(&self) -> bool {
        matches!(self, Self::Stored | Self::Voided)
    }
}

/// A pair's grant (topics, expiry, revocation) and its recipient's inbox
/// counts (messages, bytes), each absent when there is none.
type GrantAndBox = (
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// How often a send starts again after losing a race on its key.
const ATTEMPTS: usize = 3;

impl Store {
    /// Stores a message if its checks pass; see [`SendCheck`]. On SQLite
    /// through the mailbox's one writer (`writer.rs`), which commits many
    /// sends in one transaction.
    pub async fn mail_send(&self, m: &NewMail) -> Result<MailSendOutcome, StoreError> {
        if let Db::Sqlite(pool) = &self.db {
            return Ok(self.mail.submit(pool, m.clone()).await?);
        }
        for _ in 0..ATTEMPTS {
            let mut tx = self.begin_write().await?;
            match send_in(&mut tx, m).await? {
                Some(outcome) if outcome.wrote() => {
                    tx.commit().await?;
                    return Ok(outcome);
                }
                // Anything else wrote nothing: dropping the transaction
                // rolls it back.
                Some(outcome) => return Ok(outcome),
                None => continue,
            }
        }
        Err(StoreError::Mail(
            "an idempotency key kept changing under a send".into(),
        ))
    }

    pub(super) async fn begin_write(&self) -> Result<Tx<'_>, StoreError> {
        Ok(match &self.db {
            Db::Sqlite(pool) => pool.begin_with("BEGIN IMMEDIATE").await?.into(),
            Db::Postgres(pool) => pool.begin().await?.into(),
        })
    }
}

/// One send in `tx`: its checks, and its writes when they pass (only
/// then: any other outcome leaves the transaction as it was, so sends can
/// share one). None when a concurrent send took the key first
/// (PostgreSQL; the caller starts again).
pub(super) async fn send_in(
    tx: &mut Tx<'_>,
    m: &NewMail,
) -> Result<Option<MailSendOutcome>, sqlx::Error> {
    let msg = &m.message;
    if let Tx::Postgres(t) = tx {
        // Sends to one inbox take turns, so that two of them cannot both
        // read the quota's last place as free (READ COMMITTED reads do not
        // block). Keyed by schema and recipient, in the two-key space the
        // retention lock also uses.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext(current_schema()), hashtext($1))")
            .bind(format!("warden mail {}", msg.recipient))
            .execute(&mut **t)
            .await?;
    }
    let outcome = either!(Tx, tx, t => {
        'decide: {
            if let Some(k) = &m.key {
                let row: Option<(Vec<u8>, String, String, String, String, i64)> =
                    sqlx::query_as(
                        "SELECT digest, message_id, thread, created, signature, expires_ms
                         FROM mail_idempotency WHERE sender = $1 AND key = $2",
                    )
                    .bind(&msg.sender)
                    .bind(&k.key)
                    .fetch_optional(&mut **t)
                    .await?;
                if let Some((digest, message_id, thread, created, signature, expires)) = row
                    && expires > m.now_ms
                {
                    break 'decide if digest == k.digest {
                        MailSendOutcome::Duplicate(MailDuplicate {
                            message_id,
                            thread,
                            created,
                            signature,
                        })
                    } else {
                        MailSendOutcome::KeyConflict
                    };
                }
            }
            let mut recipient = msg.recipient.as_str();
            // The pair's grant and the recipient's inbox counts in one
            // query: each statement is a round trip to SQLite's connection
            // thread, and a send runs in the writer's batch, which waits for
            // each. Read for every send, so an access request to nobody (or
            // a send without a grant) costs what one to a real inbox does.
            let (grant, (count, bytes)) = match &m.check {
                SendCheck::Grant => {
                    let row: GrantAndBox = sqlx::query_as(
                        "SELECT g.topics, g.expires_ms, g.revoked_ms, b.messages, b.bytes
                         FROM (SELECT CAST($1 AS TEXT) AS address) r
                         LEFT JOIN mail_grants g
                             ON g.recipient = r.address AND g.sender = $2
                         LEFT JOIN mail_boxes b ON b.address = r.address",
                    )
                    .bind(&msg.recipient)
                    .bind(&msg.sender)
                    .fetch_one(&mut **t)
                    .await?;
                    let (topics, expires, revoked, count, bytes) = row;
                    let live = topics.zip(expires).is_some_and(|(topics, expires)| {
                        revoked.is_none()
                            && expires > m.now_ms
                            && super::grants::covers(&topics, msg.topic.as_deref())
                    });
                    (live, (count.unwrap_or(0), bytes.unwrap_or(0)))
                }
                SendCheck::Request { known } => {
                    let row: (Option<String>, Option<i64>, Option<i64>) = sqlx::query_as(
                        "SELECT a.id, b.messages, b.bytes
                         FROM (SELECT CAST($1 AS TEXT) AS address) r
                         LEFT JOIN registry_agents a ON a.id = r.address
                         LEFT JOIN mail_boxes b ON b.address = r.address",
                    )
                    .bind(&msg.recipient)
                    .fetch_one(&mut **t)
                    .await?;
                    let (registered, count, bytes) = row;
                    if !(*known || registered.is_some()) {
                        recipient = VOID_RECIPIENT;
                    }
                    (true, (count.unwrap_or(0), bytes.unwrap_or(0)))
                }
            };
            if !grant {
                break 'decide MailSendOutcome::NotGranted;
            }
            if count >= m.max_messages || bytes.saturating_add(msg.size) > m.max_bytes {
                match m.check {
                    SendCheck::Grant => break 'decide MailSendOutcome::InboxFull,
                    SendCheck::Request { .. } => recipient = VOID_RECIPIENT,
                }
            }
            sqlx::query(
                "INSERT INTO mail_messages (id, sender, recipient, kind, topic, thread,
                     reply_to, body, sealed, size, signature, created, created_ms,
                     read_ms, acked_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL, NULL)",
            )
            .bind(&msg.id)
            .bind(&msg.sender)
            .bind(recipient)
            .bind(&msg.kind)
            .bind(&msg.topic)
            .bind(&msg.thread)
            .bind(&msg.reply_to)
            .bind(&msg.body)
            .bind(i64::from(msg.sealed))
            .bind(msg.size)
            .bind(&msg.signature)
            .bind(&msg.created)
            .bind(msg.created_ms)
            .execute(&mut **t)
            .await?;
            if let Some(k) = &m.key {
                // Takes the key when it is new or spent; a live key here
                // was written by a concurrent send since the read above.
                let n = sqlx::query(
                    "INSERT INTO mail_idempotency (sender, key, digest, message_id, thread,
                         created, signature, expires_ms)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (sender, key) DO UPDATE SET digest = $3, message_id = $4,
                         thread = $5, created = $6, signature = $7, expires_ms = $8
                     WHERE mail_idempotency.expires_ms <= $9",
                )
                .bind(&msg.sender)
                .bind(&k.key)
                .bind(&k.digest)
                .bind(&msg.id)
                .bind(&msg.thread)
                .bind(&msg.created)
                .bind(&msg.signature)
                .bind(k.expires_ms)
                .bind(m.now_ms)
                .execute(&mut **t)
                .await?
                .rows_affected();
                if n == 0 {
                    return Ok(None);
                }
            }
            if recipient == VOID_RECIPIENT {
                MailSendOutcome::Voided
            } else {
                MailSendOutcome::Stored
            }
        }
    });
    Ok(Some(outcome))
}
