//! A call a stage stopped, and [`rescue`]: the one place such a call is
//! audited, counted and answered.

use axum::body::Body;
use axum::response::Response;
use http_body_util::BodyExt;
use serde_json::Value;
use warden_a2a::{A2aError, Binding, ErrorKind};

use super::{Ctx, with_headers};
use crate::audit::Outcome;
use crate::auth::AuthError;
use crate::authz::Denied;
use crate::respond;

/// Why a stage stopped a call, and how to answer it (boxed: it travels
/// through every stage's `Result`).
#[derive(Debug)]
pub struct Refusal(Box<Inner>);

#[derive(Debug)]
struct Inner {
    error: A2aError,
    outcome: Outcome,
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
    /// Echo the JSON-RPC id read from the drained body (a refusal decided
    /// before the body was parsed, which must still look like the later one).
    id_from_body: bool,
    /// Counted in `warden_authz_refusals` under this class.
    counted: Option<String>,
    /// Audited with a deny decision (else with what the context knows).
    denial: bool,
}

impl Refusal {
    pub fn new(error: A2aError) -> Self {
        Self(Box::new(Inner {
            error,
            outcome: Outcome::Refused,
            reason: None,
            rule: None,
            headers: Vec::new(),
            id: None,
            auth: None,
            drain: false,
            id_from_body: false,
            counted: None,
            denial: false,
        }))
    }

    /// The agent failed (unreachable, bad answer): audited as such.
    pub fn upstream(error: A2aError) -> Self {
        Self::new(error).with_outcome(Outcome::UpstreamFailed)
    }

    /// A refusal of the authoriser (source limit, admission, decision).
    pub fn denied(d: Denied) -> Self {
        let mut r = Self::new(d.error);
        r.0.reason = Some(d.reason.as_audit());
        r.0.rule = d.rule;
        r.0.headers = d.headers;
        r.0.id = d.anonymous_id.then_some(Value::Null);
        r.0.counted = Some(d.reason.class());
        r.0.denial = true;
        r
    }

    /// A credential that did not authenticate.
    pub fn unauthenticated(e: AuthError) -> Self {
        let mut r = Self::new(e.to_a2a());
        r.0.reason = Some(e.audit_reason());
        r.0.auth = Some(e);
        // Drained like the other refusals before the body is read: a 401
        // sent with the body unread resets the connection, and a client
        // (the Python SDK under load) then sees a network error instead of
        // the challenge. The per-address limit has already run.
        r.drain()
    }

    /// The error the caller is answered with.
    pub fn error(&self) -> &A2aError {
        &self.0.error
    }

    pub fn with_outcome(mut self, outcome: Outcome) -> Self {
        self.0.outcome = outcome;
        self
    }

    pub fn drain(mut self) -> Self {
        self.0.drain = true;
        self
    }

    /// Drains the body and echoes the JSON-RPC id found in it.
    pub fn id_from_body(mut self) -> Self {
        self.0.drain = true;
        self.0.id_from_body = true;
        self
    }

    pub fn with_id(mut self, id: Value) -> Self {
        self.0.id = Some(id);
        self
    }

    /// Adds a header to the answer (`retry-after`, say).
    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.0.headers.push((name, value.to_string()));
        self
    }

    pub fn reason(mut self, reason: &str) -> Self {
        self.0.reason = Some(reason.to_string());
        self
    }

    /// Counted in `warden_authz_refusals` under its audit reason.
    pub fn counted(mut self) -> Self {
        self.0.counted = Some(self.audit_reason());
        self
    }

    /// The answer tells the caller to try again later (429, 503): the
    /// call's single-use id, if still pending, stays unused.
    pub(super) fn retry_later(&self) -> bool {
        matches!(
            self.0.error.kind,
            ErrorKind::RateLimited | ErrorKind::Unavailable
        )
    }

    fn audit_reason(&self) -> String {
        self.0
            .reason
            .clone()
            .unwrap_or_else(|| self.0.error.kind.wire().reason.to_string())
    }
}

/// Audits, counts and answers a refused call; `unread` is the body if no
/// stage read it.
pub async fn rescue(ctx: &Ctx<'_>, refusal: Refusal, unread: Option<Body>) -> Response {
    let refusal = super::single_use::on_refusal(ctx, refusal).await;
    let reason = refusal.audit_reason();
    let mut r = *refusal.0;
    if r.drain
        && let Some(body) = unread
    {
        let cap = ctx.state.config.limits.max_request_body_bytes.get();
        let read = http_body_util::Limited::new(body, cap).collect().await;
        if let (true, None, Binding::JsonRpc, Ok(read)) = (r.id_from_body, &r.id, ctx.binding, read)
        {
            r.id = Some(jsonrpc_id_of(&read.to_bytes()));
        }
    }
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
            let mut resp = respond::auth_error(
                ctx.binding,
                &e.to_a2a(),
                &e.challenge(),
                matches!(e, AuthError::Unavailable),
                &id,
            );
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

/// The `id` of a JSON-RPC request, read without the strict parse (the call
/// is refused whatever it holds): a string or a number, else null.
fn jsonrpc_id_of(body: &[u8]) -> Value {
    #[derive(serde::Deserialize)]
    struct IdOnly {
        #[serde(default)]
        id: Value,
    }
    match serde_json::from_slice::<IdOnly>(body) {
        Ok(IdOnly {
            id: id @ (Value::String(_) | Value::Number(_)),
        }) => id,
        _ => Value::Null,
    }
}

#[cfg(test)]
mod id_tests {
    use super::*;

    #[test]
    fn the_id_is_read_from_a_request_and_only_a_valid_one() {
        let id = |b: &str| jsonrpc_id_of(b.as_bytes());
        assert_eq!(
            id(r#"{"jsonrpc":"2.0","id":7,"method":"SendMessage","params":{}}"#),
            7
        );
        assert_eq!(id(r#"{"method":"x","id":"a-1"}"#), "a-1");
        assert_eq!(id(r#"{"id":{"nested":1}}"#), Value::Null);
        assert_eq!(id(r#"{"id":null}"#), Value::Null);
        assert_eq!(id("not json"), Value::Null);
        assert_eq!(id(r#"[{"id":1}]"#), Value::Null);
    }
}
