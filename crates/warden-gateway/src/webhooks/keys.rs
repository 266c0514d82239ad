//! The sending Warden's public keys a receiver trusts: a JWKS read from a
//! file at start, or fetched from a URL through the egress rules and kept
//! for a while.
//!
//! A fetched JWKS is used for `jwks_refresh_secs`, then fetched again; a
//! failed fetch keeps the keys already held (logged). A notification
//! signed by a key not in the set fetches it sooner (a rotation), but not
//! more than once a minute: notifications are unauthenticated input, and
//! must not make Warden hammer the sender's JWKS. Fetches are one at a time.

use std::sync::Arc;

use tokio::sync::Mutex;
use warden_trust::KeySet;

/// The shortest time between two fetches (an unknown key, or after a
/// failure).
const MIN_FETCH_INTERVAL_SECS: u64 = 60;

pub enum KeySource {
    /// Read once, at start.
    Fixed(Arc<KeySet>),
    Fetched(Fetched),
}

pub struct Fetched {
    url: String,
    egress: warden_egress::Egress,
    refresh_secs: u64,
    held: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    keys: Option<Arc<KeySet>>,
    /// When the keys held were fetched.
    fetched_at: u64,
    /// When a fetch was last tried (whatever came of it).
    tried_at: Option<u64>,
}

/// Why there are no keys to verify with.
#[derive(Debug, thiserror::Error)]
#[error("the sender's JWKS ({url}) could not be fetched: {why}")]
pub struct KeysUnavailable {
    pub url: String,
    pub why: String,
}

impl KeySource {
    pub fn fetched(url: String, egress: warden_egress::Egress, refresh_secs: u64) -> Self {
        Self::Fetched(Fetched {
            url,
            egress,
            refresh_secs,
            held: Mutex::new(Held::default()),
        })
    }

    /// The keys to verify with at `now`.
    pub async fn current(&self, now: u64) -> Result<Arc<KeySet>, KeysUnavailable> {
        match self {
            Self::Fixed(k) => Ok(Arc::clone(k)),
            Self::Fetched(f) => f.current(now).await,
        }
    }

    /// A notification named a key not in the set: the keys fetched anew,
    /// when that is allowed now and gives another set.
    pub async fn after_unknown_key(&self, now: u64) -> Option<Arc<KeySet>> {
        match self {
            Self::Fixed(_) => None,
            Self::Fetched(f) => f.refetch(now).await,
        }
    }
}

impl Fetched {
    async fn current(&self, now: u64) -> Result<Arc<KeySet>, KeysUnavailable> {
        let mut held = self.held.lock().await;
        let fresh = held
            .keys
            .as_ref()
            .filter(|_| now < held.fetched_at.saturating_add(self.refresh_secs))
            .cloned();
        if let Some(k) = fresh {
            return Ok(k);
        }
        if !may_try(&held, now) {
            return held
                .keys
                .clone()
                .ok_or_else(|| self.unavailable("fetched too recently after a failure".into()));
        }
        match self.fetch(&mut held, now).await {
            Ok(k) => Ok(k),
            Err(why) => match held.keys.clone() {
                // Stale keys are still the sender's keys: better than none.
                Some(k) => Ok(k),
                None => Err(self.unavailable(why)),
            },
        }
    }

    async fn refetch(&self, now: u64) -> Option<Arc<KeySet>> {
        let mut held = self.held.lock().await;
        if !may_try(&held, now) {
            return None;
        }
        let before = held.keys.clone();
        let got = self.fetch(&mut held, now).await.ok()?;
        let same = before.is_some_and(|b| b.to_jwks() == got.to_jwks());
        (!same).then_some(got)
    }

    async fn fetch(&self, held: &mut Held, now: u64) -> Result<Arc<KeySet>, String> {
        held.tried_at = Some(now);
        match warden_client::webhooks::fetch_jwks(&self.egress, &self.url).await {
            Ok(keys) => {
                let keys = Arc::new(keys);
                held.keys = Some(Arc::clone(&keys));
                held.fetched_at = now;
                Ok(keys)
            }
            Err(e) => {
                tracing::warn!(url = %self.url, error = %e, "webhook receiver: the sender's JWKS could not be fetched");
                Err(e.to_string())
            }
        }
    }

    fn unavailable(&self, why: String) -> KeysUnavailable {
        KeysUnavailable {
            url: self.url.clone(),
            why,
        }
    }
}

fn may_try(held: &Held, now: u64) -> bool {
    held.tried_at
        .is_none_or(|t| now >= t.saturating_add(MIN_FETCH_INTERVAL_SECS))
}
