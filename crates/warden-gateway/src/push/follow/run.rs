//! One follow, from its claim to its end: the task watched (a stream, or
//! polls), what changed written to the outbox for every subscription of the
//! task, what was seen recorded with the follow so that whoever follows it
//! next (this gateway restarted, or another) sends only what is new.
//!
//! A follow ends — its row removed — when the task is terminal or
//! interrupted (after the final task is queued), when no subscription of the
//! task is left, when the agent says the task is gone, or when the agent is
//! no longer followed. A failing agent (unreachable, an error, an invalid
//! answer) is tried again after a wait that doubles from the poll interval
//! up to [`MAX_BACKOFF`]. A follow whose lease was lost (the store did not
//! answer in time and another gateway took it) stops here.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use warden_store::{NewNotification, PushFollow};

use super::call::{CallError, Target};
use super::change::{self, Changes, Seen};
use super::{LEASE, Mode, RENEW};
use crate::audit::{AuditEvent, Outcome};
use crate::state::GatewayState;

/// The audit event kind of follows.
pub const KIND: &str = "push_follow";
/// The longest wait before a failing agent is asked again.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Why a follow stopped.
enum Stop {
    /// Ended: the row is removed (the reason is audited).
    End(&'static str),
    /// This gateway lost the lease: another gateway follows now.
    Lost,
}

pub async fn follow(state: &GatewayState, f: &PushFollow) {
    let stop = watch(state, f).await;
    if let Stop::End(reason) = stop {
        if let Err(e) = state.store.push_follow_end(&f.agent, &f.task_id).await {
            tracing::warn!(agent = %f.agent, task = %f.task_id, error = %e, "push follow not ended");
        }
        audit(state, f, reason);
    }
}

async fn watch(state: &GatewayState, f: &PushFollow) -> Stop {
    let Some(mode) = super::offered(state, &f.agent).await else {
        return Stop::End("not_followed");
    };
    if f.seen.is_none() {
        audit(state, f, "started");
    }
    let mut seen = Seen::read(f.seen.as_deref());
    let interval = state
        .upstreams
        .get(&f.agent)
        .map(|u| u.config.push_poll_interval)
        .unwrap_or(Duration::from_secs(2));
    let mut failures = 0u32;
    // The lease is renewed (and the subscriptions counted) every RENEW,
    // not at every look: a poll every 100 ms costs one read.
    let mut kept: Option<std::time::Instant> = None;
    loop {
        if kept.is_none_or(|k| k.elapsed() >= RENEW) {
            if let Some(stop) = keep(state, f).await {
                return stop;
            }
            kept = Some(std::time::Instant::now());
        }
        let target = Target {
            state,
            agent: &f.agent,
            task: &f.task_id,
            owner: &f.owner,
        };
        let looked = match mode {
            Mode::Poll => poll(state, f, &target, &mut seen).await,
            Mode::Subscribe => stream(state, f, &target, &mut seen).await,
        };
        let wait = match looked {
            Ok(Some(stop)) => return stop,
            Ok(None) => {
                failures = 0;
                interval
            }
            Err(CallError::Gone) => return Stop::End("gone"),
            Err(e) => {
                failures = failures.saturating_add(1);
                let what = if matches!(e, CallError::Invalid(_)) {
                    "invalid"
                } else {
                    "unavailable"
                };
                state.metrics.push.follow_failed(what);
                tracing::warn!(agent = %f.agent, task = %f.task_id, error = %e, failures, "push follow: the agent failed");
                backoff(interval, failures)
            }
        };
        if let Some(stop) = pause(state, f, wait).await {
            return stop;
        }
    }
}

/// One `GetTask`: what changed queued. Some when the follow is over.
async fn poll(
    state: &GatewayState,
    f: &PushFollow,
    target: &Target<'_>,
    seen: &mut Seen,
) -> Result<Option<Stop>, CallError> {
    let task = target.get_task().await?;
    let changes = change::snapshot(seen, &task);
    Ok(record(state, f, seen, changes).await)
}

/// One `SubscribeToTask` stream, to its end. Some when the follow is over.
async fn stream(
    state: &GatewayState,
    f: &PushFollow,
    target: &Target<'_>,
    seen: &mut Seen,
) -> Result<Option<Stop>, CallError> {
    let events = match target.subscribe().await {
        Ok(events) => events,
        // An agent may refuse to subscribe to a task that is finished: a
        // look says so (and sends the final task if it was not sent).
        Err(CallError::Unavailable(_) | CallError::Invalid(_)) => {
            return poll(state, f, target, seen).await;
        }
        Err(e) => return Err(e),
    };
    let mut events = std::pin::pin!(events);
    let mut tick = tokio::time::interval(RENEW);
    tick.tick().await;
    let mut any = false;
    loop {
        tokio::select! {
            ev = events.next() => {
                let Some(ev) = ev else {
                    // The agent closed the stream: look once, then open
                    // another if the task goes on.
                    return if any { poll(state, f, target, seen).await } else {
                        Err(CallError::Unavailable("the stream ended at once".into()))
                    };
                };
                any = true;
                let changes = change::event(seen, &ev?);
                if changes.finished {
                    // The final task, whole, as a poll sends it (a task
                    // not yet finished there is subscribed to again).
                    return poll(state, f, target, seen).await;
                }
                if let Some(stop) = record(state, f, seen, changes).await {
                    return Ok(Some(stop));
                }
            }
            _ = tick.tick() => {
                if let Some(stop) = keep(state, f).await {
                    return Ok(Some(stop));
                }
            }
        }
    }
}

/// Queues `changes` and records what was seen. Some when the follow is
/// over (the task finished, or the lease is lost).
async fn record(
    state: &GatewayState,
    f: &PushFollow,
    seen: &Seen,
    changes: Changes,
) -> Option<Stop> {
    if changes.notifications.is_empty() && !changes.finished {
        return None;
    }
    if !changes.notifications.is_empty()
        && let Err(e) = emit(state, f, &changes.notifications).await
    {
        // Not recorded as seen: the next look sends it again.
        tracing::warn!(agent = %f.agent, task = %f.task_id, error = %e, "push follow: notifications not queued");
        return None;
    }
    let now = super::super::register::now_ms(state);
    match state
        .store
        .push_follow_seen(
            &f.agent,
            &f.task_id,
            &state.follows.holder,
            &seen.to_text(),
            now,
        )
        .await
    {
        Ok(false) => return Some(Stop::Lost),
        Ok(true) => {}
        Err(e) => tracing::warn!(error = %e, "push follow: what was seen not recorded"),
    }
    changes.finished.then_some(Stop::End("finished"))
}

/// Writes each notification to the outbox for every subscription of the
/// task, in order (each subscription's sequence keeps it).
async fn emit(
    state: &GatewayState,
    f: &PushFollow,
    notifications: &[Value],
) -> Result<(), warden_store::StoreError> {
    let subs = state
        .store
        .push_subscriptions_of_task(&f.agent, &f.task_id)
        .await?;
    let now = super::super::register::now_ms(state);
    for n in notifications {
        let body = n.to_string().into_bytes();
        for s in &subs {
            state
                .store
                .outbox_enqueue(&NewNotification {
                    subscription_id: s.id.clone(),
                    task_id: f.task_id.clone(),
                    destination: s.url.clone(),
                    body: body.clone(),
                    created_ms: now,
                })
                .await?;
        }
        state.metrics.push.follow_notifications.inc();
    }
    Ok(())
}

/// Renews the lease and checks someone still subscribes: Some to stop.
async fn keep(state: &GatewayState, f: &PushFollow) -> Option<Stop> {
    let now = super::super::register::now_ms(state);
    let until = now.saturating_add(LEASE.as_millis() as i64);
    match state
        .store
        .push_follow_renew(&f.agent, &f.task_id, &state.follows.holder, until)
        .await
    {
        Ok(false) => return Some(Stop::Lost),
        Ok(true) => {}
        // The store may come back before the lease runs out.
        Err(e) => tracing::warn!(error = %e, "push follow: lease not renewed"),
    }
    match state
        .store
        .push_subscriptions_of_task(&f.agent, &f.task_id)
        .await
    {
        Ok(subs) if subs.is_empty() => Some(Stop::End("unsubscribed")),
        _ => None,
    }
}

/// Waits `wait`, renewing the lease on the way.
async fn pause(state: &GatewayState, f: &PushFollow, wait: Duration) -> Option<Stop> {
    let mut left = wait;
    while !left.is_zero() {
        let step = left.min(RENEW);
        tokio::time::sleep(step).await;
        left -= step;
        if !left.is_zero()
            && let Some(stop) = keep(state, f).await
        {
            return Some(stop);
        }
    }
    None
}

/// The wait after `failures` failures in a row.
fn backoff(interval: Duration, failures: u32) -> Duration {
    let factor = 1u32 << failures.saturating_sub(1).min(10);
    interval.saturating_mul(factor).min(MAX_BACKOFF)
}

fn audit(state: &GatewayState, f: &PushFollow, reason: &str) {
    let mut e = AuditEvent::new(
        Some(&f.agent),
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Outcome::Forwarded,
    )
    .with_reason(reason);
    e.kind = KIND;
    e.task_id = Some(f.task_id.clone());
    e.principal = Some(f.owner.clone());
    state.audit.emit(&e);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_doubling_up_to_a_minute() {
        let i = Duration::from_secs(2);
        assert_eq!(backoff(i, 1), Duration::from_secs(2));
        assert_eq!(backoff(i, 2), Duration::from_secs(4));
        assert_eq!(backoff(i, 5), Duration::from_secs(32));
        assert_eq!(backoff(i, 6), MAX_BACKOFF);
        assert_eq!(backoff(i, 500), MAX_BACKOFF);
    }
}
