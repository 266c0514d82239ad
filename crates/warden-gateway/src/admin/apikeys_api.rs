//! The admin API's API key routes: keys are created for a registry agent,
//! listed without their secrets, revoked at once or rotated with an
//! overlap. The same implementation as `warden apikey …`
//! ([`crate::authority::registry`]). A key's secret appears only in the
//! answer that creates it.

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use warden_store::ApiKeyRecord;

use super::toolkit::{
    Api, ApiError, Caller, JsonBody, ResourceId, json_response, query, read_json,
};
use crate::authority::registry::{self, KeyState};
use crate::clock::unix_now;

/// A rotation's overlap when the request names none.
pub const DEFAULT_OVERLAP_SECS: u64 = 86_400;
/// The longest lifetime `expiresInSecs` may give a new key (10 years).
pub const MAX_KEY_LIFETIME_SECS: u64 = 10 * 365 * 86_400;

/// The routes, merged into the API's router (behind its token check).
pub(super) fn routes() -> Router<Api> {
    Router::new()
        .route("/apikeys", get(list_keys).post(create_key))
        .route("/apikeys/{id}/revoke", post(revoke_key))
        .route("/apikeys/{id}/rotate", post(rotate_key))
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
    JsonBody(b): JsonBody<CreateKeyBody>,
) -> Result<Response, ApiError> {
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
    ResourceId(id): ResourceId,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
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
    ResourceId(id): ResourceId,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
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
