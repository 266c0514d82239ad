//! The outbox worker's deliverer: push notifications and mailbox webhooks
//! (both push subscriptions) go to the push deliverer, bridged mail to the
//! bridge. One worker, so one set of claims, caps and breakers for all.

use std::sync::Arc;

use warden_store::OutboxEntry;

use super::bridge::{self, Bridge};
use crate::push::deliver::Deliverer;
use crate::push::outbox::{Deliver, DeliveryOutcome, Outbox, OutboxHandle, Settings};
use crate::state::GatewayState;

/// Sends each entry to the deliverer its subscription id names.
pub struct Routed {
    push: Deliverer,
    bridge: Bridge,
}

impl Deliver for Routed {
    async fn deliver(&self, entry: &OutboxEntry) -> DeliveryOutcome {
        match entry.subscription_id.strip_prefix(bridge::PREFIX) {
            Some(agent) => self.bridge.attempt(agent, entry).await,
            None => self.push.attempt(entry).await,
        }
    }
}

/// Starts the gateway's delivery worker (in place of the push relay's
/// own `push::deliver::start`, which it extends with the bridge).
pub fn start(state: &GatewayState) -> OutboxHandle {
    Outbox::start(
        state.store.clone(),
        Settings::of(&state.config.push),
        Arc::clone(&state.clock),
        state.metrics.push.clone(),
        Arc::new(Routed {
            push: Deliverer::of(state),
            bridge: Bridge::new(state),
        }),
    )
}
