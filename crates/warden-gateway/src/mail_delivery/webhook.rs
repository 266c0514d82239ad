//! A recipient's webhook: where Warden posts each new message for it.
//!
//! One per address. Registering replaces the previous one (its pending
//! deliveries die with it: they name a subscription that is gone) and
//! answers a fresh `whsec_` secret, shown that once. The registration is a
//! push subscription of [`WEBHOOK_AGENT`] for the queue [`super::queue_of`]
//! of the address, so the push deliverer opens, signs and posts it as any
//! other; its `agent` and `owner` (the address) are what
//! `[[message_urls.allow]]` entries of kind `push` match.

use serde_json::{Value, json};
use warden_store::{NewNotification, PushSubscription, Store, StoreError};

use crate::push::destination;
use crate::push::secrets::{self, Secrets};
use crate::state::GatewayState;

/// The `agent` of every mailbox webhook subscription: not a valid agent
/// name, so no gateway agent's subscriptions mix with them.
pub const WEBHOOK_AGENT: &str = "@mailbox";
/// The `config_id` of a mailbox webhook subscription.
const CONFIG_ID: &str = "mailbox-webhook";
/// The `type` of a delivered message's JSON.
pub const EVENT_TYPE: &str = "mail.message";
/// The longest webhook URL accepted.
const MAX_URL_BYTES: usize = 2048;

/// Why a webhook was not registered.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The URL is unusable or the egress rules refuse it (the reason code).
    #[error("the webhook URL is refused: {0}")]
    Url(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("secrets: {0}")]
    Secrets(#[from] secrets::SecretsError),
}

/// A registered webhook.
#[derive(Clone, PartialEq, Eq)]
pub struct Registered {
    pub url: String,
    /// The `whsec_…` secret receivers verify `v1` signatures with: in the
    /// registration's answer only.
    pub secret: String,
    /// When the webhook was registered (Unix milliseconds).
    pub created_ms: i64,
}

impl std::fmt::Debug for Registered {
    // Never the secret, even in a debug print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registered")
            .field("url", &self.url)
            .field("created_ms", &self.created_ms)
            .finish_non_exhaustive()
    }
}

impl Registered {
    /// The JSON answer of a registration (the only one with the secret).
    pub fn to_json(&self) -> Value {
        json!({"url": self.url, "secret": self.secret, "eventType": EVENT_TYPE})
    }
}

/// Registers `url` as `address`'s webhook, replacing any before it.
pub async fn register(
    state: &GatewayState,
    address: &str,
    url: &str,
) -> Result<Registered, WebhookError> {
    if url.len() > MAX_URL_BYTES {
        return Err(WebhookError::Url(format!(
            "longer than {MAX_URL_BYTES} bytes"
        )));
    }
    // Judged as every delivery will be (the name looked up now).
    destination::judge(
        &state.egress,
        &state.config.message_urls,
        url,
        WEBHOOK_AGENT,
        address,
    )
    .await
    .map_err(|e| WebhookError::Url(e.reason().to_string()))?;
    let id = secrets::new_subscription_id();
    let secret = warden_webhooks::SubscriptionSecret::generate()
        .map_err(|_| secrets::SecretsError::Random)?
        .to_whsec();
    let sealed = secrets::seal(
        &state.push_kek,
        &id,
        &Secrets {
            token: None,
            scheme: None,
            credentials: None,
            secret: secret.clone(),
        },
    )?;
    let created_ms = i64::try_from(state.clock.now_unix_ms()).unwrap_or(i64::MAX);
    // No agent posts to a mailbox subscription: its relay token is a
    // random one nobody is given.
    let relay = secrets::new_relay_token()?;
    state
        .store
        .push_subscription_put(&PushSubscription {
            id,
            agent: WEBHOOK_AGENT.into(),
            owner: address.into(),
            task_id: Some(super::queue_of(address)),
            config_id: CONFIG_ID.into(),
            url: url.into(),
            config: json!({"url": url}).to_string(),
            sealed,
            relay_hash: secrets::relay_hash(&relay),
            created_ms,
        })
        .await?;
    // Every gateway forgets which addresses had no webhook ([`Absent`]).
    state.store.announce_change().await?;
    Ok(Registered {
        url: url.into(),
        secret,
        created_ms,
    })
}

/// `address`'s webhook URL, if it has one.
pub async fn current(state: &GatewayState, address: &str) -> Result<Option<String>, StoreError> {
    Ok(of(state, address).await?.into_iter().next().map(|s| s.url))
}

/// Removes `address`'s webhook; whether there was one.
pub async fn remove(state: &GatewayState, address: &str) -> Result<bool, StoreError> {
    let mut removed = false;
    for s in of(state, address).await? {
        removed |= state.store.push_subscription_delete(&s.id).await?;
    }
    if removed {
        state.store.announce_change().await?;
    }
    Ok(removed)
}

async fn of(state: &GatewayState, address: &str) -> Result<Vec<PushSubscription>, StoreError> {
    of_store(&state.store, address).await
}

async fn of_store(store: &Store, address: &str) -> Result<Vec<PushSubscription>, StoreError> {
    let subs = store
        .push_subscriptions_of_task(WEBHOOK_AGENT, &super::queue_of(address))
        .await?;
    Ok(subs
        .into_iter()
        .filter(|s| s.owner == address && s.config_id == CONFIG_ID)
        .collect())
}

/// Queues `body` for `address`'s webhook, if it has one (`absent`
/// remembers the addresses found without one).
pub async fn enqueue(
    store: &Store,
    absent: &Absent,
    now_ms: i64,
    address: &str,
    body: &Value,
) -> Result<(), StoreError> {
    // Read before the lookup: a registration after it moves the generation,
    // so what this lookup finds is never remembered past it.
    let generation = store.announced_generation();
    if absent.knows(store, generation, address) {
        return Ok(());
    }
    let subs = of_store(store, address).await?;
    if subs.is_empty() {
        absent.remember(generation, address);
        return Ok(());
    }
    let bytes = serde_json::to_vec(body).map_err(|e| StoreError::Io(e.to_string()))?;
    for s in subs {
        store
            .outbox_enqueue(&NewNotification {
                subscription_id: s.id,
                task_id: super::queue_of(address),
                destination: s.url,
                body: bytes.clone(),
                created_ms: now_ms,
            })
            .await?;
    }
    Ok(())
}

/// The addresses found without a webhook, so that a message to one of them
/// (nearly every message) does not ask the store again: that lookup was a
/// tenth of a send's CPU (issue 16's profile). Valid while the store's
/// generation stays where it was when the lookup started: registering or
/// removing a webhook moves it ([`Store::announce_change`]), in this
/// process or another on the same database file, which reads it from the
/// change signal without a query.
///
/// SQLite only. There the signal is written before the change's commit
/// and read by every process on the file, so no lookup is remembered past
/// a registration. On PostgreSQL the generation of another gateway arrives
/// by a notification a moment after its commit, so a message sent
/// meanwhile could miss a new webhook: every message asks the store there.
#[derive(Debug, Default)]
pub struct Absent {
    seen: std::sync::Mutex<(i64, std::collections::HashSet<String>)>,
}

/// Most addresses remembered (then forgotten all at once).
const MAX_ABSENT: usize = 10_000;

impl Absent {
    /// Whether `address` was found without a webhook at `generation`.
    fn knows(&self, store: &Store, generation: i64, address: &str) -> bool {
        store.change_listener_up().is_none()
            && self
                .seen
                .lock()
                .is_ok_and(|seen| seen.0 == generation && seen.1.contains(address))
    }

    /// `address` had no webhook in a lookup started at `generation`.
    fn remember(&self, generation: i64, address: &str) {
        let Ok(mut seen) = self.seen.lock() else {
            return;
        };
        if seen.0 != generation || seen.1.len() >= MAX_ABSENT {
            seen.1.clear();
            seen.0 = generation;
        }
        seen.1.insert(address.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_address_without_a_webhook_is_remembered_until_the_generation_moves() {
        let store = Store::open_in_memory().await.expect("store");
        let absent = Absent::default();
        let g = store.announced_generation();
        assert!(!absent.knows(&store, g, "bob"));
        absent.remember(g, "bob");
        assert!(absent.knows(&store, g, "bob"));
        assert!(!absent.knows(&store, g, "carol"));
        // A registration (here or in another process) moves it.
        store.announce_change().await.expect("announce");
        let moved = store.announced_generation();
        assert_ne!(moved, g);
        assert!(!absent.knows(&store, moved, "bob"));
        // A lookup that started before the move is not remembered after it.
        absent.remember(g, "carol");
        assert!(!absent.knows(&store, moved, "carol"));
    }
}
