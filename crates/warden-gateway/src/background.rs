//! What [`crate::state::GatewayState`] keeps of the gateway's background
//! work: the push delivery worker, to stop it with the gateway, and the
//! book of tasks this gateway follows for agents without push.
//!
//! They live here, not in [`crate::push`], because the state holds them
//! and `push` reads the state: the state may not depend on `push` back
//! (the module graph is a DAG: `tests/module_graph.rs`).

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;

/// A background task that stops when asked, giving what it is doing
/// `grace` to finish (the push worker: `push::outbox::OutboxHandle`).
pub trait Stoppable: Send {
    fn stop_within(self: Box<Self>, grace: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// Where a gateway keeps its push delivery worker, so that stopping the
/// gateway can stop it ([`WorkerSlot::stop_within`]).
#[derive(Default)]
pub struct WorkerSlot(Mutex<Option<Box<dyn Stoppable>>>);

impl std::fmt::Debug for WorkerSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held = self.0.lock().map(|w| w.is_some()).unwrap_or(false);
        f.debug_struct("WorkerSlot").field("held", &held).finish()
    }
}

impl WorkerSlot {
    /// Keeps `worker` (one that was kept before runs on, detached).
    pub fn hold(&self, worker: impl Stoppable + 'static) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(Box::new(worker));
        }
    }

    /// Stops the worker held, if any, giving it `grace`.
    pub async fn stop_within(&self, grace: Duration) {
        let worker = self.0.lock().ok().and_then(|mut slot| slot.take());
        if let Some(w) = worker {
            w.stop_within(grace).await;
        }
    }
}

/// This gateway's follows (`push::follow`): the name its leases carry,
/// which follows run here, and a wake-up for the task that claims them.
pub struct Follows {
    /// The name this gateway's leases carry.
    pub(crate) holder: String,
    pub(crate) wake: Notify,
    running: Mutex<HashSet<(String, String)>>,
}

impl Default for Follows {
    fn default() -> Self {
        Self {
            holder: format!("follow_{}", uuid::Uuid::new_v4().simple()),
            wake: Notify::new(),
            running: Mutex::new(HashSet::new()),
        }
    }
}

impl Follows {
    /// How many follows run here.
    pub(crate) fn running(&self) -> usize {
        self.running.lock().map(|r| r.len()).unwrap_or(usize::MAX)
    }

    /// Marks a follow as running here; false when it already is.
    pub(crate) fn enter(&self, agent: &str, task: &str) -> bool {
        self.running
            .lock()
            .map(|mut r| r.insert((agent.to_string(), task.to_string())))
            .unwrap_or(false)
    }

    /// Marks a follow as ended here.
    pub(crate) fn leave(&self, agent: &str, task: &str) {
        if let Ok(mut r) = self.running.lock() {
            r.remove(&(agent.to_string(), task.to_string()));
        }
        // A place is free: another follow may be waiting for it.
        self.wake.notify_one();
    }
}
