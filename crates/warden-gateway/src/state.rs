//! What every request handler shares.

use std::sync::Arc;

use warden_a2a::JsonLimits;
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
}

impl GatewayState {
    pub fn json_limits(&self) -> JsonLimits {
        self.config.limits.json()
    }
}
