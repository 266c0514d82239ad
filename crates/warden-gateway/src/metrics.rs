//! Prometheus metrics with A2A-aware labels. Label values come from closed
//! sets (configured agent names, operation names, outcomes), so cardinality
//! stays bounded whatever callers send.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

mod push;
pub use push::PushMetrics;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub agent: String,
    pub operation: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OpLabels {
    pub agent: String,
    pub operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AgentLabels {
    pub agent: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WhatLabels {
    pub what: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

#[derive(Clone)]
pub struct Metrics {
    /// Authorisation refusals by reason class (never skill or rule names:
    /// those are in the audit log, and would make the label set unbounded).
    pub authz_refusals: Family<ReasonLabels, Counter>,
    /// Keys the local rate limiter holds, and how many it had to evict
    /// while not idle (each starts afresh: see the limiter's docs).
    pub rate_limit_keys: Gauge,
    pub rate_limit_evictions: Counter,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Family<OpLabels, Histogram>,
    pub open_streams: Family<AgentLabels, Gauge>,
    pub audit_dropped: Counter,
    /// Single-use ids refused because the replay cache had no room.
    pub replay_cache_full: Counter,
    /// Calls refused (or limited locally) because Redis could not answer.
    pub shared_unavailable: Family<WhatLabels, Counter>,
    /// Rows scheduled retention removed, by kind (`warden_store::RetentionKind`).
    pub retention_removed_rows: Family<KindLabels, Counter>,
    /// Scheduled retention runs this gateway made, by outcome (`ran`, `failed`).
    pub retention_runs: Family<OutcomeLabels, Counter>,
    /// 1 while the store answers, 0 during an outage.
    pub store_up: Gauge,
    /// Calls refused because the store could not answer, by what they
    /// needed (see `store_health::Need`).
    pub store_unavailable: Family<WhatLabels, Counter>,
    /// The push delivery worker's.
    pub push: PushMetrics,
    registry: Arc<Registry>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<OpLabels, Histogram>::new_with_constructor(|| {
            // 0.5 ms … ~16 s
            Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
                0.0005, 2.0, 16,
            ))
        });
        let open_streams = Family::<AgentLabels, Gauge>::default();
        let audit_dropped = Counter::default();
        let authz_refusals = Family::<ReasonLabels, Counter>::default();
        let rate_limit_keys = Gauge::default();
        let rate_limit_evictions = Counter::default();
        let replay_cache_full = Counter::default();
        let shared_unavailable = Family::<WhatLabels, Counter>::default();
        let retention_removed_rows = Family::<KindLabels, Counter>::default();
        let retention_runs = Family::<OutcomeLabels, Counter>::default();
        let store_up = Gauge::default();
        let store_unavailable = Family::<WhatLabels, Counter>::default();
        let mut registry = Registry::with_prefix("warden");
        registry.register(
            "authz_refusals",
            "Calls refused by authorisation or rate limits, by reason class",
            authz_refusals.clone(),
        );
        registry.register(
            "rate_limit_keys",
            "Keys held by the local rate limiter",
            rate_limit_keys.clone(),
        );
        registry.register(
            "rate_limit_evictions",
            "Rate-limit keys evicted before their bucket was full again (the limiter is at max_keys)",
            rate_limit_evictions.clone(),
        );
        registry.register(
            "requests",
            "A2A requests by agent, operation and outcome",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time until the response head was sent, by agent and operation",
            latency.clone(),
        );
        registry.register(
            "open_streams",
            "SSE streams currently open through the gateway, by agent",
            open_streams.clone(),
        );
        registry.register(
            "audit_events_dropped",
            "Audit events lost: the audit queue was full, or the store refused a batch (an outage holds them instead, within the queue)",
            audit_dropped.clone(),
        );
        registry.register(
            "replay_cache_full",
            "Single-use tokens, DPoP proofs and client assertions refused (503) because the replay cache was full",
            replay_cache_full.clone(),
        );
        registry.register(
            "shared_unavailable",
            "Checks that needed Redis ([shared]) and could not have it, by what was checked (replay: refused 503; rate_limit: refused 503, or limited locally with on_unavailable = local_limits)",
            shared_unavailable.clone(),
        );
        registry.register(
            "store_up",
            "1 while the store answers, 0 while it cannot be reached",
            store_up.clone(),
        );
        registry.register(
            "store_unavailable",
            "Calls refused (503) because the store could not answer, by what they needed (stale_snapshot: older than store.max_stale_secs; owner_lookup; owner_write; task_count)",
            store_unavailable.clone(),
        );
        registry.register(
            "retention_removed_rows",
            "Rows scheduled retention removed from the store, by kind (audit, tasks, push_configs, task_owners, context_owners, push_notifications, push_subscriptions, grants, api_keys, signing_keys, mail_messages, mail_idempotency, mail_grants)",
            retention_removed_rows.clone(),
        );
        registry.register(
            "retention_runs",
            "Scheduled retention runs this gateway made, by outcome (ran, failed)",
            retention_runs.clone(),
        );
        let push = PushMetrics::register(&mut registry);
        Self {
            push,
            retention_removed_rows,
            retention_runs,
            store_up,
            store_unavailable,
            shared_unavailable,
            authz_refusals,
            rate_limit_keys,
            rate_limit_evictions,
            requests,
            latency,
            open_streams,
            audit_dropped,
            replay_cache_full,
            registry: Arc::new(registry),
        }
    }

    pub fn count(&self, agent: &str, operation: &str, outcome: &str) {
        self.requests
            .get_or_create(&RequestLabels {
                agent: agent.into(),
                operation: operation.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    pub fn observe(&self, agent: &str, operation: &str, seconds: f64) {
        self.latency
            .get_or_create(&OpLabels {
                agent: agent.into(),
                operation: operation.into(),
            })
            .observe(seconds);
    }

    pub fn streams(&self, agent: &str) -> Gauge {
        self.open_streams
            .get_or_create(&AgentLabels {
                agent: agent.into(),
            })
            .clone()
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

impl Metrics {
    /// Counts an authorisation refusal under its reason class
    /// ([`crate::authz::Reason::class`], or `url_refused`).
    pub fn authz_refused(&self, class: &str) {
        self.authz_refusals
            .get_or_create(&ReasonLabels {
                reason: class.to_string(),
            })
            .inc();
    }
}

impl Metrics {
    /// Counts rows retention removed (every kind appears, 0 included, once
    /// a run has covered it).
    pub fn retention_removed(&self, kind: &'static str, rows: u64) {
        self.retention_removed_rows
            .get_or_create(&KindLabels { kind })
            .inc_by(rows);
    }

    pub fn retention_run(&self, outcome: &'static str) {
        self.retention_runs
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }
}
