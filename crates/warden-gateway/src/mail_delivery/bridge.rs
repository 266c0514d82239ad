//! The bridge: a gateway agent with `[[agents]] mailbox = "bridge"` is a
//! mailbox address, and each message to it is delivered as an A2A v1.0
//! `SendMessage` — the way the proxy calls the agent (the upstream client
//! and its egress rules, the JSON-RPC endpoint of its verified card or the
//! operator's override), with Warden's upstream token naming the message's
//! authenticated sender (`act.sub`) when `auth.upstream_tokens` is on.
//!
//! The outbox keeps the message (its JSON as `read` answers it) until the
//! agent has it; the call is built afresh at each attempt (a fresh token).
//! The A2A message id is the mail id, so an agent can recognise a message
//! delivered twice (after a crash between its answer and the settlement).
//! Parts go as they are; a sealed message goes as one text part of media
//! type `application/jose` (the agent opens it if it holds the key). Who
//! sent it, the topic, the thread and Warden's signature travel in the
//! message's `metadata.wardenMail`.
//!
//! Outcomes: a JSON-RPC result is delivered; a JSON-RPC error or another
//! 4xx is permanent (the agent refused this message: it would refuse it
//! again); 408, 429, 5xx, a connection failure or a timeout is tried again.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, header};
use serde_json::{Value, json};
use warden_a2a::Binding;
use warden_store::{NewNotification, OutboxEntry, Store, StoreError};

use std::sync::Arc;

use crate::auth::Authenticator;
use crate::clock::Clock;
use crate::config::{AgentMailbox, Config};
use crate::push::outbox::DeliveryOutcome;
use crate::state::GatewayState;
use crate::upstream::Upstreams;

/// The `subscription_id` of a bridged agent's outbox entries: this prefix
/// and the agent's name (never a push subscription's `sub_…`).
pub const PREFIX: &str = "bridge:";
/// The most of an agent's answer that is read.
const MAX_ANSWER_BYTES: u64 = 256 * 1024;

/// The names of the bridged agents (mailbox addresses besides the
/// registry's).
pub fn bridged(config: &crate::config::Config) -> Vec<String> {
    config
        .agents
        .iter()
        .filter(|a| a.mailbox == AgentMailbox::Bridge)
        .map(|a| a.name.clone())
        .collect()
}

/// Queues `message` for delivery to the bridged agent `agent` (configured
/// at `url`).
pub async fn enqueue(
    store: &Store,
    now_ms: i64,
    agent: &str,
    url: &str,
    message: &Value,
) -> Result<(), StoreError> {
    let body = serde_json::to_vec(message).map_err(|e| StoreError::Io(e.to_string()))?;
    store
        .outbox_enqueue(&NewNotification {
            subscription_id: format!("{PREFIX}{agent}"),
            task_id: super::queue_of(agent),
            // What the outbox counts caps and breakers by; the call goes to
            // the endpoint the card names at each attempt.
            destination: url.to_string(),
            body,
            created_ms: now_ms,
        })
        .await?;
    Ok(())
}

/// The A2A v1.0 message a mail message becomes.
pub fn a2a_message(mail: &Value) -> Result<Value, String> {
    let id = mail.get("id").and_then(Value::as_str).ok_or("no id")?;
    let parts = match (
        mail.get("parts"),
        mail.get("sealed").and_then(Value::as_str),
    ) {
        (Some(Value::Array(parts)), None) => Value::Array(parts.clone()),
        (None, Some(sealed)) => json!([{"text": sealed, "mediaType": "application/jose"}]),
        _ => return Err("a message has parts or sealed content".into()),
    };
    let mut meta = serde_json::Map::new();
    for k in [
        "id",
        "from",
        "to",
        "kind",
        "topic",
        "thread",
        "replyTo",
        "created",
        "signature",
    ] {
        if let Some(v) = mail.get(k).filter(|v| !v.is_null()) {
            meta.insert(k.into(), v.clone());
        }
    }
    Ok(json!({
        "role": "ROLE_USER",
        "messageId": id,
        "parts": parts,
        "metadata": {"wardenMail": meta},
    }))
}

/// Delivers bridge entries. Cheap to clone. It holds what a call needs,
/// not the gateway's state (whose worker slot holds this deliverer).
#[derive(Clone)]
pub struct Bridge {
    config: Arc<Config>,
    upstreams: Upstreams,
    auth: Arc<Authenticator>,
    clock: Arc<dyn Clock>,
}

impl Bridge {
    pub fn new(state: &GatewayState) -> Self {
        Self {
            config: Arc::clone(&state.config),
            upstreams: state.upstreams.clone(),
            auth: Arc::clone(&state.auth),
            clock: Arc::clone(&state.clock),
        }
    }

    /// One attempt at `entry`, for the bridged agent `agent`.
    pub async fn attempt(&self, agent: &str, entry: &OutboxEntry) -> DeliveryOutcome {
        let permanent = |reason: String| DeliveryOutcome::Permanent { reason };
        let retry = |reason: String| DeliveryOutcome::Retry {
            after: None,
            reason,
        };
        if !self
            .config
            .agents
            .iter()
            .any(|a| a.name == agent && a.mailbox == AgentMailbox::Bridge)
        {
            return permanent(format!("{agent} is no longer a bridged agent"));
        }
        let mail: Value = match serde_json::from_slice(&entry.body) {
            Ok(v) => v,
            Err(e) => return permanent(format!("the queued message: {e}")),
        };
        let message = match a2a_message(&mail) {
            Ok(m) => m,
            Err(e) => return permanent(format!("the queued message: {e}")),
        };
        let Some(up) = self.upstreams.get(agent) else {
            return retry("the agent is not configured".into());
        };
        let url = match self.upstreams.endpoint(&up, Binding::JsonRpc).await {
            Ok(u) => u,
            Err(e) => return retry(e.message.clone()),
        };
        let body = json!({
            "jsonrpc": "2.0", "id": entry.id.as_str(), "method": "SendMessage",
            "params": {"message": message},
        });
        let sender = mail.get("from").and_then(Value::as_str).unwrap_or_default();
        let mut req = warden_egress::Outbound::new(Method::POST, url, "proxy");
        req.headers = self.headers(agent, sender);
        req.body = Bytes::from(body.to_string());
        let resp = match self.upstreams.client().send(req).await {
            Ok(r) => r,
            Err(e) if e.is_refusal() => return permanent(format!("egress: {}", e.reason())),
            Err(e) => return retry(format!("{e} [{}]", e.reason())),
        };
        let status = resp.status();
        let answer = resp
            .bytes_capped(MAX_ANSWER_BYTES)
            .await
            .unwrap_or_default();
        outcome(status, &answer)
    }

    fn headers(&self, agent: &str, sender: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        h.insert("a2a-version", HeaderValue::from_static("1.0"));
        if self.config.auth.upstream_tokens && self.auth.mode == crate::config::AuthMode::Strict {
            // The sender is a registry agent of this Warden: `act.sub`, no
            // `act.iss` (the token's own issuer).
            let actor = warden_authority::Actor {
                subject: sender,
                issuer: "",
                scopes: &[],
            };
            let now = self.clock.now_unix();
            if let Some(token) = self.auth.authority.upstream_token(agent, actor, now)
                && let Ok(mut v) = HeaderValue::from_str(&format!("Bearer {token}"))
            {
                v.set_sensitive(true);
                h.insert(header::AUTHORIZATION, v);
            }
        }
        h
    }
}

/// What an agent's answer to a bridged `SendMessage` means.
pub fn outcome(status: http::StatusCode, answer: &[u8]) -> DeliveryOutcome {
    let code = status.as_u16();
    if status.is_success() {
        let v: Value = serde_json::from_slice(answer).unwrap_or(Value::Null);
        if v.get("result").is_some() {
            return DeliveryOutcome::Delivered;
        }
        let why = v
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or("an answer without a result");
        return DeliveryOutcome::Permanent {
            reason: format!("the agent refused the message: {why}"),
        };
    }
    match code {
        408 | 429 | 500..=599 => DeliveryOutcome::Retry {
            after: None,
            reason: format!("HTTP {code}"),
        },
        _ => DeliveryOutcome::Permanent {
            reason: format!("HTTP {code}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mail_message_becomes_an_a2a_message_naming_its_sender() {
        let mail = json!({
            "id": "msg_0123456789abcdef0123456789abcdef", "from": "alice", "to": "echo",
            "kind": "message", "topic": "builds", "thread": "msg_0123456789abcdef0123456789abcdef",
            "parts": [{"text": "hi"}], "created": "2026-12-07T19:00:00.000Z", "signature": "e..s",
            "readAt": null,
        });
        let m = a2a_message(&mail).expect("converts");
        assert_eq!(m["messageId"], mail["id"]);
        assert_eq!(m["role"], "ROLE_USER");
        assert_eq!(m["parts"], mail["parts"]);
        assert_eq!(m["metadata"]["wardenMail"]["from"], "alice");
        assert!(m["metadata"]["wardenMail"].get("readAt").is_none());

        let sealed = json!({"id": "msg_1", "from": "alice", "to": "echo", "sealed": "a..b.c.d"});
        let m = a2a_message(&sealed).expect("converts");
        assert_eq!(m["parts"][0]["mediaType"], "application/jose");
        assert!(a2a_message(&json!({"id": "msg_1"})).is_err());
    }

    #[test]
    fn answers_map_to_outcomes() {
        let ok = http::StatusCode::OK;
        assert!(matches!(
            outcome(ok, br#"{"result":{}}"#),
            DeliveryOutcome::Delivered
        ));
        assert!(matches!(
            outcome(ok, br#"{"error":{"code":-32602,"message":"no"}}"#),
            DeliveryOutcome::Permanent { .. }
        ));
        assert!(matches!(
            outcome(http::StatusCode::SERVICE_UNAVAILABLE, b""),
            DeliveryOutcome::Retry { .. }
        ));
        assert!(matches!(
            outcome(http::StatusCode::FORBIDDEN, b""),
            DeliveryOutcome::Permanent { .. }
        ));
    }
}
