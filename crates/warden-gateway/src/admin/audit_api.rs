//! The admin API's audit route: `POST /audit/flush` answers once every
//! audit event the gateway emitted before the request is in the store
//! ([`crate::audit::AuditSink::flush`]), so a reader of `audit_events`
//! (an operator before a backup, a test) need not guess how long the
//! batching writer takes. Changes nothing, so it is not itself audited.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;

use super::toolkit::{Api, ApiError, no_content, query, read_json};

/// The routes, merged into the API's router (behind its token check).
pub(super) fn routes() -> Router<Api> {
    Router::new().route("/audit/flush", post(flush))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

/// 204 once the earlier events are written; 500 `audit_write_failed` if
/// some could not be (they are lost, as the log says).
async fn flush(
    State(api): State<Api>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    query(&uri, &[])?;
    let _: Option<NoFields> = read_json(&headers, body).await?;
    if api.state.audit.flush().await {
        Ok(no_content())
    } else {
        Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "audit_write_failed",
            "some audit events could not be written (see the log)",
        ))
    }
}
