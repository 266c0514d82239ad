//! The ingress pipeline, in order, in one place.
//!
//! 1. Accept — header and body caps, before anything is parsed.
//! 2. Route — `/agents/{name}` to a configured upstream. An unknown agent gets
//!    the same answer a denied one will (a plain not-found).
//! 3. Parse — version, content type, binding; the whole body into an
//!    [`A2aOp`]. What cannot be fully understood is answered here and never
//!    forwarded.
//! 4. Authenticate — a verified credential becomes a `Principal`; it runs
//!    before the body is read and before an unknown agent is told apart, so
//!    it sits ahead of parsing in the code (the order of 3 and 4 does not
//!    change what a caller can learn).
//! 5. Authorise — quarantine, per-pair grant, skill scope, task ownership,
//!    policy rules, then rate limits (the per-address limit runs earlier,
//!    before authentication). Refusals never reach the agent.
//! 6. Transform — hop-by-hop and internal headers out, `A2A-Version` in.
//! 7. Proxy — stream both ways.
//! 8. Record — audit event and metrics, off the hot path.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::response::Response;
use http::{HeaderMap, Method, Uri, header};
use http_body_util::BodyExt;
use serde_json::Value;
use warden_a2a::{
    A2aError, A2aOp, Binding, ErrorKind, Operation, ParsedCall, RestRequest, parse_jsonrpc,
    parse_rest,
};

use crate::audit::{AuditEvent, Outcome};
use crate::cards;
use crate::headers::{header_bytes, upstream_request_headers};
use crate::listener::PeerCertificate;
use crate::proxy::{self, Answer, Forward};
use crate::respond;
use crate::state::GatewayState;

/// One request as it arrived.
pub struct Incoming {
    pub agent: String,
    /// The raw path below `/agents/{name}` ("" for the interface root),
    /// without a `/skills/{skill}` prefix.
    pub subpath: String,
    /// The `{skill}` of a per-skill route `/agents/{name}/skills/{skill}/…`.
    pub route_skill: Option<String>,
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Body,
    pub peer: SocketAddr,
    /// The connection's verified client certificate (mTLS), if any.
    pub peer_cert: Option<Arc<PeerCertificate>>,
}

impl Incoming {
    /// JSON-RPC is a POST to the interface root; everything else is REST.
    fn binding(&self) -> Binding {
        if self.method == Method::POST && (self.subpath.is_empty() || self.subpath == "/") {
            Binding::JsonRpc
        } else {
            Binding::Rest
        }
    }
}

/// Runs a request through every stage.
pub async fn handle(state: &GatewayState, req: Incoming) -> Response {
    let started = Instant::now();
    let binding = req.binding();
    let source = req.peer.ip();
    // Refusals before a principal is known.
    let refuse_early = |agent: Option<&str>, err: A2aError| {
        let event =
            AuditEvent::new(agent, source, Outcome::Refused).with_reason(err.kind.wire().reason);
        record(state, &event, started);
        respond::error(binding, &err, &Value::Null)
    };

    // 1. Accept: caps before parsing.
    let limits = &state.config.limits;
    if header_bytes(&req.headers) > limits.max_header_bytes {
        let err = A2aError::new(
            ErrorKind::HeadersTooLarge,
            format!("request headers exceed {} bytes", limits.max_header_bytes),
        );
        return refuse_early(None, err);
    }
    // Per-address rate limit, before any work on the caller's behalf.
    if let Err(r) = state.authz.check_source(source).await {
        state.metrics.authz_refused(&r.reason);
        let event = AuditEvent::new(None, source, Outcome::Refused).with_reason(r.reason.clone());
        record(state, &event, started);
        // The body is read (within the cap) and dropped, unparsed: an answer
        // sent with the body unread makes the server close the connection,
        // and a client reusing it for its next call sees a disconnect. The
        // unknown-agent answer below does the same, so the two stay alike.
        let _ = read_body(req.body, &req.headers, limits.max_request_body_bytes).await;
        return with_headers(respond::error(binding, &r.error, &Value::Null), &r.headers);
    }

    // 2. Route. Cards are public unless configured otherwise; every other
    // route waits for stage 4.
    let routed = state.upstreams.get(&req.agent);
    let card_path = cards::is_card_path(&req.subpath);
    if let (Some(upstream), true, true) = (&routed, card_path, state.config.auth.public_cards) {
        return serve_card(
            state,
            upstream,
            &req.method,
            &req.headers,
            req.peer,
            None,
            started,
        )
        .await;
    }

    // 4. Authenticate — before the body is read, and before an unknown
    // agent could be told apart from a known one.
    let now = crate::auth::unix_now();
    // The URL as the client addressed it: DPoP proofs name it (`htu`).
    let public_url = format!(
        "{}{}",
        cards::public_base(state, &req.headers, req.peer),
        req.uri.path()
    );
    let auth_request = crate::auth::AuthRequest {
        headers: &req.headers,
        agent: &req.agent,
        source,
        method: req.method.as_str(),
        url: &public_url,
        now,
        peer_cert: req.peer_cert.as_deref(),
    };
    let principal = match state.auth.authenticate(&auth_request).await {
        Ok(p) => p,
        Err(err) => {
            let event =
                AuditEvent::new(None, source, Outcome::Refused).with_reason(err.audit_reason());
            record(state, &event, started);
            let mut resp = respond::auth_error(binding, &err, &Value::Null);
            if let Some(nonce) = state.auth.dpop_nonce(now)
                && let Ok(v) = http::HeaderValue::from_str(&nonce)
            {
                resp.headers_mut().insert("dpop-nonce", v);
            }
            return resp;
        }
    };
    let refuse = |agent: Option<&str>, op: Option<&A2aOp>, err: A2aError, id: &Value| {
        let mut event = AuditEvent::new(agent, source, Outcome::Refused)
            .with_reason(err.kind.wire().reason)
            .with_principal(&principal);
        if let Some(op) = op {
            event = event.with_op(op);
        }
        record(state, &event, started);
        respond::error(binding, &err, id)
    };
    let Some(upstream) = routed else {
        let _ = read_body(req.body, &req.headers, limits.max_request_body_bytes).await;
        return refuse(
            None,
            None,
            A2aError::not_found("no such agent or route"),
            &Value::Null,
        );
    };
    // 5a. Admission: a grant for this agent, before the body is parsed (see
    // `Authorizer::admit`).
    if let Err(r) = state
        .authz
        .admit(
            &principal,
            &state.auth.authority.issuer,
            &upstream.config.name,
            now,
        )
        .await
    {
        state.metrics.authz_refused(&r.reason);
        let mut event = AuditEvent::new(Some(&upstream.config.name), source, Outcome::Refused)
            .with_principal(&principal)
            .with_reason(r.reason.clone());
        event.detail = Some(serde_json::json!({
            "decision": "deny", "reason": r.reason, "rule": r.rule,
        }));
        record(state, &event, started);
        // The body is read (within the cap) and dropped, unparsed: an answer
        // sent with the body unread makes the server close the connection,
        // and a client reusing it for its next call sees a disconnect. The
        // unknown-agent answer below does the same, so the two stay alike.
        let _ = read_body(req.body, &req.headers, limits.max_request_body_bytes).await;
        return with_headers(respond::error(binding, &r.error, &Value::Null), &r.headers);
    }
    if card_path {
        return serve_card(
            state,
            &upstream,
            &req.method,
            &req.headers,
            req.peer,
            Some(&principal),
            started,
        )
        .await;
    }
    let agent = upstream.config.name.as_str();
    let body = match read_body(req.body, &req.headers, limits.max_request_body_bytes).await {
        Ok(b) => b,
        Err(err) => return refuse(Some(agent), None, err, &Value::Null),
    };

    // 3. Parse.
    let requested = match crate::headers::requested_version(&req.headers, req.uri.query()) {
        Ok(v) => v,
        Err(err) => return refuse(Some(agent), None, err, &Value::Null),
    };
    let has_body = !body.iter().all(u8::is_ascii_whitespace);
    let json_ct = req
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(warden_a2a::is_json_content_type);
    if (binding == Binding::JsonRpc || has_body) && !json_ct {
        let err = A2aError::content_type_not_supported(
            "A2A bodies must be application/json or application/a2a+json",
        );
        return refuse(Some(agent), None, err, &Value::Null);
    }
    let parsed: Result<ParsedCall, (A2aError, Value)> = match binding {
        Binding::JsonRpc => parse_jsonrpc(&body, requested, state.json_limits())
            .map_err(|r| (r.error, r.jsonrpc_id)),
        Binding::Rest => parse_rest(
            RestRequest {
                method: &req.method,
                path: &req.subpath,
                query: req.uri.query(),
                body: &body,
            },
            requested,
            state.json_limits(),
        )
        .map_err(|e| (e, Value::Null)),
    };
    let call = match parsed {
        Ok(c) => c,
        Err((err, id)) => return refuse(Some(agent), None, err, &id),
    };
    let mut op = call.op;
    op.requested_extensions = match crate::headers::requested_extensions(&req.headers) {
        Ok(e) => e,
        Err(err) => return refuse(Some(agent), Some(&op), err, &Value::Null),
    };
    let jsonrpc_id = op.jsonrpc_id.clone().unwrap_or(Value::Null);

    // 5. Authorise.
    let card_skills = if op.operation.is_streaming() || op.operation == Operation::SendMessage {
        state
            .upstreams
            .card(&upstream)
            .await
            .ok()
            .map(|c| skill_ids(&c.raw))
    } else {
        None
    };
    let permit = match state
        .authz
        .authorise(crate::authz::Ask {
            principal: &principal,
            own_issuer: &state.auth.authority.issuer,
            agent,
            op: &op,
            route_skill: req.route_skill.as_deref(),
            card_skills: card_skills.as_deref(),
            now,
        })
        .await
    {
        Ok(p) => p,
        Err(r) => {
            state.metrics.authz_refused(&r.reason);
            let mut event = AuditEvent::new(Some(agent), source, Outcome::Refused)
                .with_op(&op)
                .with_principal(&principal)
                .with_reason(r.reason.clone());
            event.detail = Some(serde_json::json!({
                "decision": "deny", "reason": r.reason, "rule": r.rule,
            }));
            record(state, &event, started);
            let id = if r.anonymous_id {
                Value::Null
            } else {
                jsonrpc_id.clone()
            };
            return with_headers(respond::error(binding, &r.error, &id), &r.headers);
        }
    };
    let mut decision = permit.detail();
    let rate_headers = permit.headers.clone();

    // 5c. URLs inside the call obey the egress rules.
    let body =
        match crate::message_urls::check(&state.config.message_urls, &state.egress, &op, &body)
            .await
        {
            crate::message_urls::Verdict::Pass => body,
            crate::message_urls::Verdict::Stripped(stripped, failed) => {
                note_urls(&mut decision, "stripped", &failed);
                stripped
            }
            crate::message_urls::Verdict::Refused(err, failed) => {
                state.metrics.authz_refused("url_refused");
                note_urls(&mut decision, "refused", &failed);
                let mut event = AuditEvent::new(Some(agent), source, Outcome::Refused)
                    .with_op(&op)
                    .with_principal(&principal)
                    .with_reason("url_refused");
                event.detail = Some(decision);
                record(state, &event, started);
                return with_headers(respond::error(binding, &err, &jsonrpc_id), &rate_headers);
            }
        };

    // 6. Transform.
    let endpoint = match state.upstreams.endpoint(&upstream, binding).await {
        Ok(e) => e,
        Err(err) => {
            let mut event = AuditEvent::new(Some(agent), source, Outcome::UpstreamFailed)
                .with_op(&op)
                .with_principal(&principal)
                .with_reason(err.kind.wire().reason);
            event.detail = Some(decision);
            record(state, &event, started);
            return respond::error(binding, &err, &jsonrpc_id);
        }
    };
    let url = match binding {
        Binding::JsonRpc => endpoint,
        // Joined on the parsed endpoint, never pasted: a `.`/`..` segment in
        // the path, or an endpoint with a query or fragment, is refused.
        Binding::Rest => match warden_egress::target::join_path(&endpoint, &req.subpath) {
            Ok(mut u) => {
                if let Some(q) = req.uri.query() {
                    u.push('?');
                    u.push_str(q);
                }
                u
            }
            Err(e) => {
                let err = A2aError::invalid_request(format!(
                    "the request path cannot be forwarded ({})",
                    e.reason()
                ));
                let event = AuditEvent::new(Some(agent), source, Outcome::Refused)
                    .with_op(&op)
                    .with_principal(&principal)
                    .with_reason(err.kind.wire().reason);
                record(state, &event, started);
                return respond::error(binding, &err, &jsonrpc_id);
            }
        },
    };
    let proto = state.public_url.split("://").next().unwrap_or("http");
    let upstream_token = (state.config.auth.upstream_tokens
        && state.auth.mode == crate::config::AuthMode::Strict)
        .then(|| state.auth.authority.upstream_token(agent, &principal, now))
        .flatten();
    let headers = upstream_request_headers(
        &req.headers,
        source,
        proto,
        requested.as_str(),
        upstream_token.as_deref(),
    );

    // 7. Proxy.
    let answer = proxy::forward(
        state,
        Forward {
            agent,
            op: &op,
            method: req.method.clone(),
            url,
            headers,
            body,
            public_base: cards::public_base(state, &req.headers, req.peer),
            owner: state
                .authz
                .enforcing()
                .then(|| permit.allowed.owner.clone()),
            hooks: crate::stream::RelayHooks {
                guard: permit.stream,
                tap: None,
            },
        },
    )
    .await;

    // 8. Record.
    match answer {
        Answer::Relayed(resp, status) => {
            let mut event = AuditEvent::new(Some(agent), source, Outcome::Forwarded)
                .with_op(&op)
                .with_principal(&principal)
                .with_reason(format!("upstream HTTP {status}"));
            event.detail = Some(decision);
            record(state, &event, started);
            with_headers(resp, &rate_headers)
        }
        Answer::Failed(err) => {
            let mut event = AuditEvent::new(Some(agent), source, Outcome::UpstreamFailed)
                .with_op(&op)
                .with_principal(&principal)
                .with_reason(err.kind.wire().reason);
            event.detail = Some(decision);
            record(state, &event, started);
            respond::error(binding, &err, &jsonrpc_id)
        }
    }
}

/// Adds what the URL check found to an audit event's detail (the full
/// reason, resolved addresses included, stays on Warden's side).
fn note_urls(detail: &mut Value, what: &str, failed: &[crate::message_urls::Failed]) {
    let list: Vec<Value> = failed
        .iter()
        .map(|f| {
            serde_json::json!({"at": f.place, "reason": f.error.reason(), "why": f.error.to_string()})
        })
        .collect();
    if let Some(o) = detail.as_object_mut() {
        o.insert("urls".into(), serde_json::json!({what: list}));
    }
}

/// Adds rate-limit headers to an answer.
fn with_headers(mut resp: Response, headers: &[(&'static str, String)]) -> Response {
    for (name, value) in headers {
        if let Ok(v) = http::HeaderValue::from_str(value) {
            resp.headers_mut()
                .insert(http::HeaderName::from_static(name), v);
        }
    }
    resp
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
    state: &GatewayState,
    upstream: &crate::upstream::Upstream,
    method: &Method,
    headers: &HeaderMap,
    peer: SocketAddr,
    principal: Option<&crate::auth::Principal>,
    started: Instant,
) -> Response {
    {
        let source = peer.ip();
        let agent = upstream.config.name.as_str();
        let mut event = AuditEvent::new(Some(agent), source, Outcome::CardServed);
        if let Some(p) = principal {
            event = event.with_principal(p);
        }
        if method != Method::GET && method != Method::HEAD {
            let err = A2aError::method_not_found("agent cards are read with GET");
            event.outcome = Outcome::Refused;
            record(state, &event.with_reason(err.kind.wire().reason), started);
            return respond::error(Binding::Rest, &err, &Value::Null);
        }
        match cards::serve(state, upstream, headers, peer).await {
            Ok(resp) => {
                record(state, &event, started);
                resp
            }
            Err(err) => {
                event.outcome = Outcome::UpstreamFailed;
                // A refused card names why (`card_unsigned`, `card_signature`).
                let reason = err
                    .metadata
                    .get("card")
                    .and_then(Value::as_str)
                    .unwrap_or(err.kind.wire().reason);
                let event = event.with_reason(reason);
                record(state, &event, started);
                respond::error(Binding::Rest, &err, &Value::Null)
            }
        }
    }
}

/// Reads the body within the cap; a declared length over the cap is refused
/// before a byte is read. (The egress proxy reads its bodies the same way.)
pub(crate) async fn read_body(
    body: Body,
    headers: &HeaderMap,
    cap: usize,
) -> Result<bytes::Bytes, A2aError> {
    let too_large = || A2aError::payload_too_large(format!("request body exceeds {cap} bytes"));
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap as u64) {
        return Err(too_large());
    }
    match http_body_util::Limited::new(body, cap).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(too_large())
        }
        Err(_) => Err(A2aError::invalid_request(
            "the request body could not be read",
        )),
    }
}

/// Audit event and metrics for one request.
fn record(state: &GatewayState, event: &AuditEvent, started: Instant) {
    let agent = event.agent.as_deref().unwrap_or("-");
    let operation = event.operation.unwrap_or("-");
    state
        .metrics
        .count(agent, operation, event.outcome.as_str());
    state
        .metrics
        .observe(agent, operation, started.elapsed().as_secs_f64());
    if !state.audit.emit(event) {
        state.metrics.audit_dropped.inc();
    }
}
