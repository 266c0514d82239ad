//! Open streams per caller across replicas (`[shared]`): with
//! `max_streams_per_principal = 2`, a caller holding one stream at replica
//! 1 and one at replica 2 is refused a third at replica 3 (429, the same
//! answer one gateway gives), and gets it once a stream ends. Three
//! gateways on one PostgreSQL store and the machine's Redis, as in
//! `replicas_store` (whose setup this reuses).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::replicas_store::{AGENT, open_stream, replica_with, send, served, start_agent};
use crate::store_postgres::Schema;
use crate::support::{Running, WAIT, client, user_message, write_kek};

/// A streaming call at `w`: its status and, when refused, its body.
async fn try_stream(w: &Running, key: &str) -> (u16, String, Option<reqwest::Response>) {
    let r = client()
        .post(format!("{}/agents/{AGENT}", w.gateway))
        .header("A2A-Version", "1.0")
        .header("X-API-Key", key)
        .json(
            &json!({"jsonrpc": "2.0", "id": 7, "method": "SendStreamingMessage",
                    "params": {"message": user_message("one more")}}),
        )
        .send()
        .await
        .expect("send");
    let status = r.status().as_u16();
    let event_stream = r
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if event_stream {
        return (status, String::new(), Some(r));
    }
    (status, r.text().await.expect("body"), None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_streams_a_callers_stream_limit_holds_over_every_replica() {
    let schema = Schema::create().await;
    let shared_dir = tempfile::tempdir().expect("tempdir");
    let kek = write_kek(shared_dir.path());
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let prefix = format!("warden-test-streams-{}-{nanos}:", std::process::id());
    let (_agent, agent_url) = start_agent().await;
    let store = schema.url();
    let extra = "[rate_limits]\nmax_streams_per_principal = 2\n";
    let (r1, r2, r3) = tokio::join!(
        replica_with(&store, &prefix, &kek, &agent_url, extra),
        replica_with(&store, &prefix, &kek, &agent_url, extra),
        replica_with(&store, &prefix, &kek, &agent_url, extra),
    );
    r1.cli(&[
        "registry",
        "add",
        "tester",
        "--grant",
        &format!("{AGENT}=*"),
    ])
    .await;
    let key = r1.api_key().await;
    // The key is in the shared store; each replica sees it within its poll.
    let deadline = Instant::now() + WAIT;
    for w in [&r1, &r2, &r3] {
        while !served(&send(w, &key).await) {
            assert!(Instant::now() < deadline, "the API key never served");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    let first = open_stream(&r1, &key).await;
    let second = open_stream(&r2, &key).await;
    let (status, body, _) = try_stream(&r3, &key).await;
    assert_eq!(status, 429, "a third stream at replica 3: {body}");
    assert!(body.contains("at most 2 open streams per caller"), "{body}");

    // The stream at replica 1 ends: its place is given back everywhere.
    drop(first);
    let ended = Instant::now();
    let opened = loop {
        match try_stream(&r3, &key).await {
            (200, _, Some(stream)) => break stream,
            (429, _, None) => {
                assert!(ended.elapsed() < WAIT, "the place never came back");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (status, body, _) => panic!("unexpected answer {status}: {body}"),
        }
    };
    eprintln!(
        "replicas_streams: a stream ended at replica 1, its place taken at replica 3 after {:?}",
        ended.elapsed()
    );
    // A gateway's clean stop waits for the streams it relays.
    drop((opened, second));
    for w in [r1, r2, r3] {
        w.stop().await;
    }
    Schema::run(&format!("DROP SCHEMA {} CASCADE", schema.0)).await;
}
