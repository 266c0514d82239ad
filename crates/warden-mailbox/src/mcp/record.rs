//! What an exchange leaves for the audit trail: the method and tool names
//! and the outcome, never arguments or content.

use super::backend::ToolFailure;
use super::session::SessionRefusal;
use super::tools::Tool;

/// The audit facts of one exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The JSON-RPC method, when it was read and is one this server knows
    /// (a client's arbitrary method name is recorded as `other`).
    pub method: Option<&'static str>,
    /// The HTTP verb when no message was read.
    pub verb: Option<&'static str>,
    pub tool: Option<Tool>,
    pub outcome: Outcome,
    pub session_refusal: Option<SessionRefusal>,
}

/// How an exchange ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Answered (a tool that succeeded, a list, a handshake).
    Ok,
    /// The tool ran and failed (`isError: true`), with its failure code.
    ToolFailed(&'static str),
    /// Refused with a JSON-RPC error of this code.
    Refused(i64),
}

const KNOWN_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "server/discover",
    "tools/list",
    "tools/call",
    "notifications/initialized",
    "notifications/cancelled",
];

impl Record {
    pub fn transport(verb: &'static str) -> Self {
        Self {
            method: None,
            verb: Some(verb),
            tool: None,
            outcome: Outcome::Ok,
            session_refusal: None,
        }
    }

    pub fn method(method: &str) -> Self {
        let known = KNOWN_METHODS
            .iter()
            .find(|m| **m == method)
            .copied()
            .unwrap_or("other");
        Self {
            method: Some(known),
            verb: Some("POST"),
            tool: None,
            outcome: Outcome::Ok,
            session_refusal: None,
        }
    }

    pub(super) fn refused(&mut self, code: i64) {
        self.outcome = Outcome::Refused(code);
    }

    pub(super) fn tool(&mut self, tool: Tool, failure: Option<&ToolFailure>) {
        self.tool = Some(tool);
        if let Some(f) = failure {
            self.outcome = Outcome::ToolFailed(f.kind.code());
        }
    }

    pub(super) fn with_session_refusal(mut self, why: SessionRefusal) -> Self {
        self.session_refusal = Some(why);
        self
    }
}
