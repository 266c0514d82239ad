//! The admin API's push outbox routes (`push::outbox`, docs/push.md):
//! what is queued, delivered and dead, and a dead notification put back in
//! the queue. Listings never carry bodies (they may hold task content);
//! one notification shows its body until it is delivered.
//!
//! | Method and path | |
//! |---|---|
//! | `GET /push/notifications[?state=][&task=][&destination=][&limit=][&pageToken=]` | newest first, 100 by default (at most 1000): `{"notifications": [...], "nextPageToken"}` |
//! | `GET /push/notifications/{id}` | one, with its body |
//! | `POST /push/notifications/{id}/retry` | a dead one queued again, due now, its attempts and horizon afresh: 200 (404 unknown, 409 not dead); audited `push.retry` |
//! | `GET /push/counts` | `{"pending", "delivering", "delivered", "dead", "queued"}` |

use axum::Extension;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value, json};
use warden_store::{
    NotificationFilter, NotificationRecord, NotificationState, Retried, StoreError, outbox_origin,
};

use super::toolkit::{Api, ApiError, Caller, ResourceId, json_response, query};

/// Entries per page unless `limit` says otherwise, and the most it may say.
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;

/// The routes, merged into the API's router (behind its token check).
pub(super) fn routes() -> Router<Api> {
    Router::new()
        .route("/push/notifications", get(list))
        .route("/push/notifications/{id}", get(show))
        .route("/push/notifications/{id}/retry", post(retry))
        .route("/push/counts", get(counts))
}

fn store_failed(e: StoreError) -> ApiError {
    match e {
        StoreError::BadPageToken => ApiError::bad("invalid pageToken"),
        e => {
            tracing::error!(error = %e, "admin API: store failure");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the store failed",
            )
        }
    }
}

/// Unix milliseconds as RFC 3339 (UTC, milliseconds).
fn time(ms: i64) -> Value {
    chrono::DateTime::from_timestamp_millis(ms).map_or(Value::Null, |t| {
        json!(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    })
}

fn record_json(r: &NotificationRecord) -> Value {
    let open = matches!(r.state.as_str(), "pending" | "delivering") && !r.waiting;
    json!({
        "id": r.id.as_str(),
        "subscriptionId": r.subscription_id,
        "taskId": r.task_id,
        "seq": r.seq,
        "destination": r.destination,
        "state": r.state,
        "attempts": r.attempts,
        // Due (pending) or the end of the lease (delivering).
        "nextAttemptAt": if open { time(r.next_attempt_ms) } else { Value::Null },
        // Pending behind an earlier notification of its task.
        "waiting": r.waiting,
        "leaseOwner": r.lease_owner,
        "lastError": r.last_error,
        "createdAt": time(r.created_ms),
        "updatedAt": time(r.updated_ms),
    })
}

async fn list(State(api): State<Api>, uri: Uri) -> Result<Response, ApiError> {
    let q = query(
        &uri,
        &["state", "task", "destination", "limit", "pageToken"],
    )?;
    let state = match q.get("state") {
        Some(s) => Some(NotificationState::parse(s).ok_or_else(|| {
            ApiError::bad("state is one of pending, delivering, delivered, dead")
        })?),
        None => None,
    };
    let origin = match q.get("destination") {
        Some(d) => Some(outbox_origin(d).map_err(|e| ApiError::bad(e.to_string()))?),
        None => None,
    };
    let limit = match q.get("limit") {
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| ApiError::bad(format!("limit is 1 to {MAX_LIMIT}")))?,
        None => DEFAULT_LIMIT,
    };
    let page = api
        .state
        .store
        .outbox_list(&NotificationFilter {
            state,
            task_id: q.get("task").cloned(),
            origin,
            page_token: q.get("pageToken").cloned(),
            limit,
        })
        .await
        .map_err(store_failed)?;
    let list: Vec<Value> = page.entries.iter().map(record_json).collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({"notifications": list, "nextPageToken": page.next_page_token}),
    ))
}

async fn show(State(api): State<Api>, ResourceId(id): ResourceId) -> Result<Response, ApiError> {
    let (record, body) = api
        .state
        .store
        .outbox_get(&id)
        .await
        .map_err(store_failed)?
        .ok_or_else(|| not_found(&id))?;
    let mut v = record_json(&record);
    // The stream response as JSON; bytes that are not JSON as base64.
    v["body"] = match serde_json::from_slice::<Value>(&body) {
        _ if body.is_empty() => Value::Null,
        Ok(json) => json,
        Err(_) => json!({"base64": base64::engine::general_purpose::STANDARD.encode(&body)}),
    };
    Ok(json_response(StatusCode::OK, &v))
}

async fn retry(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    ResourceId(id): ResourceId,
) -> Result<Response, ApiError> {
    let now = i64::try_from(api.state.clock.now_unix_ms()).unwrap_or(i64::MAX);
    match api
        .state
        .store
        .outbox_retry(&id, now)
        .await
        .map_err(store_failed)?
    {
        Retried::Queued => {}
        Retried::NotFound => return Err(not_found(&id)),
        Retried::NotDead(state) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("notification {id} is {state}, not dead"),
            ));
        }
    }
    api.audit(caller, "push.retry", json!({"notification": id}))
        .await;
    let (record, _) = api
        .state
        .store
        .outbox_get(&id)
        .await
        .map_err(store_failed)?
        .ok_or_else(|| not_found(&id))?;
    Ok(json_response(StatusCode::OK, &record_json(&record)))
}

async fn counts(State(api): State<Api>, uri: Uri) -> Result<Response, ApiError> {
    query(&uri, &[])?;
    let c = api
        .state
        .store
        .outbox_counts()
        .await
        .map_err(store_failed)?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "pending": c.pending,
            "delivering": c.delivering,
            "delivered": c.delivered,
            "dead": c.dead,
            "queued": c.pending + c.delivering,
        }),
    ))
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no push notification {id:?}"),
    )
}

#[cfg(test)]
mod tests;
