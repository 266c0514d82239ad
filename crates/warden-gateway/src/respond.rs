//! Every response the gateway itself writes, in the caller's binding shape.
//! The one place where errors become bytes on the wire.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use serde_json::Value;
use warden_a2a::{A2aError, Binding};

/// An error answered by the gateway, in the binding the caller used.
pub fn error(binding: Binding, err: &A2aError, jsonrpc_id: &Value) -> Response {
    let wire = err.kind.wire();
    let (status, body) = match binding {
        Binding::JsonRpc => (wire.jsonrpc_http, err.jsonrpc_response(jsonrpc_id)),
        Binding::Rest => (wire.http, err.rest_body()),
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
/// map 401 to an authentication error), the `WWW-Authenticate` `challenge`,
/// `Retry-After: 1` when Warden itself is `unavailable`, and the binding's
/// error body.
pub fn auth_error(
    binding: Binding,
    a2a: &A2aError,
    challenge: &str,
    unavailable: bool,
    jsonrpc_id: &Value,
) -> Response {
    let body = match binding {
        Binding::JsonRpc => a2a.jsonrpc_response(jsonrpc_id),
        Binding::Rest => a2a.rest_body(),
    };
    let mut r = json(a2a.kind.wire().http, &body);
    if let Ok(v) = HeaderValue::from_str(challenge) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    if unavailable {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    r
}
