//! One call through the egress proxy: the shared [`crate::stages`] of the
//! ingress pipeline, composed for a remote (see the module docs of
//! [`super`]): the same authenticator, admission and authorisation, the same
//! strict reading and the same error shapes, with the remote's name where an
//! agent's would be.

use axum::body::Body;
use axum::response::Response;
use http::Method;
use serde_json::Value;
use warden_a2a::{A2aError, Operation};

use super::EgressProxy;
use super::forward::{self, Call, RemoteAnswer};
use crate::audit::Outcome;
use crate::stages::{self, Ctx, Refusal};

/// The audit event kind of the egress proxy.
pub const KIND: &str = "egress_proxy";

/// One request as it arrived at the egress listener (its body is handed
/// over beside it).
pub struct RemoteRequest {
    pub remote: String,
    /// The request below `/egress/{remote}`.
    pub http: stages::Request,
}

pub async fn handle(proxy: &EgressProxy, req: RemoteRequest, body: Body) -> Response {
    let binding = req.http.binding();
    let mut ctx = Ctx::new(proxy.state(), KIND, binding, req.http.peer.ip());
    let mut body = Some(body);
    match run(&mut ctx, proxy, &req, &mut body).await {
        Ok(resp) => resp,
        Err(refusal) => stages::rescue(&ctx, refusal, body).await,
    }
}

async fn run(
    ctx: &mut Ctx<'_>,
    proxy: &EgressProxy,
    req: &RemoteRequest,
    body: &mut Option<Body>,
) -> Result<Response, Refusal> {
    let state = ctx.state;
    // 1. Accept.
    stages::accept(ctx, &req.http.headers).await?;

    // 2. Route: public cards need no credential (as at ingress).
    let remote = proxy.remote(&req.remote);
    let card_path = crate::cards::is_card_path(&req.http.subpath);
    if let (Some(remote), true, true) = (&remote, card_path, state.config.auth.public_cards) {
        ctx.target = Some(remote.name().to_string());
        return serve_card(ctx, proxy, remote, req).await;
    }

    // 3. Authenticate, with the remote's name as the audience.
    let url = format!("{}{}", proxy.public_url(), req.http.uri.path());
    let seen = crate::registry_view::Seen::new();
    let auth = crate::auth::AuthRequest {
        headers: &req.http.headers,
        agent: &req.remote,
        source: ctx.source,
        method: req.http.method.as_str(),
        url: &url,
        now: ctx.now,
        peer_cert: None,
        seen: Some(&seen),
    };
    stages::authenticate(ctx, &auth).await?;

    // 4. Admit.
    let remote = remote.ok_or_else(stages::unknown_target)?;
    let name = remote.name();
    stages::admit(ctx, name).await?;
    if card_path {
        stages::settle(ctx).await?;
        return serve_card(ctx, proxy, &remote, req).await;
    }

    // 5. Parse.
    let (bytes, call) = stages::read_call(ctx, body.take().unwrap_or_default(), &req.http).await?;

    // 6. Authorise, with the remote's card for the only-skill rule (its
    // failure is reported once the call is authorised).
    let card = match call.op.operation {
        Operation::SendMessage | Operation::SendStreamingMessage => {
            Some(remote.card(&state.egress).await)
        }
        _ => None,
    };
    let card_skills = match &card {
        Some(Ok(c)) => Some(c.skill_ids()),
        _ => None,
    };
    let permit = stages::authorise(ctx, None, card_skills.as_deref()).await?;

    // 7. Forward.
    let (owner, hooks) = stages::carried(ctx, permit);
    let answer = forward::forward(
        state,
        Call {
            remote: &remote,
            card,
            op: &call.op,
            method: req.http.method.clone(),
            subpath: &req.http.subpath,
            query: call.rewrite.query.as_deref().or(req.http.uri.query()),
            headers: &req.http.headers,
            version: call.requested.as_str(),
            body: bytes,
            proxy_url: proxy.url_of(name),
            owner,
            hooks,
        },
    )
    .await;

    // 8. Record.
    match answer {
        RemoteAnswer::Relayed(r) => {
            note(
                &mut ctx.decision,
                &r.url,
                Some(r.status),
                r.signed_by.as_deref(),
                None,
            );
            ctx.record(
                &ctx.event(Outcome::Forwarded)
                    .with_reason(format!("remote HTTP {}", r.status)),
            );
            Ok(stages::with_headers(r.response, &ctx.rate_headers))
        }
        RemoteAnswer::Failed(err, url) => {
            tracing::warn!(remote = name, reason = %err.audit_reason(), why = %err.why(), "egress proxy call not completed");
            note(
                &mut ctx.decision,
                url.as_deref().unwrap_or(&remote.config.url),
                None,
                None,
                Some(&err),
            );
            Err(Refusal::new(err.to_a2a(name))
                .with_outcome(err.outcome())
                .reason(&err.audit_reason()))
        }
    }
}

/// Adds where the call went (no query), what came back, how the card was
/// trusted and, for a failure, why, to the audit detail.
fn note(
    detail: &mut Option<Value>,
    url: &str,
    status: Option<u16>,
    signed_by: Option<&str>,
    err: Option<&super::ProxyError>,
) {
    let detail = detail.get_or_insert_with(|| serde_json::json!({}));
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
    ctx: &mut Ctx<'_>,
    proxy: &EgressProxy,
    remote: &super::Remote,
    req: &RemoteRequest,
) -> Result<Response, Refusal> {
    if req.http.method != Method::GET && req.http.method != Method::HEAD {
        return Err(Refusal::new(A2aError::method_not_found(
            "agent cards are read with GET",
        )));
    }
    match super::cards::serve(proxy, remote, &req.http.headers).await {
        Ok(resp) => {
            ctx.record(&ctx.event(Outcome::CardServed));
            Ok(resp)
        }
        Err(err) => {
            ctx.decision = Some(serde_json::json!({
                "remote": warden_egress::audit::redact(&remote.config.url),
                "why": err.why(),
            }));
            Err(Refusal::new(err.to_a2a(remote.name()))
                .with_outcome(err.outcome())
                .reason(&err.audit_reason()))
        }
    }
}
