//! Rate-limit refusals are audited as counts, not rows: one event per
//! caller (or address), agent, operation and reason per second, with the
//! number of refusals in its detail. A flood of refused calls then writes a
//! handful of rows a second instead of one per call, and cannot crowd the
//! audit of real calls out of the writer's queue.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use super::{AuditEvent, Outcome};

/// Events that are counted rather than written one by one.
pub(super) fn is_flood(e: &AuditEvent) -> bool {
    e.outcome == Outcome::Refused
        && e.reason
            .as_deref()
            .is_some_and(|r| r.starts_with("rate_limited"))
}

/// What refusals are counted under: the caller when known, else the
/// address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    kind: &'static str,
    agent: Option<String>,
    operation: Option<&'static str>,
    reason: Option<String>,
    principal: Option<String>,
    source: Option<IpAddr>,
}

/// The counts of the current window, and the first event of each (whose
/// fields the aggregate carries).
#[derive(Debug, Default)]
pub(super) struct FloodCounts {
    counts: Mutex<HashMap<Key, (AuditEvent, u64)>>,
}

impl FloodCounts {
    pub(super) fn add(&self, e: &AuditEvent) {
        let key = Key {
            kind: e.kind,
            agent: e.agent.clone(),
            operation: e.operation,
            reason: e.reason.clone(),
            source: e.principal.is_none().then_some(e.source),
            principal: e.principal.clone(),
        };
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.entry(key).or_insert_with(|| (e.clone(), 0)).1 += 1;
    }

    /// The window's aggregate events (the counts start again at zero).
    pub(super) fn take(&self, window_ms: u64) -> Vec<AuditEvent> {
        let drained: Vec<(AuditEvent, u64)> = {
            let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            counts.drain().map(|(_, v)| v).collect()
        };
        drained
            .into_iter()
            .map(|(mut e, count)| {
                // Per-call fields of the first refusal say nothing of the
                // others: left out.
                e.task_id = None;
                e.context_id = None;
                e.detail = Some(serde_json::json!({
                    "count": count,
                    "window_ms": window_ms,
                }));
                e
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(principal: Option<&str>, source: [u8; 4]) -> AuditEvent {
        let mut e = AuditEvent::new(Some("echo"), IpAddr::from(source), Outcome::Refused)
            .with_reason("rate_limited:principal");
        e.principal = principal.map(str::to_owned);
        e.task_id = Some("t1".into());
        e
    }

    #[test]
    fn refusals_are_counted_per_caller_and_window() {
        let f = FloodCounts::default();
        for _ in 0..1000 {
            f.add(&refused(Some("alice"), [10, 0, 0, 1]));
        }
        // alice from another address is still alice; bob is counted apart.
        f.add(&refused(Some("alice"), [10, 0, 0, 2]));
        f.add(&refused(Some("bob"), [10, 0, 0, 1]));
        let mut events = f.take(1000);
        events.sort_by_key(|e| e.principal.clone());
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].principal.as_deref(), Some("alice"));
        assert_eq!(
            events[0].detail,
            Some(serde_json::json!({"count": 1001, "window_ms": 1000}))
        );
        assert_eq!(events[0].task_id, None);
        assert_eq!(events[1].principal.as_deref(), Some("bob"));
        assert!(f.take(1000).is_empty(), "a new window starts empty");
    }

    #[test]
    fn unauthenticated_refusals_are_counted_per_address() {
        let f = FloodCounts::default();
        f.add(&refused(None, [10, 0, 0, 1]));
        f.add(&refused(None, [10, 0, 0, 1]));
        f.add(&refused(None, [10, 0, 0, 2]));
        assert_eq!(f.take(1000).len(), 2);
    }

    #[test]
    fn only_rate_limit_refusals_are_floods() {
        let e = refused(Some("alice"), [10, 0, 0, 1]);
        assert!(is_flood(&e));
        let other = e.clone().with_reason("no_grant");
        assert!(!is_flood(&other));
        let mut forwarded = e;
        forwarded.outcome = Outcome::Forwarded;
        assert!(!is_flood(&forwarded));
    }
}
