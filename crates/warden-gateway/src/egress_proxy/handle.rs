//! One call through the egress proxy, stage by stage, in the order of the
//! ingress pipeline (see the module docs of [`super`]): the same
//! authenticator, admission and authorisation, the same strict parser and
//! the same error shapes, with the remote's name where an agent's would be.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::body::Body;
use axum::response::Response;
use http::{HeaderMap, Method, Uri};
use serde_json::Value;
use warden_a2a::{A2aError, Binding, ErrorKind, Operation};

use super::EgressProxy;
use super::forward::{self, Answer, Call};
use super::parse::{parse, read_body};
use crate::audit::{AuditEvent, Outcome};
use crate::auth::Principal;
use crate::headers::header_bytes;
use crate::respond;
use crate::state::GatewayState;

/// The audit event kind of the egress proxy.
pub const KIND: &str = "egress_proxy";

/// One request as it arrived at the egress listener.
pub struct Incoming {
    pub remote: String,
    /// The raw path below `/egress/{remote}` ("" for the interface root).
    pub subpath: String,
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Body,
    pub peer: SocketAddr,
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

/// Audit and metrics for one call.
struct Recorder<'a> {
    state: &'a GatewayState,
    started: Instant,
    source: IpAddr,
}

impl Recorder<'_> {
    fn event(&self, remote: Option<&str>, outcome: Outcome) -> AuditEvent {
        let mut e = AuditEvent::new(remote, self.source, outcome);
        e.kind = KIND;
        e
    }

    fn record(&self, event: &AuditEvent) {
        let agent = event.agent.as_deref().unwrap_or("-");
        let operation = event.operation.unwrap_or("-");
        let m = &self.state.metrics;
        m.count(agent, operation, event.outcome.as_str());
        m.observe(agent, operation, self.started.elapsed().as_secs_f64());
        if !self.state.audit.emit(event) {
            m.audit_dropped.inc();
        }
    }
}

pub async fn handle(proxy: &EgressProxy, req: Incoming) -> Response {
    let state = proxy.state();
    let rec = Recorder {
        state,
        started: Instant::now(),
        source: req.peer.ip(),
    };
    let binding = req.binding();
    let limits = &state.config.limits;
    let refuse_early = |err: A2aError| {
        rec.record(
            &rec.event(None, Outcome::Refused)
                .with_reason(err.kind.wire().reason),
        );
        respond::error(binding, &err, &Value::Null)
    };

    // 1. Accept.
    if header_bytes(&req.headers) > limits.max_header_bytes {
        return refuse_early(A2aError::new(
            ErrorKind::HeadersTooLarge,
            format!("request headers exceed {} bytes", limits.max_header_bytes),
        ));
    }
    if let Err(r) = state.authz.check_source(rec.source).await {
        state.metrics.authz_refused(&r.reason);
        rec.record(
            &rec.event(None, Outcome::Refused)
                .with_reason(r.reason.clone()),
        );
        let _ = read_body(req.body, &req.headers, limits.max_request_body_bytes).await;
        return with_headers(respond::error(binding, &r.error, &Value::Null), &r.headers);
    }

    // 2. Route: public cards need no credential (as at ingress).
    let remote = proxy.remote(&req.remote);
    let card_path = crate::cards::is_card_path(&req.subpath);
    if let (Some(remote), true, true) = (&remote, card_path, state.config.auth.public_cards) {
        return serve_card(proxy, &rec, remote, &req.method, &req.headers, None).await;
    }

    // 3. Authenticate, before the body is read and before an unknown remote
    // is told apart from a known one.
    let now = crate::auth::unix_now();
    let url = format!("{}{}", proxy.public_url(), req.uri.path());
    let auth_request = crate::auth::AuthRequest {
        headers: &req.headers,
        agent: &req.remote,
        source: rec.source,
        method: req.method.as_str(),
        url: &url,
        now,
        peer_cert: None,
    };
    let principal = match state.auth.authenticate(&auth_request).await {
        Ok(p) => p,
        Err(err) => {
            rec.record(
                &rec.event(None, Outcome::Refused)
                    .with_reason(err.audit_reason()),
            );
            let mut resp = respond::auth_error(binding, &err, &Value::Null);
            if let Some(nonce) = state.auth.dpop_nonce(now)
                && let Ok(v) = http::HeaderValue::from_str(&nonce)
            {
                resp.headers_mut().insert("dpop-nonce", v);
            }
            return resp;
        }
    };
    // Refusals before the call was parsed.
    let refuse = |remote: Option<&str>, err: A2aError, id: &Value| {
        let event = rec
            .event(remote, Outcome::Refused)
            .with_reason(err.kind.wire().reason)
            .with_principal(&principal);
        rec.record(&event);
        respond::error(binding, &err, id)
    };
    let Some(remote) = remote else {
        let _ = read_body(req.body, &req.headers, limits.max_request_body_bytes).await;
        return refuse(
            None,
            A2aError::not_found("no such agent or route"),
            &Value::Null,
        );
    };
    let name = remote.name();

    // 4. Admission: a grant to this remote, before the body is read.
    let issuer = &state.auth.authority.issuer;
    if let Err(r) = state.authz.admit(&principal, issuer, name, now).await {
        state.metrics.authz_refused(&r.reason);
        let mut event = rec
            .event(Some(name), Outcome::Refused)
            .with_principal(&principal)
            .with_reason(r.reason.clone());
        event.detail = Some(serde_json::json!({
            "decision": "deny", "reason": r.reason, "rule": r.rule,
        }));
        rec.record(&event);
        let _ = read_body(req.body, &req.headers, limits.max_request_body_bytes).await;
        return with_headers(respond::error(binding, &r.error, &Value::Null), &r.headers);
    }
    if card_path {
        return serve_card(
            proxy,
            &rec,
            &remote,
            &req.method,
            &req.headers,
            Some(&principal),
        )
        .await;
    }

    // 5. Parse.
    let body = match read_body(req.body, &req.headers, limits.max_request_body_bytes).await {
        Ok(b) => b,
        Err(err) => return refuse(Some(name), err, &Value::Null),
    };
    let (op, requested) = match parse(
        state,
        &req.method,
        &req.subpath,
        &req.uri,
        &req.headers,
        &body,
        binding,
    ) {
        Ok(parsed) => parsed,
        Err(r) => return refuse(Some(name), r.error, &r.jsonrpc_id),
    };
    let jsonrpc_id = op.jsonrpc_id.clone().unwrap_or(Value::Null);

    // 6. Authorise, with the remote's card for the only-skill rule.
    // A message's skill may be the card's only one: fetch the card first
    // (its failure is reported once the call is authorised).
    let card = if op.operation.is_streaming() || op.operation == Operation::SendMessage {
        Some(remote.card(&state.egress).await)
    } else {
        None
    };
    let card_skills = match &card {
        Some(Ok(c)) => Some(c.skill_ids()),
        _ => None,
    };
    let permit = match state
        .authz
        .authorise(crate::authz::Ask {
            principal: &principal,
            own_issuer: issuer,
            agent: name,
            op: &op,
            route_skill: None,
            card_skills: card_skills.as_deref(),
            now,
        })
        .await
    {
        Ok(p) => p,
        Err(r) => {
            state.metrics.authz_refused(&r.reason);
            let mut event = rec
                .event(Some(name), Outcome::Refused)
                .with_op(&op)
                .with_principal(&principal)
                .with_reason(r.reason.clone());
            event.detail = Some(serde_json::json!({
                "decision": "deny", "reason": r.reason, "rule": r.rule,
            }));
            rec.record(&event);
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

    // 7. Forward.
    let answer = forward::forward(
        state,
        Call {
            remote: &remote,
            card,
            op: &op,
            method: req.method.clone(),
            subpath: &req.subpath,
            query: req.uri.query(),
            headers: &req.headers,
            version: requested.as_str(),
            body,
            proxy_url: proxy.url_of(name),
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
        Answer::Relayed(r) => {
            note(
                &mut decision,
                &r.url,
                Some(r.status),
                r.signed_by.as_deref(),
                None,
            );
            let mut event = rec
                .event(Some(name), Outcome::Forwarded)
                .with_op(&op)
                .with_principal(&principal)
                .with_reason(format!("remote HTTP {}", r.status));
            event.detail = Some(decision);
            rec.record(&event);
            with_headers(r.response, &rate_headers)
        }
        Answer::Failed(err, url) => {
            tracing::warn!(remote = name, reason = %err.audit_reason(), why = %err.why(), "egress proxy call not completed");
            note(
                &mut decision,
                url.as_deref().unwrap_or(&remote.config.url),
                None,
                None,
                Some(&err),
            );
            let mut event = rec
                .event(Some(name), err.outcome())
                .with_op(&op)
                .with_principal(&principal)
                .with_reason(err.audit_reason());
            event.detail = Some(decision);
            rec.record(&event);
            with_headers(
                respond::error(binding, &err.to_a2a(name), &jsonrpc_id),
                &rate_headers,
            )
        }
    }
}

/// Adds where the call went (no query), what came back, how the card was
/// trusted and, for a failure, why, to the audit detail.
fn note(
    detail: &mut Value,
    url: &str,
    status: Option<u16>,
    signed_by: Option<&str>,
    err: Option<&super::ProxyError>,
) {
    if let Some(o) = detail.as_object_mut() {
        o.insert("remote".into(), warden_egress::audit::redact(url).into());
        o.insert("status".into(), status.into());
        if status.is_some() {
            o.insert("cardSignedBy".into(), signed_by.into());
        }
        if let Some(e) = err {
            o.insert("why".into(), e.why().into());
        }
    }
}

/// The remote's card, as the proxy serves it, and its audit event.
async fn serve_card(
    proxy: &EgressProxy,
    rec: &Recorder<'_>,
    remote: &super::Remote,
    method: &Method,
    headers: &HeaderMap,
    principal: Option<&Principal>,
) -> Response {
    let name = remote.name();
    let mut event = rec.event(Some(name), Outcome::CardServed);
    if let Some(p) = principal {
        event = event.with_principal(p);
    }
    if method != Method::GET && method != Method::HEAD {
        let err = A2aError::method_not_found("agent cards are read with GET");
        event.outcome = Outcome::Refused;
        rec.record(&event.with_reason(err.kind.wire().reason));
        return respond::error(Binding::Rest, &err, &Value::Null);
    }
    match super::cards::serve(proxy, remote, headers).await {
        Ok(resp) => {
            rec.record(&event);
            resp
        }
        Err(err) => {
            event.outcome = err.outcome();
            event.detail = Some(serde_json::json!({
                "remote": warden_egress::audit::redact(&remote.config.url),
                "why": err.why(),
            }));
            rec.record(&event.with_reason(err.audit_reason()));
            respond::error(Binding::Rest, &err.to_a2a(name), &Value::Null)
        }
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
