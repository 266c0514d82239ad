//! What request decisions read from the registry — grants, quarantine,
//! registered agents, API keys — held in memory as one [`Snapshot`] and
//! swapped whole when the store changes. The request path never queries the
//! store for them.
//!
//! Freshness: every change to these (admin API, CLI, another process on the
//! same file) bumps the store's generation inside its transaction and
//! announces it through the change signal, which [`RegistryView::fresh`]
//! reads on every call (8 bytes from the page cache, no query). A call that
//! arrives after a change was committed finds the signal moved, confirms it
//! with one query, and waits for the reload: a revoke holds from the next
//! call. Calls that find the signal unchanged never touch the store. A
//! watcher also polls the store itself (`authz.poll_interval_ms`), in case
//! the signal file could not be written.
//!
//! Each poll that the store answers confirms the snapshot; while it does
//! not answer, the snapshot is served until it is older than
//! `store.max_stale_secs` ([`StoreHealth`]), then refused.

mod snapshot;

use std::sync::{Arc, RwLock};
use std::time::Instant;

use warden_store::{Store, StoreError};

use crate::store_health::{Stale, StoreHealth};

pub use snapshot::{Snapshot, grant_of};

/// The snapshot a call has read already ([`RegistryView::fresh`]), handed
/// to its later steps so that one call reads the change signal once: an
/// API-key call's authentication reads it, and its admission uses the same
/// snapshot. A change committed after that read holds from the next call,
/// as one committed while the call runs always did.
pub type Seen = std::sync::OnceLock<Arc<Snapshot>>;

/// Why no snapshot can be used for a call.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// The store was asked (the change signal moved) and did not answer.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store has not confirmed the snapshot for too long.
    #[error(transparent)]
    Stale(#[from] Stale),
}

pub struct RegistryView {
    store: Store,
    health: Arc<StoreHealth>,
    current: RwLock<Arc<Snapshot>>,
    /// One reload at a time; callers that wait for it share its result.
    reload: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for RegistryView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryView")
            .field("generation", &self.current().generation)
            .finish_non_exhaustive()
    }
}

impl RegistryView {
    pub async fn load(store: Store, health: Arc<StoreHealth>) -> Result<Self, StoreError> {
        let started = Instant::now();
        let generation = store.authz_generation().await?;
        let snapshot = Snapshot::load(&store, generation).await?;
        health.confirmed(started);
        Ok(Self {
            store,
            health,
            current: RwLock::new(Arc::new(snapshot)),
            reload: tokio::sync::Mutex::new(()),
        })
    }

    /// The snapshot in force, without checking for changes.
    pub fn current(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .map(|s| Arc::clone(&s))
            .unwrap_or_else(|poisoned| Arc::clone(&poisoned.into_inner()))
    }

    pub fn health(&self) -> &Arc<StoreHealth> {
        &self.health
    }

    /// The snapshot for a call: the one in force unless the change signal
    /// says the store moved, in which case the store is asked and, when it
    /// did move, reloaded first. Refused once the store has not confirmed
    /// it for longer than `store.max_stale_secs`.
    pub async fn fresh(&self) -> Result<Arc<Snapshot>, ViewError> {
        self.health.fresh_enough()?;
        let now = self.current();
        if self.store.announced_generation() == now.generation {
            return Ok(now);
        }
        self.poll().await?;
        Ok(self.current())
    }

    /// Asks the store for its generation and reloads when it moved (the
    /// watcher's check, and a call's after the signal moved). True when a
    /// new snapshot was put in force. An answer confirms the snapshot; a
    /// failure to reach the store is reported to its health.
    pub async fn poll(&self) -> Result<bool, StoreError> {
        let started = Instant::now();
        let polled = self.reload_if_moved().await;
        match &polled {
            Ok(_) => self.health.confirmed(started),
            Err(e) => self.health.failed(e),
        }
        polled
    }

    async fn reload_if_moved(&self) -> Result<bool, StoreError> {
        let generation = self.store.authz_generation().await?;
        if generation == self.current().generation {
            return Ok(false);
        }
        let _one = self.reload.lock().await;
        if generation == self.current().generation {
            // Reloaded by the call that held the lock before us.
            return Ok(false);
        }
        let fresh = Arc::new(Snapshot::load(&self.store, generation).await?);
        if let Ok(mut s) = self.current.write() {
            *s = fresh;
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_store::ApiKeyRecord;

    fn key(id: &str) -> ApiKeyRecord {
        ApiKeyRecord {
            id: id.into(),
            subject: "alice".into(),
            hash: vec![0; 32],
            created_at: "2026-01-01T00:00:00.000Z".into(),
            expires_at: None,
            revoked_at: None,
            last_used_at: None,
        }
    }

    /// The CLI (another process: here another handle on the same file)
    /// revokes a key; the gateway's very next look sees it, with no poll.
    #[tokio::test]
    async fn a_revoke_elsewhere_holds_from_the_next_call() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("warden.db");
        let gateway = Store::open(&path).await.expect("gateway store");
        let cli = Store::open(&path).await.expect("cli store");
        cli.put_api_key(&key("k1")).await.expect("create");
        let health = Arc::new(StoreHealth::new(
            std::time::Duration::from_secs(30),
            &crate::metrics::Metrics::new(),
        ));
        let view = RegistryView::load(gateway, health).await.expect("view");
        assert!(view.current().api_key("k1").is_some());
        let before = view.current().generation;

        cli.revoke_api_key("k1", "2026-01-02T00:00:00.000Z")
            .await
            .expect("revoke");
        // The snapshot in force is stale until a call looks...
        assert!(
            view.current()
                .api_key("k1")
                .is_some_and(|k| k.revoked_at.is_none())
        );
        // ...and the next call's look reloads it.
        let fresh = view.fresh().await.expect("fresh");
        assert!(fresh.api_key("k1").is_some_and(|k| k.revoked_at.is_some()));
        assert_ne!(fresh.generation, before);
        // Without a change, a look reuses the snapshot (same allocation).
        let again = view.fresh().await.expect("again");
        assert!(Arc::ptr_eq(&fresh, &again));
    }

    /// A snapshot the store has not confirmed for longer than the bound is
    /// refused; the next poll the store answers serves it again.
    #[tokio::test]
    async fn a_snapshot_older_than_the_bound_is_refused_until_confirmed() {
        let store = Store::open_in_memory().await.expect("store");
        store.put_api_key(&key("k1")).await.expect("create");
        let health = Arc::new(StoreHealth::new(
            std::time::Duration::from_secs(30),
            &crate::metrics::Metrics::new(),
        ));
        let view = RegistryView::load(store, health.clone())
            .await
            .expect("view");
        health.skew(std::time::Duration::from_secs(29));
        assert!(view.fresh().await.is_ok(), "within the bound");
        health.skew(std::time::Duration::from_secs(2));
        assert!(matches!(view.fresh().await, Err(ViewError::Stale(_))));
        view.poll().await.expect("the store answers");
        let snapshot = view.fresh().await.expect("confirmed again");
        assert!(snapshot.api_key("k1").is_some());
    }
}
