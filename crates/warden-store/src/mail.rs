//! The mailbox's rows (issue 16): messages, messaging grants, senders'
//! idempotency keys and the sealing keys recipients publish.
//!
//! The store keeps rows and makes the decisions that must be atomic with a
//! write (a send's idempotency, grant and quota checks, in one
//! transaction: [`Store::mail_send`]); what a message may contain, who may
//! call what and how it is signed is `warden-mailbox`'s.
//!
//! Times are Unix milliseconds from the mailbox's clock (injected, so tests
//! never wait), except `created`, the RFC 3339 text that was signed.

mod grants;
mod inbox;
mod keys;
mod reader;
mod send;
mod writer;

pub use grants::MailGrant;
pub use inbox::{MailFilter, MailPage, MailState};
pub use keys::MailKey;
pub use send::{MailDuplicate, MailSendOutcome, NewMail, NewMailKey, SendCheck, VOID_RECIPIENT};

pub(crate) use reader::Readers;
pub(crate) use writer::Writer;

use crate::backend::Columns;

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailMessage {
    /// `msg_` and 32 hex digits.
    pub id: String,
    pub sender: String,
    pub recipient: String,
    /// `message` or `access_request`.
    pub kind: String,
    pub topic: Option<String>,
    /// The id of the thread's first message (its own id for a first one).
    pub thread: String,
    pub reply_to: Option<String>,
    /// The JSON array of parts, or the JWE compact string of a sealed one.
    pub body: String,
    pub sealed: bool,
    /// Bytes of `body`: what quotas count.
    pub size: i64,
    /// Warden's detached JWS over the message's canonical form.
    pub signature: String,
    /// RFC 3339 with milliseconds, as signed.
    pub created: String,
    pub created_ms: i64,
    pub read_ms: Option<i64>,
    pub acked_ms: Option<i64>,
}

const COLUMNS: &str = "id, sender, recipient, kind, topic, thread, reply_to, body, sealed, \
                       size, signature, created, created_ms, read_ms, acked_ms";

fn from_row(r: &impl Columns) -> Result<MailMessage, sqlx::Error> {
    Ok(MailMessage {
        id: r.col("id")?,
        sender: r.col("sender")?,
        recipient: r.col("recipient")?,
        kind: r.col("kind")?,
        topic: r.col("topic")?,
        thread: r.col("thread")?,
        reply_to: r.col("reply_to")?,
        body: r.col("body")?,
        sealed: r.col::<i64>("sealed")? != 0,
        size: r.col("size")?,
        signature: r.col("signature")?,
        created: r.col("created")?,
        created_ms: r.col("created_ms")?,
        read_ms: r.col("read_ms")?,
        acked_ms: r.col("acked_ms")?,
    })
}

#[cfg(test)]
mod tests;
