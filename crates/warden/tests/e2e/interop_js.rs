//! The official JavaScript SDK (`@a2a-js/sdk`, pinned in tests/interop/js)
//! as a client through the gateway, for send and stream.

use serde_json::Value;
use tokio::process::Command;

use crate::support::{js_dir, up};

async fn node_client(args: &[&str]) -> Vec<Value> {
    let dir = js_dir();
    let out = Command::new("node")
        .arg(dir.join("client.mjs"))
        .args(args)
        .current_dir(&dir)
        .kill_on_drop(true)
        .output()
        .await
        .expect("run the JS SDK client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[tokio::test]
async fn js_sdk_client_sends_and_streams_through_the_gateway() {
    let w = up(&["--step-interval-ms", "50"]).await;
    for binding in ["jsonrpc", "rest"] {
        let echo = format!("{}/agents/echo", w.gateway);
        // One single-use token per call (the card fetch is public).
        let auth = format!("Authorization: Bearer {}", w.token("echo").await);
        let lines = node_client(&[
            "--header",
            &auth,
            "--agent-url",
            &echo,
            "--op",
            "send",
            "--text",
            "hello js",
            "--binding",
            binding,
        ])
        .await;
        let last = lines.last().expect("output");
        assert_eq!(last["ok"], true, "{last}");
        assert_eq!(last["state"], "TASK_STATE_COMPLETED", "{last}");
        assert_eq!(last["artifactTexts"][0], "hello js", "{last}");

        let slow = format!("{}/agents/slow", w.gateway);
        let auth = format!("Authorization: Bearer {}", w.token("slow").await);
        let lines = node_client(&[
            "--header",
            &auth,
            "--agent-url",
            &slow,
            "--op",
            "stream",
            "--text",
            "3",
            "--binding",
            binding,
        ])
        .await;
        let last = lines.last().expect("summary");
        assert_eq!(last["ok"], true, "{last}");
        assert_eq!(last["finalState"], "TASK_STATE_COMPLETED", "{last}");
        assert_eq!(last["events"], 1 + 3 * 2 + 1, "{last}");
    }
}
