//! A null A2A responder for benchmarks: fixed replies, no storage, no work.
//! It measures what sits in front of it, not an agent.

use std::convert::Infallible;

use axum::Router;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::stream;
use serde_json::json;

/// Events per streamed reply.
pub const STREAM_EVENTS: usize = 5;

fn task(state: &str) -> serde_json::Value {
    json!({"id": "null-task", "contextId": "null-ctx", "status": {"state": state}})
}

/// JSON-RPC at `/` (SendMessage → a completed task; SendStreamingMessage →
/// five events), REST `/message:send` and `/message:stream`, and a card.
pub fn router(public_url: &str) -> Router {
    let card = json!({
        "name": "null", "description": "fixed replies for benchmarks", "version": "1",
        "supportedInterfaces": [
            {"url": public_url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
            {"url": public_url, "protocolBinding": "HTTP+JSON", "protocolVersion": "1.0"}
        ],
        "capabilities": {"streaming": true},
        "defaultInputModes": ["text/plain"], "defaultOutputModes": ["text/plain"],
        "skills": [{"id": "null", "name": "null", "description": "does nothing", "tags": []}]
    });
    Router::new()
        .route(
            "/.well-known/agent-card.json",
            get(move || {
                let card = card.clone();
                async move { axum::Json(card) }
            }),
        )
        .route("/", post(jsonrpc))
        .route(
            "/message:send",
            post(|| async { axum::Json(json!({"task": task("TASK_STATE_COMPLETED")})) }),
        )
        .route("/message:stream", post(|| async { events(None) }))
}

async fn jsonrpc(body: axum::body::Bytes) -> Response {
    let req: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let id = req.get("id").cloned().unwrap_or_default();
    if req.get("method").and_then(|m| m.as_str()) == Some("SendStreamingMessage") {
        return events(Some(id));
    }
    axum::Json(
        json!({"jsonrpc": "2.0", "id": id, "result": {"task": task("TASK_STATE_COMPLETED")}}),
    )
    .into_response()
}

fn events(jsonrpc_id: Option<serde_json::Value>) -> Response {
    let frames = (0..STREAM_EVENTS).map(move |i| {
        let state = if i + 1 == STREAM_EVENTS { "TASK_STATE_COMPLETED" } else { "TASK_STATE_WORKING" };
        let ev = json!({"statusUpdate": {"taskId": "null-task", "contextId": "null-ctx", "status": {"state": state}}});
        let body = match &jsonrpc_id {
            Some(id) => json!({"jsonrpc": "2.0", "id": id, "result": ev}),
            None => ev,
        };
        Ok::<_, Infallible>(Event::default().data(body.to_string()))
    });
    Sse::new(stream::iter(frames.collect::<Vec<_>>())).into_response()
}
