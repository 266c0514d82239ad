//! A2A errors and their wire shapes, mapped in exactly one place.
//!
//! Every error Warden itself produces is an [`A2aError`]. [`ErrorKind::wire`] is
//! the single exhaustive table from kind to JSON-RPC code, HTTP status, gRPC
//! status name and `ErrorInfo.reason` (spec reference §4.1, the v1.0.1 column),
//! so adding a kind forces a decision about all four.

use http::StatusCode;
use serde_json::{Map, Value, json};

/// `ErrorInfo.domain` for the errors the A2A specification defines.
pub const A2A_DOMAIN: &str = "a2a-protocol.org";
/// `ErrorInfo.domain` for errors that only Warden produces.
pub const WARDEN_DOMAIN: &str = "warden.a2a";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    // JSON-RPC 2.0 standard errors.
    JsonParse,
    InvalidRequest,
    MethodNotFound,
    InvalidParams,
    Internal,
    // A2A errors (-32001 … -32009).
    TaskNotFound,
    TaskNotCancelable,
    PushNotificationNotSupported,
    UnsupportedOperation,
    ContentTypeNotSupported,
    InvalidAgentResponse,
    ExtendedAgentCardNotConfigured,
    ExtensionSupportRequired,
    VersionNotSupported,
    // Warden's own: the caller's request or the upstream, as seen by the gateway.
    /// A body over the configured cap.
    PayloadTooLarge,
    /// Request headers over the configured cap.
    HeadersTooLarge,
    /// No such route (or agent); deliberately the same answer for both.
    NotFound,
    /// No valid credential (HTTP 401 with a `WWW-Authenticate` challenge).
    Unauthenticated,
    /// Authenticated, but not allowed (grant, scope, policy rule, quarantine).
    Forbidden,
    /// Over a rate limit or a concurrency cap (HTTP 429 with `Retry-After`).
    RateLimited,
    /// Warden cannot decide right now (fails closed).
    Unavailable,
    /// The upstream agent could not be reached or broke the connection.
    UpstreamUnavailable,
    /// The upstream agent did not answer in time.
    UpstreamTimeout,
}

/// How one error kind looks on each binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireCode {
    pub jsonrpc: i32,
    /// The HTTP status of a REST answer (and of an authentication failure
    /// in either binding: SDKs map 401 to an authentication error).
    pub http: StatusCode,
    /// The HTTP status of a JSON-RPC error answer: 200, as the binding and
    /// the SDKs do, except rate limits, whose 429 and `Retry-After` every
    /// HTTP client and proxy understands.
    pub jsonrpc_http: StatusCode,
    pub grpc: &'static str,
    pub reason: &'static str,
    pub domain: &'static str,
}

impl ErrorKind {
    pub fn wire(self) -> WireCode {
        use ErrorKind::*;
        let (jsonrpc, http, grpc, reason, domain) = match self {
            JsonParse => (-32700, 400, "INVALID_ARGUMENT", "JSON_PARSE", A2A_DOMAIN),
            InvalidRequest => (
                -32600,
                400,
                "INVALID_ARGUMENT",
                "INVALID_REQUEST",
                A2A_DOMAIN,
            ),
            MethodNotFound => (-32601, 404, "NOT_FOUND", "METHOD_NOT_FOUND", A2A_DOMAIN),
            InvalidParams => (
                -32602,
                400,
                "INVALID_ARGUMENT",
                "INVALID_PARAMS",
                A2A_DOMAIN,
            ),
            Internal => (-32603, 500, "INTERNAL", "INTERNAL", A2A_DOMAIN),
            TaskNotFound => (-32001, 404, "NOT_FOUND", "TASK_NOT_FOUND", A2A_DOMAIN),
            TaskNotCancelable => (
                -32002,
                400,
                "FAILED_PRECONDITION",
                "TASK_NOT_CANCELABLE",
                A2A_DOMAIN,
            ),
            PushNotificationNotSupported => (
                -32003,
                400,
                "FAILED_PRECONDITION",
                "PUSH_NOTIFICATION_NOT_SUPPORTED",
                A2A_DOMAIN,
            ),
            UnsupportedOperation => (
                -32004,
                400,
                "FAILED_PRECONDITION",
                "UNSUPPORTED_OPERATION",
                A2A_DOMAIN,
            ),
            ContentTypeNotSupported => (
                -32005,
                400,
                "INVALID_ARGUMENT",
                "CONTENT_TYPE_NOT_SUPPORTED",
                A2A_DOMAIN,
            ),
            InvalidAgentResponse => (
                -32006,
                500,
                "INTERNAL",
                "INVALID_AGENT_RESPONSE",
                A2A_DOMAIN,
            ),
            ExtendedAgentCardNotConfigured => (
                -32007,
                400,
                "FAILED_PRECONDITION",
                "EXTENDED_AGENT_CARD_NOT_CONFIGURED",
                A2A_DOMAIN,
            ),
            ExtensionSupportRequired => (
                -32008,
                400,
                "FAILED_PRECONDITION",
                "EXTENSION_SUPPORT_REQUIRED",
                A2A_DOMAIN,
            ),
            VersionNotSupported => (
                -32009,
                400,
                "FAILED_PRECONDITION",
                "VERSION_NOT_SUPPORTED",
                A2A_DOMAIN,
            ),
            // The Python SDK turns a 413 into -32600; JSON-RPC callers see that
            // code, REST callers the real 413.
            PayloadTooLarge => (
                -32600,
                413,
                "RESOURCE_EXHAUSTED",
                "PAYLOAD_TOO_LARGE",
                WARDEN_DOMAIN,
            ),
            HeadersTooLarge => (
                -32600,
                431,
                "RESOURCE_EXHAUSTED",
                "HEADERS_TOO_LARGE",
                WARDEN_DOMAIN,
            ),
            NotFound => (-32601, 404, "NOT_FOUND", "NOT_FOUND", WARDEN_DOMAIN),
            Unauthenticated => (
                -32600,
                401,
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
                WARDEN_DOMAIN,
            ),
            // JSON-RPC has no "permission denied"; -32600 with the reason in
            // `data` (ErrorInfo) keeps every SDK able to parse it.
            Forbidden => (
                -32600,
                403,
                "PERMISSION_DENIED",
                "PERMISSION_DENIED",
                WARDEN_DOMAIN,
            ),
            RateLimited => (
                -32600,
                429,
                "RESOURCE_EXHAUSTED",
                "RATE_LIMITED",
                WARDEN_DOMAIN,
            ),
            Unavailable => (-32603, 503, "UNAVAILABLE", "UNAVAILABLE", WARDEN_DOMAIN),
            UpstreamUnavailable => (
                -32603,
                502,
                "UNAVAILABLE",
                "UPSTREAM_UNAVAILABLE",
                WARDEN_DOMAIN,
            ),
            UpstreamTimeout => (
                -32603,
                504,
                "DEADLINE_EXCEEDED",
                "UPSTREAM_TIMEOUT",
                WARDEN_DOMAIN,
            ),
        };
        let http = StatusCode::from_u16(http).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        WireCode {
            jsonrpc,
            http,
            // Kinds a client or load balancer must see to back off and
            // retry keep their HTTP status in JSON-RPC too.
            jsonrpc_http: if matches!(self, RateLimited | Unavailable) {
                http
            } else {
                StatusCode::OK
            },
            grpc,
            reason,
            domain,
        }
    }
}

/// An error to be sent to an A2A caller.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct A2aError {
    pub kind: ErrorKind,
    pub message: String,
    /// Extra `ErrorInfo.metadata` (string values only, as in the proto).
    pub metadata: Map<String, Value>,
}

impl A2aError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            metadata: Map::new(),
        }
    }

    /// Adds one `ErrorInfo.metadata` entry.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.metadata
            .insert(key.to_string(), Value::String(value.into()));
        self
    }

    fn error_info(&self) -> Value {
        let w = self.kind.wire();
        json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": w.reason,
            "domain": w.domain,
            "metadata": self.metadata,
        })
    }

    /// The JSON-RPC `error` member: `data` is an array of typed details.
    pub fn jsonrpc_error(&self) -> Value {
        json!({
            "code": self.kind.wire().jsonrpc,
            "message": self.message,
            "data": [self.error_info()],
        })
    }

    /// A whole JSON-RPC response carrying this error.
    pub fn jsonrpc_response(&self, id: &Value) -> Value {
        json!({"jsonrpc": "2.0", "id": id, "error": self.jsonrpc_error()})
    }

    /// The REST body: a `google.rpc.Status` with an `ErrorInfo` detail.
    pub fn rest_body(&self) -> Value {
        let w = self.kind.wire();
        json!({
            "error": {
                "code": w.http.as_u16(),
                "status": w.grpc,
                "message": self.message,
                "details": [self.error_info()],
            }
        })
    }

    pub fn http_status(&self) -> StatusCode {
        self.kind.wire().http
    }
}

/// Shorthands for the common kinds.
macro_rules! ctor {
    ($($name:ident => $kind:ident),* $(,)?) => {
        impl A2aError {
            $(pub fn $name(message: impl Into<String>) -> Self {
                Self::new(ErrorKind::$kind, message)
            })*
        }
    };
}
ctor! {
    json_parse => JsonParse,
    invalid_request => InvalidRequest,
    method_not_found => MethodNotFound,
    invalid_params => InvalidParams,
    internal => Internal,
    task_not_found => TaskNotFound,
    task_not_cancelable => TaskNotCancelable,
    push_not_supported => PushNotificationNotSupported,
    unsupported_operation => UnsupportedOperation,
    content_type_not_supported => ContentTypeNotSupported,
    version_not_supported => VersionNotSupported,
    extended_card_not_configured => ExtendedAgentCardNotConfigured,
    payload_too_large => PayloadTooLarge,
    not_found => NotFound,
    forbidden => Forbidden,
    rate_limited => RateLimited,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonrpc_error_carries_typed_error_info_array() {
        let e = A2aError::task_not_found("no such task");
        let v = e.jsonrpc_response(&json!(7));
        assert_eq!(v["error"]["code"], -32001);
        assert_eq!(v["id"], 7);
        assert_eq!(
            v["error"]["data"][0]["@type"],
            "type.googleapis.com/google.rpc.ErrorInfo"
        );
        assert_eq!(v["error"]["data"][0]["reason"], "TASK_NOT_FOUND");
        assert_eq!(v["error"]["data"][0]["domain"], A2A_DOMAIN);
    }

    #[test]
    fn rest_error_is_google_rpc_status() {
        let e = A2aError::unsupported_operation("no streaming");
        let v = e.rest_body();
        assert_eq!(e.http_status(), StatusCode::BAD_REQUEST);
        assert_eq!(v["error"]["code"], 400);
        assert_eq!(v["error"]["status"], "FAILED_PRECONDITION");
        assert_eq!(v["error"]["details"][0]["reason"], "UNSUPPORTED_OPERATION");
    }

    #[test]
    fn a2a_codes_follow_the_v1_0_1_table() {
        let table = [
            (ErrorKind::TaskNotFound, -32001, 404),
            (ErrorKind::TaskNotCancelable, -32002, 400),
            (ErrorKind::PushNotificationNotSupported, -32003, 400),
            (ErrorKind::UnsupportedOperation, -32004, 400),
            (ErrorKind::ContentTypeNotSupported, -32005, 400),
            (ErrorKind::InvalidAgentResponse, -32006, 500),
            (ErrorKind::ExtendedAgentCardNotConfigured, -32007, 400),
            (ErrorKind::ExtensionSupportRequired, -32008, 400),
            (ErrorKind::VersionNotSupported, -32009, 400),
        ];
        for (kind, code, status) in table {
            assert_eq!(kind.wire().jsonrpc, code, "{kind:?}");
            assert_eq!(kind.wire().http.as_u16(), status, "{kind:?}");
        }
    }
}
