//! The ingress pipeline: `/agents/{name}/…`, composed of the shared
//! [`crate::stages`] in this order.
//!
//! 1. Accept — header cap and per-address rate limit, before anything is read.
//! 2. Route — `/agents/{name}` to a configured upstream; its card is served
//!    here when cards are public.
//! 3. Authenticate — before the body is read and before an unknown agent is
//!    told apart from a known one.
//! 4. Admit — a grant for this agent, still before the body is read (no
//!    grant and no agent get the same answer); a card read with a
//!    credential is served here.
//! 5. Parse — the body within its cap, then version, content type, binding,
//!    extensions and the whole body strictly into one operation.
//! 6. Authorise — skills, task ownership, policy rules, rate limits; then
//!    the URLs inside the call against the egress rules.
//! 7. Transform — the upstream URL from the parsed route, hop-by-hop and
//!    internal headers out, `A2A-Version` and Warden's own token in.
//! 8. Proxy — stream both ways.
//! 9. Record — audit event and metrics (off the hot path); a refusal at any
//!    stage is recorded and answered by [`stages::rescue`].

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use http::Method;
use serde_json::Value;
use warden_a2a::{A2aError, Binding, ErrorKind, Operation};
use warden_egress::EgressError;
use warden_egress::target::Target;

use crate::audit::Outcome;
use crate::cards;
use crate::config::AgentAccess;
use crate::headers::upstream_request_headers;
use crate::listener::PeerCertificate;
use crate::proxy::{self, Answer, Forward};
use crate::push::register::Intercept;
use crate::retries::Lookup;
use crate::stages::{self, Ctx, Refusal};
use crate::state::GatewayState;

/// The audit event kind of ingress calls.
pub const KIND: &str = "request";

/// One request as it arrived (its body is handed over beside it).
pub struct Incoming {
    pub agent: String,
    /// The `{skill}` of a per-skill route `/agents/{name}/skills/{skill}/…`.
    pub route_skill: Option<String>,
    /// The request below the route (for ingress, without a
    /// `/skills/{skill}` prefix).
    pub http: stages::Request,
    /// The connection's verified client certificate (mTLS), if any.
    pub peer_cert: Option<Arc<PeerCertificate>>,
}

/// Runs a request through every stage.
pub async fn handle(state: &GatewayState, req: Incoming, body: Body) -> Response {
    let binding = req.http.binding();
    let mut ctx = Ctx::new(state, KIND, binding, req.http.peer.ip());
    let mut body = Some(body);
    match run(&mut ctx, &req, &mut body).await {
        Ok(resp) => resp,
        Err(refusal) => stages::rescue(&ctx, refusal, body).await,
    }
}

async fn run(
    ctx: &mut Ctx<'_>,
    req: &Incoming,
    body: &mut Option<Body>,
) -> Result<Response, Refusal> {
    let state = ctx.state;
    // 1. Accept.
    stages::accept(ctx, &req.http.headers).await?;

    // 2. Route; public cards need no credential.
    let upstream = state.upstreams.get(&req.agent);
    let card_path = cards::is_card_path(&req.http.subpath);
    if let (Some(up), true, true) = (&upstream, card_path, state.config.auth.public_cards) {
        ctx.target = Some(up.config.name.clone());
        return serve_card(ctx, up, req).await;
    }

    // 3. Authenticate. DPoP proofs name the URL as the client addressed it.
    let seen = crate::registry_view::Seen::new();
    let url = format!(
        "{}{}",
        crate::card_routes::public_base(state, &req.http.headers, req.http.peer),
        req.http.uri.path()
    );
    let auth = crate::auth::AuthRequest {
        headers: &req.http.headers,
        agent: &req.agent,
        source: ctx.source,
        method: req.http.method.as_str(),
        url: &url,
        now: ctx.now,
        peer_cert: req.peer_cert.as_deref(),
        seen: Some(&seen),
    };
    // A public agent takes callers without a credential, each known by the
    // capability it was handed (a new one is returned with the answer).
    let public = upstream
        .as_ref()
        .is_some_and(|u| u.config.access == AgentAccess::Public);
    let issued_capability = if public {
        stages::authenticate_public(ctx, &auth).await?
    } else {
        stages::authenticate(ctx, &auth).await?;
        None
    };

    // 4. Admit.
    let upstream = upstream.ok_or_else(stages::unknown_target)?;
    let agent = upstream.config.name.as_str();
    stages::admit(ctx, agent).await?;
    if card_path {
        stages::settle(ctx).await?;
        return serve_card(ctx, &upstream, req).await;
    }

    // 5. Parse.
    let (bytes, call) = stages::read_call(ctx, body.take().unwrap_or_default(), &req.http).await?;

    // 6. Authorise (a message's skill may be the card's only one).
    let card_skills = match call.op.operation {
        Operation::SendMessage | Operation::SendStreamingMessage => state
            .upstreams
            .card(&upstream)
            .await
            .ok()
            .map(|c| skill_ids(&c.raw)),
        _ => None,
    };
    let permit = stages::authorise(ctx, req.route_skill.as_deref(), card_skills.as_deref()).await?;
    let bytes = stages::check_urls(ctx, bytes).await?;

    // 7. Transform.
    let endpoint = state
        .upstreams
        .endpoint(&upstream, ctx.binding)
        .await
        .map_err(Refusal::upstream)?;
    let query = call.rewrite.query.as_deref().or(req.http.uri.query());
    let target = upstream_url(ctx.binding, &upstream, &endpoint, req, query)?;
    let proto = state.public_url.split("://").next().unwrap_or("http");
    let principal = ctx
        .principal
        .as_ref()
        .ok_or_else(|| Refusal::new(A2aError::internal("no principal")))?;
    let upstream_token = (state.config.auth.upstream_tokens
        && state.auth.mode == crate::config::AuthMode::Strict)
        .then(|| {
            state
                .auth
                .authority
                .upstream_token(agent, principal, ctx.now)
        })
        .flatten();
    let headers = upstream_request_headers(
        &req.http.headers,
        ctx.source,
        proto,
        call.requested.as_str(),
        upstream_token.as_deref(),
    );

    // A retried message gets its first answer, never a second task.
    let retry = match retry_key(ctx, req, &call, &permit, agent, &bytes)? {
        Some((key, identity)) => match state.retries.begin(&key, &identity, ctx.started) {
            Lookup::First => Some(key),
            Lookup::Answered(kept) => {
                ctx.record(&ctx.event(Outcome::RetryAnswered));
                let resp = crate::retries::replay(&kept, call.op.jsonrpc_id.as_ref());
                return Ok(stages::with_headers(resp, &ctx.rate_headers));
            }
            Lookup::Running => {
                return Err(Refusal::new(A2aError::new(
                    ErrorKind::Unavailable,
                    "the first call with this key is still running; retry shortly",
                ))
                .reason("retry_running")
                .header("retry-after", "1"));
            }
            Lookup::Mismatch => {
                return Err(Refusal::new(A2aError::invalid_request(
                    "this Idempotency-Key (or message id) was used for a different request",
                ))
                .reason("retry_mismatch"));
            }
        },
        None => None,
    };

    // 8. Proxy; push configs are Warden's (the agent gets the relay).
    let (owner, hooks) = stages::carried(ctx, permit);
    let owner_key = owner.clone().unwrap_or_default();
    let (bytes, pending) =
        match crate::push::register::intercept(ctx, agent, &owner_key, &call.op, bytes).await {
            Ok(Intercept::Pass(b)) => (b, None),
            Ok(Intercept::Registered(b, p)) => (b, Some(p)),
            Ok(Intercept::Answered(resp)) => {
                if let Some(key) = retry {
                    state.retries.abandon(&key);
                }
                ctx.record(
                    &ctx.event(Outcome::Forwarded)
                        .with_reason("answered by Warden (push)"),
                );
                return Ok(stages::with_headers(resp, &ctx.rate_headers));
            }
            Err(refusal) => {
                if let Some(key) = retry {
                    state.retries.abandon(&key);
                }
                return Err(refusal);
            }
        };
    let answer = proxy::forward(
        state,
        Forward {
            agent,
            op: &call.op,
            method: req.http.method.clone(),
            target,
            headers,
            body: bytes,
            public_base: crate::card_routes::public_base(state, &req.http.headers, req.http.peer),
            owner,
            hooks,
        },
    )
    .await;
    let answer = match pending {
        Some(p) => crate::push::answer::finish(state, p, answer).await,
        None => answer,
    };

    // 9. Record.
    let answer = match (retry, answer) {
        (Some(key), Answer::Relayed(resp, status)) => Answer::Relayed(
            keep_for_retries(state, &key, resp, ctx.binding).await,
            status,
        ),
        (Some(key), failed) => {
            state.retries.abandon(&key);
            failed
        }
        (None, answer) => answer,
    };
    match answer {
        Answer::Relayed(resp, status) => {
            ctx.record(
                &ctx.event(Outcome::Forwarded)
                    .with_reason(format!("upstream HTTP {status}")),
            );
            let mut resp = stages::with_headers(resp, &ctx.rate_headers);
            if let Some(cap) = issued_capability
                && let Ok(v) = http::HeaderValue::from_str(&cap)
            {
                resp.headers_mut()
                    .insert(crate::auth::public::CAPABILITY_HEADER, v);
            }
            Ok(resp)
        }
        Answer::Failed(err) => Err(Refusal::upstream(err)),
    }
}

/// The retry key of a call that may be retried safely (a `SendMessage`,
/// when `[retries]` is on), with what makes a retry the same request.
fn retry_key(
    ctx: &Ctx<'_>,
    req: &Incoming,
    call: &warden_a2a::call::Call,
    permit: &crate::authz::Permit,
    agent: &str,
    body: &[u8],
) -> Result<Option<(crate::retries::CallKey, Vec<u8>)>, Refusal> {
    if !ctx.state.retries.enabled() || call.op.operation != Operation::SendMessage {
        return Ok(None);
    }
    let key = crate::retries::call_key(
        &req.http.headers,
        call.op.message_id.as_deref(),
        &permit.caller,
        agent,
    )
    .map_err(Refusal::new)?;
    Ok(key.map(|k| {
        let identity = crate::retries::request_identity(ctx.binding, body, req.http.uri.query());
        (k, identity)
    }))
}

/// Keeps a relayed answer for retries when it is a success (it is read
/// whole: a non-streaming answer is already in memory).
async fn keep_for_retries(
    state: &GatewayState,
    key: &crate::retries::CallKey,
    resp: Response,
    binding: Binding,
) -> Response {
    let (parts, body) = resp.into_parts();
    let cap = state.config.limits.max_response_body_bytes.get();
    let Ok(bytes) = axum::body::to_bytes(body, cap).await else {
        state.retries.abandon(key);
        return Response::from_parts(parts, Body::empty());
    };
    if crate::retries::keepable(parts.status, binding, &bytes) {
        state.retries.finish(
            key,
            crate::retries::Kept {
                status: parts.status,
                headers: parts.headers.clone(),
                body: bytes.clone(),
            },
            std::time::Instant::now(),
        );
    } else {
        state.retries.abandon(key);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The upstream URL of a call: the JSON-RPC endpoint as it is; for REST,
/// the request path joined on the parsed endpoint, never pasted (a `.`/`..`
/// segment, or an endpoint with a query or fragment, is refused), and the
/// query (in canonical form when reading rewrote it). The endpoint is read
/// once per text ([`Upstream::read_endpoint`]). The inner error is what
/// sending to the URL refuses (an agent failure, as when the URL was
/// read at the send), the outer one the path's refusal.
fn upstream_url(
    binding: Binding,
    upstream: &crate::upstream::Upstream,
    endpoint: &str,
    req: &Incoming,
    query: Option<&str>,
) -> Result<Result<Target, EgressError>, Refusal> {
    let read = upstream.read_endpoint(binding, endpoint);
    if binding == Binding::JsonRpc {
        return Ok(read);
    }
    let unforwardable = |e: EgressError| {
        Refusal::new(A2aError::invalid_request(format!(
            "the request path cannot be forwarded ({})",
            e.reason()
        )))
    };
    warden_egress::target::join_on(&read.map_err(unforwardable)?, &req.http.subpath, query)
        .map_err(unforwardable)
}

/// The skill ids an agent card lists.
fn skill_ids(card: &Value) -> Vec<String> {
    card.get("skills")
        .and_then(Value::as_array)
        .map(|skills| {
            skills
                .iter()
                .filter_map(|s| s.get("id").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Serves an agent's card (GET or HEAD only) and records it.
async fn serve_card(
    ctx: &Ctx<'_>,
    upstream: &crate::upstream::Upstream,
    req: &Incoming,
) -> Result<Response, Refusal> {
    if req.http.method != Method::GET && req.http.method != Method::HEAD {
        return Err(Refusal::new(A2aError::method_not_found(
            "agent cards are read with GET",
        )));
    }
    match crate::card_routes::serve(ctx.state, upstream, &req.http.headers, req.http.peer).await {
        Ok(resp) => {
            ctx.record(&ctx.event(Outcome::CardServed));
            Ok(resp)
        }
        Err(err) => {
            // A refused card names why (`card_unsigned`, `card_lint`, …).
            let reason = err
                .metadata
                .get("card")
                .and_then(Value::as_str)
                .unwrap_or(err.kind.wire().reason)
                .to_string();
            Err(Refusal::upstream(err).reason(&reason))
        }
    }
}
