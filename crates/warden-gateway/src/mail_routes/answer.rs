//! The mailbox's answers: the one place a [`MailError`] becomes an HTTP
//! status and a JSON error body, and where every answered operation is
//! audited and counted.
//!
//! The error body is the gateway's REST error shape (`google.rpc.Status`
//! with one `ErrorInfo`, as [`warden_a2a::A2aError::rest_body`] writes for
//! the refusals of the shared stages), with the mailbox's own reason codes
//! in the `warden.mailbox` domain: a client reads every `/mail/v1` error
//! the same way, whichever stage refused.

use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};
use warden_mailbox::MailError;

use crate::audit::Outcome;
use crate::stages::Ctx;

/// The `ErrorInfo.domain` of the mailbox's own refusals.
pub const DOMAIN: &str = "warden.mailbox";

/// A successful operation: `status` with `body` (JSON text), audited with `detail`
/// (names and ids, never content).
pub fn ok(ctx: &Ctx<'_>, status: StatusCode, body: Vec<u8>, detail: Value) -> Response {
    let mut event = ctx.event(Outcome::Answered);
    event.operation = Some(ctx.kind);
    event.detail = Some(detail);
    ctx.record(&event);
    let mut resp = Response::new(axum::body::Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    private(resp)
}

/// A refused or failed operation: the status, the body and the headers
/// [`MailError`] stands for, audited with `reason` (default `mail_{code}`)
/// and the detail known so far.
pub fn mail_error(
    ctx: &Ctx<'_>,
    e: &MailError,
    reason: Option<&str>,
    detail: Option<Value>,
) -> Response {
    if e.is_server_fault() {
        // The store's or the signer's own words stay in the log: the
        // caller is told only that Warden failed.
        tracing::error!(kind = ctx.kind, error = %e, source = ?std::error::Error::source(e), "mailbox operation failed");
    }
    let reason = reason.map_or_else(|| format!("mail_{}", e.code()), str::to_string);
    let mut event = ctx.event(Outcome::Refused).with_reason(reason);
    event.operation = Some(ctx.kind);
    event.detail = detail;
    ctx.record(&event);
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = private(crate::respond::json(status, &error_body(e)));
    if let MailError::RateLimited { retry_after } = e {
        let secs = retry_after.as_secs().max(1).to_string();
        if let Ok(v) = HeaderValue::from_str(&secs) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    resp
}

/// `{"error": {"code", "status", "message", "details": [ErrorInfo]}}`.
pub fn error_body(e: &MailError) -> Value {
    shaped(e.status(), &e.code().to_ascii_uppercase(), &e.to_string())
}

fn shaped(status: u16, reason: &str, message: &str) -> Value {
    json!({
        "error": {
            "code": status,
            "status": grpc_status(status),
            "message": message,
            "details": [{
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": DOMAIN,
                "metadata": {},
            }],
        }
    })
}

/// A method a `/mail/v1` path does not take (before any stage: nothing
/// is served, nothing audited).
pub fn method_not_allowed() -> Response {
    let body = shaped(
        405,
        "METHOD_NOT_ALLOWED",
        "this path does not take that method (see docs/mailbox.md)",
    );
    private(crate::respond::json(StatusCode::METHOD_NOT_ALLOWED, &body))
}

/// The `google.rpc.Code` name of an HTTP status, as the gateway's other
/// REST errors name theirs.
fn grpc_status(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        405 => "UNIMPLEMENTED",
        409 => "ALREADY_EXISTS",
        413 | 429 | 507 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        _ => "INTERNAL",
    }
}

/// Mailbox answers are one agent's mail: never kept by a cache on the way.
fn private(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn every_mail_error_has_the_gateway_s_rest_error_shape() {
        let cases = [
            (MailError::NotFound, 404, "NOT_FOUND", "NOT_FOUND"),
            (
                MailError::NoSuchMessage,
                404,
                "NOT_FOUND",
                "NO_SUCH_MESSAGE",
            ),
            (
                MailError::Invalid("x".into()),
                400,
                "INVALID_ARGUMENT",
                "INVALID",
            ),
            (
                MailError::TooLarge { limit: 10 },
                413,
                "RESOURCE_EXHAUSTED",
                "TOO_LARGE",
            ),
            (
                MailError::RateLimited {
                    retry_after: Duration::from_secs(3),
                },
                429,
                "RESOURCE_EXHAUSTED",
                "RATE_LIMITED",
            ),
            (
                MailError::InboxFull,
                507,
                "RESOURCE_EXHAUSTED",
                "INBOX_FULL",
            ),
            (
                MailError::IdempotencyConflict,
                409,
                "ALREADY_EXISTS",
                "IDEMPOTENCY_CONFLICT",
            ),
            (MailError::Forbidden, 403, "PERMISSION_DENIED", "FORBIDDEN"),
            (
                MailError::Signing("no key".into()),
                500,
                "INTERNAL",
                "SIGNING_FAILED",
            ),
        ];
        for (e, code, status, reason) in cases {
            let b = error_body(&e);
            assert_eq!(b["error"]["code"], code, "{e:?}");
            assert_eq!(b["error"]["status"], status, "{e:?}");
            assert_eq!(b["error"]["details"][0]["reason"], reason, "{e:?}");
            assert_eq!(b["error"]["details"][0]["domain"], DOMAIN);
            assert_eq!(b["error"]["message"], e.to_string());
        }
        // The signer's own words are not the caller's business.
        let b = error_body(&MailError::Signing("kid k1 sealed".into()));
        assert!(!b.to_string().contains("k1"), "{b}");
        // The refusal shape is the stages' (A2aError::rest_body).
        let stage = warden_a2a::A2aError::not_found("x").rest_body();
        let keys = |v: &Value| {
            let mut k: Vec<String> = v["error"]
                .as_object()
                .expect("obj")
                .keys()
                .cloned()
                .collect();
            k.sort();
            k
        };
        assert_eq!(keys(&stage), keys(&error_body(&MailError::NotFound)));
    }
}
