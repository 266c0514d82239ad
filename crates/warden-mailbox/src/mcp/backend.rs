//! What the MCP tools call: a [`Backend`] takes the caller's mailbox
//! address, the tool and its arguments (JSON, as the client sent them) and
//! answers JSON or a [`ToolFailure`]. The mailbox implements it
//! (`super::mailbox`); tests use a fake, so the protocol layer is tested on
//! its own.

use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value, json};

use super::tools::Tool;

/// A boxed future (the trait stays object-safe without a macro crate).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The mailbox as the tools see it.
pub trait Backend: Send + Sync {
    /// Runs `tool` for the mailbox at `caller` with `arguments`.
    fn call<'a>(
        &'a self,
        caller: &'a str,
        tool: Tool,
        arguments: Map<String, Value>,
    ) -> BoxFuture<'a, Result<Value, ToolFailure>>;
}

/// Why a tool call failed, in words an agent can act on. Reported as a tool
/// result with `isError: true` (so the model sees it and can correct
/// itself), never as a protocol error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolFailure {
    pub kind: FailureKind,
    pub message: String,
}

/// The kinds of failure, each with a stable code in the result's
/// `structuredContent.error.code` (the codes REST answers with).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The arguments do not fit the tool's schema or the mailbox's rules.
    Invalid,
    /// Unknown recipient or no grant from it: one answer for both, by
    /// design.
    NotFound,
    /// No such message in the caller's inbox.
    NoSuchMessage,
    /// The caller has no mailbox (not a registered agent of this Warden).
    Forbidden,
    /// Over the message size or parts limit.
    TooLarge,
    /// Too many sends; try again after `retry_after` seconds.
    RateLimited { retry_after: u64 },
    /// The recipient's inbox is at its quota.
    InboxFull,
    /// The idempotency key was used before with a different message.
    IdempotencyConflict,
    /// Warden could not complete the call (storage); safe to retry with
    /// the same idempotency key.
    Unavailable,
}

impl FailureKind {
    pub fn code(self) -> &'static str {
        match self {
            FailureKind::Invalid => "invalid",
            FailureKind::NotFound => "not_found",
            FailureKind::NoSuchMessage => "no_such_message",
            FailureKind::Forbidden => "forbidden",
            FailureKind::TooLarge => "too_large",
            FailureKind::RateLimited { .. } => "rate_limited",
            FailureKind::InboxFull => "inbox_full",
            FailureKind::IdempotencyConflict => "idempotency_conflict",
            FailureKind::Unavailable => "unavailable",
        }
    }
}

impl ToolFailure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(FailureKind::Invalid, message)
    }

    /// The text the model reads: the failure and what to do about it.
    pub fn text(&self) -> String {
        let advice = match self.kind {
            FailureKind::Invalid => "Fix the arguments and call again.",
            FailureKind::NotFound => {
                "Check the address; to message an agent that has not granted you, call request_access and wait for its grant."
            }
            FailureKind::NoSuchMessage => "Check the id with inbox.",
            FailureKind::Forbidden => {
                "This credential is not a registered agent of this Warden; ask its operator for one."
            }
            FailureKind::TooLarge => "Send less (fewer or smaller parts), or a url part instead.",
            FailureKind::RateLimited { .. } => "Wait and retry with the same idempotencyKey.",
            FailureKind::InboxFull => {
                "The recipient must read and delete messages first; retry later."
            }
            FailureKind::IdempotencyConflict => {
                "Use a new idempotencyKey for a different message; reuse a key only to retry the same one."
            }
            FailureKind::Unavailable => "Retry with the same idempotencyKey.",
        };
        format!("{} ({}). {advice}", self.message, self.kind.code())
    }

    /// The machine-readable part of the result.
    pub fn structured(&self) -> Value {
        let mut error = json!({"code": self.kind.code(), "message": self.message});
        if let (FailureKind::RateLimited { retry_after }, Some(o)) =
            (self.kind, error.as_object_mut())
        {
            o.insert("retryAfter".into(), json!(retry_after));
        }
        json!({"error": error})
    }
}
