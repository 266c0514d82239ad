//! Every response the gateway itself writes, in the caller's binding shape.
//! The one place where errors become bytes on the wire.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use serde_json::Value;
use warden_a2a::{A2aError, Binding};

/// An error answered by the gateway, in the binding the caller used.
pub fn error(binding: Binding, err: &A2aError, jsonrpc_id: &Value) -> Response {
    let (status, body) = match binding {
        // JSON-RPC errors travel with HTTP 200, as the binding and the SDKs
        // do; except rate limits, whose 429 and `Retry-After` every HTTP
        // client and proxy understands.
        Binding::JsonRpc if err.kind == warden_a2a::ErrorKind::RateLimited => (
            StatusCode::TOO_MANY_REQUESTS,
            err.jsonrpc_response(jsonrpc_id),
        ),
        Binding::JsonRpc => (StatusCode::OK, err.jsonrpc_response(jsonrpc_id)),
        Binding::Rest => (err.http_status(), err.rest_body()),
    };
    json(status, &body)
}

pub fn json(status: StatusCode, body: &Value) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// An authentication failure: the real HTTP status in both bindings (SDKs
/// map 401 to an authentication error), a `WWW-Authenticate` challenge, and
/// the binding's error body.
pub fn auth_error(binding: Binding, err: &crate::auth::AuthError, jsonrpc_id: &Value) -> Response {
    use crate::auth::AuthError;
    let kind = match err {
        AuthError::InvalidRequest(_) => warden_a2a::ErrorKind::InvalidRequest,
        AuthError::Unavailable => warden_a2a::ErrorKind::Unavailable,
        _ => warden_a2a::ErrorKind::Unauthenticated,
    };
    let a2a = A2aError::new(kind, err.description());
    let body = match binding {
        Binding::JsonRpc => a2a.jsonrpc_response(jsonrpc_id),
        Binding::Rest => a2a.rest_body(),
    };
    let mut r = json(err.status(), &body);
    if let Ok(v) = HeaderValue::from_str(&err.challenge()) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    if matches!(err, AuthError::Unavailable) {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    r
}
