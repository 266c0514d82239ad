//! Open streams per caller counted on every replica (`[shared]`): the
//! `max_streams_per_principal` limit holds over all gateways together, not
//! at each. A stream takes a leased place on Redis when it opens, gives it
//! back when it ends, and this gateway renews the leases of the streams it
//! holds every third of a lease, so the places of a gateway that dies are
//! free again within one lease.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use warden_store::shared::SharedState;

use super::Failures;

/// How long a place holds without renewal: how long a crashed gateway's
/// streams still count.
const LEASE: Duration = Duration::from_secs(30);

/// What asking for a place found.
#[derive(Debug)]
pub enum StreamPlace {
    Granted(SharedStreamPermit),
    /// The caller holds the most streams already, over every gateway.
    Full,
    /// Redis could not say.
    Unavailable,
}

type Held = Mutex<HashMap<u64, (String, String)>>;

/// The streams this gateway holds places for; cheap to clone.
#[derive(Clone)]
pub struct SharedStreams {
    state: SharedState,
    failures: Failures,
    held: Arc<Held>,
    next: Arc<AtomicU64>,
    /// Makes this gateway's stream ids unique among the replicas.
    instance: String,
    /// `on_unavailable = "local_limits"`: this gateway's own count decides
    /// while Redis is away.
    local_fallback: bool,
}

impl SharedStreams {
    /// Starts renewing the leases of the streams it will hold (a task that
    /// ends when the last handle is dropped).
    pub(super) fn start(state: SharedState, failures: Failures, local_fallback: bool) -> Self {
        let mut nonce = [0u8; 8];
        // Uniqueness, not secrecy: a clock fallback would do too.
        let _ = aws_lc_rs::rand::fill(&mut nonce);
        let streams = Self {
            state,
            failures,
            held: Arc::new(Mutex::new(HashMap::new())),
            next: Arc::new(AtomicU64::new(0)),
            instance: nonce.iter().map(|b| format!("{b:02x}")).collect(),
            local_fallback,
        };
        tokio::spawn(renew_loop(
            streams.state.clone(),
            streams.failures.clone(),
            Arc::downgrade(&streams.held),
        ));
        streams
    }

    /// Whether this gateway's own count decides while Redis cannot.
    pub fn local_fallback(&self) -> bool {
        self.local_fallback
    }

    /// A place for one more stream of `subject`, at most `max` over every
    /// gateway.
    pub async fn acquire(&self, subject: &str, max: u32) -> StreamPlace {
        let caller = digest(subject);
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let stream = format!("{}-{id}", self.instance);
        match self
            .state
            .stream_acquire(&caller, &stream, max, LEASE)
            .await
        {
            Ok(true) => {
                if let Ok(mut held) = self.held.lock() {
                    held.insert(id, (caller.clone(), stream.clone()));
                }
                StreamPlace::Granted(SharedStreamPermit {
                    id,
                    caller,
                    stream,
                    streams: self.clone(),
                })
            }
            Ok(false) => StreamPlace::Full,
            Err(e) => {
                self.failures.note("streams", &e);
                StreamPlace::Unavailable
            }
        }
    }
}

/// One stream's place; given back when dropped.
pub struct SharedStreamPermit {
    id: u64,
    caller: String,
    stream: String,
    streams: SharedStreams,
}

impl std::fmt::Debug for SharedStreamPermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedStreamPermit")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl Drop for SharedStreamPermit {
    fn drop(&mut self) {
        if let Ok(mut held) = self.streams.held.lock() {
            held.remove(&self.id);
        }
        // Given back at once where possible; if Redis cannot take it now,
        // the lease ends by itself (it is no longer renewed).
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (state, failures) = (self.streams.state.clone(), self.streams.failures.clone());
        let (caller, stream) = (
            std::mem::take(&mut self.caller),
            std::mem::take(&mut self.stream),
        );
        runtime.spawn(async move {
            if let Err(e) = state.stream_release(&caller, &stream).await {
                failures.note("streams", &e);
            }
        });
    }
}

async fn renew_loop(state: SharedState, failures: Failures, held: Weak<Held>) {
    let mut tick = tokio::time::interval(LEASE / 3);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(held) = held.upgrade() else {
            return;
        };
        let now: Vec<(String, String)> = match held.lock() {
            Ok(h) => h.values().cloned().collect(),
            Err(_) => return,
        };
        drop(held);
        if now.is_empty() {
            continue;
        }
        if let Err(e) = state.stream_renew(&now, LEASE).await {
            failures.note("streams", &e);
        }
    }
}

/// A bounded key for a caller's set (subjects may be long).
fn digest(subject: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, subject.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}
