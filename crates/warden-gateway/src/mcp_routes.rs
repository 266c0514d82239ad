//! `/mcp`: the mailbox as an MCP server (Streamable HTTP) on the gateway
//! listener, so `warden up` offers it out of the box.
//!
//! The entry point is composed of the shared stages, in this order:
//!
//! 1. **accept**: the header cap and the per-address rate limit, before
//!    any work for the caller;
//! 2. **Origin**: only Warden's own origin or none (DNS-rebinding
//!    protection, required of every Streamable HTTP server);
//! 3. **authenticate**: a Warden token (Bearer, DPoP, certificate-bound)
//!    for the audience `warden-mailbox`, or an API key (`X-API-Key`, or
//!    `Authorization: Bearer wk_…`), its single-use id recorded at once;
//! 4. **mailbox**: only a registry agent of this Warden has one (another
//!    issuer's caller, a public or anonymous caller is refused, all alike);
//! 5. **read**: the body within the gateway's cap;
//! 6. **MCP** (`warden_mailbox::mcp`): the protocol, the sessions (bound
//!    to the principal that opened them) and the tools on the mailbox;
//! 7. **record**: one audit event per exchange, named after the tool's
//!    mailbox operation (`mail_send`, …) or `mcp`, never with content.
//!
//! Every refusal of this entry point becomes an answer in [`refuse`].

mod headers;
mod origin;
mod tools;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use serde_json::json;
use warden_a2a::Binding;
use warden_mailbox::mcp::{self, Caller, Exchange, Reply, Verb, jsonrpc::RpcError};

use crate::audit::Outcome;
use crate::auth::AuthRequest;
use crate::principal::{AuthMethod, Principal};
use crate::stages::{self, Ctx, Refusal};
use crate::state::GatewayState;

/// Why this entry point stopped an exchange before the MCP server saw it.
enum Stop {
    /// A shared stage refused (answered by [`stages::rescue`]).
    Stage(Refusal),
    /// `Origin` is another site's, or unreadable.
    Origin(origin::OriginRefusal),
    /// The caller has no mailbox (the audit reason says why: the same as
    /// REST's).
    NoMailbox(&'static str),
    /// An MCP header was repeated or not visible ASCII.
    Header(headers::Unreadable),
    /// `[mailbox] enabled = false`.
    Disabled,
}

impl From<Refusal> for Stop {
    fn from(r: Refusal) -> Self {
        Stop::Stage(r)
    }
}

/// Serves one exchange at `/mcp`.
pub async fn handle(state: &GatewayState, peer: SocketAddr, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let mut ctx = Ctx::new(state, "mcp", Binding::JsonRpc, peer.ip());
    // Counted with REST's mailbox operations: `warden_requests_total{agent
    // = "warden-mailbox", operation = kind}`.
    ctx.target = Some(warden_mailbox::AUDIENCE.to_string());
    let mut unread = Some(body);
    match serve(&mut ctx, &parts, &mut unread).await {
        Ok(resp) => resp,
        Err(stop) => refuse(&ctx, stop, unread).await,
    }
}

async fn serve(
    ctx: &mut Ctx<'_>,
    parts: &http::request::Parts,
    unread: &mut Option<Body>,
) -> Result<Response, Stop> {
    let state = ctx.state;
    stages::accept(ctx, &parts.headers).await?;
    let Some((server, mailbox)) = server(state) else {
        return Err(Stop::Disabled);
    };
    origin::check(&parts.headers, &state.public_url).map_err(Stop::Origin)?;
    let url = format!("{}{}", state.public_url, crate::routes::MCP_PATH);
    let peer_cert = parts
        .extensions
        .get::<Arc<crate::listener::PeerCertificate>>()
        .cloned();
    stages::authenticate(
        ctx,
        &AuthRequest {
            headers: &parts.headers,
            agent: warden_mailbox::AUDIENCE,
            source: ctx.source,
            method: parts.method.as_str(),
            url: &url,
            now: ctx.now,
            peer_cert: peer_cert.as_deref(),
            seen: None,
        },
    )
    .await?;
    // Nothing later records a single-use id: record it now, before any
    // mailbox operation runs on the credential.
    stages::settle(ctx).await?;
    let caller = registered_caller(ctx).await?;
    let mcp_headers = headers::read(&parts.headers).map_err(Stop::Header)?;
    let body = unread.take().unwrap_or_default();
    let bytes = stages::read_body(ctx, body, &parts.headers).await?;
    let tools = tools::GatewayTools { state, mailbox };
    let reply = server
        .handle(
            &tools,
            Exchange {
                verb: verb(&parts.method),
                headers: mcp_headers,
                body: &bytes,
                caller: &caller,
                now_ms: ctx.now.saturating_mul(1000),
            },
        )
        .await;
    record(ctx, &reply);
    Ok(response(reply))
}

/// The MCP server of this gateway (made on first use) and the mailbox its
/// tools run on; none when the mailbox is off.
fn server(state: &GatewayState) -> Option<(Arc<mcp::Server>, &warden_mailbox::Mailbox)> {
    let mailbox = state.mailbox.as_ref()?;
    let server = state.mcp.get_or_init(|| {
        Arc::new(mcp::Server::new(
            mcp::SessionLimits::default(),
            env!("CARGO_PKG_VERSION"),
        ))
    });
    Some((Arc::clone(server), mailbox))
}

/// The caller, when it has a mailbox: its own credential, and an agent of
/// the registry as it is now (an agent removed or quarantined since its key
/// was made has none), as REST decides.
async fn registered_caller(ctx: &Ctx<'_>) -> Result<Caller, Stop> {
    let Some(caller) = ctx.principal.as_ref().and_then(mailbox_caller) else {
        return Err(Stop::NoMailbox("mail_no_mailbox"));
    };
    let view = ctx.state.authz.registry().fresh().await.map_err(|_| {
        Refusal::new(warden_a2a::A2aError::new(
            warden_a2a::ErrorKind::Unavailable,
            "the mailbox cannot answer now; retry",
        ))
        .reason("mail_registry_unavailable")
        .header("retry-after", "1")
    })?;
    if !view.is_registered(&caller.address) {
        return Err(Stop::NoMailbox("mail_not_registered"));
    }
    if view.is_quarantined(&caller.address) {
        return Err(Stop::NoMailbox("mail_quarantined"));
    }
    Ok(caller)
}

/// The caller's mailbox address: a registry agent of this Warden,
/// authenticated by its own token or key. Another issuer's subject, a
/// public or an anonymous caller has none.
fn mailbox_caller(p: &Principal) -> Option<Caller> {
    let own = matches!(
        p.method,
        AuthMethod::Bearer | AuthMethod::Dpop | AuthMethod::ApiKey
    );
    (p.local && own).then(|| Caller {
        address: p.subject.clone(),
        owner: p.key(),
    })
}

fn verb(m: &http::Method) -> Verb {
    match *m {
        http::Method::POST => Verb::Post,
        http::Method::GET => Verb::Get,
        http::Method::DELETE => Verb::Delete,
        _ => Verb::Other,
    }
}

/// One audit event: the tool's mailbox operation (or `mcp` for the
/// protocol's own methods), the method, the outcome; never arguments.
fn record(ctx: &mut Ctx<'_>, reply: &Reply) {
    use mcp::record::Outcome as Mcp;
    let r = &reply.record;
    ctx.kind = r.tool.map_or("mcp", mcp::Tool::audit_kind);
    let (outcome, reason) = match &r.outcome {
        Mcp::Ok => (Outcome::Answered, None),
        Mcp::ToolFailed(code) => (Outcome::Refused, Some((*code).to_string())),
        Mcp::Refused(code) => (Outcome::Refused, Some(format!("jsonrpc_{code}"))),
    };
    let mut event = ctx.event(outcome);
    event.operation = Some(ctx.kind);
    event.reason = reason;
    event.detail = Some(json!({
        "via": "mcp",
        "method": r.method.or(r.verb),
        "tool": r.tool.map(mcp::Tool::name),
        "session": r.session_refusal.map(|s| format!("{s:?}").to_lowercase()),
    }));
    ctx.record(&event);
}

fn response(reply: Reply) -> Response {
    let mut resp = match &reply.body {
        Some(body) => crate::respond::json(status(reply.status), body),
        None => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = status(reply.status);
            r
        }
    };
    let h = resp.headers_mut();
    if let Some(id) = reply
        .session_id
        .as_deref()
        .and_then(|s| HeaderValue::from_str(s).ok())
    {
        h.insert("mcp-session-id", id);
    }
    if let Some(allow) = reply.allow {
        h.insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    resp
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The one place a stopped exchange is audited and answered: the shared
/// stages' refusals as every entry point answers them (401 with a
/// challenge, 429, …, in JSON-RPC's shape), this entry point's own as
/// JSON-RPC errors without an id.
async fn refuse(ctx: &Ctx<'_>, stop: Stop, unread: Option<Body>) -> Response {
    let (error, reason) = match stop {
        Stop::Stage(r) => return stages::rescue(ctx, r, unread).await,
        Stop::Disabled => (
            RpcError::method_not_found("the mailbox is off here").with_status(404),
            "mailbox_disabled",
        ),
        Stop::Origin(why) => (
            RpcError::invalid_request(match why {
                origin::OriginRefusal::Foreign => "Origin is not this server's",
                origin::OriginRefusal::Unreadable => "Origin is not readable",
            })
            .with_status(403),
            "origin_refused",
        ),
        Stop::NoMailbox(why) => (
            RpcError::invalid_request("no mailbox for this caller").with_status(403),
            why,
        ),
        Stop::Header(headers::Unreadable(name)) => (
            RpcError::invalid_request(format!(
                "the {name} header must appear once, in visible ASCII"
            )),
            "header_unreadable",
        ),
    };
    // Answered before the body was read: drain it (bounded), so the
    // connection stays usable for the client's next request.
    if let Some(body) = unread {
        let cap = ctx.state.config.limits.max_request_body_bytes.get();
        let _ = stages::read_capped(body, &http::HeaderMap::new(), cap).await;
    }
    let mut event = ctx.event(Outcome::Refused).with_reason(reason);
    event.operation = Some(ctx.kind);
    ctx.record(&event);
    crate::respond::json(status(error.status), &error.response(None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(local: bool, method: AuthMethod) -> Principal {
        Principal {
            subject: "alice".into(),
            issuer: "https://issuer.example".into(),
            local,
            scopes: Vec::new(),
            method,
            token_id: None,
            source: std::net::IpAddr::from([127, 0, 0, 1]),
            peer: None,
        }
    }

    #[test]
    fn only_this_warden_s_agents_have_a_mailbox() {
        for m in [AuthMethod::Bearer, AuthMethod::Dpop, AuthMethod::ApiKey] {
            let c = mailbox_caller(&principal(true, m)).expect("a registry agent");
            assert_eq!((c.address.as_str(), c.owner.as_str()), ("alice", "alice"));
            assert!(
                mailbox_caller(&principal(false, m)).is_none(),
                "another issuer's"
            );
        }
        for m in [AuthMethod::Anonymous, AuthMethod::Public] {
            assert!(mailbox_caller(&principal(true, m)).is_none(), "{m:?}");
        }
    }
}
