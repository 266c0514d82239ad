//! The typed decision context: everything an authorisation decision may look
//! at, and nothing else (no raw JSON, no headers).

use std::net::IpAddr;

use warden_a2a::{Binding, Operation, PartKind};

/// Who is calling, as authentication established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The verified `sub` (or API key subject, or `anonymous`).
    pub subject: String,
    /// The token issuer (Warden's own issuer for its tokens and API keys).
    pub issuer: String,
    /// Whether `issuer` is Warden's own authority: grants name such callers
    /// by their bare subject, external ones as `ISSUER#SUBJECT`.
    pub local: bool,
    /// The scopes the credential carries (skill ids, or `*`).
    pub scopes: Vec<String>,
    /// How the caller authenticated: `bearer`, `dpop`, `api_key`, `anonymous`.
    pub method: &'static str,
    /// The network address the request came from.
    pub source: IpAddr,
    /// SAN URIs (e.g. SPIFFE ids) of the connection's verified client
    /// certificate, when there is one.
    pub peer_uris: Vec<String>,
}

impl Caller {
    /// The name grants, task ownership and quarantine know this caller by:
    /// the bare subject for Warden's own issuer, `ISSUER#SUBJECT` otherwise
    /// (an issuer identifier has no fragment, so the first `#` splits it).
    pub fn key(&self) -> String {
        if self.local {
            self.subject.clone()
        } else {
            format!("{}#{}", self.issuer, self.subject)
        }
    }
}

/// A part of the message, without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartFact {
    pub kind: PartKind,
    pub size: usize,
    pub media_type: Option<String>,
}

/// One request, as far as authorisation is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionContext {
    pub caller: Caller,
    /// The target agent (the gateway route name).
    pub agent: String,
    pub operation: Operation,
    pub binding: Binding,
    /// The skill the call names (extension, route or the agent's only
    /// skill); `None` when it names none.
    pub skill: Option<String>,
    pub tenant: Option<String>,
    /// The task the call addresses or continues.
    pub task_id: Option<String>,
    /// Other tasks the call names (`referenceTaskIds`, a push config's
    /// `taskId`): each must be visible to the caller like `task_id`.
    pub referenced_task_ids: Vec<String>,
    /// The context the call addresses or joins.
    pub context_id: Option<String>,
    pub parts: Vec<PartFact>,
    /// `message.extensions` of a message call.
    pub extensions: Vec<String>,
    /// Seconds since the Unix epoch.
    pub now: u64,
}
