//! The HTTP+JSON (REST) routes below the interface root.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use warden_a2a::{A2aError, RestRequest, parse_rest};

use super::render::{event_json, reply_json};
use super::{AppState, caller_version, json_content_type, sse_headers};
use crate::handler::Reply;

/// REST replies use the media type the Python SDK uses for JSON.
fn json_response(status: axum::http::StatusCode, body: &serde_json::Value) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body.to_string(),
    )
        .into_response()
}

fn error_response(e: &A2aError) -> Response {
    json_response(e.http_status(), &e.rest_body())
}

pub(crate) async fn handle(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let requested = match caller_version(&headers, uri.query()) {
        Ok(v) => v,
        Err(e) => return error_response(&e),
    };
    let has_body = !body.iter().all(u8::is_ascii_whitespace);
    if has_body && !json_content_type(&headers) {
        return error_response(&A2aError::content_type_not_supported(
            "request bodies must be application/json or application/a2a+json",
        ));
    }
    let req = RestRequest {
        method: &method,
        path: uri.path(),
        query: uri.query(),
        body: &body,
    };
    let call = match parse_rest(req, requested, state.limits.json) {
        Ok(c) => c,
        Err(e) => return error_response(&e),
    };
    let dialect = call.op.dialect;
    match state.handler.handle(call.request).await {
        Err(e) => error_response(&e),
        Ok(Reply::Stream(events)) => {
            let frames = events.map(move |ev| {
                Ok::<_, Infallible>(Event::default().data(event_json(&ev, dialect).to_string()))
            });
            let sse =
                Sse::new(frames).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
            (sse_headers(), sse).into_response()
        }
        Ok(reply) => json_response(
            axum::http::StatusCode::OK,
            &reply_json(&reply, dialect, false),
        ),
    }
}
