//! The routes that serve cards: each agent's card at
//! `/agents/{name}/.well-known/agent-card.json` (and the legacy
//! `agent.json`), with `ETag` over the exact bytes served, `Cache-Control`
//! and `Last-Modified`; and the agent directory ([`discovery`]). They
//! compose the card logic ([`crate::cards`]) with the upstreams and the
//! gateway's state.

pub mod discovery;

use std::net::SocketAddr;

use axum::response::Response;
use http::{HeaderMap, HeaderValue, header};
use serde_json::Value;
use warden_a2a::A2aError;

use crate::state::GatewayState;
use crate::upstream::Upstream;

/// The base URL the card advertises: the configured public URL, or the
/// forwarded scheme and host when the peer is a configured trusted proxy.
pub fn public_base(state: &GatewayState, headers: &HeaderMap, peer: SocketAddr) -> String {
    if !state.config.gateway.trusted_proxies.contains(&peer.ip()) {
        return state.public_url.clone();
    }
    // Exactly one value each: a client-supplied copy ahead of the proxy's
    // own (a proxy that appends) must not choose the URL.
    let get = |name: &str| {
        let mut values = headers.get_all(name).iter();
        match (values.next(), values.next()) {
            (Some(v), None) => v.to_str().ok().map(str::trim),
            _ => None,
        }
    };
    let proto = get("x-forwarded-proto").filter(|p| matches!(*p, "http" | "https"));
    let host = get("x-forwarded-host").filter(|h| {
        !h.is_empty()
            && h.len() <= 255
            && h.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    });
    match (proto, host) {
        (Some(p), Some(h)) => format!("{p}://{h}"),
        _ => state.public_url.clone(),
    }
}

/// `card` (verified, known fields only) as Warden serves it under `base`,
/// for `agent`, signed with the authority's current card key.
pub fn signed_card(
    state: &GatewayState,
    agent: &str,
    card: &Value,
    base: &str,
) -> Result<Value, A2aError> {
    let key = state.auth.authority.keys.card_signing_key();
    // Warden offers push for an agent whose tasks it follows.
    let offered = offer_push(state, agent, card);
    let card = offered.as_ref().unwrap_or(card);
    crate::cards::signed_card(&state.config, key.as_deref(), agent, card, base)
}

pub async fn serve(
    state: &GatewayState,
    upstream: &Upstream,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Result<Response, A2aError> {
    let cached = state.upstreams.card(upstream).await?;
    let base = public_base(state, headers, peer);
    let bytes = signed_card(state, &upstream.config.name, &cached.raw, &base)?
        .to_string()
        .into_bytes();
    let max_age = state.config.limits.card_cache.as_secs();
    let mut resp = crate::cards::answer(
        bytes,
        headers,
        &[
            (header::CACHE_CONTROL, format!("public, max-age={max_age}")),
            (
                header::LAST_MODIFIED,
                httpdate::fmt_http_date(cached.modified),
            ),
        ],
    );
    let h = resp.headers_mut();
    // Different hosts get different bytes from a trusted proxy.
    h.insert(
        header::VARY,
        HeaderValue::from_static("X-Forwarded-Host, X-Forwarded-Proto"),
    );
    Ok(resp)
}

/// The card of an agent whose tasks Warden follows (`[[agents]]
/// push_follow`, a v1.0 card without push notifications): push offered,
/// Warden's (docs/push.md, "Agents without push support"; the conditions
/// are `push::follow::offered`'s). None when the card is served as it is.
fn offer_push(state: &GatewayState, agent: &str, card: &Value) -> Option<Value> {
    let up = state.upstreams.get(agent)?;
    if up.config.push_follow == crate::config::PushFollow::Off
        || card.pointer("/capabilities/pushNotifications") == Some(&Value::Bool(true))
        || card.get("supportedInterfaces").is_none()
    {
        return None;
    }
    let mut card = card.clone();
    let caps = card
        .as_object_mut()?
        .entry("capabilities")
        .or_insert_with(|| Value::Object(Default::default()));
    caps.as_object_mut()?
        .insert("pushNotifications".into(), Value::Bool(true));
    Some(card)
}
