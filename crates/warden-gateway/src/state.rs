//! What every request handler shares.

use std::sync::Arc;

use warden_a2a::{JsonLimits, ReadRules};
use warden_store::Store;

use crate::audit::AuditSink;
use crate::auth::Authenticator;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::upstream::Upstreams;

#[derive(Clone)]
pub struct GatewayState {
    pub config: Arc<Config>,
    /// The configured public base URL, without a trailing slash.
    pub public_url: String,
    pub upstreams: Upstreams,
    pub metrics: Metrics,
    pub audit: AuditSink,
    pub store: Store,
    pub auth: Arc<Authenticator>,
    pub authz: Arc<crate::authz::Authorizer>,
    /// The way out for everything but the upstream agents.
    pub egress: warden_egress::Egress,
    /// What time it is ([`SystemClock`](crate::clock::SystemClock) unless a
    /// test holds it still).
    pub clock: Arc<dyn crate::clock::Clock>,
    /// `SendMessage` answers kept for retries (`[retries]`).
    pub retries: Arc<crate::retries::Retries>,
    /// The Redis connection of `[shared]`, for `/readyz`.
    pub shared: Option<warden_store::shared::SharedState>,
    /// The key-encryption key push subscriptions' secrets are sealed under
    /// (the one the signing keys are sealed under).
    pub push_kek: Arc<warden_trust::seal::Kek>,
    /// The push delivery worker, stopped when the gateway stops.
    pub push_worker: Arc<crate::background::WorkerSlot>,
    /// The tasks this gateway follows for agents without push support.
    pub follows: Arc<crate::background::Follows>,
    /// The webhook receivers of agents with `[agents.webhooks]`.
    pub webhooks: Arc<crate::webhooks::Receivers>,
    /// The mailbox (`/mail/v1`, `/mcp`); none with `[mailbox] enabled = false`.
    pub mailbox: Option<warden_mailbox::Mailbox>,
    /// The MCP server on the mailbox (`/mcp`), made on first use: its
    /// session table lives as long as the gateway.
    pub mcp: Arc<std::sync::OnceLock<Arc<warden_mailbox::mcp::Server>>>,
}

impl GatewayState {
    pub fn json_limits(&self) -> JsonLimits {
        self.config.limits.json()
    }

    /// How calls to `target` are read: the JSON caps, and the unknown-field
    /// rule of `[protocol]` or the agent's own.
    pub fn read_rules(&self, target: Option<&str>) -> ReadRules {
        let rule = target
            .and_then(|t| self.upstreams.get(t))
            .and_then(|u| u.config.unknown_fields)
            .unwrap_or(self.config.protocol.unknown_fields);
        ReadRules {
            json: self.json_limits(),
            unknown_fields: rule.into(),
        }
    }
}
