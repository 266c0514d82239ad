//! Mailbox messages delivered beyond the inbox (issue 16, docs/mailbox.md,
//! "Webhooks" and "Bridge to A2A agents"), both through the push relay's
//! durable outbox — the same claims, retries, order, circuit breakers and
//! dead letters as push notifications, nothing copied:
//!
//! - [`webhook`]: a recipient registers a URL; each new message is posted
//!   there signed as push notifications are (Standard Webhooks `v1` with
//!   the registration's `whsec_` secret, `v1a` and Warden's JWT with its
//!   webhook key), the URL judged by the egress rules at registration and
//!   at every attempt. The registration is kept as a push subscription of
//!   the pseudo-agent [`webhook::WEBHOOK_AGENT`], its secret sealed under
//!   the key-encryption key.
//! - [`bridge`]: a gateway agent with `mailbox = "bridge"` receives each
//!   message to its address as an A2A v1.0 `SendMessage`, with Warden's
//!   upstream token naming the sender (`act.sub`), as the proxy names a
//!   caller.
//! - [`routed`]: the outbox worker's deliverer, sending each entry to the
//!   push deliverer or the bridge.
//!
//! Each message is queued once the mailbox stored it ([`stored`]), before
//! the sender is answered; a failure to queue is logged and leaves the
//! message in the inbox (pull still works).

pub mod bridge;
pub mod routed;
pub mod webhook;

use serde_json::Value;

use crate::state::GatewayState;

/// The outbox queue of an address (the entries' `task_id`): deliveries to
/// one recipient are attempted in order, and a dead receiver holds back
/// only its own.
pub fn queue_of(address: &str) -> String {
    format!("mailbox:{address}")
}

/// Queues a message the mailbox stored (its JSON, as `read` answers it)
/// for its recipient's webhook and, when the recipient is a bridged
/// agent, for the agent.
pub async fn stored(state: &GatewayState, message: &Value) {
    let Some(to) = message.get("to").and_then(Value::as_str) else {
        return;
    };
    let body = serde_json::json!({"type": webhook::EVENT_TYPE, "message": message});
    if let Err(e) = webhook::enqueue(state, to, &body).await {
        tracing::warn!(to, error = %e, "mailbox webhook: message not queued");
    }
    if bridge::is_bridged(state, to)
        && let Err(e) = bridge::enqueue(state, to, message).await
    {
        tracing::warn!(to, error = %e, "mailbox bridge: message not queued");
    }
}
