//! Sending one authorised call to the remote agent, with Warden's
//! credential for it, and relaying the answer.
//!
//! What leaves: the caller's exact bytes, the caller's headers without its
//! credentials (`Authorization`, `X-API-Key`, `DPoP`, `Cookie`), without
//! hop-by-hop, `x-warden-*` and forwarding headers (nothing about the local
//! side), with `A2A-Version` as the caller asked; Warden's credential goes
//! in the egress request's same-origin credentials. What comes back: the
//! remote's status and headers (hop-by-hop headers, its authentication
//! challenges and cookies removed), JSON read whole within
//! `limits.max_response_body_bytes`, SSE relayed chunk by chunk.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::Value;
use warden_a2a::{A2aError, A2aOp, Binding, ErrorKind, Operation};
use warden_egress::{Inbound, Outbound};

use super::error::ProxyError;
use super::remote::{Remote, RemoteCard};
use crate::headers::{strip_hop_by_hop, upstream_request_headers};
use crate::state::GatewayState;
use crate::stream::{RelayHooks, StreamLimits, relay};

/// The egress purpose of proxied calls (audit events of kind `egress`).
pub const PURPOSE: &str = "egress_proxy";

/// One authorised call.
pub struct Call<'a> {
    pub remote: &'a Arc<Remote>,
    /// The remote's card, when it was already fetched for this call.
    pub card: Option<Result<Arc<RemoteCard>, ProxyError>>,
    pub op: &'a A2aOp,
    pub method: Method,
    /// The raw path below `/egress/{remote}` (REST).
    pub subpath: &'a str,
    pub query: Option<&'a str>,
    /// The caller's headers.
    pub headers: &'a HeaderMap,
    /// `A2A-Version` as the caller asked for it.
    pub version: &'a str,
    pub body: Bytes,
    /// The remote on the proxy (for rewriting an extended card).
    pub proxy_url: String,
    /// Who owns the tasks the call creates.
    pub owner: Option<String>,
    pub hooks: RelayHooks,
}

/// A relayed answer.
pub struct Relayed {
    pub response: Response,
    pub status: u16,
    /// The URL called.
    pub url: String,
    /// The `kid` that signed the remote's card (None: accepted unsigned).
    pub signed_by: Option<String>,
}

pub enum RemoteAnswer {
    Relayed(Relayed),
    /// Not sent, or no usable answer; the URL when one was chosen.
    Failed(ProxyError, Option<String>),
}

pub async fn forward(state: &GatewayState, mut call: Call<'_>) -> RemoteAnswer {
    let card = match call.card.take() {
        Some(card) => card,
        None => call.remote.card(&state.egress).await,
    };
    let card = match card {
        Ok(c) => c,
        Err(e) => return RemoteAnswer::Failed(e, None),
    };
    let iface = match card.interface(call.op.binding) {
        Ok(i) => i,
        Err(e) => return RemoteAnswer::Failed(e, None),
    };
    let url = match call.op.binding {
        Binding::JsonRpc => iface.url().to_string(),
        // The subpath is joined on the parsed interface URL: a card's REST
        // URL with a query or fragment would swallow it, and is refused.
        Binding::Rest => match warden_egress::target::join_path(iface.url(), call.subpath) {
            Ok(mut u) => {
                if let Some(q) = call.query {
                    u.push('?');
                    u.push_str(q);
                }
                u
            }
            Err(e) => return RemoteAnswer::Failed(e.into(), None),
        },
    };
    let mut req = Outbound::new(call.method.clone(), url.clone(), PURPOSE);
    req.headers = outbound_headers(call.headers, call.version);
    req.body = call.body.clone();
    req.streaming = call.op.operation.is_streaming();
    let resp = match send(state, call.remote, req).await {
        Ok(r) => r,
        Err(e) => return RemoteAnswer::Failed(e, Some(url)),
    };
    match relay_answer(state, &mut call, resp).await {
        Ok((response, status)) => RemoteAnswer::Relayed(Relayed {
            response,
            status,
            url,
            signed_by: card.card.signed_by.clone(),
        }),
        Err(e) => RemoteAnswer::Failed(e, Some(url)),
    }
}

/// The caller's headers as they may leave: no credentials, nothing about
/// the local side (the shared ingress rules, then the forwarding headers
/// those add removed again).
pub fn outbound_headers(incoming: &HeaderMap, version: &str) -> HeaderMap {
    let unspecified = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let mut h = upstream_request_headers(incoming, unspecified, "https", version, None);
    h.remove("x-forwarded-for");
    h.remove("x-forwarded-proto");
    h
}

/// Sends `req` with Warden's credential for the remote; once more after a
/// 401 asking for a DPoP nonce, or refusing a token from the endpoint
/// (which may be used up: Warden's plain bearer tokens are single-use). A
/// 401 that remains is Warden's failure, not the caller's.
async fn send(
    state: &GatewayState,
    remote: &Arc<Remote>,
    req: Outbound,
) -> Result<Inbound, ProxyError> {
    let creds = &remote.credentials;
    for attempt in 0..2 {
        let mut out = req.clone();
        out.credentials = credential_headers(state, remote, &out.method, &out.url).await?;
        let resp = state.egress.send(out).await?;
        if resp.status() != StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        if attempt > 0 {
            break;
        }
        if creds.recover_from_401(&req.url, resp.headers()).await {
            continue;
        }
        break;
    }
    Err(ProxyError::RemoteUnauthenticated)
}

/// Warden's credential headers for the remote, for `method url`.
///
/// warden-client's token fetch keeps a value that is not `Send` (its form
/// serializer) across an await, so its future cannot run on the proxy's
/// tasks; until that is fixed there, it runs to completion on a blocking
/// thread of the same runtime.
async fn credential_headers(
    state: &GatewayState,
    remote: &Arc<Remote>,
    method: &Method,
    url: &str,
) -> Result<HeaderMap, ProxyError> {
    remote
        .credentials
        .headers_for(&state.egress, method, url)
        .await
        .map_err(ProxyError::from)
}

/// The remote's answer as the caller gets it.
async fn relay_answer(
    state: &GatewayState,
    call: &mut Call<'_>,
    resp: Inbound,
) -> Result<(Response, u16), ProxyError> {
    let limits = &state.config.limits;
    let name = call.remote.name();
    let status = resp.status();
    let mut headers = resp.headers().clone();
    strip_hop_by_hop(&mut headers);
    // The remote's challenges and cookies are for Warden's credential, not
    // for the caller's.
    for h in [
        "www-authenticate",
        "dpop-nonce",
        "set-cookie",
        "authentication-info",
    ] {
        headers.remove(h);
    }
    let is_sse = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("text/event-stream"));
    if is_sse {
        headers.remove(CONTENT_LENGTH);
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
        let stream_limits = StreamLimits {
            keepalive: limits.keepalive_interval,
            idle: limits.stream_idle_timeout,
            max_event_bytes: limits.max_response_body_bytes.get(),
        };
        let mut hooks = std::mem::take(&mut call.hooks);
        if let (Some(owner), true) = (&call.owner, status.is_success()) {
            hooks.tap = Some(crate::authz::ownership::TaskTap::new(
                std::sync::Arc::clone(state.authz.owners()),
                name,
                owner,
                limits.max_response_body_bytes.get(),
            ));
        }
        let mut out = Response::new(Body::from_stream(relay(
            resp.stream(),
            stream_limits,
            state.metrics.streams(name),
            hooks,
        )));
        *out.status_mut() = status;
        *out.headers_mut() = headers;
        return Ok((out, status.as_u16()));
    }
    let cap = limits.max_response_body_bytes.get();
    let mut body = match resp.bytes_capped(cap as u64).await {
        Ok(b) => b,
        Err(warden_egress::EgressError::TooLarge(_)) => return Err(ProxyError::TooLarge { cap }),
        Err(e) => return Err(e.into()),
    };
    if let (Some(owner), true) = (&call.owner, status.is_success()) {
        let (kept, changed) = crate::authz::ownership::after_answer(
            state.authz.owners(),
            state.json_limits(),
            name,
            owner,
            call.op,
            body,
        )
        .await
        .map_err(|error| ProxyError::Answer { error })?;
        if changed {
            headers.remove(CONTENT_LENGTH);
        }
        body = kept;
    }
    if call.op.operation == Operation::GetExtendedAgentCard && status.is_success() {
        // The extended card names the remote's endpoints: point them at the
        // proxy, like the public card, or do not relay it.
        body = rewrite_extended_card(state, &body, call.op.binding, &call.proxy_url).ok_or_else(
            || ProxyError::Answer {
                error: A2aError::new(
                    ErrorKind::InvalidAgentResponse,
                    format!("remote agent {name:?} sent an extended card that is not valid JSON"),
                ),
            },
        )?;
        headers.remove(CONTENT_LENGTH);
    }
    let mut out = Response::new(Body::from(body));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Ok((out, status.as_u16()))
}

fn rewrite_extended_card(
    state: &GatewayState,
    body: &[u8],
    binding: Binding,
    proxy_url: &str,
) -> Option<Bytes> {
    let mut v = warden_a2a::json::parse_strict(body, state.json_limits()).ok()?;
    match binding {
        Binding::JsonRpc => {
            let result = v.get_mut("result")?;
            *result = crate::cards::rewrite(result, proxy_url);
        }
        Binding::Rest => v = crate::cards::rewrite(&v, proxy_url),
    }
    Some(Bytes::from(Value::to_string(&v)))
}
