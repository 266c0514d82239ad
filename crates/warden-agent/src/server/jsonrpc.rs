//! JSON-RPC at the interface root.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{Value, json};
use warden_a2a::{A2aError, parse_jsonrpc};

use super::render::{event_json, reply_json};
use super::{AppState, caller_version, json_content_type, sse_headers};
use crate::handler::Reply;

fn error_response(error: &A2aError, id: &Value) -> Response {
    // JSON-RPC errors travel with HTTP 200, as the binding (and the SDKs) do.
    axum::Json(error.jsonrpc_response(id)).into_response()
}

pub(crate) async fn handle(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let requested = match caller_version(&headers, query.as_deref()) {
        Ok(v) => v,
        Err(e) => return error_response(&e, &Value::Null),
    };
    if !json_content_type(&headers) {
        return error_response(
            &A2aError::content_type_not_supported(
                "JSON-RPC requests must be application/json or application/a2a+json",
            ),
            &Value::Null,
        );
    }
    let call = match parse_jsonrpc(&body, requested, state.limits.json) {
        Ok(c) => c,
        Err(r) => return error_response(&r.error, &r.jsonrpc_id),
    };
    let id = call.op.jsonrpc_id.clone().unwrap_or(Value::Null);
    let dialect = call.op.dialect;
    match state.handler.handle(call.request).await {
        Err(e) => error_response(&e, &id),
        Ok(Reply::Stream(events)) => {
            let frames = events.map(move |ev| {
                let body = json!({"jsonrpc": "2.0", "id": id, "result": event_json(&ev, dialect)});
                Ok::<_, Infallible>(Event::default().data(body.to_string()))
            });
            let sse =
                Sse::new(frames).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
            (sse_headers(), sse).into_response()
        }
        Ok(reply) => {
            let result = reply_json(&reply, dialect, true);
            axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response()
        }
    }
}
