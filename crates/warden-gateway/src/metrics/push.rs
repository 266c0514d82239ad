//! The push delivery worker's metrics (`push::outbox`). Destinations are
//! callers' URLs, an open set, so no label names one: breakers are
//! counted by state, deliveries by outcome.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    /// `delivered`, `retried` or `dead`.
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BreakerLabels {
    /// `open` or `half_open`.
    pub state: &'static str,
}

/// What the delivery worker reports.
#[derive(Clone, Debug)]
pub struct PushMetrics {
    /// Notifications waiting in the outbox (pending or being delivered),
    /// all gateways' together: read from the store.
    pub queued: Gauge,
    /// Attempts this gateway settled, by outcome.
    pub deliveries: Family<DeliveryLabels, Counter>,
    /// From enqueue to the receiver's 2xx, per delivered notification.
    pub delivery_seconds: Histogram,
    /// Destinations whose circuit breaker is not closed, by state.
    pub breakers: Family<BreakerLabels, Gauge>,
    /// Tasks this gateway follows now for agents without push support.
    pub follows: Gauge,
    /// Notifications those follows queued (once per change, whatever the
    /// number of subscriptions).
    pub follow_notifications: Counter,
    /// Looks at a followed task that failed, by what (`unavailable`,
    /// `invalid`).
    pub follow_failures: Family<FollowLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FollowLabels {
    /// `unavailable` or `invalid`.
    pub what: &'static str,
}

impl PushMetrics {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let m = Self {
            queued: Gauge::default(),
            deliveries: Family::default(),
            // 1 ms … ~9 h: a delivery may wait out retries for hours.
            delivery_seconds: Histogram::new(exponential_buckets(0.001, 3.0, 16)),
            breakers: Family::default(),
            follows: Gauge::default(),
            follow_notifications: Counter::default(),
            follow_failures: Family::default(),
        };
        registry.register(
            "push_queued",
            "Push notifications waiting in the outbox (pending or being delivered), all gateways together",
            m.queued.clone(),
        );
        registry.register(
            "push_deliveries",
            "Push delivery attempts settled by this gateway, by outcome (delivered, retried, dead)",
            m.deliveries.clone(),
        );
        registry.register(
            "push_delivery_seconds",
            "Time from a notification's enqueue to its receiver's 2xx",
            m.delivery_seconds.clone(),
        );
        registry.register(
            "push_breakers",
            "Destinations whose circuit breaker is open or half-open at this gateway, by state",
            m.breakers.clone(),
        );
        registry.register(
            "push_follows",
            "Tasks this gateway follows for agents without push support",
            m.follows.clone(),
        );
        registry.register(
            "push_follow_notifications",
            "Notifications queued by the follows of this gateway",
            m.follow_notifications.clone(),
        );
        registry.register(
            "push_follow_failures",
            "Looks at a followed task that failed, by what (unavailable, invalid)",
            m.follow_failures.clone(),
        );
        m
    }

    /// Counts a failed look at a followed task.
    pub fn follow_failed(&self, what: &'static str) {
        self.follow_failures
            .get_or_create(&FollowLabels { what })
            .inc();
    }

    /// Counts a settled attempt.
    pub fn settled(&self, outcome: &'static str) {
        self.deliveries
            .get_or_create(&DeliveryLabels { outcome })
            .inc();
    }

    /// The breakers in each state now.
    pub fn breakers(&self, open: usize, half_open: usize) {
        for (state, n) in [("open", open), ("half_open", half_open)] {
            self.breakers
                .get_or_create(&BreakerLabels { state })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
}
