//! The admin listener, kept apart from client traffic (and on loopback by
//! default): health, readiness and Prometheus metrics, unauthenticated; and
//! the admin API under `/admin/v1/` ([`api`]), which needs the admin token
//! ([`token`]).

pub mod api;
mod apikeys_api;
mod audit_api;
mod authz_api;
mod cards_api;
mod push_api;
mod readiness;
mod registry_api;
#[cfg(test)]
mod test_support;
pub mod token;
mod toolkit;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use token::{ADMIN_TOKEN_ENV, ADMIN_TOKEN_FILE, AdminToken, AdminTokenError, TokenSource};

use crate::state::GatewayState;

/// The admin listener's router: `/healthz`, `/readyz` and `/metrics` for
/// anyone who can reach the listener, and the admin API at
/// [`crate::routes::ADMIN_PREFIX`] for holders of `token`.
pub fn router(state: GatewayState, token: AdminToken) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readiness::ready))
        .route("/metrics", get(metrics))
        .with_state(state.clone())
        .nest(crate::routes::ADMIN_PREFIX, api::router(state, token))
}

async fn metrics(State(state): State<GatewayState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        state.metrics.render(),
    )
        .into_response()
}
