//! SSE crosses the gateway event by event, and a client that goes away never
//! cancels the agent's task.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use warden_a2a::sse::SseDecoder;

use crate::support::{Running, WAIT, client, up, user_message};

/// Opens a JSON-RPC stream and returns the response.
async fn open_stream(w: &Running, agent: &str, text: &str) -> reqwest::Response {
    let r = client()
        .post(format!("{}/agents/{agent}", w.gateway))
        .bearer_auth(w.token(agent).await)
        .header("A2A-Version", "1.0")
        .header("Accept", "text/event-stream")
        .json(
            &json!({"jsonrpc": "2.0", "id": 9, "method": "SendStreamingMessage",
                      "params": {"message": user_message(text)}}),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    r
}

async fn next_event(
    chunks: &mut (impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    decoder: &mut SseDecoder,
    pending: &mut Vec<Value>,
) -> Option<Value> {
    loop {
        if !pending.is_empty() {
            return Some(pending.remove(0));
        }
        let chunk = tokio::time::timeout(WAIT, chunks.next())
            .await
            .expect("event in time")?;
        for ev in decoder.feed(&chunk.expect("chunk")).expect("valid SSE") {
            pending.push(serde_json::from_str(&ev.data).expect("json event"));
        }
    }
}

async fn task_state(w: &Running, agent: &str, id: &str) -> String {
    let v = w.rpc(agent, "GetTask", json!({"id": id})).await;
    v["result"]["status"]["state"]
        .as_str()
        .unwrap_or("?")
        .to_string()
}

async fn wait_for_state(w: &Running, agent: &str, id: &str, want: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let state = task_state(w, agent, id).await;
        if state == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "task {id} stuck in {state}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_first_event_arrives_before_the_stream_ends() {
    // 10 steps, 300 ms apart: the whole stream takes about 3 s.
    let w = up(&["--step-interval-ms", "300"]).await;
    let r = open_stream(&w, "slow", "10").await;
    let h = r.headers();
    assert!(
        h["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/event-stream")
    );
    assert_eq!(h["x-accel-buffering"], "no");
    assert_eq!(h["cache-control"], "no-cache");
    let (mut chunks, mut decoder, mut pending) =
        (r.bytes_stream(), SseDecoder::new(1 << 20), Vec::new());
    let first = next_event(&mut chunks, &mut decoder, &mut pending)
        .await
        .expect("first event");
    assert_eq!(first["id"], 9, "the request id is echoed on every event");
    let task_id = first["result"]["task"]["id"]
        .as_str()
        .expect("task first")
        .to_string();
    // The stream is still open and the task still running: the gateway did
    // not wait for the end before passing the first event on.
    let state = task_state(&w, "slow", &task_id).await;
    assert!(
        state == "TASK_STATE_SUBMITTED" || state == "TASK_STATE_WORKING",
        "task already {state}: the first event came too late"
    );
    let mut count = 1;
    let mut last = first;
    while let Some(ev) = next_event(&mut chunks, &mut decoder, &mut pending).await {
        count += 1;
        last = ev;
    }
    assert_eq!(count, 1 + 10 * 2 + 1);
    assert_eq!(
        last["result"]["statusUpdate"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
}

#[tokio::test]
async fn a_client_disconnect_does_not_cancel_the_task() {
    let w = up(&["--step-interval-ms", "100"]).await;
    let r = open_stream(&w, "slow", "5").await;
    let (mut chunks, mut decoder, mut pending) =
        (r.bytes_stream(), SseDecoder::new(1 << 20), Vec::new());
    let first = next_event(&mut chunks, &mut decoder, &mut pending)
        .await
        .expect("first event");
    let task_id = first["result"]["task"]["id"]
        .as_str()
        .expect("task")
        .to_string();
    drop(chunks);
    drop(pending);
    wait_for_state(&w, "slow", &task_id, "TASK_STATE_COMPLETED").await;
}

#[tokio::test]
async fn open_streams_are_counted_in_metrics() {
    let w = up(&["--step-interval-ms", "200"]).await;
    let r = open_stream(&w, "slow", "20").await;
    let (mut chunks, mut decoder, mut pending) =
        (r.bytes_stream(), SseDecoder::new(1 << 20), Vec::new());
    next_event(&mut chunks, &mut decoder, &mut pending)
        .await
        .expect("first event");
    let metrics = client()
        .get(format!("{}/metrics", w.admin))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("warden_open_streams{agent=\"slow\"} 1"),
        "{metrics}"
    );
}
