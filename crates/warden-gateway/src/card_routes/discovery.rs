//! `GET /registry/agents`: the agents behind this gateway, as the cards
//! Warden serves — verified upstream, rebuilt from parsed fields and signed
//! by Warden — with quarantined agents and agents whose card does not
//! verify left out. Filters: `skill` (exact id), `tag`, `q` (all words).
//!
//! Discovery shows what the card endpoints already show, so it follows
//! `auth.public_cards`: with cards behind authentication it is off
//! (403), rather than listing agents a caller may have no grant for.

use std::net::SocketAddr;

use axum::body::Body;
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};
use warden_a2a::{A2aError, Binding};
use warden_card::search::Query;

use super::{public_base, signed_card};
use crate::respond;
use crate::state::GatewayState;

pub const PATH: &str = crate::routes::DISCOVERY_PATH;

pub async fn list(
    state: &GatewayState,
    query: Query,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Response {
    if let Err(r) = state.authz.check_source(peer.ip()).await {
        return respond::error(Binding::Rest, &r.error, &Value::Null);
    }
    if !state.config.auth.public_cards {
        let err = A2aError::forbidden(
            "discovery is off: agent cards are not public here (auth.public_cards = false)",
        );
        return respond::error(Binding::Rest, &err, &Value::Null);
    }
    if let Err(e) = query.check() {
        return respond::error(
            Binding::Rest,
            &A2aError::invalid_params(e.to_string()),
            &Value::Null,
        );
    }
    // A quarantine made elsewhere (the CLI) holds for the very next listing,
    // as it does for the next call: one primary-key read decides a reload.
    if state.authz.refresh().await.is_err() {
        let err = A2aError::new(
            warden_a2a::ErrorKind::Unavailable,
            "the agent directory cannot be read right now",
        );
        return respond::error(Binding::Rest, &err, &Value::Null);
    }
    let base = public_base(state, headers, peer);
    let mut names: Vec<&str> = state.upstreams.names().collect();
    names.sort_unstable();
    let mut agents = Vec::new();
    for name in names {
        if state.authz.is_quarantined(name) {
            continue;
        }
        let Some(up) = state.upstreams.get(name) else {
            continue;
        };
        // A card that cannot be fetched or does not verify is not listed.
        let Ok(cached) = state.upstreams.card(&up).await else {
            continue;
        };
        let Ok(card) = signed_card(state, name, &cached.raw, &base) else {
            continue;
        };
        let Ok(url) = warden_egress::target::join_segments(&base, &["agents", name]) else {
            continue;
        };
        if query.matches(&card) {
            agents.push(json!({"name": name, "url": url, "card": card}));
        }
    }
    let mut resp = Response::new(Body::from(json!({"agents": agents}).to_string()));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
