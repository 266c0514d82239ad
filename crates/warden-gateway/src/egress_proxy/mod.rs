//! The egress proxy: where local agents send their outbound A2A calls.
//!
//! A local agent calls `/egress/{remote}/…` on a listener of its own
//! (loopback by default, `[egress_proxy] listen`) with its **own** Warden
//! credential, exactly as it would call an agent at the gateway. Warden then
//! decides and acts on its behalf:
//!
//! 1. **Accept** — header cap and the per-address rate limit.
//! 2. **Authenticate** — the caller's token or API key, verified by the
//!    gateway's own [`Authenticator`](crate::auth::Authenticator), with the
//!    remote's name as the audience.
//! 3. **Admit** — a grant in force from the caller to the remote's name
//!    (`warden grant add CALLER REMOTE …`); an unknown remote and one
//!    without a grant get the same not-found.
//! 4. **Parse** — the body read within `limits.max_request_body_bytes` and
//!    parsed as strictly as at ingress.
//! 5. **Authorise** — the gateway's whole decision: quarantine (caller and
//!    remote), operation class, skill and scope, task and context
//!    ownership, policy rules, rate limits.
//! 6. **Forward** — the remote's card fetched through the egress rules and
//!    verified under the configured trust ([`remote`]), the interface in
//!    the caller's binding (checked by the rules; for an unsigned card, on
//!    the configured origin only), the caller's credentials and forwarding
//!    headers removed and Warden's credential for the remote attached; the
//!    answer relayed, JSON within `limits.max_response_body_bytes`, SSE
//!    chunk by chunk ([`forward`]).
//! 7. **Record** — one audit event of kind `egress_proxy` per call: the
//!    caller as principal, the remote as agent.
//!
//! Local agents hold no secret for remote agents: Warden reads those from
//! its environment at start ([`crate::config::RemoteAgentConfig`]).

mod cards;
mod error;
mod forward;
mod handle;
mod remote;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::response::Response;
use axum::routing::any;
use serde_json::Value;
use tokio::net::TcpListener;
use warden_a2a::{A2aError, Binding};

pub use error::ProxyError;
pub use remote::{Remote, SetupError};

use crate::state::GatewayState;

/// The path prefix remote agents are reached under.
pub const PREFIX: &str = crate::routes::EGRESS_PREFIX;

/// The egress proxy's shared state. Cheap to clone.
#[derive(Clone)]
pub struct EgressProxy {
    inner: Arc<Inner>,
}

struct Inner {
    state: GatewayState,
    remotes: HashMap<String, Arc<Remote>>,
    /// The proxy's base URL as local agents reach it (DPoP `htu`, served
    /// cards), without a trailing slash.
    public_url: String,
}

impl EgressProxy {
    /// The proxy for `state.config.remote_agents`, reached at `public_url`;
    /// secrets come from `env` (the process environment in
    /// [`EgressProxy::from_env`]).
    pub fn new(
        state: GatewayState,
        public_url: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, SetupError> {
        let ttl = state.config.limits.card_cache;
        let mut remotes = HashMap::new();
        for (i, r) in state.config.remote_agents.iter().enumerate() {
            remotes.insert(r.name.clone(), Arc::new(Remote::new(i, r, env, ttl)?));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                state,
                remotes,
                public_url: public_url.trim_end_matches('/').to_string(),
            }),
        })
    }

    /// With secrets from the process environment.
    pub fn from_env(state: GatewayState, public_url: &str) -> Result<Self, SetupError> {
        Self::new(state, public_url, &|name| std::env::var(name).ok())
    }

    pub fn state(&self) -> &GatewayState {
        &self.inner.state
    }

    pub fn remote(&self, name: &str) -> Option<Arc<Remote>> {
        self.inner.remotes.get(name).cloned()
    }

    pub fn public_url(&self) -> &str {
        &self.inner.public_url
    }

    /// `{public_url}/egress/{name}`: where a local agent reaches `name`.
    pub fn url_of(&self, name: &str) -> String {
        format!("{}{PREFIX}/{name}", self.inner.public_url)
    }

    /// The router. Serve it with [`crate::listener::serve`] (or [`serve`]),
    /// which gives each request its `ConnectInfo<SocketAddr>`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/egress/{remote}", any(root))
            .route("/egress/{remote}/", any(root))
            .route("/egress/{remote}/{*rest}", any(sub))
            .fallback(not_found)
            .with_state(self.clone())
    }
}

/// Serves the egress proxy (plain HTTP) on `listener` until `shutdown`.
pub async fn serve<F>(listener: TcpListener, proxy: EgressProxy, shutdown: F) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    if let Ok(addr) = listener.local_addr()
        && !addr.ip().is_loopback()
    {
        tracing::warn!(listen = %addr, "the egress proxy listens beyond loopback: any host that reaches it can call remote agents with a local agent's credential");
    }
    crate::listener::serve(listener, None, proxy.router(), shutdown).await
}

async fn root(
    State(proxy): State<EgressProxy>,
    Path(remote): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    dispatch(&proxy, remote, peer, req).await
}

async fn sub(
    State(proxy): State<EgressProxy>,
    Path((remote, _rest)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    dispatch(&proxy, remote, peer, req).await
}

async fn dispatch(proxy: &EgressProxy, remote: String, peer: SocketAddr, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    // The raw (still percent-encoded) path below `/egress/{remote}`, so the
    // remote sees exactly what the caller sent.
    let subpath = crate::routes::below_target(parts.uri.path()).to_string();
    handle::handle(
        proxy,
        handle::RemoteRequest {
            remote,
            http: crate::stages::Request {
                method: parts.method,
                uri: parts.uri,
                headers: parts.headers,
                subpath,
                peer,
            },
        },
        body,
    )
    .await
}

async fn not_found() -> Response {
    crate::respond::error(
        Binding::Rest,
        &A2aError::not_found("no such agent or route"),
        &Value::Null,
    )
}
