//! What every admin API handler shares: the admin token check (the one
//! middleware in front of every route), strict JSON bodies, query and path
//! parameters, the `{"error", "message"}` answer, and the audit record of a
//! change. Handlers are by resource: [`super::registry_api`],
//! [`super::apikeys_api`], [`super::authz_api`], [`super::cards_api`];
//! [`super::api`] puts them together.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::token::AdminToken;
use crate::audit::{AuditEvent, Outcome};
use crate::authority::registry::RegistryError;
use crate::state::GatewayState;

/// Where the API is mounted on the admin listener.
pub const PREFIX: &str = crate::routes::ADMIN_PREFIX;
/// Largest request body.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// The principal admin events are recorded under.
pub const ADMIN_PRINCIPAL: &str = "admin";

pub(super) const CHALLENGE: &str = "Bearer realm=\"warden-admin\"";
pub(super) const CHALLENGE_INVALID: &str = "Bearer realm=\"warden-admin\", error=\"invalid_token\"";

#[derive(Clone)]
pub(super) struct Api {
    pub(super) state: GatewayState,
    token: AdminToken,
}

impl Api {
    /// The handlers' state: the gateway's, and the token every request
    /// must carry.
    pub(super) fn new(state: GatewayState, token: AdminToken) -> Self {
        Self { state, token }
    }
}

/// Who made an authenticated admin request.
#[derive(Debug, Clone, Copy)]
pub(super) struct Caller {
    source: IpAddr,
}

/// An error answer: `{"error": code, "message": message}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub(super) fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::Invalid(m) => Self::bad(m),
            RegistryError::NotFound(m) => Self::new(StatusCode::NOT_FOUND, "not_found", m),
            RegistryError::Conflict(m) => Self::new(StatusCode::CONFLICT, "conflict", m),
            RegistryError::Store(e) => {
                tracing::error!(error = %e, "admin API: store failure");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "the store failed",
                )
            }
            RegistryError::Internal(m) => {
                tracing::error!(error = %m, "admin API: internal failure");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", m)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(
            self.status,
            &json!({"error": self.code, "message": self.message}),
        )
    }
}

/// A JSON answer that is never cached (some carry an API key).
pub(super) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Why a request did not authenticate (recorded, not told in detail).
fn check_token(token: &AdminToken, headers: &HeaderMap) -> Result<(), &'static str> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err("missing");
    };
    if values.next().is_some() {
        return Err("several Authorization headers");
    }
    let value = value.to_str().map_err(|_| "unreadable")?.trim();
    let (scheme, credential) = value.split_once(' ').ok_or("not a bearer token")?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err("not a bearer token");
    }
    if token.verify(credential.trim()) {
        Ok(())
    } else {
        Err("wrong token")
    }
}

pub(super) async fn require_token(
    State(api): State<Api>,
    mut req: Request,
    next: Next,
) -> Response {
    let source = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    match check_token(&api.token, req.headers()) {
        Ok(()) => {
            req.extensions_mut().insert(Caller { source });
            next.run(req).await
        }
        Err(why) => {
            // Nesting strips the prefix; the record shows the whole path.
            let path = req.uri().path();
            let path: String = if path.starts_with(PREFIX) {
                path.to_string()
            } else {
                format!("{PREFIX}{path}")
            }
            .chars()
            .take(256)
            .collect();
            let event = AuditEvent::admin(
                source,
                Outcome::Refused,
                format!("admin_unauthorized: {why}"),
                Some(json!({"method": req.method().as_str(), "path": path})),
            );
            if !api.state.audit.emit(&event) {
                api.state.metrics.audit_dropped.inc();
            }
            let (message, challenge) = if why == "missing" {
                ("an admin token is required", CHALLENGE)
            } else {
                ("the admin token is not valid", CHALLENGE_INVALID)
            };
            let mut r =
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
            r
        }
    }
}

impl Api {
    /// Records an admin change before the answer goes out: written to the
    /// store at once (falling back to the audit queue if that fails).
    pub(super) async fn audit(&self, caller: Caller, action: &str, detail: Value) {
        let mut event =
            AuditEvent::admin(caller.source, Outcome::AdminChange, action, Some(detail));
        event.principal = Some(ADMIN_PRINCIPAL.into());
        if let Err(e) = self.state.store.append_audit(&[event.record()]).await {
            tracing::error!(error = %e, action, "admin audit write failed; queued instead");
            if !self.state.audit.emit(&event) {
                self.state.metrics.audit_dropped.inc();
            }
        }
    }
}

/// The body as `T`: `None` when empty; otherwise strict JSON (duplicate
/// keys, excess depth refused), an object, of type `application/json`, with
/// no field `T` does not know.
pub(super) async fn read_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
) -> Result<Option<T>, ApiError> {
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the body is larger than {MAX_BODY_BYTES} bytes"),
            )
        })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
        ));
    }
    let limits = warden_json::JsonLimits {
        max_depth: 16,
        max_string_bytes: 64 * 1024,
    };
    let v = warden_json::parse_strict(&bytes, limits).map_err(|e| ApiError::bad(e.to_string()))?;
    if !v.is_object() {
        return Err(ApiError::bad("the body must be a JSON object"));
    }
    serde_json::from_value(v)
        .map(Some)
        .map_err(|e| ApiError::bad(format!("invalid body: {e}")))
}

/// The body of a `POST` that creates something: required, strict JSON
/// ([`read_json`]), on a request with no query parameters.
pub(super) struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        query(&parts.uri, &[])?;
        require(read_json(&parts.headers, body).await?).map(JsonBody)
    }
}

pub(super) fn require<T>(body: Option<T>) -> Result<T, ApiError> {
    body.ok_or_else(|| ApiError::bad("a JSON body is required"))
}

/// The query parameters, each at most once and each one of `allowed`.
pub(super) fn query(uri: &Uri, allowed: &[&str]) -> Result<BTreeMap<String, String>, ApiError> {
    let mut out = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        if !allowed.contains(&k.as_ref()) {
            return Err(ApiError::bad(format!("unknown query parameter {k:?}")));
        }
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(ApiError::bad(format!("query parameter {k:?} repeated")));
        }
    }
    Ok(out)
}

/// The `{id}` of a route that names one resource, on a request with no
/// query parameters.
pub(super) struct ResourceId(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ResourceId {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        query(&parts.uri, &[])?;
        let id = Path::<String>::from_request_parts(parts, state).await;
        path_id(id).map(ResourceId)
    }
}

pub(super) fn path_id(p: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    p.map(|Path(id)| id)
        .map_err(|e| ApiError::bad(format!("bad path: {e}")))
}

/// 204, never cached.
pub(super) fn no_content() -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The answer to a path no route serves.
pub(super) async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such admin API route",
    )
}

/// The answer to a method a route does not take.
pub(super) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}
