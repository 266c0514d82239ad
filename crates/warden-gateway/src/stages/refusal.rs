//! A call a stage stopped, and [`rescue`]: the one place such a call is
//! audited, counted and answered.

use axum::body::Body;
use axum::response::Response;
use http_body_util::BodyExt;
use serde_json::Value;
use warden_a2a::A2aError;

use super::{Ctx, with_headers};
use crate::audit::Outcome;
use crate::auth::AuthError;
use crate::authz::Denied;
use crate::respond;

/// Why a stage stopped a call, and how to answer it.
#[derive(Debug)]
pub struct Refusal {
    pub error: A2aError,
    pub outcome: Outcome,
    /// The audit reason (default: the error's wire reason).
    reason: Option<String>,
    /// The policy rule that decided, for the audit detail.
    rule: Option<String>,
    /// Headers for the answer (`Retry-After`, `RateLimit-*`).
    headers: Vec<(&'static str, String)>,
    /// The JSON-RPC id to echo, when the call's own is not known or not to
    /// be used.
    id: Option<Value>,
    /// Answered as an authentication failure (challenge, real status).
    auth: Option<AuthError>,
    /// Read and drop the unread body before answering: an answer sent with
    /// the body unread makes the server close the connection, and a client
    /// reusing it for its next call sees a disconnect.
    drain: bool,
    /// Counted in `warden_authz_refusals` under this class.
    counted: Option<String>,
    /// Audited with a deny decision (else with what the context knows).
    denial: bool,
}

impl Refusal {
    pub fn new(error: A2aError) -> Self {
        Self {
            error,
            outcome: Outcome::Refused,
            reason: None,
            rule: None,
            headers: Vec::new(),
            id: None,
            auth: None,
            drain: false,
            counted: None,
            denial: false,
        }
    }

    /// The agent failed (unreachable, bad answer): audited as such.
    pub fn upstream(error: A2aError) -> Self {
        Self {
            outcome: Outcome::UpstreamFailed,
            ..Self::new(error)
        }
    }

    /// A refusal of the authoriser (source limit, admission, decision).
    pub fn denied(d: Denied) -> Self {
        Self {
            reason: Some(d.reason.as_audit()),
            rule: d.rule,
            headers: d.headers,
            id: d.anonymous_id.then_some(Value::Null),
            counted: Some(d.reason.class()),
            denial: true,
            ..Self::new(d.error)
        }
    }

    /// A credential that did not authenticate.
    pub fn unauthenticated(e: AuthError) -> Self {
        Self {
            reason: Some(e.audit_reason()),
            auth: Some(e.clone()),
            ..Self::new(e.to_a2a())
        }
    }

    pub fn with_outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    pub fn drain(mut self) -> Self {
        self.drain = true;
        self
    }

    pub fn with_id(mut self, id: Value) -> Self {
        self.id = Some(id);
        self
    }

    pub fn reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_string());
        self
    }

    /// Counted in `warden_authz_refusals` under its audit reason.
    pub fn counted(mut self) -> Self {
        self.counted = Some(self.audit_reason());
        self
    }

    fn audit_reason(&self) -> String {
        self.reason
            .clone()
            .unwrap_or_else(|| self.error.kind.wire().reason.to_string())
    }
}

/// Audits, counts and answers a refused call; `unread` is the body if no
/// stage read it.
pub async fn rescue(ctx: &Ctx<'_>, r: Refusal, unread: Option<Body>) -> Response {
    if r.drain
        && let Some(body) = unread
    {
        let cap = ctx.state.config.limits.max_request_body_bytes;
        let _ = http_body_util::Limited::new(body, cap).collect().await;
    }
    let reason = r.audit_reason();
    let mut event = ctx.event(r.outcome).with_reason(reason.clone());
    if let Some(class) = &r.counted {
        ctx.state.metrics.authz_refused(class);
    }
    if r.denial {
        event.detail = Some(serde_json::json!({
            "decision": "deny", "reason": reason, "rule": r.rule,
        }));
    }
    ctx.record(&event);
    let id = r.id.clone().unwrap_or_else(|| ctx.jsonrpc_id());
    let resp = match &r.auth {
        Some(e) => {
            let mut resp = respond::auth_error(ctx.binding, e, &id);
            if let Some(nonce) = ctx.state.auth.dpop_nonce(ctx.now)
                && let Ok(v) = http::HeaderValue::from_str(&nonce)
            {
                resp.headers_mut().insert("dpop-nonce", v);
            }
            resp
        }
        None => respond::error(ctx.binding, &r.error, &id),
    };
    let headers = if r.headers.is_empty() {
        &ctx.rate_headers
    } else {
        &r.headers
    };
    with_headers(resp, headers)
}
