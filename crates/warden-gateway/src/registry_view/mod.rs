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

mod snapshot;

use std::sync::{Arc, RwLock};

use warden_store::{Store, StoreError};

pub use snapshot::{Snapshot, grant_of};

pub struct RegistryView {
    store: Store,
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
    pub async fn load(store: Store) -> Result<Self, StoreError> {
        let generation = store.authz_generation().await?;
        let snapshot = Snapshot::load(&store, generation).await?;
        Ok(Self {
            store,
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

    /// The snapshot for a call: the one in force unless the change signal
    /// says the store moved, in which case the store is asked and, when it
    /// did move, reloaded first.
    pub async fn fresh(&self) -> Result<Arc<Snapshot>, StoreError> {
        let now = self.current();
        if self.store.announced_generation() == now.generation {
            return Ok(now);
        }
        self.poll().await?;
        Ok(self.current())
    }

    /// Asks the store for its generation and reloads when it moved (the
    /// watcher's check, and a call's after the signal moved). True when a
    /// new snapshot was put in force.
    pub async fn poll(&self) -> Result<bool, StoreError> {
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
        let view = RegistryView::load(gateway).await.expect("view");
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
}
