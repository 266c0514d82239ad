//! The admin API, under `/admin/v1/` on the admin listener: the token
//! authority's registry and API keys, as JSON. The same implementation as
//! `warden registry …` and `warden apikey …`
//! ([`crate::authority::registry`]).
//!
//! Every request needs `Authorization: Bearer <admin token>` ([`super::token`]);
//! without it the answer is 401 with a `WWW-Authenticate` challenge, whatever
//! the path. Bodies are strict JSON objects (no duplicate keys, no unknown
//! fields, `Content-Type: application/json`); errors are
//! `{"error": CODE, "message": TEXT}`. Every change is an audit event (kind
//! `admin`, outcome `admin_change`, the action in `reason`), written before
//! the answer; API key secrets appear only in the answer that creates them.
//!
//! | Method and path | |
//! |---|---|
//! | `GET /registry` | `{"agents": [agent…]}` |
//! | `POST /registry` | add `{"id", "displayName"?, "jwks"?, "grants"?, "replace"?}`: 201 (200 when replaced) |
//! | `GET /registry/{id}` | one agent |
//! | `DELETE /registry/{id}` | remove it and its API keys: 204 |
//! | `GET /apikeys[?sub=ID]` | `{"apiKeys": [key…]}`, never secrets |
//! | `POST /apikeys` | create `{"sub", "expiresInSecs"?}`: 201 `{"key", "apiKey"}` |
//! | `POST /apikeys/{id}/revoke` | revoke at once: the key |
//! | `POST /apikeys/{id}/rotate` | `{"overlapSecs"?}` (default 86400): 201 `{"key", "apiKey", "previous"}` |
//! | `GET /grants[?caller=ID][&target=NAME][&all=true]` | `{"grants": [grant…]}`; revoked ones only with `all` |
//! | `POST /grants` | add `{"caller", "target", "skills", "operations"?, "tasksOf"?, "notBefore"?, "notAfter"?, "note"?}`: 201 the grant |
//! | `DELETE /grants/{id}` | revoke at once: 204 (404 unknown, 409 already revoked) |
//! | `GET /quarantine` | `{"quarantined": [{"agent", "reason", "createdAt", "createdBy"}…]}` |
//! | `POST /quarantine` | `{"agent", "reason"}`: 201 (409 when already quarantined) |
//! | `DELETE /quarantine/{agent}` | lift it: 204 (404 when not quarantined) |
//! | `POST /policy/reload` | re-read `[authz] policy_file`: 200 `{"rules", "file"}`, or 400 `invalid_policy` (the rules in force stay) |
//!
//! The grant, quarantine and policy routes live in `authz_api.rs`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use warden_store::{ApiKeyRecord, RegisteredAgent};

use super::token::AdminToken;
use crate::audit::{AuditEvent, Outcome};
use crate::auth::unix_now;
use crate::authority::Grants;
use crate::authority::registry::{self, KeyState, NewAgent, RegistryError};
use crate::state::GatewayState;

/// Where the API is mounted on the admin listener.
pub const PREFIX: &str = "/admin/v1";
/// Largest request body.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// A rotation's overlap when the request names none.
pub const DEFAULT_OVERLAP_SECS: u64 = 86_400;
/// The longest lifetime `expiresInSecs` may give a new key (10 years).
pub const MAX_KEY_LIFETIME_SECS: u64 = 10 * 365 * 86_400;
/// The principal admin events are recorded under.
pub const ADMIN_PRINCIPAL: &str = "admin";

const CHALLENGE: &str = "Bearer realm=\"warden-admin\"";
const CHALLENGE_INVALID: &str = "Bearer realm=\"warden-admin\", error=\"invalid_token\"";

#[derive(Clone)]
pub(super) struct Api {
    pub(super) state: GatewayState,
    token: AdminToken,
}

/// Who made an authenticated admin request.
#[derive(Debug, Clone, Copy)]
pub(super) struct Caller {
    source: IpAddr,
}

/// The API's router, to be nested at [`PREFIX`].
pub fn router(state: GatewayState, token: AdminToken) -> Router {
    let api = Api { state, token };
    Router::new()
        .route("/registry", get(list_agents).post(add_agent))
        .route("/registry/{id}", get(show_agent).delete(remove_agent))
        .route("/apikeys", get(list_keys).post(create_key))
        .route("/apikeys/{id}/revoke", post(revoke_key))
        .route("/apikeys/{id}/rotate", post(rotate_key))
        .merge(super::authz_api::routes())
        .merge(super::cards_api::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(api.clone(), require_token))
        .with_state(api)
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

async fn require_token(State(api): State<Api>, mut req: Request, next: Next) -> Response {
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

/// A registry agent with its grants in force.
async fn agent_view(store: &warden_store::Store, a: &RegisteredAgent) -> Result<Value, ApiError> {
    let grants = crate::authority::grants::summary(store, &a.id, crate::auth::unix_now())
        .await
        .map_err(|e| ApiError::from(crate::authority::registry::RegistryError::from(e)))?;
    Ok(agent_json(a, &grants))
}

fn agent_json(a: &RegisteredAgent, grants: &Grants) -> Value {
    let jwks = a
        .jwks
        .as_deref()
        .and_then(|t| serde_json::from_str::<Value>(t).ok());
    json!({
        "id": a.id,
        "displayName": a.display_name,
        "grants": grants,
        "jwks": jwks,
        "tlsSubject": a.tls_subject,
        "createdAt": a.created_at,
    })
}

/// A key as the API shows it: never the secret, nor its hash.
fn key_view(k: &ApiKeyRecord, now: u64) -> Value {
    json!({
        "id": k.id,
        "sub": k.subject,
        "state": KeyState::of(k, now).as_str(),
        "createdAt": k.created_at,
        "expiresAt": k.expires_at,
        "revokedAt": k.revoked_at,
        "lastUsedAt": k.last_used_at,
    })
}

async fn list_agents(State(api): State<Api>, uri: Uri) -> Result<Response, ApiError> {
    query(&uri, &[])?;
    let agents = registry::list_agents(&api.state.store).await?;
    let mut list: Vec<Value> = Vec::with_capacity(agents.len());
    for a in &agents {
        list.push(agent_view(&api.state.store, a).await?);
    }
    Ok(json_response(StatusCode::OK, &json!({ "agents": list })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AddAgentBody {
    id: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    jwks: Option<Value>,
    #[serde(default)]
    grants: Grants,
    /// The SAN of its client certificate (mTLS client authentication).
    #[serde(default)]
    tls_subject: Option<String>,
    /// Replace an existing agent of that id (otherwise 409).
    #[serde(default)]
    replace: bool,
}

async fn add_agent(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    query(&uri, &[])?;
    let b: AddAgentBody = require(read_json(&headers, body).await?)?;
    let b_grants = b.grants.clone();
    let new = NewAgent {
        id: b.id,
        display_name: b.display_name,
        jwks: b.jwks,
        grants: b.grants,
        tls_subject: b.tls_subject,
    };
    let (agent, created) = registry::add_agent(&api.state.store, new, b.replace).await?;
    let action = if created {
        "registry.add"
    } else {
        "registry.replace"
    };
    api.audit(
        caller,
        action,
        json!({"agent": agent.id, "grants": b_grants, "jwks": agent.jwks.is_some()}),
    )
    .await;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_response(
        status,
        &agent_view(&api.state.store, &agent).await?,
    ))
}

async fn show_agent(
    State(api): State<Api>,
    uri: Uri,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    query(&uri, &[])?;
    let agent = registry::get_agent(&api.state.store, &path_id(id)?).await?;
    Ok(json_response(
        StatusCode::OK,
        &agent_view(&api.state.store, &agent).await?,
    ))
}

async fn remove_agent(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    query(&uri, &[])?;
    let id = path_id(id)?;
    registry::remove_agent(&api.state.store, &id).await?;
    api.audit(caller, "registry.remove", json!({ "agent": id }))
        .await;
    Ok(no_content())
}

async fn list_keys(State(api): State<Api>, uri: Uri) -> Result<Response, ApiError> {
    let q = query(&uri, &["sub"])?;
    let keys = registry::list_keys(&api.state.store, q.get("sub").map(String::as_str)).await?;
    let now = unix_now();
    let list: Vec<Value> = keys.iter().map(|k| key_view(k, now)).collect();
    Ok(json_response(StatusCode::OK, &json!({ "apiKeys": list })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateKeyBody {
    /// The registry agent the key authenticates.
    sub: String,
    /// The key stops working this many seconds from now.
    #[serde(default)]
    expires_in_secs: Option<u64>,
}

async fn create_key(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    query(&uri, &[])?;
    let b: CreateKeyBody = require(read_json(&headers, body).await?)?;
    let now = unix_now();
    let expires_at = match b.expires_in_secs {
        None => None,
        Some(s) if (1..=MAX_KEY_LIFETIME_SECS).contains(&s) => {
            Some(i64::try_from(now.saturating_add(s)).unwrap_or(i64::MAX))
        }
        Some(_) => {
            return Err(ApiError::bad(format!(
                "expiresInSecs must be between 1 and {MAX_KEY_LIFETIME_SECS}"
            )));
        }
    };
    let created = registry::create_key(&api.state.store, &b.sub, expires_at).await?;
    api.audit(
        caller,
        "apikey.create",
        json!({"keyId": created.record.id, "sub": created.record.subject, "expiresAt": expires_at}),
    )
    .await;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"key": created.key, "apiKey": key_view(&created.record, now)}),
    ))
}

/// A body that may be absent, or `{}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

async fn revoke_key(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    query(&uri, &[])?;
    let id = path_id(id)?;
    let _: Option<NoFields> = read_json(&headers, body).await?;
    let key = registry::revoke_key(&api.state.store, &id).await?;
    api.audit(
        caller,
        "apikey.revoke",
        json!({"keyId": key.id, "sub": key.subject}),
    )
    .await;
    Ok(json_response(StatusCode::OK, &key_view(&key, unix_now())))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RotateBody {
    /// How long the old key keeps working.
    #[serde(default = "default_overlap")]
    overlap_secs: u64,
}

fn default_overlap() -> u64 {
    DEFAULT_OVERLAP_SECS
}

async fn rotate_key(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    query(&uri, &[])?;
    let id = path_id(id)?;
    let overlap = read_json::<RotateBody>(&headers, body)
        .await?
        .map_or(DEFAULT_OVERLAP_SECS, |b| b.overlap_secs);
    let now = unix_now();
    let r = registry::rotate_key(&api.state.store, &id, overlap, now).await?;
    api.audit(
        caller,
        "apikey.rotate",
        json!({
            "keyId": r.old.id,
            "newKeyId": r.new.record.id,
            "sub": r.old.subject,
            "oldExpiresAt": r.old.expires_at,
        }),
    )
    .await;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({
            "key": r.new.key,
            "apiKey": key_view(&r.new.record, now),
            "previous": key_view(&r.old, now),
        }),
    ))
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such admin API route",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}

#[cfg(test)]
mod tests {
    use axum::http::{Method, Request as HttpRequest};
    use tower::ServiceExt;

    use super::*;
    use crate::Config;
    use crate::admin::test_support::{TOKEN, call};

    async fn app(dir: &std::path::Path) -> (Router, GatewayState) {
        let mut config = Config::parse("", std::path::Path::new("test")).expect("config");
        config.gateway.data_dir = dir.to_path_buf();
        let store = warden_store::Store::open(&dir.join("warden.db"))
            .await
            .expect("store");
        let state = GatewayState::open(config, store).await.expect("state");
        let token = AdminToken::from_secret(TOKEN).expect("token");
        (super::super::router(state.clone(), token), state)
    }

    #[tokio::test]
    async fn every_api_path_needs_the_token_and_health_does_not() {
        let dir = tempfile::tempdir().expect("dir");
        let (app, _) = app(dir.path()).await;
        let (s, _, _) = call(&app, Method::GET, "/healthz", None, None).await;
        assert_eq!(s, StatusCode::OK);
        for path in [
            "/admin/v1/registry",
            "/admin/v1/apikeys",
            "/admin/v1/no-such-route",
        ] {
            let (s, h, v) = call(&app, Method::GET, path, None, None).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{path}");
            assert_eq!(h[header::WWW_AUTHENTICATE], CHALLENGE, "{path}");
            assert_eq!(v["error"], "unauthorized");
            let (s, h, _) = call(&app, Method::GET, path, Some("wrong"), None).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{path}");
            assert_eq!(h[header::WWW_AUTHENTICATE], CHALLENGE_INVALID);
        }
        let (s, _, v) = call(&app, Method::GET, "/admin/v1/nope", Some(TOKEN), None).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );
        let (s, _, v) = call(&app, Method::PUT, "/admin/v1/registry", Some(TOKEN), None).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
        );
        // Another scheme, or the token as an API key, does not count.
        let mut req = HttpRequest::builder()
            .uri("/admin/v1/registry")
            .header(header::AUTHORIZATION, format!("Basic {TOKEN}"))
            .body(Body::empty())
            .expect("request");
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 1))));
        let r = app.clone().oneshot(req).await.expect("answer");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn registry_and_keys_through_the_api_with_strict_bodies_and_audit() {
        let dir = tempfile::tempdir().expect("dir");
        let (app, state) = app(dir.path()).await;
        let t = Some(TOKEN);
        let body = r#"{"id":"planner","displayName":"Trip planner","grants":{"echo":["echo"]}}"#;
        let (s, h, v) = call(&app, Method::POST, "/admin/v1/registry", t, Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        assert_eq!(v["grants"], json!({"echo": ["echo"]}));
        let (s, _, v) = call(&app, Method::POST, "/admin/v1/registry", t, Some(body)).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (StatusCode::CONFLICT, Some("conflict"))
        );
        for bad in [
            r#"{"id":"x","grants":{},"extra":1}"#,
            r#"{"id":"x","id":"y"}"#,
            r#"{"id":"x","grants":{"echo":"echo"}}"#,
            r#"["id"]"#,
            r#"{"id":"x"#,
            r#"{"id":"has space"}"#,
            r#"{"id":"x","jwks":{"keys":[]}}"#,
        ] {
            let (s, _, v) = call(&app, Method::POST, "/admin/v1/registry", t, Some(bad)).await;
            assert_eq!(
                (s, v["error"].as_str()),
                (StatusCode::BAD_REQUEST, Some("invalid_request")),
                "{bad}: {v}"
            );
        }
        let (s, _, _) = call(&app, Method::GET, "/admin/v1/registry/x", t, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "nothing stored by refused bodies");
        let (s, _, v) = call(&app, Method::GET, "/admin/v1/registry?x=1", t, None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

        let (s, _, v) = call(
            &app,
            Method::POST,
            "/admin/v1/apikeys",
            t,
            Some(r#"{"sub":"planner"}"#),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let key = v["key"].as_str().expect("key").to_string();
        let id = v["apiKey"]["id"].as_str().expect("id").to_string();
        assert!(key.starts_with(&format!("wdn_{id}_")));
        let (s, _, v) = call(&app, Method::GET, "/admin/v1/apikeys?sub=planner", t, None).await;
        assert_eq!(s, StatusCode::OK);
        let secret = key.rsplit('_').next().expect("secret");
        assert!(!v.to_string().contains(secret), "{v}");
        assert_eq!(v["apiKeys"][0]["state"], "active");
        let (s, _, v) = call(
            &app,
            Method::POST,
            "/admin/v1/apikeys",
            t,
            Some(r#"{"sub":"nobody"}"#),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{v}");

        let rotate = format!("/admin/v1/apikeys/{id}/rotate");
        let (s, _, v) = call(
            &app,
            Method::POST,
            &rotate,
            t,
            Some(r#"{"overlapSecs":60}"#),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["previous"]["state"], "expiring");
        let new_id = v["apiKey"]["id"].as_str().expect("id").to_string();
        let (s, _, _) = call(&app, Method::POST, &rotate, t, Some(r#"{"overlap":60}"#)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let revoke = format!("/admin/v1/apikeys/{new_id}/revoke");
        let (s, _, v) = call(&app, Method::POST, &revoke, t, None).await;
        assert_eq!((s, v["state"].as_str()), (StatusCode::OK, Some("revoked")));
        let (s, _, _) = call(&app, Method::POST, &revoke, t, None).await;
        assert_eq!(s, StatusCode::CONFLICT);
        let (s, _, _) = call(&app, Method::POST, "/admin/v1/apikeys/nope/revoke", t, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        let (s, _, _) = call(&app, Method::DELETE, "/admin/v1/registry/planner", t, None).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, _, _) = call(&app, Method::DELETE, "/admin/v1/registry/planner", t, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        // Every change is on record (written before the answer), no secret in it.
        let rows = state.store.recent_audit(50).await.expect("audit");
        let actions: Vec<&str> = rows
            .iter()
            .filter(|r| r.kind == "admin" && r.outcome == "admin_change")
            .filter_map(|r| r.reason.as_deref())
            .collect();
        assert_eq!(
            actions,
            [
                "registry.remove",
                "apikey.revoke",
                "apikey.rotate",
                "apikey.create",
                "registry.add"
            ]
        );
        for r in &rows {
            let text = format!("{r:?}");
            assert!(!text.contains(secret) && !text.contains(TOKEN), "{text}");
        }
    }
}
