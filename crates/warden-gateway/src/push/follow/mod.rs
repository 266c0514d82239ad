//! Push for agents without it (issue 15, part 4; `docs/push.md`, "Agents
//! without push support"). With `[[agents]] push_follow` set, and a card
//! that offers no push notifications, Warden offers them itself: the card
//! it serves says so (`card_routes::offer_push`), push configs are kept by Warden and not forwarded
//! ([`super::register`]), and Warden follows each subscribed task — a
//! `SubscribeToTask` stream, or `GetTask` polls — and writes what changed
//! ([`change`]) to the outbox as notifications, delivered like the relay's.
//!
//! Follows are rows of the store (`push_follows`), so they outlive a
//! gateway: a background task here claims the rows no gateway holds (a
//! lease, renewed while the follow runs), at most `[push] max_follows` at
//! once, and runs each ([`run`]) until its task finishes, its subscriptions
//! are deleted or the agent says the task is gone. Nothing here is on the
//! request path: a registration writes the row and wakes this task.

mod call;
pub mod change;
mod run;

use std::sync::Arc;
use std::time::Duration;

use crate::config::PushFollow;
use crate::state::GatewayState;

/// How long a claim on a follow lasts; renewed every [`RENEW`] while it
/// runs, so a gateway that dies lets go of its follows within this.
pub const LEASE: Duration = Duration::from_secs(30);
/// How often a running follow renews its lease and checks that someone
/// still subscribes.
pub const RENEW: Duration = Duration::from_secs(10);
/// How often the store is asked for follows no gateway holds (a
/// registration at this gateway wakes it at once).
const SCAN: Duration = Duration::from_secs(1);

/// How a follow watches its task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Subscribe,
    Poll,
}

pub use crate::background::Follows;

/// Whether Warden follows tasks for `agent`, and how: its `push_follow`
/// is set and its verified card offers no push notifications (a card that
/// offers them gets the relay instead) and names v1.0 interfaces.
/// `subscribe` falls back to polls when the card offers no streaming.
pub async fn offered(state: &GatewayState, agent: &str) -> Option<Mode> {
    let up = state.upstreams.get(agent)?;
    if up.config.push_follow == PushFollow::Off {
        return None;
    }
    let card = state.upstreams.card(&up).await.ok()?;
    let caps = &card.card.capabilities;
    // Followed in A2A v1.0 only (`GetTask`, `SubscribeToTask`): a card
    // without v1.0 interfaces (v0.3 alone) is not offered push.
    if caps.push_notifications == Some(true) || card.raw.get("supportedInterfaces").is_none() {
        return None;
    }
    match (up.config.push_follow, caps.streaming == Some(true)) {
        (PushFollow::Subscribe, true) => Some(Mode::Subscribe),
        _ => Some(Mode::Poll),
    }
}

/// Starts following `task` (its owner is who the agent is called as), if
/// it is not followed yet; never fails the caller's request (a store
/// failure is logged: the subscription is kept, and a later call on the
/// task starts the follow again).
pub async fn begin(state: &GatewayState, agent: &str, task: &str, owner: &str) {
    let now = super::register::now_ms(state);
    match state.store.push_follow_start(agent, task, owner, now).await {
        Ok(_) => state.follows.wake.notify_one(),
        Err(e) => tracing::warn!(agent, task, error = %e, "push follow not started"),
    }
}

/// Runs this gateway's follows until the runtime ends: claims free ones
/// up to `[push] max_follows`, each run in a task of its own.
pub fn spawn(state: GatewayState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let follows = Arc::clone(&state.follows);
        let cap = state.config.push.max_follows.get() as usize;
        loop {
            let free = cap.saturating_sub(follows.running());
            if free > 0 {
                claim(&state, free).await;
            }
            state
                .metrics
                .push
                .follows
                .set(i64::try_from(follows.running()).unwrap_or(i64::MAX));
            let _ = tokio::time::timeout(SCAN, follows.wake.notified()).await;
        }
    })
}

async fn claim(state: &GatewayState, free: usize) {
    let follows = &state.follows;
    let now = super::register::now_ms(state);
    let lease = now.saturating_add(LEASE.as_millis() as i64);
    let limit = u32::try_from(free).unwrap_or(u32::MAX);
    let claimed = match state
        .store
        .push_follows_claim(&follows.holder, now, lease, limit)
        .await
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "push follows: the store could not be asked");
            return;
        }
    };
    for f in claimed {
        if !follows.enter(&f.agent, &f.task_id) {
            continue;
        }
        let state = state.clone();
        tokio::spawn(async move {
            run::follow(&state, &f).await;
            state.follows.leave(&f.agent, &f.task_id);
        });
    }
}
