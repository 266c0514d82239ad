//! Opened subscriptions, kept for the deliverer: each delivery needs its
//! subscription's agent and caller (for the egress judgement), its `v1`
//! secret and the caller's credential headers. Reading the row and
//! unsealing it for every notification cost a store read (a trip to a
//! SQLite thread, or to PostgreSQL) and the unsealing's allocations per
//! delivery, all for the same few subscriptions.
//!
//! A subscription's row never changes in what a delivery uses (a replaced
//! config gets a new id; binding its task later does not matter here), so
//! the only news is its removal:
//!
//! - removals through this gateway (Delete, a replacing Create, the relay
//!   giving up on a subscription) move the store handle's counter
//!   (`Store::push_subscriptions_removed`), and the cache drops everything
//!   it holds at its next use;
//! - removals at another gateway on the same PostgreSQL are seen within
//!   [`TTL_MS`], the longest an entry is kept.
//!
//! The cache holds at most [`CAPACITY`] subscriptions (past it, the expired
//! go first, then everything). What it holds is secret: nothing of it is
//! printed (`Debug` says only the id), the header values are marked
//! sensitive.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use http::{HeaderName, HeaderValue};
use warden_store::{PushSubscription, Store, StoreError};
use warden_trust::seal::Kek;
use warden_webhooks::SubscriptionSecret;

use crate::clock::Clock;
use crate::push::secrets;

/// The longest an opened subscription is kept (milliseconds on the
/// gateway's clock).
pub const TTL_MS: u64 = 5_000;
/// The most subscriptions kept.
pub const CAPACITY: usize = 4_096;

/// What a delivery needs of its subscription, opened.
pub struct Opened {
    pub id: String,
    pub agent: String,
    pub owner: String,
    /// The `v1` secret.
    pub secret: SubscriptionSecret,
    /// The caller's registered credential, as headers (sensitive).
    pub credential: Vec<(HeaderName, HeaderValue)>,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Why a subscription could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("the subscription is gone")]
    Gone,
    /// The store did not answer: worth trying again.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Its sealed secrets or credential cannot be used: never will be.
    #[error("{0}")]
    Broken(String),
}

/// Opens a subscription's row.
pub fn open(kek: &Kek, sub: &PushSubscription) -> Result<Opened, OpenError> {
    let s = secrets::open(kek, &sub.id, &sub.sealed)
        .map_err(|e| OpenError::Broken(format!("the subscription's secrets: {e}")))?;
    let secret = SubscriptionSecret::parse(&s.secret)
        .map_err(|e| OpenError::Broken(format!("the subscription secret: {e}")))?;
    let registered = warden_webhooks::credential::Registered {
        token: s.token.as_deref(),
        scheme: s.scheme.as_deref(),
        credentials: s.credentials.as_deref(),
    }
    .headers()
    .map_err(|e| OpenError::Broken(format!("the registered credential: {e}")))?;
    let mut credential = Vec::with_capacity(registered.len());
    for (name, value) in registered {
        let mut v = HeaderValue::from_str(&value)
            .map_err(|_| OpenError::Broken(format!("header {name} cannot be sent")))?;
        v.set_sensitive(true);
        credential.push((HeaderName::from_static(name), v));
    }
    Ok(Opened {
        id: sub.id.clone(),
        agent: sub.agent.clone(),
        owner: sub.owner.clone(),
        secret,
        credential,
    })
}

/// The cache. Cheap to clone (shared).
#[derive(Clone)]
pub struct Subscriptions {
    store: Store,
    kek: Arc<Kek>,
    clock: Arc<dyn Clock>,
    held: Arc<Mutex<Held>>,
}

#[derive(Default)]
struct Held {
    /// `Store::push_subscriptions_removed` when the entries were opened.
    removed: u64,
    /// By id: the subscription, and when it was opened.
    by_id: HashMap<String, (Arc<Opened>, u64)>,
}

impl Subscriptions {
    pub fn new(store: Store, kek: Arc<Kek>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            kek,
            clock,
            held: Arc::default(),
        }
    }

    /// Subscription `id`, opened: from the cache when it holds it fresh,
    /// else read and unsealed now (and kept).
    pub async fn get(&self, id: &str) -> Result<Arc<Opened>, OpenError> {
        let removed = self.store.push_subscriptions_removed();
        let now = self.clock.now_unix_ms();
        if let Ok(mut held) = self.held.lock() {
            if held.removed != removed {
                held.by_id.clear();
                held.removed = removed;
            }
            if let Some((o, at)) = held.by_id.get(id)
                && now.saturating_sub(*at) < TTL_MS
            {
                return Ok(Arc::clone(o));
            }
        }
        let sub = self
            .store
            .push_subscription(id)
            .await?
            .ok_or(OpenError::Gone)?;
        let opened = Arc::new(open(&self.kek, &sub)?);
        if let Ok(mut held) = self.held.lock()
            // Not kept when one was removed meanwhile: it may be this one.
            && held.removed == removed
            && self.store.push_subscriptions_removed() == removed
        {
            if held.by_id.len() >= CAPACITY {
                held.by_id
                    .retain(|_, (_, at)| now.saturating_sub(*at) < TTL_MS);
                if held.by_id.len() >= CAPACITY {
                    held.by_id.clear();
                }
            }
            held.by_id
                .insert(id.to_string(), (Arc::clone(&opened), now));
        }
        Ok(opened)
    }

    /// How many are held (tests).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.held.lock().map(|h| h.by_id.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Instant;

    use super::*;
    use crate::push::secrets::Secrets;

    /// Milliseconds the test sets.
    #[derive(Debug, Default)]
    struct Ms(AtomicU64);

    impl Clock for Ms {
        fn now_unix(&self) -> u64 {
            self.0.load(Ordering::Relaxed) / 1000
        }
        fn now_instant(&self) -> Instant {
            Instant::now()
        }
        fn now_rfc3339(&self) -> String {
            String::new()
        }
        fn now_unix_ms(&self) -> u64 {
            self.0.load(Ordering::Relaxed)
        }
    }

    async fn put(store: &Store, kek: &Kek, id: &str, config: &str) {
        let s = Secrets {
            token: Some("caller-token".into()),
            scheme: Some("Bearer".into()),
            credentials: Some("caller-credentials".into()),
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
        };
        let sub = PushSubscription {
            id: id.into(),
            agent: "agent".into(),
            owner: "caller".into(),
            task_id: Some("t1".into()),
            config_id: config.into(),
            url: "https://hooks.example/in".into(),
            config: "{}".into(),
            sealed: secrets::seal(kek, id, &s).expect("seal"),
            relay_hash: secrets::relay_hash("relay"),
            created_ms: 0,
        };
        store.push_subscription_put(&sub).await.expect("put");
    }

    #[tokio::test]
    async fn opened_subscriptions_are_kept_until_removed_or_expired() {
        let store = Store::open_in_memory().await.expect("store");
        let kek = Arc::new(Kek::from_text(&Kek::generate_text().expect("kek")).expect("kek"));
        let clock = Arc::new(Ms::default());
        let cache = Subscriptions::new(store.clone(), Arc::clone(&kek), clock.clone());
        put(&store, &kek, "sub_a", "c1").await;
        put(&store, &kek, "sub_b", "c2").await;

        let a = cache.get("sub_a").await.expect("open");
        assert_eq!((a.agent.as_str(), a.owner.as_str()), ("agent", "caller"));
        let names: Vec<&str> = a.credential.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["authorization", "x-a2a-notification-token"]);
        assert!(a.credential.iter().all(|(_, v)| v.is_sensitive()));
        // Nothing secret in its Debug form.
        let shown = format!("{a:?}");
        assert!(
            !shown.contains("caller-") && !shown.contains("whsec_"),
            "{shown}"
        );

        // Kept: the same opened subscription while fresh.
        assert!(Arc::ptr_eq(&a, &cache.get("sub_a").await.expect("kept")));
        cache.get("sub_b").await.expect("open");
        assert_eq!(cache.len(), 2);

        // Past the TTL it is read again (a removal at another gateway).
        clock.0.store(TTL_MS, Ordering::Relaxed);
        let again = cache.get("sub_a").await.expect("read again");
        assert!(!Arc::ptr_eq(&a, &again));

        // A removal through this store handle drops what is held at once.
        assert!(
            store
                .push_subscription_delete("sub_a")
                .await
                .expect("delete")
        );
        assert!(matches!(cache.get("sub_a").await, Err(OpenError::Gone)));
        assert_eq!(cache.len(), 0, "everything was dropped");
        // So does a replacement (a new id for the same config): the old
        // one is gone, the other still opens.
        put(&store, &kek, "sub_c", "c2").await;
        assert!(matches!(cache.get("sub_b").await, Err(OpenError::Gone)));
        cache.get("sub_c").await.expect("the replacement opens");

        // Sealed under another KEK: broken, never tried again.
        let other = Kek::from_text(&Kek::generate_text().expect("kek")).expect("kek");
        put(&store, &other, "sub_d", "c3").await;
        assert!(matches!(
            cache.get("sub_d").await,
            Err(OpenError::Broken(_))
        ));
    }
}
