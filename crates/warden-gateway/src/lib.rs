//! `warden-gateway`: the ingress gateway.
//!
//! Requests to `/agents/{name}/…` go through the [`pipeline`] (limits, route,
//! parse, and later authenticate and authorise, then transform, proxy,
//! record) to the upstream agent named in the configuration. Each agent's
//! card is served rewritten for the gateway ([`cards`]). A separate admin
//! listener serves health and metrics ([`admin`]). Both listeners serve plain
//! HTTP or TLS, optionally mutual, with certificates reloaded from their
//! files ([`listener`]). Callers are authenticated ([`auth`]); Warden is
//! also a token authority (`warden-authority`, served by `authority`'s
//! endpoints).

pub mod admin;
pub mod answers;
pub mod audit;
pub mod auth;
pub(crate) mod authority;
pub mod authz;
pub mod background;
pub mod card_routes;
pub mod cards;
#[cfg(test)]
mod cert_bound_tests;
pub mod clock;
pub mod config;
pub mod config_check;
pub mod egress;
pub mod egress_proxy;
pub mod headers;
pub mod listener;
pub mod mail_delivery;
pub mod mail_routes;
pub mod mcp_routes;
pub mod message_urls;
pub mod metrics;
pub mod pipeline;
pub mod principal;
pub mod proxy;
pub mod push;
pub mod registry_view;
mod replay;
pub mod respond;
pub mod retention;
pub mod retries;
pub mod routes;
pub mod shared;
pub mod stages;
pub mod startup;
pub mod state;
pub mod store_health;
pub mod stream;
pub mod upstream;
pub mod webhook_routes;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::response::Response;
use axum::routing::{any, get, post};
use serde_json::Value;
use warden_a2a::{A2aError, Binding};
use warden_store::Store;

pub use config::{Config, ConfigError};
pub use state::GatewayState;

use crate::audit::AuditSink;
use crate::metrics::Metrics;
use crate::pipeline::Incoming;
use crate::upstream::Upstreams;

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot build the outbound HTTP client: {0}")]
    Client(String),
    #[error(transparent)]
    Authority(#[from] warden_authority::KeyError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Agent(String),
    #[error("cannot set up the replay cache: {0}")]
    Replay(#[from] warden_trust::ReplayError),
}

impl GatewayState {
    /// Everything the gateway needs: the token authority (keys loaded or
    /// generated, sealed under the key-encryption key), the authenticator,
    /// and the audit writer on `store`.
    pub async fn open(config: Config, store: Store) -> Result<Self, StartError> {
        // Old spellings of insecure opt-ins, each naming its new spelling.
        for d in &config.deprecations {
            tracing::warn!("{d}");
        }
        let clock: Arc<dyn clock::Clock> = Arc::new(clock::SystemClock);
        let metrics = Metrics::new();
        let health = Arc::new(store_health::StoreHealth::new(
            config.store.max_stale(),
            &metrics,
        ));
        let audit = AuditSink::start(store.clone(), Arc::clone(&health), &metrics);
        let client = egress::upstream(&config).map_err(|e| StartError::Client(e.to_string()))?;
        let egress = egress::general(&config, audit.clone())
            .map_err(|e| StartError::Client(e.to_string()))?;
        let upstreams = Upstreams::new(&config.agents, client, egress.clone(), config.limits)
            .map_err(StartError::Agent)?
            .with_pins(store.clone(), audit.clone())
            .with_shadowing(config.shadowing);
        let public_url = config.public_url();
        let a = &config.auth;
        if a.mode == config::AuthMode::InsecureOff {
            tracing::warn!("auth.mode = \"insecure-off\": callers are NOT authenticated");
        }
        for agent in config
            .agents
            .iter()
            .filter(|a| a.access == config::AgentAccess::Public)
        {
            tracing::warn!(
                agent = %agent.name,
                "access = \"public\": callers without a credential reach this agent, each under its own capability"
            );
        }
        for w in config.message_urls.warnings() {
            tracing::warn!("{w}");
        }
        let webhooks = Arc::new(
            webhooks::Receivers::open(&config, &public_url, &egress, &|v| std::env::var(v).ok())
                .map_err(StartError::Agent)?,
        );
        let authority = open_authority(&config, store.clone(), &public_url).await?;
        // The authority made the KEK file if there was none.
        let push_kek = Arc::new(warden_authority::keys::load_kek(&config.kek_file())?);
        let replay = Arc::new(replay::GatewayReplay::open(
            a,
            metrics.replay_cache_full.clone(),
        )?);
        let registry = Arc::new(
            registry_view::RegistryView::load(store.clone(), health)
                .await
                .map_err(|e| ConfigError::Invalid {
                    path: "store".into(),
                    message: e.to_string(),
                })?,
        );
        let (shared, limiter) = open_shared(&config, &metrics).await?;
        let auth = auth::Authenticator::new(
            a,
            authority.clone(),
            replay,
            store.clone(),
            Arc::clone(&registry),
            &egress,
        )?
        .with_shared(shared.as_ref().map(|s| s.replay.clone()));
        // Rotate on schedule: reload the key ring every minute (a successor is
        // generated when the current key is due).
        let keys = authority.keys.clone();
        let rotation_clock = Arc::clone(&clock);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                if let Err(e) = keys.refresh(rotation_clock.now_unix()).await {
                    tracing::error!(error = %e, "signing key rotation failed");
                }
            }
        });
        let enforce = a.mode == config::AuthMode::Strict;
        let authz = Arc::new(
            authz::Authorizer::new(
                &config,
                store.clone(),
                registry,
                enforce,
                Arc::clone(&clock),
                limiter,
            )
            .await?,
        );
        authz.spawn_watcher();
        Arc::new(retention::Retention::new(
            &config,
            store.clone(),
            Arc::clone(&clock),
            metrics.clone(),
            Arc::clone(authz.owners()),
        ))
        .spawn();
        spawn_limiter_metrics(Arc::clone(&authz), metrics.clone());
        let mailbox = mail_routes::open(&config, store.clone(), authority.keys.clone()).map_err(
            |message| ConfigError::Invalid {
                path: "mailbox".into(),
                message,
            },
        )?;
        let state = Self {
            authz,
            public_url,
            retries: Arc::new(retries::Retries::new(
                &config.retries,
                &[push::register::SECRET_HEADER],
            )),
            shared: shared.as_ref().map(shared::Shared::state),
            config: Arc::new(config),
            upstreams,
            metrics,
            audit,
            egress,
            store,
            auth: Arc::new(auth),
            clock,
            push_kek,
            push_worker: Arc::default(),
            webhooks,
            follows: Arc::default(),
            mailbox,
            mcp: Arc::default(),
        };
        // Deliveries of push notifications, in the background, until the
        // gateway stops (`run_gateway` stops the worker).
        // Mailbox webhooks and bridged mail share the worker (mail_delivery).
        state.push_worker.hold(mail_delivery::routed::start(&state));
        // Every message the mailbox stores (REST or MCP) is queued for its
        // recipient's webhook and the bridge.
        if let Some(m) = &state.mailbox {
            m.set_delivery(Arc::new(mail_delivery::Queue::new(
                &state.config,
                state.store.clone(),
                Arc::clone(&state.clock),
            )));
        }
        // Tasks followed for agents without push support (those in the
        // store resume here after a restart).
        push::follow::spawn(state.clone());
        Ok(state)
    }
}

/// Exports the rate limiter's size and evictions every few seconds.
fn spawn_limiter_metrics(authz: Arc<authz::Authorizer>, metrics: Metrics) {
    tokio::spawn(async move {
        let mut seen = 0u64;
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            let (keys, evicted) = authz.limiter_stats();
            metrics
                .rate_limit_keys
                .set(i64::try_from(keys).unwrap_or(i64::MAX));
            metrics
                .rate_limit_evictions
                .inc_by(evicted.saturating_sub(seen));
            seen = evicted;
        }
    });
}

/// The token authority of a data directory: its key ring (generated on first
/// use, sealed under the key-encryption key) and the issuer URL recorded by
/// the gateway. Used by the gateway and by `warden token mint`.
pub async fn open_authority(
    config: &Config,
    store: Store,
    issuer: &str,
) -> Result<warden_authority::Authority, StartError> {
    let a = &config.auth;
    let kek = warden_authority::keys::load_kek(&config.kek_file())?;
    let lifetimes = warden_authority::Lifetimes {
        token_ttl_secs: a.token_ttl_secs,
        leeway_secs: a.leeway_secs,
        key_rotation_secs: a.key_rotation_hours.get().saturating_mul(3600),
        // A mailbox message is signed once and kept `retention_days`: the
        // key that signed it stays in the JWKS that long after retiring.
        keep_published_secs: u64::from(config.mailbox.retention_days).saturating_mul(86_400),
    };
    Ok(warden_authority::Authority::open(store, kek, issuer, lifetimes, clock::unix_now()).await?)
}

/// The client-facing router. Serve it with [`listener::serve`], which gives
/// each request its `ConnectInfo<SocketAddr>` and, over mTLS, the client's
/// certificate.
pub fn router(state: GatewayState) -> Router {
    Router::new()
        .route("/agents/{name}", any(agent_root))
        // A base URL with a trailing slash is the same interface root.
        .route("/agents/{name}/", any(agent_root))
        .route("/agents/{name}/{*rest}", any(agent_sub))
        .route(
            routes::TOKEN_PATH,
            // Token requests are small forms: bound what is read before parsing.
            post(authority::endpoints::token)
                .layer(axum::extract::DefaultBodyLimit::max(16 * 1024)),
        )
        .route(routes::DISCOVERY_PATH, get(discover))
        .route(routes::JWKS_PATH, get(authority::endpoints::jwks))
        .route(
            &format!("{}/{{subscription}}", routes::PUSH_RELAY_PREFIX),
            post(push_relay),
        )
        .route(
            &format!("{}/{{agent}}", routes::WEBHOOKS_PREFIX),
            post(webhook_receive),
        )
        .route(routes::METADATA_PATH, get(authority::endpoints::metadata))
        .merge(mail_routes::router())
        .route(routes::MCP_PATH, any(mcp_entry))
        .fallback(not_found)
        .with_state(state)
}

async fn discover(
    State(state): State<GatewayState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    query: Result<
        axum::extract::Query<warden_card::search::Query>,
        axum::extract::rejection::QueryRejection,
    >,
    headers: http::HeaderMap,
) -> Response {
    match query {
        Ok(q) => card_routes::discovery::list(&state, q.0, &headers, peer).await,
        Err(e) => respond::error(
            warden_a2a::Binding::Rest,
            &warden_a2a::A2aError::invalid_params(e.body_text()),
            &serde_json::Value::Null,
        ),
    }
}

async fn push_relay(
    State(state): State<GatewayState>,
    Path(subscription): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: http::HeaderMap,
    body: axum::body::Body,
) -> Response {
    push::relay::handle(&state, &subscription, peer, headers, body).await
}

async fn webhook_receive(
    State(state): State<GatewayState>,
    Path(agent): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: http::HeaderMap,
    body: axum::body::Body,
) -> Response {
    webhook_routes::handle(&state, &agent, peer, headers, body).await
}

async fn mcp_entry(
    State(state): State<GatewayState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    mcp_routes::handle(&state, peer, req).await
}

async fn agent_root(
    State(state): State<GatewayState>,
    Path(name): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    dispatch(&state, name, peer, req).await
}

async fn agent_sub(
    State(state): State<GatewayState>,
    Path((name, _rest)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    dispatch(&state, name, peer, req).await
}

async fn dispatch(state: &GatewayState, name: String, peer: SocketAddr, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    // The raw (still percent-encoded) path below `/agents/{name}`, so the
    // upstream sees exactly what the client sent.
    let (route_skill, subpath) = match split_skill_route(routes::below_target(parts.uri.path())) {
        Ok(split) => split,
        Err(()) => return not_found().await,
    };
    pipeline::handle(
        state,
        Incoming {
            agent: name,
            route_skill,
            peer_cert: parts
                .extensions
                .get::<Arc<listener::PeerCertificate>>()
                .cloned(),
            http: stages::Request {
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

/// `/skills/{skill}/rest` below an agent names the skill of the call and
/// is otherwise the agent's interface (`rest`); a skill id there is
/// unreserved URL characters only.
fn split_skill_route(subpath: &str) -> Result<(Option<String>, String), ()> {
    let Some(after) = subpath.strip_prefix("/skills/") else {
        return Ok((None, subpath.to_string()));
    };
    let (skill, rest) = after.split_at(after.find('/').unwrap_or(after.len()));
    let valid = !skill.is_empty()
        && skill.len() <= 256
        && skill
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !valid {
        return Err(());
    }
    Ok((Some(skill.to_string()), rest.to_string()))
}

async fn not_found() -> Response {
    respond::error(
        Binding::Rest,
        &A2aError::not_found("no such agent or route"),
        &Value::Null,
    )
}

/// `[shared]`: the connection to Redis and the rate limiter on it, or this
/// gateway's own buckets when the section is absent.
async fn open_shared(
    config: &Config,
    metrics: &Metrics,
) -> Result<(Option<shared::Shared>, authz::Limiter), StartError> {
    let own = authz::Limiter::local(&config.rate_limits);
    let Some(section) = &config.shared else {
        return Ok((None, own));
    };
    let invalid = |message: String| ConfigError::Invalid {
        path: "shared".into(),
        message,
    };
    let url = section.url(&|v| std::env::var(v).ok()).map_err(invalid)?;
    let fallback =
        (section.on_unavailable == config::OnUnavailable::LocalLimits).then(|| own.local.clone());
    if fallback.is_some() {
        tracing::warn!(
            "shared.on_unavailable = \"local_limits\": while Redis cannot answer, each gateway applies the rate limits on its own (single-use tokens are still refused)"
        );
    }
    let shared = shared::Shared::open(
        warden_store::shared::SharedConfig {
            url,
            key_prefix: section.key_prefix.clone(),
            timeout: section.timeout,
        },
        fallback,
        metrics.shared_unavailable.clone(),
    )
    .await
    .map_err(|e| invalid(e.to_string()))?;
    tracing::info!(
        prefix = %section.key_prefix,
        "shared state on Redis: single-use ids and rate limits hold across every gateway that uses it"
    );
    let limiter = authz::Limiter {
        local: own.local,
        decides: shared.limiter.clone(),
        shared: Some(shared.limiter.clone()),
        contexts: Some(shared.contexts.clone()),
        streams: Some(shared.streams.clone()),
    };
    Ok((Some(shared), limiter))
}
