//! The mailbox's MCP tools: names, descriptions and input schemas.
//!
//! The descriptions are written for a coding agent that has never seen the
//! mailbox: what the tool does, when to use it, what its errors mean, and
//! how to retry safely. The schemas are JSON Schema 2020-12, closed
//! (`additionalProperties: false`): an argument the mailbox would not read
//! is refused, never ignored.

use serde_json::{Value, json};

/// One tool. The order of [`Tool::ALL`] is the order `tools/list` shows
/// (deterministic, so clients can cache it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tool {
    Whoami,
    Inbox,
    Read,
    Ack,
    Delete,
    Send,
    RequestAccess,
    Grant,
    Revoke,
    Grants,
    Webhook,
    PublishKey,
    KeyOf,
}

impl Tool {
    pub const ALL: [Tool; 13] = [
        Tool::Whoami,
        Tool::Inbox,
        Tool::Read,
        Tool::Ack,
        Tool::Delete,
        Tool::Send,
        Tool::RequestAccess,
        Tool::Grant,
        Tool::Revoke,
        Tool::Grants,
        Tool::Webhook,
        Tool::PublishKey,
        Tool::KeyOf,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tool::Whoami => "whoami",
            Tool::Inbox => "inbox",
            Tool::Read => "read",
            Tool::Ack => "ack",
            Tool::Delete => "delete",
            Tool::Send => "send",
            Tool::RequestAccess => "request_access",
            Tool::Grant => "grant",
            Tool::Revoke => "revoke",
            Tool::Grants => "grants",
            Tool::Webhook => "webhook",
            Tool::PublishKey => "publish_key",
            Tool::KeyOf => "key_of",
        }
    }

    /// The audit event kind of the operation (the names REST records).
    pub fn audit_kind(self) -> &'static str {
        use crate::audit;
        match self {
            Tool::Whoami => audit::WHOAMI,
            Tool::Inbox => audit::INBOX,
            Tool::Read => audit::READ,
            Tool::Ack => audit::ACK,
            Tool::Delete => audit::DELETE,
            Tool::Send => audit::SEND,
            Tool::RequestAccess => audit::REQUEST,
            Tool::Grant => audit::GRANT,
            Tool::Revoke => audit::REVOKE,
            Tool::Grants => audit::GRANTS,
            // The kind REST's webhook operations record.
            Tool::Webhook => "mail_webhook",
            Tool::PublishKey => audit::PUBLISH_KEY,
            Tool::KeyOf => audit::KEY_OF,
        }
    }

    pub fn from_name(name: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The tool as `tools/list` shows it.
    pub fn definition(self) -> Value {
        let (title, description, schema, hints) = match self {
            Tool::Whoami => (
                "Who am I",
                "Returns your own mailbox `address` (your Warden agent id), how full your inbox is \
                 (`messages`, `unread`, `bytes`), its `quota` (messages, bytes, the largest message \
                 you can receive) and the `keyId` of your published sealing key, if any. Call it first \
                 in a session to learn the address other agents must use to message you. Read-only; \
                 call it as often as you like.",
                object(json!({}), &[]),
                hints(true, false, true),
            ),
            Tool::Inbox => (
                "List inbox",
                "Lists the messages in your inbox with their content, oldest first (`order`: `newest` \
                 for newest first). Filters: from (a sender address), topic, thread (the id of a thread's \
                 first message), kind (`message` or `access_request`), state (`unread`: never read; \
                 `unacked`: not yet acknowledged; `all`, the default). Returns at most `limit` (1-100, \
                 default 20) and a `nextCursor` when there are more: pass it back as `cursor`, with the \
                 same filters and order, for the next page. To work through new mail, list with state \
                 `unacked` and `ack` each message once handled. Access requests from agents that want to \
                 message you arrive here with kind `access_request` (topic warden.access, the topics they \
                 ask for in a data part, their note in a text part): accept one with `grant` and its \
                 message id as requestId, refuse it with `delete`. Listing marks nothing as read.",
                object(
                    json!({
                        "from": address("Only messages from this sender address."),
                        "topic": topic("Only messages with this topic."),
                        "thread": message_id("Only messages of this thread (the id of its first message)."),
                        "kind": {"type": "string", "enum": ["message", "access_request"],
                                 "description": "Only this kind of message."},
                        "state": {"type": "string", "enum": ["unread", "unacked", "all"], "default": "all",
                                  "description": "`unread`: never read; `unacked`: not yet acknowledged; `all` (default)."},
                        "order": {"type": "string", "enum": ["oldest", "newest"], "default": "oldest",
                                  "description": "`oldest` first (default) or `newest` first."},
                        "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20,
                                  "description": "Most messages in this page."},
                        "cursor": {"type": "string", "maxLength": 512,
                                   "description": "The `nextCursor` of the previous page, to continue."}
                    }),
                    &[],
                ),
                hints(true, false, true),
            ),
            Tool::Read => (
                "Read a message",
                "Returns one message of your inbox (by its id from `inbox`) and marks it read: from, \
                 topic, thread, replyTo, its parts (or the `sealed` ciphertext, which only your key \
                 opens), created, and Warden's `signature` (a detached JWS you may verify against the \
                 gateway's JWKS). An unknown id and one not in your inbox both answer no_such_message. \
                 Safe to repeat.",
                object(
                    json!({"id": message_id("The message id (msg_...).")}),
                    &["id"],
                ),
                hints(false, false, true),
            ),
            Tool::Ack => (
                "Acknowledge a message",
                "Marks a message of your inbox as handled (and read), so `inbox` with state `unacked` no \
                 longer lists it. Acknowledge once you have acted on a message; it stays readable until \
                 you delete it or it expires. Acknowledging an access request without granting it leaves \
                 the sender ungranted. Safe to repeat.",
                object(
                    json!({"id": message_id("The message id (msg_...).")}),
                    &["id"],
                ),
                hints(false, false, true),
            ),
            Tool::Delete => (
                "Delete a message",
                "Deletes a message from your inbox for good. Use it to refuse an access request or to \
                 clear messages you no longer need (a full inbox refuses new messages). Deleting an id \
                 that is already gone answers no_such_message.",
                object(
                    json!({"id": message_id("The message id (msg_...).")}),
                    &["id"],
                ),
                hints(false, true, true),
            ),
            Tool::Send => (
                "Send a message",
                "Leaves a message in another agent's inbox. The recipient must have granted you (see \
                 request_access); an unknown recipient and one that has not granted you (or not for this \
                 topic, or whose grant expired or was revoked) both answer not_found, by design. Give the \
                 content as `text` (one text part) or `parts` (A2A parts: text, data, url with optional \
                 mediaType and filename, or raw base64), or `sealed` (a JWE encrypted to the recipient's \
                 published key). `idempotencyKey` is required: choose a fresh random one per message and \
                 reuse it, unchanged with the same content, when you retry after an error or a timeout; \
                 the retry returns the original message (duplicate: true) instead of sending a second \
                 copy. Reusing a key for different content fails with idempotency_conflict. `replyTo` \
                 answers a message you received or sent (the reply joins its thread). Returns the stored \
                 `message` (its id and Warden's signature) and `duplicate`. Other failures: too_large \
                 (over the size or part limits), rate_limited (retry later, same key), inbox_full (the \
                 recipient must make room first).",
                object(
                    json!({
                        "to": address("The recipient's mailbox address (its Warden agent id)."),
                        "text": {"type": "string", "minLength": 1,
                                 "description": "The message as plain text (one text part). Give exactly one of text, parts, sealed."},
                        "parts": {"type": "array", "minItems": 1, "maxItems": 32, "items": part(),
                                  "description": "The message as A2A parts. Give exactly one of text, parts, sealed."},
                        "sealed": {"type": "string", "minLength": 1,
                                   "description": "A JWE compact serialization (ECDH-ES, A256GCM) of the parts, encrypted to the recipient's key. Give exactly one of text, parts, sealed."},
                        "topic": topic("A topic the recipient may have scoped your grant to."),
                        "replyTo": message_id("The id of the message this answers."),
                        "idempotencyKey": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$",
                                           "description": "A fresh random key per message (for example a UUID); the same key with the same content on every retry."}
                    }),
                    &["to", "idempotencyKey"],
                ),
                hints(false, false, true),
            ),
            Tool::RequestAccess => (
                "Request access",
                "Asks another agent for permission to send it messages: leaves an access request (kind \
                 access_request, topic warden.access) in its inbox, with your note. Needs no grant. The \
                 answer is the same whether or not the address exists, so a success does not prove the \
                 agent exists. Wait for the recipient to grant you (there is no notification: retry \
                 `send` later; not_found means not granted yet). Asking repeatedly is rate limited.",
                object(
                    json!({
                        "to": address("The address of the agent you want to message."),
                        "topics": topics("The topics you want to send on (empty or absent: every topic)."),
                        "note": {"type": "string", "maxLength": 1000,
                                 "description": "Why you want access, for the recipient to judge."}
                    }),
                    &["to"],
                ),
                hints(false, false, false),
            ),
            Tool::Grant => (
                "Grant a sender",
                "Allows an agent to send you messages: accept an access request by its `requestId` (the \
                 message id from `inbox`; the request is acknowledged), or grant an address directly with \
                 `sender`. Give exactly one of them. `topics` limits the grant (absent: the topics the \
                 request asked for, or every topic when you grant a sender directly; empty: every \
                 topic); `ttlDays` bounds it (default 30, at most 365). Granting again replaces the \
                 earlier grant to that sender (a way to renew it). An unknown requestId answers \
                 no_such_message. Returns the grant.",
                object(
                    json!({
                        "requestId": message_id("The id of the access request to accept."),
                        "sender": address("The address to allow, when not answering a request."),
                        "topics": topics("The topics allowed (empty or absent: every topic)."),
                        "ttlDays": {"type": "integer", "minimum": 1, "maximum": 365,
                                    "description": "Days the grant lasts (default 30)."}
                    }),
                    &[],
                ),
                hints(false, false, true),
            ),
            Tool::Revoke => (
                "Revoke a sender",
                "Ends every grant you gave to `sender`, at once: its next send to you fails. Use it to \
                 stop an agent messaging you. Messages already in your inbox stay. Safe to repeat.",
                object(
                    json!({"sender": address("The address whose grants to end.")}),
                    &["sender"],
                ),
                hints(false, true, true),
            ),
            Tool::Grants => (
                "List grants",
                "Lists your live grants: `given` (the agents that may send to you, with topics and \
                 expiry) and `received` (the agents you may send to). Use it to see whom you can \
                 message before sending, or whom to revoke. Read-only.",
                object(json!({}), &[]),
                hints(true, false, true),
            ),
            Tool::Webhook => (
                "Push new mail to a URL",
                "Registers, shows or removes the webhook new messages to you are pushed to, so a \
                 service of yours learns of them without polling `inbox`. `action`: `set` (with `url`, \
                 an https URL the gateway's egress rules allow; replaces any earlier one and answers \
                 the `secret` once: keep it where your receiver verifies the Standard Webhooks \
                 signatures), `show` (the URL, without the secret) or `remove`. Every message stays in \
                 your inbox as well. A URL the egress rules refuse answers invalid with the reason.",
                object(
                    json!({
                        "action": {"type": "string", "enum": ["set", "show", "remove"],
                                   "description": "What to do with your webhook."},
                        "url": {"type": "string", "format": "uri", "maxLength": 2048,
                                "description": "The receiver's URL (action `set` only)."}
                    }),
                    &["action"],
                ),
                hints(false, false, true),
            ),
            Tool::PublishKey => (
                "Publish your sealing key",
                "Publishes your X25519 public key (a JWK: kty OKP, crv X25519, x, optional kid = \
                 its RFC 7638 thumbprint; never the private `d`) so that agents you granted can send \
                 you sealed messages that Warden stores only as ciphertext. Replaces your earlier key; \
                 keep the old private key to open messages sealed before. Returns the key with its kid.",
                object(
                    json!({"jwk": {"type": "object", "description": "The X25519 public JWK."}}),
                    &["jwk"],
                ),
                hints(false, false, true),
            ),
            Tool::KeyOf => (
                "Get a recipient's sealing key",
                "Returns the published X25519 public key (JWK, with its kid) of an agent that granted \
                 you, to seal a message to it (JWE compact, alg ECDH-ES, enc A256GCM, kid of this key; \
                 the plaintext is the JSON of the parts) and pass it to `send` as `sealed`. An unknown \
                 agent, one that has not granted you and one without a key all answer not_found. \
                 (Your own key's kid is in `whoami`.) Read-only.",
                object(
                    json!({"address": address("The agent whose key to get.")}),
                    &["address"],
                ),
                hints(true, false, true),
            ),
        };
        json!({
            "name": self.name(),
            "title": title,
            "description": description,
            "inputSchema": schema,
            "annotations": hints,
        })
    }
}

/// Every tool's definition, in [`Tool::ALL`] order.
pub fn list() -> Vec<Value> {
    Tool::ALL.into_iter().map(Tool::definition).collect()
}

fn object(properties: Value, required: &[&str]) -> Value {
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

fn hints(read_only: bool, destructive: bool, idempotent: bool) -> Value {
    json!({
        "readOnlyHint": read_only,
        "destructiveHint": destructive,
        "idempotentHint": idempotent,
        "openWorldHint": false,
    })
}

fn address(description: &str) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 256, "description": description})
}

fn topic(description: &str) -> Value {
    json!({"type": "string", "pattern": "^[a-z0-9._-]{1,64}$", "description": description})
}

fn topics(description: &str) -> Value {
    json!({"type": "array", "maxItems": 32, "uniqueItems": true,
           "items": {"type": "string", "pattern": "^[a-z0-9._-]{1,64}$"}, "description": description})
}

fn message_id(description: &str) -> Value {
    json!({"type": "string", "pattern": "^msg_[0-9a-f]{32}$", "description": description})
}

/// An A2A v1.0 Part: exactly one of text, data, url, raw.
fn part() -> Value {
    json!({
        "type": "object",
        "properties": {
            "text": {"type": "string", "description": "Plain text."},
            "data": {"description": "Any JSON value."},
            "url": {"type": "string", "format": "uri", "description": "A file by reference (fetched by the reader, through its own egress rules)."},
            "raw": {"type": "string", "contentEncoding": "base64", "description": "File bytes, base64."},
            "mediaType": {"type": "string", "maxLength": 255, "description": "The media type of url or raw content."},
            "filename": {"type": "string", "maxLength": 255, "description": "A file name for url or raw content."},
            "metadata": {"type": "object", "description": "Extra data about the part."}
        },
        "oneOf": [
            {"required": ["text"]},
            {"required": ["data"]},
            {"required": ["url"]},
            {"required": ["raw"]}
        ],
        "additionalProperties": false
    })
}
