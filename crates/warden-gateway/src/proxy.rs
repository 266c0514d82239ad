//! Forwarding one understood call to its upstream and relaying the answer.

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, header};
use serde_json::Value;
use warden_a2a::json::parse_strict;
use warden_a2a::{A2aError, A2aOp, Binding, ErrorKind, JsonLimits, Operation};

use crate::headers::strip_hop_by_hop;
use crate::state::GatewayState;
use crate::stream::{RelayHooks, StreamLimits, relay};
use warden_a2a::types::AgentCard;

/// One call ready to go upstream.
pub struct Forward<'a> {
    pub agent: &'a str,
    pub op: &'a A2aOp,
    pub method: Method,
    /// The upstream URL as read (the error: what sending to it refuses).
    pub target: Result<warden_egress::target::Target, warden_egress::EgressError>,
    pub headers: HeaderMap,
    /// The exact bytes the client sent (and Warden checked).
    pub body: Bytes,
    /// The gateway's base URL, as the caller reached it (for rewriting the
    /// extended card).
    pub public_base: String,
    /// Who owns the tasks this call creates (None: ownership is not kept,
    /// authentication being off).
    pub owner: Option<String>,
    /// Authorisation's hooks for a streamed answer.
    pub hooks: RelayHooks,
}

/// How the upstream answered.
pub enum Answer {
    /// Relayed to the client; the upstream's HTTP status.
    Relayed(Response, u16),
    /// The upstream failed; the gateway answers instead.
    Failed(A2aError),
}

fn failure(e: &warden_egress::EgressError, agent: &str) -> A2aError {
    if e.is_timeout() {
        A2aError::new(
            ErrorKind::UpstreamTimeout,
            format!("agent {agent:?} did not answer in time"),
        )
    } else {
        A2aError::new(
            ErrorKind::UpstreamUnavailable,
            format!("agent {agent:?} is unavailable"),
        )
    }
}

pub async fn forward(state: &GatewayState, f: Forward<'_>) -> Answer {
    let limits = &state.config.limits;
    // The extended card, cut to the caller's skills, is kept per caller
    // and skill set for the card TTL.
    let extended = if f.op.operation == Operation::GetExtendedAgentCard {
        let usable = match usable_skills(state, &f).await {
            Ok(u) => u,
            Err(err) => return Answer::Failed(err),
        };
        let key = format!("{}\n{}", f.owner.as_deref().unwrap_or(""), usable.join(","));
        let ttl = limits.card_cache;
        if let Some(up) = state.upstreams.get(f.agent)
            && let Some(card) = up.cached_extended(&key, ttl)
        {
            return Answer::Relayed(card_answer(f.op, card), 200);
        }
        Some((key, usable))
    } else {
        None
    };
    let streaming = f.op.operation.is_streaming();
    let sent = match f.target {
        Ok(target) => {
            let mut req = warden_egress::Outbound::to(f.method, target, "proxy");
            req.headers = f.headers;
            req.body = f.body;
            // A stream's head must come within the total timeout; its body
            // then obeys the idle limit only.
            req.streaming = streaming;
            // An upstream's redirect is its answer, relayed as is.
            req.pass_redirects = true;
            state.upstreams.client().send(req).await
        }
        Err(e) => Err(e),
    };
    let mut resp = match sent {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(agent = f.agent, error = %e, reason = e.reason(), "upstream request failed");
            return Answer::Failed(failure(&e, f.agent));
        }
    };
    let status = resp.status();
    let mut headers = resp.take_headers();
    strip_hop_by_hop(&mut headers);
    let is_sse = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("text/event-stream"));
    if is_sse {
        headers.remove(header::CONTENT_LENGTH);
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
        let stream_limits = StreamLimits {
            keepalive: limits.keepalive_interval,
            idle: limits.stream_idle_timeout,
            max_event_bytes: limits.max_response_body_bytes.get(),
        };
        if !streaming {
            return Answer::Failed(
                crate::answers::Invalid("a stream to a call that is not one".into())
                    .to_a2a(f.agent),
            );
        }
        let mut hooks = f.hooks;
        let report = hooks.report.take();
        hooks.check = Some(crate::answers::CheckedEvents::new(
            crate::answers::EventCheck::new(f.op, limits.json()),
            f.agent,
            report,
        ));
        if let (Some(owner), true) = (&f.owner, status.is_success()) {
            hooks.tap = Some(crate::authz::ownership::TaskTap::new(
                std::sync::Arc::clone(state.authz.owners()),
                f.agent,
                owner,
                limits.max_response_body_bytes.get(),
            ));
        }
        let body = relay(
            resp.stream(),
            stream_limits,
            state.metrics.streams(f.agent),
            hooks,
        );
        let mut out = Response::new(Body::from_stream(body));
        *out.status_mut() = status;
        *out.headers_mut() = headers;
        return Answer::Relayed(out, status.as_u16());
    }
    // Non-streaming answers are small JSON: read them whole, within the cap.
    let cap = limits.max_response_body_bytes.get();
    let body = match resp.bytes_capped(cap as u64).await {
        Ok(b) => b,
        Err(warden_egress::EgressError::TooLarge(_)) => {
            return Answer::Failed(A2aError::new(
                ErrorKind::InvalidAgentResponse,
                format!("agent {:?} sent a response over {cap} bytes", f.agent),
            ));
        }
        Err(e) => return Answer::Failed(failure(&e, f.agent)),
    };
    if let Err(why) = crate::answers::check_answer(f.op, status, &headers, &body, limits.json()) {
        tracing::warn!(agent = f.agent, why = %why.0, "an invalid answer from the agent was replaced by an error");
        return Answer::Failed(why.to_a2a(f.agent));
    }
    let mut body = body;
    if let (Some(owner), true) = (&f.owner, status.is_success()) {
        match crate::authz::ownership::after_answer(
            state.authz.owners(),
            state.json_limits(),
            f.agent,
            owner,
            f.op,
            body,
        )
        .await
        {
            Ok(kept) => {
                if kept.1 {
                    headers.remove(header::CONTENT_LENGTH);
                }
                body = kept.0;
            }
            Err(err) => return Answer::Failed(err),
        }
    }
    if f.op.operation == Operation::GetExtendedAgentCard && status.is_success() {
        // The extended card names upstream endpoints too: rewrite it like
        // the public card so no internal address leaks.
        let json_limits = limits.json();
        let (key, usable) = extended.unwrap_or_default();
        let served = std::cell::RefCell::new(None);
        let up = state.upstreams.get(f.agent);
        let prepare = |mut card: AgentCard| {
            state.upstreams.drop_refused_links(f.agent, &mut card);
            card
        };
        let sign = |card: &Value| -> Result<Value, A2aError> {
            let card = only_skills(card, &usable);
            // Linted like the public card; no review queue for a card that
            // comes with each call: held means not served.
            let policy = up.as_ref().map(|u| u.config.card_lint).unwrap_or_default();
            let card = match crate::cards::check::check(f.agent, &card, policy, false) {
                crate::cards::check::Verdict::Serve(c) => c,
                crate::cards::check::Verdict::Hold(findings) => {
                    tracing::warn!(agent = f.agent, findings = ?crate::cards::check::Verdict::reasons(&findings), "extended agent card held by its lint");
                    return Err(crate::cards::pin::lint_refused(f.agent));
                }
            };
            let signed = crate::card_routes::signed_card(state, f.agent, &card, &f.public_base)?;
            served.replace(Some(signed.clone()));
            Ok(signed)
        };
        match rewrite_extended_card(f.agent, &body, f.op.binding, json_limits, prepare, sign) {
            Ok(rewritten) => {
                body = rewritten;
                headers.remove(header::CONTENT_LENGTH);
                if let (Some(up), Some(card)) = (&up, served.into_inner()) {
                    up.keep_extended(key, card);
                }
            }
            Err(err) => return Answer::Failed(err),
        }
    }
    let mut out = Response::new(Body::from(body));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Answer::Relayed(out, status.as_u16())
}

/// The skills the caller is granted at this agent (`*` for all; all when
/// authorisation is not enforced).
async fn usable_skills(state: &GatewayState, f: &Forward<'_>) -> Result<Vec<String>, A2aError> {
    let Some(caller) = &f.owner else {
        return Ok(vec![warden_policy::ANY_SKILL.to_string()]);
    };
    let now = crate::clock::unix_now();
    match state.authz.registry().fresh().await {
        Ok(view) => Ok(view
            .skills_granted(caller, f.agent, now)
            .unwrap_or_default()),
        Err(e) => {
            tracing::error!(error = %e, "grant lookup for the extended card failed");
            Err(A2aError::new(
                ErrorKind::Unavailable,
                "the extended card cannot be prepared right now",
            ))
        }
    }
}

/// A cached extended card, answered in the call's binding.
fn card_answer(op: &A2aOp, card: Value) -> Response {
    let body = match op.binding {
        Binding::JsonRpc => serde_json::json!({
            "jsonrpc": "2.0",
            "id": op.jsonrpc_id.clone().unwrap_or(Value::Null),
            "result": card,
        }),
        Binding::Rest => card,
    };
    let mut out = Response::new(Body::from(body.to_string()));
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    out
}

/// `card` with only the skills in `usable` (or all, when it holds `*`).
fn only_skills(card: &Value, usable: &[String]) -> Value {
    let mut card = card.clone();
    if usable.iter().any(|s| s == warden_policy::ANY_SKILL) {
        return card;
    }
    if let Some(skills) = card.get_mut("skills").and_then(Value::as_array_mut) {
        skills.retain(|s| {
            s.get("id")
                .and_then(Value::as_str)
                .is_some_and(|id| usable.iter().any(|u| u == id))
        });
    }
    card
}

/// The extended card as Warden serves it: parsed as an `AgentCard` (known
/// fields only, the upstream's signatures dropped), then rewritten and
/// signed by `sign`. The extended card reaches Warden over the call it
/// answers, from the agent whose public card verified; it is not itself
/// required to be signed.
fn rewrite_extended_card(
    agent: &str,
    body: &[u8],
    binding: Binding,
    limits: JsonLimits,
    prepare: impl Fn(AgentCard) -> AgentCard,
    sign: impl Fn(&Value) -> Result<Value, A2aError>,
) -> Result<Bytes, A2aError> {
    // What cannot be read cannot be rewritten, and relaying it as is could
    // leak upstream addresses.
    let invalid = || {
        A2aError::new(
            ErrorKind::InvalidAgentResponse,
            format!("agent {agent:?} sent an extended card that is not a valid agent card"),
        )
    };
    let known = |v: &Value| -> Result<Value, A2aError> {
        let mut card: AgentCard = serde_json::from_value(v.clone()).map_err(|_| invalid())?;
        card.signatures.clear();
        let card = prepare(card);
        sign(&serde_json::to_value(&card).map_err(|_| invalid())?)
    };
    let mut v = parse_strict(body, limits).map_err(|_| invalid())?;
    match binding {
        Binding::JsonRpc => {
            let result = v.get_mut("result").ok_or_else(invalid)?;
            *result = known(result)?;
        }
        Binding::Rest => v = known(&v)?,
    }
    Ok(Bytes::from(Value::to_string(&v)))
}
