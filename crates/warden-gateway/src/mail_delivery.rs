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
//! - [`routes`]: `PUT`/`GET`/`DELETE /mail/v1/webhook`, behind the
//!   mailbox's REST entry point.
//!
//! The mailbox hands each stored message to [`Queue`] (its `Delivery`
//! hook, whichever interface sent it: REST or MCP). A message is queued
//! before its sender is answered; an access request in the background (its
//! time must not tell that its recipient exists). A failure to queue is
//! logged and leaves the message in the inbox (pull still works).

pub mod bridge;
pub mod routed;
pub mod routes;
pub mod webhook;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use warden_mailbox::{BoxFuture, Delivery, Message, MessageKind};
use warden_store::Store;

use crate::clock::Clock;
use crate::config::{AgentMailbox, Config};

/// The outbox queue of an address (the entries' `task_id`): deliveries to
/// one recipient are attempted in order, and a dead receiver holds back
/// only its own.
pub fn queue_of(address: &str) -> String {
    format!("mailbox:{address}")
}

/// What the mailbox hands each stored message to ([`Delivery`]): it queues
/// the message for its recipient's webhook and, when the recipient is a
/// bridged agent, for the agent. It holds the store, the clock and the
/// bridged agents, not the gateway's state (which holds the mailbox).
#[derive(Clone)]
pub struct Queue {
    store: Store,
    clock: Arc<dyn Clock>,
    /// Bridged agents by name: their configured URL.
    bridged: Arc<HashMap<String, String>>,
    /// Addresses known to have no webhook (`webhook::Absent`).
    absent: Arc<webhook::Absent>,
}

impl Queue {
    pub fn new(config: &Config, store: Store, clock: Arc<dyn Clock>) -> Self {
        let bridged = config
            .agents
            .iter()
            .filter(|a| a.mailbox == AgentMailbox::Bridge)
            .map(|a| (a.name.clone(), a.url.clone()))
            .collect();
        Self {
            store,
            clock,
            bridged: Arc::new(bridged),
            absent: Arc::default(),
        }
    }

    fn now_ms(&self) -> i64 {
        i64::try_from(self.clock.now_unix_ms()).unwrap_or(i64::MAX)
    }

    /// Queues a stored message (its JSON, as `read` answers it).
    pub async fn message(&self, message: &Value) {
        let Some(to) = message.get("to").and_then(Value::as_str) else {
            return;
        };
        let body = serde_json::json!({"type": webhook::EVENT_TYPE, "message": message});
        if let Err(e) = webhook::enqueue(&self.store, &self.absent, self.now_ms(), to, &body).await
        {
            tracing::warn!(to, error = %e, "mailbox webhook: message not queued");
        }
        if let Some(url) = self.bridged.get(to)
            && let Err(e) = bridge::enqueue(&self.store, self.now_ms(), to, url, message).await
        {
            tracing::warn!(to, error = %e, "mailbox bridge: message not queued");
        }
    }
}

impl Delivery for Queue {
    fn stored<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let Ok(v) = serde_json::to_value(message) else {
                return;
            };
            match message.kind {
                // Sent under a grant: queued (durably) before the sender
                // is answered.
                MessageKind::Message => self.message(&v).await,
                // An access request is queued off the request's path, and
                // one to nobody arrives too (addressed to the store's void,
                // which has no webhook or bridge): the same work either way,
                // so the request's time does not tell whether its recipient
                // exists.
                MessageKind::AccessRequest => {
                    let q = self.clone();
                    tokio::spawn(async move { q.message(&v).await });
                }
            }
        })
    }
}
