//! What callers send and what they get back, as JSON (camelCase): the REST
//! handlers and the MCP tools pass these straight through, so both faces
//! speak the same shapes. Requests refuse unknown fields: a misspelt
//! option is an error, not a silently different request.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use warden_a2a::types::Part;

/// A message's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Sent under a grant.
    Message,
    /// Asks the recipient for a grant (topic `warden.access`); needs none.
    AccessRequest,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::AccessRequest => "access_request",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "message" => Some(Self::Message),
            "access_request" => Some(Self::AccessRequest),
            _ => None,
        }
    }
}

/// `send`: a message to `to`, either `parts` (A2A v1.0 parts) or `sealed`
/// (a JWE compact serialization made with the recipient's published key).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendRequest {
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// A message the sender received or sent: the new one joins its thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<Vec<Part>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
    /// REST takes it from the `Idempotency-Key` header, MCP as an argument.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// A stored message as its sender or recipient sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: String,
    /// The authenticated sender.
    pub from: String,
    pub to: String,
    pub kind: MessageKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// The id of the thread's first message.
    pub thread: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
    /// RFC 3339, UTC, milliseconds.
    pub created: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acked_at: Option<String>,
    /// Warden's compact JWS with a detached payload (`header..signature`)
    /// over the message's canonical form (see [`crate::signed_payload`]).
    pub signature: String,
}

/// The answer to `send`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sent {
    pub message: Message,
    /// A retry with the same idempotency key and content: `message` is the
    /// original (REST answers 200 instead of 201).
    pub duplicate: bool,
}

/// Which messages an inbox listing shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InboxState {
    Unread,
    Unacked,
    #[default]
    All,
}

/// The order of a listing: by creation time, then id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InboxOrder {
    /// Oldest first: the order to work through an inbox in.
    #[default]
    Oldest,
    Newest,
}

/// `inbox`: a page of the caller's inbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InboxQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<MessageKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<InboxState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<InboxOrder>,
    /// 1 to 100 (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// `nextCursor` of the previous page, with the same filters and order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// A page of an inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboxPage {
    pub messages: Vec<Message>,
    /// Present when more messages follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The answer to `delete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deleted {
    pub id: String,
    pub deleted: bool,
}

/// `request_access`: asks `to` for a grant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessRequest {
    pub to: String,
    /// The topics asked for (none: every topic).
    #[serde(default)]
    pub topics: Vec<String>,
    /// Why, for the recipient (at most 1,000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The answer to `request_access`: the same whether or not `to` exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestSent {
    pub request_id: String,
    pub to: String,
}

/// `grant`: lets a sender send to the caller. Exactly one of `sender` and
/// `requestId` (an access request in the caller's inbox, which the grant
/// acknowledges; its topics are the default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrantRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// None: the request's topics (or every topic, without a request);
    /// empty: every topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topics: Option<Vec<String>>,
    /// Days until it ends (default `grant_ttl_days`, at most
    /// `max_grant_ttl_days`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_days: Option<u32>,
}

/// A messaging grant: `sender` may send to `recipient`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    pub sender: String,
    pub recipient: String,
    /// Empty: every topic.
    pub topics: Vec<String>,
    pub created: String,
    pub expires: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// `revoke`: ends the grant the caller gave `sender`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RevokeRequest {
    pub sender: String,
}

/// The answer to `revoke`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Revoked {
    pub sender: String,
    /// Whether a live grant ended (false: there was none).
    pub revoked: bool,
}

/// The caller's live grants: the ones it gave, and the ones it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grants {
    /// Who may send to the caller.
    pub given: Vec<Grant>,
    /// Whom the caller may send to.
    pub received: Vec<Grant>,
}

/// The caller's mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WhoAmI {
    pub address: String,
    pub messages: u64,
    pub unread: u64,
    pub bytes: u64,
    pub quota: InboxQuota,
    /// The `kid` of the caller's published sealing key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

/// An inbox's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboxQuota {
    pub messages: u64,
    pub bytes: u64,
    pub max_message_bytes: u64,
}

/// `publish_key`: the caller's X25519 public key for sealed messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublishKeyRequest {
    /// `{"kty":"OKP","crv":"X25519","x":…,"kid":…}`.
    pub jwk: Value,
}

/// A published key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishedKey {
    pub address: String,
    pub kid: String,
    pub jwk: Value,
    pub published: String,
}
