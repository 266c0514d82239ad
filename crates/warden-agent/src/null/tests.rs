use std::time::Duration;

use axum::body::Body;
use futures_util::StreamExt;
use http::Request;
use serde_json::Value;
use tokio::time::Instant;
use tower::ServiceExt;

use super::{NullOptions, STREAM_EVENTS, router};

/// Sends `body` to `path` and reads the SSE reply: each event's JSON with
/// the time (the test's paused clock) its chunk arrived.
async fn stream(options: NullOptions, path: &str, body: &str) -> Vec<(Duration, Value)> {
    let start = Instant::now();
    let request = Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let response = router("http://null.test", options)
        .oneshot(request)
        .await
        .expect("infallible");
    assert_eq!(response.status(), 200);
    let mut chunks = response.into_body().into_data_stream();
    let (mut events, mut pending) = (Vec::new(), String::new());
    while let Some(chunk) = chunks.next().await {
        pending.push_str(std::str::from_utf8(&chunk.expect("chunk")).expect("utf-8"));
        while let Some(end) = pending.find("\n\n") {
            let frame: String = pending.drain(..end + 2).collect();
            let data = frame
                .strip_prefix("data: ")
                .expect("a data line")
                .trim_end();
            events.push((start.elapsed(), serde_json::from_str(data).expect("json")));
        }
    }
    assert!(pending.is_empty(), "a partial event: {pending:?}");
    events
}

const JSONRPC_STREAM: &str = r#"{"jsonrpc":"2.0","id":7,"method":"SendStreamingMessage","params":{"message":{"role":"ROLE_USER","parts":[{"text":"hi"}],"messageId":"m"}}}"#;

fn state(event: &Value) -> &str {
    let ev = event.get("result").unwrap_or(event);
    ev["statusUpdate"]["status"]["state"]
        .as_str()
        .expect("a state")
}

#[tokio::test(start_paused = true)]
async fn events_are_sent_at_once_by_default() {
    let events = stream(NullOptions::default(), "/", JSONRPC_STREAM).await;
    assert_eq!(events.len(), STREAM_EVENTS);
    assert!(events.iter().all(|(at, _)| at.is_zero()), "{events:?}");
    assert_eq!(events[0].1["id"], 7);
    assert_eq!(state(&events[0].1), "TASK_STATE_WORKING");
    assert_eq!(state(&events[STREAM_EVENTS - 1].1), "TASK_STATE_COMPLETED");
}

#[tokio::test(start_paused = true)]
async fn stream_event_interval_spaces_the_events() {
    let interval = Duration::from_millis(250);
    let options = NullOptions {
        stream_event_interval: interval,
    };
    for (path, body) in [("/", JSONRPC_STREAM), ("/message:stream", "{}")] {
        let events = stream(options, path, body).await;
        assert_eq!(events.len(), STREAM_EVENTS, "{path}");
        // The first at once, then one per interval: the stream stays open
        // for (events - 1) intervals and ends with the completing event.
        let times: Vec<Duration> = events.iter().map(|(at, _)| *at).collect();
        let expected: Vec<Duration> = (0..STREAM_EVENTS as u32).map(|i| interval * i).collect();
        assert_eq!(times, expected, "{path}");
        assert_eq!(state(&events[STREAM_EVENTS - 1].1), "TASK_STATE_COMPLETED");
        assert!(
            events[..STREAM_EVENTS - 1]
                .iter()
                .all(|(_, e)| state(e) == "TASK_STATE_WORKING")
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_interval_leaves_send_message_alone() {
    let options = NullOptions {
        stream_event_interval: Duration::from_secs(5),
    };
    let start = Instant::now();
    let body = JSONRPC_STREAM.replace("SendStreamingMessage", "SendMessage");
    let response = router("http://null.test", options)
        .oneshot(
            Request::post("/")
                .header("content-type", "application/json")
                .body(Body::from(body))
                .expect("request"),
        )
        .await
        .expect("infallible");
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    let reply: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(
        reply["result"]["task"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
    assert!(start.elapsed().is_zero());
}
