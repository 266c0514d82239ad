//! Open SSE streams, so that a quarantine can close them: each relayed
//! stream registers its caller and agent and watches for a cut-off.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use warden_policy::ratelimit::StreamPermit;

type Entry = (String, String, watch::Sender<bool>);

/// A stream's place among its caller's open streams: counted by this
/// gateway, or by every gateway together (`[shared]`). Given back when
/// dropped.
#[derive(Debug)]
pub enum StreamSlot {
    Local(StreamPermit),
    Shared(crate::shared::SharedStreamPermit),
}

#[derive(Debug, Default)]
pub struct OpenStreams {
    next: AtomicU64,
    open: Mutex<HashMap<u64, Entry>>,
}

/// Held by a relayed stream for its lifetime: unregisters it, and releases
/// the caller's stream slot, when dropped.
#[derive(Debug)]
pub struct StreamGuard {
    id: u64,
    registry: Arc<OpenStreams>,
    cut: watch::Receiver<bool>,
    _slot: Option<StreamSlot>,
}

impl StreamGuard {
    /// Resolves when the stream must be closed (its caller or agent was
    /// quarantined).
    pub async fn cut_off(&mut self) {
        // An error means the sender is gone: the stream was unregistered,
        // which only happens when this guard drops; wait forever.
        if self.cut.wait_for(|cut| *cut).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if let Ok(mut open) = self.registry.open.lock() {
            open.remove(&self.id);
        }
    }
}

impl OpenStreams {
    pub fn register(
        self: &Arc<Self>,
        caller: &str,
        agent: &str,
        slot: Option<StreamSlot>,
    ) -> StreamGuard {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = watch::channel(false);
        if let Ok(mut open) = self.open.lock() {
            open.insert(id, (caller.to_string(), agent.to_string(), tx));
        }
        StreamGuard {
            id,
            registry: Arc::clone(self),
            cut: rx,
            _slot: slot,
        }
    }

    /// Closes every stream whose caller or agent is in `quarantined`;
    /// returns how many.
    pub fn cut_off(&self, quarantined: &HashSet<String>) -> usize {
        self.cut_off_where(|caller, agent| {
            quarantined.contains(caller) || quarantined.contains(agent)
        })
    }

    /// Closes every stream for which `doomed(caller, agent)` holds (not
    /// already closed); returns how many.
    pub fn cut_off_where(&self, mut doomed: impl FnMut(&str, &str) -> bool) -> usize {
        let Ok(open) = self.open.lock() else {
            return 0;
        };
        let mut n = 0;
        for (caller, agent, tx) in open.values() {
            if !*tx.borrow() && doomed(caller, agent) {
                let _ = tx.send(true);
                n += 1;
            }
        }
        n
    }

    pub fn len(&self) -> usize {
        self.open.lock().map(|o| o.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_quarantine_cuts_matching_streams_only() {
        let reg = Arc::new(OpenStreams::default());
        let mut a = reg.register("alice", "echo", None);
        let mut b = reg.register("bob", "pay", None);
        assert_eq!(reg.len(), 2);
        let q: HashSet<String> = ["pay".to_string()].into();
        assert_eq!(reg.cut_off(&q), 1);
        tokio::time::timeout(std::time::Duration::from_secs(1), b.cut_off())
            .await
            .expect("bob's stream is cut");
        let waited = tokio::time::timeout(std::time::Duration::from_millis(50), a.cut_off()).await;
        assert!(waited.is_err(), "alice's stream stays open");
        drop(b);
        assert_eq!(reg.len(), 1);
    }

    #[tokio::test]
    async fn streams_are_cut_by_any_rule_once() {
        let reg = Arc::new(OpenStreams::default());
        let mut a = reg.register("alice", "echo", None);
        let _b = reg.register("bob", "echo", None);
        assert_eq!(reg.cut_off_where(|caller, _| caller == "alice"), 1);
        tokio::time::timeout(std::time::Duration::from_secs(1), a.cut_off())
            .await
            .expect("alice's stream is cut");
        // Already cut: not counted again.
        assert_eq!(reg.cut_off_where(|caller, _| caller == "alice"), 0);
    }
}
