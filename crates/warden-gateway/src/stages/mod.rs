//! The stages every entry point is composed of, and the one place a refused
//! call becomes an answer.
//!
//! Each stage is a function over a [`Ctx`] (what is known of the call so
//! far) returning `Result<_, Refusal>`. An entry point runs the stages it
//! needs in order and hands any [`Refusal`] to [`rescue`], which writes the
//! audit event, the metrics, the headers and the wire answer, in the
//! caller's binding. See `docs/architecture.md` for which entry point
//! composes which stages.
//!
//! | stage | function | refuses with |
//! |---|---|---|
//! | accept | [`accept`] | header cap; per-address rate limit (body drained) |
//! | authenticate | [`authenticate`] | 401/400 with a challenge (and a DPoP nonce; body drained) |
//! | admit | [`admit`] | no grant for the target = unknown target (body drained) |
//! | read | [`read_body`] | body over the cap |
//! | parse | [`parse`] | anything not fully understood, in the protocol's shape |
//! | authorise | [`authorise`] | grants, skills, ownership, rules, rate limits (and, with `[shared]`, a replayed single-use id) |
//! | check URLs | [`check_urls`] | URLs inside the call the egress rules refuse |
//! | record | [`Ctx::record`] | — |

mod refusal;
mod single_use;

use std::net::IpAddr;
use std::time::Instant;

use axum::body::Body;
use bytes::Bytes;
use http::HeaderMap;
use serde_json::Value;
use warden_a2a::call::{Call, HttpRequest};
use warden_a2a::{A2aError, A2aOp, Binding, ErrorKind};

pub use refusal::{Refusal, rescue};
pub use single_use::settle;

use crate::audit::{AuditEvent, Outcome};
use crate::auth::AuthRequest;
use crate::authz::{Ask, Permit};
use crate::principal::Principal;
use crate::state::GatewayState;

/// What is known of one call as it passes the stages.
pub struct Ctx<'a> {
    pub state: &'a GatewayState,
    /// The audit event kind of this entry point.
    pub kind: &'static str,
    pub binding: Binding,
    pub source: IpAddr,
    pub started: Instant,
    /// Seconds since the Unix epoch, read once per call.
    pub now: u64,
    /// The target (agent or remote), once routed.
    pub target: Option<String>,
    pub principal: Option<Principal>,
    pub op: Option<A2aOp>,
    /// The authorisation decision, for the audit detail.
    pub decision: Option<Value>,
    /// Fields removed under `unknown_fields = "drop"` (audit detail
    /// `dropped_fields`: names only, their values are the caller's data).
    pub dropped_fields: Vec<String>,
    /// Rate-limit headers every answer after authorisation carries.
    pub rate_headers: Vec<(&'static str, String)>,
    /// The credential's single-use id, checked but not yet recorded
    /// (`[shared]`): [`authorise`] records it in the call's one round trip
    /// with the rate limits, [`settle`] on its own, and [`rescue`] when the
    /// call is refused before either (see [`rescue`] for which refusals).
    pub pending: Option<crate::shared::PendingUse>,
    /// The registry snapshot authentication read, for admission (one read
    /// of the change signal per call).
    pub seen: Option<std::sync::Arc<crate::registry_view::Snapshot>>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        state: &'a GatewayState,
        kind: &'static str,
        binding: Binding,
        source: IpAddr,
    ) -> Self {
        Self {
            state,
            kind,
            binding,
            source,
            started: Instant::now(),
            now: state.clock.now_unix(),
            target: None,
            principal: None,
            op: None,
            decision: None,
            dropped_fields: Vec::new(),
            rate_headers: Vec::new(),
            pending: None,
            seen: None,
        }
    }

    /// An audit event with everything known so far.
    pub fn event(&self, outcome: Outcome) -> AuditEvent {
        let mut e = AuditEvent::new(self.target.as_deref(), self.source, outcome);
        e.kind = self.kind;
        if let Some(p) = &self.principal {
            e = e.with_principal(p);
        }
        if let Some(op) = &self.op {
            e = e.with_op(op);
        }
        e.detail = self.decision.clone();
        if !self.dropped_fields.is_empty() {
            let detail = e.detail.get_or_insert_with(|| serde_json::json!({}));
            if let Some(o) = detail.as_object_mut() {
                o.insert(
                    "dropped_fields".into(),
                    serde_json::json!(self.dropped_fields),
                );
            }
        }
        e
    }

    /// The JSON-RPC id to echo (null until the call is parsed).
    pub fn jsonrpc_id(&self) -> Value {
        self.op
            .as_ref()
            .and_then(|o| o.jsonrpc_id.clone())
            .unwrap_or(Value::Null)
    }

    /// Writes the audit event and the metrics of one call.
    pub fn record(&self, event: &AuditEvent) {
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

/// Accept: the header cap, then the per-address rate limit, before any
/// work on the caller's behalf (with `[shared]`, this gateway's own bucket
/// here and the shared one with the call's other limits: see
/// `Authorizer::screen_source`).
pub async fn accept(ctx: &Ctx<'_>, headers: &HeaderMap) -> Result<(), Refusal> {
    let cap = ctx.state.config.limits.max_header_bytes.get();
    if crate::headers::header_bytes(headers) > cap {
        return Err(Refusal::new(A2aError::new(
            ErrorKind::HeadersTooLarge,
            format!("request headers exceed {cap} bytes"),
        )));
    }
    ctx.state
        .authz
        .screen_source(ctx.source)
        .await
        .map_err(|d| Refusal::denied(d).drain())
}

/// Authenticate: the request's credential becomes a principal. Runs before
/// the body is read and before an unknown target is told apart.
/// A single-use id is left pending in the context (`[shared]`): see
/// [`Ctx::pending`].
pub async fn authenticate(ctx: &mut Ctx<'_>, req: &AuthRequest<'_>) -> Result<(), Refusal> {
    let (principal, pending) = ctx
        .state
        .auth
        .authenticate_deferring(req)
        .await
        .map_err(Refusal::unauthenticated)?;
    ctx.principal = Some(principal);
    ctx.pending = pending;
    ctx.seen = req.seen.and_then(|s| s.get().cloned());
    Ok(())
}

/// Authenticate at a public agent: as [`authenticate`] for a request with
/// a credential; one without is an anonymous caller known by its
/// capability. Returns a newly issued capability, for the answer.
pub async fn authenticate_public(
    ctx: &mut Ctx<'_>,
    req: &AuthRequest<'_>,
) -> Result<Option<String>, Refusal> {
    let caller = ctx
        .state
        .auth
        .authenticate_public(req)
        .await
        .map_err(Refusal::unauthenticated)?;
    ctx.principal = Some(caller.principal);
    ctx.pending = caller.pending;
    ctx.seen = req.seen.and_then(|s| s.get().cloned());
    Ok(caller.issued)
}

/// Admit: a grant in force for `target`, before the body is read (no grant
/// is answered like an unknown target). Sets the context's target.
pub async fn admit(ctx: &mut Ctx<'_>, target: &str) -> Result<(), Refusal> {
    ctx.target = Some(target.to_string());
    let seen = ctx.seen.take();
    let Some(principal) = &ctx.principal else {
        return Err(Refusal::new(A2aError::internal(
            "admission before authentication",
        )));
    };
    let state = ctx.state;
    state
        .authz
        .admit(
            principal,
            &state.auth.authority.issuer,
            target,
            ctx.now,
            seen,
        )
        .await
        .map_err(|d| {
            // A spent bucket is refused here, before the parse, with the
            // answer the limit gives after it (the request's id echoed).
            let rate_limited = matches!(d.reason, crate::authz::Reason::RateLimited(_));
            let r = Refusal::denied(d).drain();
            if rate_limited { r.id_from_body() } else { r }
        })
}

/// The refusal for a route that names no known target: the same answer a
/// missing grant gets.
pub fn unknown_target() -> Refusal {
    Refusal::new(A2aError::not_found("no such agent or route")).drain()
}

/// Read: the body within the cap; a declared length over the cap is refused
/// before a byte is read.
pub async fn read_body(ctx: &Ctx<'_>, body: Body, headers: &HeaderMap) -> Result<Bytes, Refusal> {
    read_capped(
        body,
        headers,
        ctx.state.config.limits.max_request_body_bytes.get(),
    )
    .await
    .map_err(Refusal::new)
}

/// Parse: the whole request read strictly into one operation
/// ([`warden_a2a::call::read`]).
pub fn parse(ctx: &mut Ctx<'_>, req: &HttpRequest<'_>) -> Result<Call, Refusal> {
    let rules = ctx.state.read_rules(ctx.target.as_deref());
    let call = warden_a2a::call::read(req, ctx.binding, rules)
        .map_err(|r| Refusal::new(r.error).with_id(r.jsonrpc_id))?;
    ctx.op = Some(call.op.clone());
    ctx.dropped_fields = call.rewrite.dropped.clone();
    Ok(call)
}

/// Read and parse: the body within its cap, then the whole request read
/// strictly into one call (see [`read_body`] and [`parse`]). The bytes
/// returned are the ones to forward: the canonical rewrite when reading
/// made one (proto field names, dropped unknown fields), else the body as
/// it came.
pub async fn read_call(
    ctx: &mut Ctx<'_>,
    body: Body,
    req: &Request,
) -> Result<(Bytes, Call), Refusal> {
    let bytes = read_body(ctx, body, &req.headers).await?;
    let mut call = parse(
        ctx,
        &HttpRequest {
            method: &req.method,
            path: &req.subpath,
            query: req.uri.query(),
            headers: &req.headers,
            body: &bytes,
        },
    )?;
    let bytes = match call.rewrite.body.take() {
        Some(canonical) => Bytes::from(canonical),
        None => bytes,
    };
    Ok((bytes, call))
}

/// A request as it arrived at an entry point, without its body.
pub struct Request {
    pub method: http::Method,
    pub uri: http::Uri,
    pub headers: HeaderMap,
    /// The raw path below the target's route ("" for the interface root).
    pub subpath: String,
    pub peer: std::net::SocketAddr,
}

impl Request {
    /// The call's binding: JSON-RPC is a POST to the interface root.
    pub fn binding(&self) -> Binding {
        warden_a2a::call::binding_of(&self.method, &self.subpath)
    }
}

/// What an allowed call carries to the proxy: who owns the tasks it
/// creates (none when ownership is not kept, authentication being off), and
/// the stream guard that lets a quarantine close it.
pub fn carried(ctx: &Ctx<'_>, permit: Permit) -> (Option<String>, crate::stream::RelayHooks) {
    debug_assert!(
        ctx.pending.is_none(),
        "a call is forwarded with its single-use id still pending"
    );
    let owner = ctx
        .state
        .authz
        .enforcing()
        .then(|| permit.allowed.owner.clone());
    // A stream cut for an invalid event is audited as a failed upstream
    // (prepared for streaming calls only: other answers are audited on the
    // request's own path).
    let streaming = ctx
        .op
        .as_ref()
        .is_some_and(|op| op.operation.is_streaming());
    let report = streaming.then(|| {
        let audit = ctx.state.audit.clone();
        let event = ctx.event(Outcome::UpstreamFailed);
        let report: crate::answers::Report = Box::new(move |why: &str| {
            let mut event = event;
            event.reason = Some(format!("invalid_agent_response: {why}"));
            audit.emit(&event);
        });
        report
    });
    let hooks = crate::stream::RelayHooks {
        guard: permit.stream,
        tap: None,
        check: None,
        report,
    };
    (owner, hooks)
}

/// Authorise: the parsed call against grants, skills, ownership, policy
/// rules and rate limits. `card_skills` are the target card's skill ids
/// (for the only-skill rule), `route_skill` a per-skill route's skill.
pub async fn authorise(
    ctx: &mut Ctx<'_>,
    route_skill: Option<&str>,
    card_skills: Option<&[String]>,
) -> Result<Permit, Refusal> {
    let state = ctx.state;
    // An authoriser that does not record it with the limits: first, alone.
    if !state.authz.folds_single_use() {
        settle(ctx).await?;
    }
    let (Some(principal), Some(op), Some(target)) = (&ctx.principal, &ctx.op, &ctx.target) else {
        return Err(Refusal::new(A2aError::internal(
            "authorisation before parsing",
        )));
    };
    let pending = ctx.pending.take();
    let decided = state
        .authz
        .authorise(Ask {
            principal,
            own_issuer: &state.auth.authority.issuer,
            agent: target,
            op,
            route_skill,
            card_skills,
            now: ctx.now,
            pending: pending.as_ref(),
        })
        .await;
    let permit = decided.map_err(|d| single_use::refused(ctx, d, pending))?;
    ctx.decision = Some(permit.detail());
    ctx.rate_headers = permit.headers.clone();
    Ok(permit)
}

/// Check URLs: `url` parts and push URLs inside the call obey the egress
/// rules (`[message_urls]`), or an allowance for this agent and caller:
/// the body passes, comes back stripped, or the call is refused.
pub async fn check_urls(ctx: &mut Ctx<'_>, body: Bytes) -> Result<Bytes, Refusal> {
    use crate::message_urls::{Scope, Verdict, check};
    let state = ctx.state;
    let Some(op) = &ctx.op else {
        return Ok(body);
    };
    let caller = ctx.principal.as_ref().map(Principal::key);
    let scope = Scope {
        // No target: no agent-bound allowance applies.
        agent: ctx.target.as_deref().unwrap_or_default(),
        caller: caller.as_deref(),
    };
    let checked = check(&state.config.message_urls, &state.egress, op, &body, scope).await;
    let excepted: Vec<Value> = checked
        .excepted
        .iter()
        .map(|e| serde_json::json!({"at": e.place, "by": e.by}))
        .collect();
    note_urls(&mut ctx.decision, "excepted", excepted);
    match checked.verdict {
        Verdict::Pass => Ok(body),
        Verdict::Stripped(stripped, failed) => {
            note_urls(&mut ctx.decision, "stripped", failed_list(&failed));
            Ok(stripped)
        }
        Verdict::Refused(err, failed) => {
            note_urls(&mut ctx.decision, "refused", failed_list(&failed));
            Err(Refusal::new(err).reason("url_refused").counted())
        }
    }
}

/// The full reason of each failed URL (resolved addresses included): for
/// the audit detail, never for the caller.
fn failed_list(failed: &[crate::message_urls::Failed]) -> Vec<Value> {
    failed
        .iter()
        .map(|f| {
            serde_json::json!({"at": f.place, "reason": f.error.reason(), "why": f.error.to_string()})
        })
        .collect()
}

/// Adds `list` under `urls.{what}` in the audit detail (nothing when it is
/// empty).
fn note_urls(detail: &mut Option<Value>, what: &str, list: Vec<Value>) {
    if list.is_empty() {
        return;
    }
    let detail = detail.get_or_insert_with(|| serde_json::json!({}));
    let Some(o) = detail.as_object_mut() else {
        return;
    };
    let urls = o.entry("urls").or_insert_with(|| serde_json::json!({}));
    if let Some(u) = urls.as_object_mut() {
        u.insert(what.into(), Value::Array(list));
    }
}

/// Reads a body within `cap`; a declared length over the cap is refused
/// before a byte is read.
pub async fn read_capped(body: Body, headers: &HeaderMap, cap: usize) -> Result<Bytes, A2aError> {
    use http_body_util::BodyExt;
    let too_large = || A2aError::payload_too_large(format!("request body exceeds {cap} bytes"));
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
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

/// Adds headers to an answer.
pub fn with_headers(
    mut resp: axum::response::Response,
    headers: &[(&'static str, String)],
) -> axum::response::Response {
    for (name, value) in headers {
        if let Ok(v) = http::HeaderValue::from_str(value) {
            resp.headers_mut()
                .insert(http::HeaderName::from_static(name), v);
        }
    }
    resp
}
