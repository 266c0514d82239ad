//! One delivery attempt of an outbox entry to the caller's webhook.
//!
//! The destination is judged again now, by the egress rules, with a fresh
//! lookup: a name that resolved to a public address at registration and to
//! a private one now is refused (and the connection itself only goes to an
//! address the rules admitted, the egress resolver's guard). Redirects are
//! never followed; the answer's body is read within a small cap and thrown
//! away; the whole attempt is bounded by the egress timeouts.
//!
//! Each attempt is signed afresh (its own `webhook-timestamp`, the entry's
//! stable `webhook-id`): Standard Webhooks `v1` with the subscription's
//! secret and `v1a` with Warden's webhook key, Warden's JWT with `aud` =
//! the URL, plus the credential the caller registered (`Authorization`,
//! `X-A2A-Notification-Token`).
//!
//! Outcomes: any 2xx is delivered; 408, 429, 5xx, a connection failure, a
//! timeout or a failed lookup is tried again (`Retry-After` honoured when it gives seconds); a
//! redirect, any other 4xx, an egress refusal, or a subscription that is
//! gone or cannot be opened is permanent.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use warden_authority::KeyRing;
use warden_egress::Outbound;
use warden_store::{OutboxEntry, Store};
use warden_trust::seal::Kek;
use warden_webhooks::{Notification, Signer};

use super::destination::{DestinationError, Destinations};
use super::outbox::{Deliver, DeliveryOutcome};
use crate::clock::Clock;

/// The most of a receiver's answer that is read (and discarded).
const MAX_ANSWER_BYTES: u64 = 64 * 1024;
/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Delivers outbox entries. Cheap to clone.
#[derive(Clone)]
pub struct Deliverer {
    subscriptions: opened::Subscriptions,
    destinations: Destinations,
    keys: Arc<KeyRing>,
    signer: Signer,
    clock: Arc<dyn Clock>,
}

impl Deliverer {
    pub fn new(
        store: Store,
        kek: Arc<Kek>,
        destinations: Destinations,
        keys: Arc<KeyRing>,
        issuer: &str,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            subscriptions: opened::Subscriptions::new(store, kek, Arc::clone(&clock)),
            destinations,
            keys,
            signer: Signer::new(issuer),
            clock,
        }
    }

    /// The gateway's deliverer.
    pub fn of(state: &crate::state::GatewayState) -> Self {
        Self::new(
            state.store.clone(),
            Arc::clone(&state.push_kek),
            Destinations::new(state.egress.clone(), state.config.message_urls.clone()),
            Arc::clone(&state.auth.authority.keys),
            &state.auth.authority.issuer,
            Arc::clone(&state.clock),
        )
    }

    /// One attempt at `entry`.
    pub async fn attempt(&self, entry: &OutboxEntry) -> DeliveryOutcome {
        let permanent = |reason: String| DeliveryOutcome::Permanent { reason };
        let sub = match self.subscriptions.get(&entry.subscription_id).await {
            Ok(s) => s,
            Err(e @ opened::OpenError::Store(_)) => {
                return DeliveryOutcome::Retry {
                    after: None,
                    reason: e.to_string(),
                };
            }
            Err(e) => return permanent(e.to_string()),
        };
        // Judged again now: DNS may have changed since registration.
        let client = match self
            .destinations
            .client(&entry.destination, &sub.agent, &sub.owner)
            .await
        {
            Ok(c) => c,
            // A lookup that failed may pass (the name's servers are down):
            // tried again, until the horizon.
            Err(DestinationError::Refused(e))
                if !e.is_refusal() || matches!(e, warden_egress::EgressError::Dns { .. }) =>
            {
                return DeliveryOutcome::Retry {
                    after: None,
                    reason: format!("egress: {}", e.reason()),
                };
            }
            Err(e) => return permanent(e.to_string()),
        };
        let headers = match self.headers(entry, &sub) {
            Ok(h) => h,
            Err(e) => return e,
        };
        let mut req = Outbound::new(Method::POST, entry.destination.clone(), "push");
        req.headers = headers;
        req.body = Bytes::from(entry.body.clone());
        // A redirect is an answer, and a permanent one: never followed.
        req.pass_redirects = true;
        let resp = match client.send(req).await {
            Ok(r) => r,
            Err(e) if e.is_refusal() => return permanent(format!("egress: {}", e.reason())),
            Err(e) => {
                return DeliveryOutcome::Retry {
                    after: None,
                    reason: format!("{}: {e}", e.reason()),
                };
            }
        };
        let status = resp.status();
        let after = retry_after(resp.headers());
        // Read (within the cap) so the connection can be used again.
        let _ = resp.bytes_capped(MAX_ANSWER_BYTES).await;
        outcome(status, after)
    }

    fn headers(
        &self,
        entry: &OutboxEntry,
        sub: &opened::Opened,
    ) -> Result<HeaderMap, DeliveryOutcome> {
        let permanent = |reason: String| DeliveryOutcome::Permanent { reason };
        let key = self
            .keys
            .webhook_signing_key()
            .ok_or(DeliveryOutcome::Retry {
                after: None,
                reason: "no webhook signing key".into(),
            })?;
        let n = Notification {
            id: entry.id.as_str(),
            body: &entry.body,
            url: &entry.destination,
            task_id: &entry.task_id,
        };
        let signed = self
            .signer
            .sign(
                &n,
                std::slice::from_ref(&sub.secret),
                &key,
                self.clock.now_unix(),
            )
            .map_err(|e| permanent(format!("signing: {e}")))?;
        let mut map = HeaderMap::with_capacity(signed.len() + sub.credential.len() + 1);
        // A2A stream responses, except for a pseudo-agent's subscription
        // (`@…`, never a gateway agent's name): the mailbox's webhooks post
        // plain JSON (mail_delivery).
        let media = if sub.agent.starts_with('@') {
            "application/json"
        } else {
            "application/a2a+json"
        };
        map.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
        for (name, value) in signed {
            let v = HeaderValue::try_from(value)
                .map_err(|_| permanent(format!("header {name} cannot be sent")))?;
            map.insert(HeaderName::from_static(name), v);
        }
        for (name, value) in &sub.credential {
            map.insert(name.clone(), value.clone());
        }
        Ok(map)
    }
}

/// Starts the gateway's delivery worker on its store, with this
/// deliverer. The worker runs as long as the runtime does.
pub fn start(state: &crate::state::GatewayState) -> super::outbox::OutboxHandle {
    super::outbox::Outbox::start(
        state.store.clone(),
        super::outbox::Settings::of(&state.config.push),
        Arc::clone(&state.clock),
        state.metrics.push.clone(),
        Arc::new(Deliverer::of(state)),
    )
}

impl Deliver for Deliverer {
    async fn deliver(&self, entry: &OutboxEntry) -> DeliveryOutcome {
        self.attempt(entry).await
    }
}

/// What a receiver's status means.
pub fn outcome(status: StatusCode, after: Option<Duration>) -> DeliveryOutcome {
    let code = status.as_u16();
    match code {
        200..=299 => DeliveryOutcome::Delivered,
        408 | 429 | 500..=599 => DeliveryOutcome::Retry {
            after,
            reason: format!("HTTP {code}"),
        },
        300..=399 => DeliveryOutcome::Permanent {
            reason: format!("HTTP {code} (redirects are not followed)"),
        },
        _ => DeliveryOutcome::Permanent {
            reason: format!("HTTP {code}"),
        },
    }
}

/// `Retry-After` in seconds (an HTTP date is not honoured: the backoff
/// applies), at most an hour.
fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let secs: u64 = h
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

mod opened;

#[cfg(test)]
mod tests;
