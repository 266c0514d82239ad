//! The one error type of the mailbox. Each variant is one answer a caller
//! can act on; [`MailError::status`] and [`MailError::code`] are what the
//! REST and MCP faces show, so both say the same thing.

use std::time::Duration;

/// Why a mailbox operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The one answer for a recipient that does not exist and one that has
    /// not granted the caller (or not this topic, or no longer): the two
    /// must not be told apart.
    #[error("no such recipient, or it has not granted you")]
    NotFound,
    /// A message id the caller cannot see: not in its inbox (read, ack,
    /// delete, grant by request), or neither sent nor received by it
    /// (reply).
    #[error("no such message")]
    NoSuchMessage,
    /// A malformed request; the text says what to fix.
    #[error("{0}")]
    Invalid(String),
    /// A message over the size limit (bytes of its parts' JSON, or of its
    /// sealed form).
    #[error("the message is larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// Too many sends (by this sender, or to this recipient); retry after.
    #[error("too many messages; retry in {} s", retry_after.as_secs().max(1))]
    RateLimited { retry_after: Duration },
    /// The recipient's inbox is at its quota (messages or bytes).
    #[error("the recipient's inbox is full")]
    InboxFull,
    /// The idempotency key was used for a different message.
    #[error("idempotency key reused with a different message")]
    IdempotencyConflict,
    /// The caller has no mailbox (an external issuer's subject, a public or
    /// anonymous caller).
    #[error("no mailbox for this caller")]
    Forbidden,
    /// Warden could not sign the message (its key is unavailable).
    #[error("the message could not be signed")]
    Signing(String),
    #[error("storage error")]
    Store(#[from] warden_store::StoreError),
}

impl MailError {
    /// The HTTP status this answer is. A full inbox is 507 (Insufficient
    /// Storage, RFC 4918): the recipient's state, not the sender's rate,
    /// so a client does not mistake it for 429 and retry on a timer.
    pub fn status(&self) -> u16 {
        match self {
            Self::NotFound | Self::NoSuchMessage => 404,
            Self::Invalid(_) => 400,
            Self::TooLarge { .. } => 413,
            Self::RateLimited { .. } => 429,
            Self::InboxFull => 507,
            Self::IdempotencyConflict => 409,
            Self::Forbidden => 403,
            Self::Signing(_) | Self::Store(_) => 500,
        }
    }

    /// A stable machine-readable name.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::NoSuchMessage => "no_such_message",
            Self::Invalid(_) => "invalid",
            Self::TooLarge { .. } => "too_large",
            Self::RateLimited { .. } => "rate_limited",
            Self::InboxFull => "inbox_full",
            Self::IdempotencyConflict => "idempotency_conflict",
            Self::Forbidden => "forbidden",
            Self::Signing(_) => "signing_failed",
            Self::Store(_) => "store_failed",
        }
    }

    /// Whether Warden failed (an error to log and alert on) rather than
    /// refused the caller.
    pub fn is_server_fault(&self) -> bool {
        self.status() >= 500 && !matches!(self, Self::InboxFull)
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Self::Invalid(msg.into())
    }
}
