//! The HTTP face of an agent: card, JSON-RPC at the root, REST below it.

mod jsonrpc;
mod render;
mod rest;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use warden_a2a::types::{AgentCard, AgentInterface, BINDING_HTTP_JSON, BINDING_JSONRPC};
use warden_a2a::{A2aError, JsonLimits, ProtocolVersion, requested_version, version};

use crate::executor::AgentExecutor;
use crate::handler::Handler;
use crate::tasks::TaskManager;

/// Limits of the agent's HTTP server.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    pub max_body_bytes: usize,
    pub json: JsonLimits,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 4 * 1024 * 1024,
            json: JsonLimits::default(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct AppState {
    pub handler: Handler,
    pub limits: ServerLimits,
    pub card_json: Arc<Vec<u8>>,
}

/// Fills in the card's interfaces: JSON-RPC at `public_url`, REST below it.
pub fn served_card(mut card: AgentCard, public_url: &str) -> AgentCard {
    let url = public_url.trim_end_matches('/').to_string();
    card.supported_interfaces = vec![
        AgentInterface {
            url: url.clone(),
            protocol_binding: BINDING_JSONRPC.into(),
            protocol_version: "1.0".into(),
            tenant: None,
        },
        AgentInterface {
            url,
            protocol_binding: BINDING_HTTP_JSON.into(),
            protocol_version: "1.0".into(),
            tenant: None,
        },
    ];
    card
}

/// Builds the router of one agent, reachable at `public_url`.
pub fn router(
    executor: Arc<dyn AgentExecutor>,
    tasks: TaskManager,
    public_url: &str,
    limits: ServerLimits,
) -> Router {
    let card = served_card(executor.card(), public_url);
    let card_json = serde_json::to_vec(&card).unwrap_or_default();
    let state = AppState {
        handler: Handler::new(executor, tasks, card),
        limits,
        card_json: Arc::new(card_json),
    };
    Router::new()
        .route("/.well-known/agent-card.json", get(card_handler))
        .route("/.well-known/agent.json", get(card_handler))
        .route("/", post(jsonrpc::handle))
        .fallback(rest::handle)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .with_state(state)
}

async fn card_handler(State(state): State<AppState>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=60"),
            ),
        ],
        state.card_json.as_ref().clone(),
    )
        .into_response()
}

/// The version the caller asked for, from header or query.
pub(crate) fn caller_version(
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<ProtocolVersion, A2aError> {
    let header = headers
        .get(version::VERSION_HEADER)
        .and_then(|v| v.to_str().ok());
    let query_value =
        query.and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("A2A-Version=")));
    requested_version(header, query_value)
}

/// Whether the request's Content-Type is acceptable for a JSON body.
pub(crate) fn json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(warden_a2a::is_json_content_type)
}

/// Headers every SSE response carries so that no proxy buffers it.
pub(crate) fn sse_headers() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            header::HeaderName::from_static("x-accel-buffering"),
            HeaderValue::from_static("no"),
        ),
    ]
}
