//! `/mail/v1`: the mailbox's REST entry point (docs/mailbox.md).
//!
//! Composed of the shared stages: accept (header cap, per-address rate
//! limit), authenticate with the audience `warden-mailbox` (Warden's
//! tokens issued for it, DPoP or certificate-bound ones, or an API key of
//! a registry agent; a single-use token is spent here), the caller's
//! mailbox (a registry agent of Warden's own issuer, not quarantined:
//! everyone else, external issuers' callers and anonymous ones included,
//! gets one answer, 403 `no mailbox for this caller`), the body within
//! `[limits] max_request_body_bytes`, then the operation on the
//! [`warden_mailbox::Mailbox`] ([`ops`]). A stage's refusal is answered by
//! [`stages::rescue`]; the mailbox's own by [`answer::mail_error`], the one
//! place a `MailError` becomes a status — both in the gateway's REST error
//! shape. Every operation is one audit event of kind `mail_*` (names and
//! ids, never content) and counted in `warden_requests_total{agent =
//! "warden-mailbox", operation = kind}`.
//!
//! With `[mailbox] enabled = false` every path here is an unknown route.

pub mod answer;
mod open;
pub mod ops;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::response::Response;
use axum::routing::{MethodRouter, delete, get, post, put};
use serde_json::{Map, Value};
use warden_a2a::{A2aError, Binding};
use warden_mailbox::{AUDIENCE, MailError};

pub use open::{limits, open};
pub use ops::Op;

use crate::principal::AuthMethod;
use crate::routes::MAIL_PREFIX;
use crate::stages::{self, Ctx, Refusal};
use crate::state::GatewayState;

/// The routes of `/mail/v1`, for the gateway's router.
pub fn router() -> Router<GatewayState> {
    let p = |rest: &str| format!("{MAIL_PREFIX}{rest}");
    Router::new()
        .route(&p("/me"), only(get(whoami)))
        .route(&p("/messages"), only(post(send)))
        .route(&p("/inbox"), only(get(inbox)))
        .route(&p("/messages/{id}"), only(get(read).delete(remove)))
        .route(&p("/messages/{id}/ack"), only(post(ack)))
        .route(&p("/access-requests"), only(post(request)))
        .route(&p("/grants"), only(post(grant).get(grants)))
        .route(&p("/grants/{sender}"), only(delete(revoke)))
        .route(&p("/keys/me"), only(put(publish_key).get(my_key)))
        .route(&p("/keys/{address}"), only(get(key_of)))
        .route(
            &p("/webhook"),
            only(put(webhook_put).get(webhook_get).delete(webhook_delete)),
        )
}

/// One axum handler per operation, each handing its [`Op`] to [`handle`].
macro_rules! handlers {
    ($($name:ident => $op:expr;)*) => {$(
        async fn $name(
            State(state): State<GatewayState>,
            ConnectInfo(peer): ConnectInfo<SocketAddr>,
            req: Request,
        ) -> Response {
            handle(&state, peer, $op, req).await
        }
    )*};
    ($($name:ident($var:ident) => $op:expr;)*) => {$(
        async fn $name(
            State(state): State<GatewayState>,
            ConnectInfo(peer): ConnectInfo<SocketAddr>,
            Path($var): Path<String>,
            req: Request,
        ) -> Response {
            handle(&state, peer, $op, req).await
        }
    )*};
}

handlers! {
    whoami => Op::WhoAmI;
    send => Op::Send;
    inbox => Op::Inbox;
    request => Op::Request;
    grant => Op::Grant;
    grants => Op::Grants;
    publish_key => Op::PublishKey;
    my_key => Op::MyKey;
    webhook_put => Op::WebhookPut;
    webhook_get => Op::WebhookGet;
    webhook_delete => Op::WebhookDelete;
}

handlers! {
    read(id) => Op::Read(id);
    remove(id) => Op::Delete(id);
    ack(id) => Op::Ack(id);
    revoke(sender) => Op::Revoke(sender);
    key_of(address) => Op::KeyOf(address);
}

/// A method the path does not take: 405 in the REST error shape.
fn only(m: MethodRouter<GatewayState>) -> MethodRouter<GatewayState> {
    m.fallback(|| async { answer::method_not_allowed() })
}

/// Why an operation stopped: a stage refused, or the mailbox did (with
/// the audit reason when it is more precise than the error's code).
enum Stop {
    Refused(Refusal),
    Mail(MailError, Option<&'static str>),
}

impl From<Refusal> for Stop {
    fn from(r: Refusal) -> Self {
        Self::Refused(r)
    }
}

impl From<MailError> for Stop {
    fn from(e: MailError) -> Self {
        Self::Mail(e, None)
    }
}

/// Serves one operation.
pub async fn handle(state: &GatewayState, peer: SocketAddr, op: Op, req: Request) -> Response {
    let Some(mailbox) = state.mailbox.clone() else {
        return crate::respond::error(
            Binding::Rest,
            &A2aError::not_found("no such agent or route"),
            &Value::Null,
        );
    };
    let mut ctx = Ctx::new(state, op.kind(), Binding::Rest, peer.ip());
    ctx.target = Some(AUDIENCE.to_string());
    let (parts, body) = req.into_parts();
    let mut body = Some(body);
    let mut detail = Map::new();
    let call = Call {
        mailbox: &mailbox,
        op: &op,
        parts: &parts,
        peer,
    };
    match run(&mut ctx, &call, &mut body, &mut detail).await {
        Ok(done) => answer::ok(&ctx, done.status, done.body, done.detail),
        Err(Stop::Refused(r)) => stages::rescue(&ctx, r, body).await,
        Err(Stop::Mail(e, reason)) => {
            // Refused before the body was read (no mailbox): read and drop
            // it (bounded), or the connection is closed under a client
            // that reuses it, as the stages' refusals do.
            if let Some(unread) = body {
                let cap = state.config.limits.max_request_body_bytes.get();
                let _ = http_body_util::BodyExt::collect(http_body_util::Limited::new(unread, cap))
                    .await;
            }
            let detail = (!detail.is_empty()).then_some(Value::Object(detail));
            answer::mail_error(&ctx, &e, reason, detail)
        }
    }
}

/// One request, as the stages see it.
struct Call<'a> {
    mailbox: &'a warden_mailbox::Mailbox,
    op: &'a Op,
    parts: &'a http::request::Parts,
    peer: SocketAddr,
}

async fn run(
    ctx: &mut Ctx<'_>,
    call: &Call<'_>,
    body: &mut Option<Body>,
    detail: &mut Map<String, Value>,
) -> Result<ops::Done, Stop> {
    let (state, parts, op) = (ctx.state, call.parts, call.op);
    stages::accept(ctx, &parts.headers).await?;
    authenticate(ctx, parts, call.peer).await?;
    let me = caller(ctx).await?;
    let bytes = stages::read_body(ctx, body.take().unwrap_or_default(), &parts.headers).await?;
    if op.takes_body() && !bytes.is_empty() {
        check_content_type(&parts.headers)?;
    }
    let input = ops::Input {
        headers: &parts.headers,
        query: parts.uri.query(),
        body: &bytes,
    };
    Ok(ops::run(state, call.mailbox, &me, op, &input, detail).await?)
}

/// Authenticate for the audience `warden-mailbox`; a single-use token is
/// recorded as used here (there is no authorisation stage to fold it into).
async fn authenticate(
    ctx: &mut Ctx<'_>,
    parts: &http::request::Parts,
    peer: SocketAddr,
) -> Result<(), Refusal> {
    let state = ctx.state;
    let peer_cert = parts
        .extensions
        .get::<Arc<crate::listener::PeerCertificate>>()
        .cloned();
    // DPoP proofs name the URL as the client addressed it.
    let url = format!(
        "{}{}",
        crate::card_routes::public_base(state, &parts.headers, peer),
        parts.uri.path()
    );
    let seen = crate::registry_view::Seen::new();
    let req = crate::auth::AuthRequest {
        headers: &parts.headers,
        agent: AUDIENCE,
        source: ctx.source,
        method: parts.method.as_str(),
        url: &url,
        now: ctx.now,
        peer_cert: peer_cert.as_deref(),
        seen: Some(&seen),
    };
    stages::authenticate(ctx, &req).await?;
    stages::settle(ctx).await
}

/// The caller's address: a registry agent of Warden's own issuer, by a
/// credential of its own, not quarantined. Anyone else has no mailbox (one
/// answer for all; the audit reason says which).
async fn caller(ctx: &Ctx<'_>) -> Result<String, Stop> {
    let Some(p) = &ctx.principal else {
        return Err(Refusal::new(A2aError::internal("mailbox before authentication")).into());
    };
    let own = p.local
        && matches!(
            p.method,
            AuthMethod::Bearer | AuthMethod::Dpop | AuthMethod::ApiKey
        );
    let registry = ctx.state.authz.registry();
    let view = registry.fresh().await.map_err(|_| {
        Refusal::new(A2aError::new(
            warden_a2a::ErrorKind::Unavailable,
            "the mailbox cannot answer now; retry",
        ))
        .reason("mail_registry_unavailable")
        .header("retry-after", "1")
    })?;
    let why = if !own {
        "mail_no_mailbox"
    } else if !view.is_registered(&p.subject) {
        "mail_not_registered"
    } else if view.is_quarantined(&p.subject) {
        "mail_quarantined"
    } else {
        return Ok(p.subject.clone());
    };
    Err(Stop::Mail(MailError::Forbidden, Some(why)))
}

/// A body is JSON, said so: `application/json` (parameters allowed).
fn check_content_type(headers: &http::HeaderMap) -> Result<(), MailError> {
    let json = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    if json {
        Ok(())
    } else {
        Err(MailError::Invalid(
            "send the body as JSON, with Content-Type: application/json".into(),
        ))
    }
}
