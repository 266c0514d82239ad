//! A null A2A responder for benchmarks: fixed replies, no storage, no work.
//! It measures what sits in front of it, not an agent.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::{StreamExt, stream};
use serde_json::json;

/// Events per streamed reply.
pub const STREAM_EVENTS: usize = 5;

/// How the null responder answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullOptions {
    /// Pause between a streamed reply's events (the first is sent at once).
    /// Zero, the default: all five at once. Benchmarks set it to hold many
    /// streams open at the same time.
    pub stream_event_interval: Duration,
}

fn task(state: &str) -> serde_json::Value {
    json!({"id": "null-task", "contextId": "null-ctx", "status": {"state": state}})
}

/// JSON-RPC at `/` (SendMessage → a completed task; SendStreamingMessage →
/// five events), REST `/message:send` and `/message:stream`, and a card.
pub fn router(public_url: &str, options: NullOptions) -> Router {
    let interval = options.stream_event_interval;
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
        .route(
            "/",
            post(move |body: axum::body::Bytes| jsonrpc(body, interval)),
        )
        .route(
            "/message:send",
            post(|| async { axum::Json(json!({"task": task("TASK_STATE_COMPLETED")})) }),
        )
        .route(
            "/message:stream",
            post(move || async move { events(None, interval) }),
        )
}

async fn jsonrpc(body: axum::body::Bytes, interval: Duration) -> Response {
    let req: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let id = req.get("id").cloned().unwrap_or_default();
    if req.get("method").and_then(|m| m.as_str()) == Some("SendStreamingMessage") {
        return events(Some(id), interval);
    }
    axum::Json(
        json!({"jsonrpc": "2.0", "id": id, "result": {"task": task("TASK_STATE_COMPLETED")}}),
    )
    .into_response()
}

fn events(jsonrpc_id: Option<serde_json::Value>, interval: Duration) -> Response {
    let frames = (0..STREAM_EVENTS).map(move |i| {
        let state = if i + 1 == STREAM_EVENTS { "TASK_STATE_COMPLETED" } else { "TASK_STATE_WORKING" };
        let ev = json!({"statusUpdate": {"taskId": "null-task", "contextId": "null-ctx", "status": {"state": state}}});
        let body = match &jsonrpc_id {
            Some(id) => json!({"jsonrpc": "2.0", "id": id, "result": ev}),
            None => ev,
        };
        Ok::<_, Infallible>(Event::default().data(body.to_string()))
    });
    let frames = frames.collect::<Vec<_>>();
    if interval.is_zero() {
        return Sse::new(stream::iter(frames)).into_response();
    }
    // The first event at once, then one every `interval`.
    let paced = stream::iter(frames.into_iter().enumerate()).then(move |(i, frame)| async move {
        if i > 0 {
            tokio::time::sleep(interval).await;
        }
        frame
    });
    Sse::new(paced).into_response()
}

#[cfg(test)]
mod tests;
