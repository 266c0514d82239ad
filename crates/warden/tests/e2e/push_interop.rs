//! Issue 15's "Done when", the relay side: the official Python SDK as the
//! agent (`sdk_agent.py`, its `BasePushNotificationSender`) and as the
//! client (`push_client.py`), in both bindings. The client registers a push
//! config with its message; the task's notifications reach the receiver
//! through Warden, each verified with the subscription secret the client
//! was shown once and carrying the client's own credential; and the agent
//! never connects anywhere but Warden:
//!
//! - the receiver is named `hooks.receiver.test`, which only Warden's
//!   `[egress.resolve]` knows;
//! - the agent runs with `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY` pointing at
//!   an observing server and `NO_PROXY=127.0.0.1` (the gateway), so any
//!   connection it made elsewhere would arrive there: none does;
//! - asked directly, the agent holds only the relay URL on Warden.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use warden_test_support::http::{Reply, Seen, serve};
use warden_webhooks::{SubscriptionSecret, Verifier};

use crate::interop_python::script;
use crate::support::{WAIT, client, gateway, python};

/// `sdk_agent.py` whose outbound HTTP goes through `proxy` except to
/// 127.0.0.1.
async fn observed_sdk_agent(proxy: &str) -> (tokio::process::Child, u16) {
    let mut child = Command::new(python())
        .arg(script("sdk_agent.py"))
        .args(["--port", "0", "--exit-on-stdin-eof"])
        .env("HTTP_PROXY", proxy)
        .env("HTTPS_PROXY", proxy)
        .env("ALL_PROXY", proxy)
        .env("NO_PROXY", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the Python SDK agent");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let port = tokio::time::timeout(WAIT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(p) = line.strip_prefix("LISTENING ") {
                return p.trim().parse::<u16>().ok();
            }
        }
        None
    })
    .await
    .expect("the SDK agent started in time")
    .expect("the SDK agent printed its port");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, port)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs()
}

/// The receiver's notifications about `task`, once one says it completed.
async fn completed(receiver: &warden_test_support::http::Server, task: &str) -> Vec<Seen> {
    let deadline = Instant::now() + WAIT;
    loop {
        let mine: Vec<Seen> = receiver
            .hits()
            .into_iter()
            .filter(|s| s.body_text().contains(task))
            .collect();
        if mine
            .iter()
            .any(|s| s.body_text().contains("TASK_STATE_COMPLETED"))
        {
            return mine;
        }
        assert!(
            Instant::now() < deadline,
            "no completed notification for {task}: {mine:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn python_sdk_agent_and_client_push_through_warden_and_the_agent_dials_only_warden() {
    let receiver = serve(|_| Reply::json(200, &json!({}))).await;
    let observer = serve(|_| Reply::json(502, &json!({}))).await;
    let (_agent, agent_port) =
        observed_sdk_agent(&format!("http://127.0.0.1:{}", observer.port())).await;
    let w = gateway(&format!(
        "[egress]\nallow_http = true\nallowed_ports = [443, \"1024-65535\"]\n\
         allow_cidrs = [\"127.0.0.1/32\"]\n\
         [egress.resolve]\n\"hooks.receiver.test\" = [\"127.0.0.1\"]\n\
         [[agents]]\nname = \"sdk\"\nurl = \"http://127.0.0.1:{agent_port}\"\n"
    ))
    .await;
    w.cli(&[
        "grant", "add", "--skills", "*", "--ops", "all", "tester", "sdk",
    ])
    .await;
    let key = w.api_key().await;
    let hook = format!("http://hooks.receiver.test:{}/hook", receiver.port());

    for binding in ["jsonrpc", "rest"] {
        let out = Command::new(python())
            .arg(script("push_client.py"))
            .args([
                "--base",
                &w.gateway,
                "--agent",
                "sdk",
                "--binding",
                binding,
                "--api-key",
                &key,
                "--push-url",
                &hook,
            ])
            .kill_on_drop(true)
            .output()
            .await
            .expect("run push_client.py");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line: Value = stdout
            .lines()
            .last()
            .and_then(|l| serde_json::from_str(l).ok())
            .unwrap_or_else(|| {
                panic!(
                    "{binding}: {stdout}\n{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            });
        assert_eq!(line["ok"], json!(true), "{binding}: {line}");
        let task = line["task"].as_str().expect("task").to_string();
        let secret = line["secret"]
            .as_str()
            .expect("the secret, once")
            .to_string();
        // The SDK client reads back its own config: its URL, no secrets.
        assert_eq!(line["get"]["url"], json!(hook), "{line}");
        assert!(line["get"].get("token").is_none(), "{line}");
        assert_eq!(line["list"]["configs"].as_array().map(Vec::len), Some(1));

        let got = completed(&receiver, &task).await;
        assert!(got.len() >= 2, "{binding}: {} notifications", got.len());
        let verifier = Verifier::builder()
            .secret(SubscriptionSecret::parse(&secret).expect("whsec"))
            .build()
            .expect("verifier");
        for n in &got {
            assert_eq!(n.path, "/hook");
            let headers: Vec<(&str, &[u8])> = n
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_bytes()))
                .collect();
            verifier
                .verify(headers.iter().copied(), &n.body, now())
                .unwrap_or_else(|e| panic!("{binding}: {e:?}: {}", n.body_text()));
            assert_eq!(
                n.header("authorization"),
                Some("Bearer sdk-client-credentials")
            );
            assert_eq!(
                n.header("x-a2a-notification-token"),
                Some("sdk-client-token")
            );
        }

        // Asked directly, the agent holds the relay, not the receiver.
        let held: Value = client()
            .post(format!("http://127.0.0.1:{agent_port}/jsonrpc"))
            .header("A2A-Version", "1.0")
            .json(&json!({"jsonrpc": "2.0", "id": 1,
                "method": "ListTaskPushNotificationConfigs", "params": {"taskId": task}}))
            .send()
            .await
            .expect("ask the agent")
            .json()
            .await
            .expect("json");
        let urls: Vec<&str> = held["result"]["configs"]
            .as_array()
            .unwrap_or_else(|| panic!("configs: {held}"))
            .iter()
            .filter_map(|c| c["url"].as_str())
            .collect();
        assert_eq!(urls.len(), 1, "{held}");
        assert!(
            urls[0].starts_with(&format!("{}/push/sub_", w.gateway)),
            "{held}"
        );
    }
    assert!(
        observer.hits().is_empty(),
        "the agent connected elsewhere than Warden: {:?}",
        observer.hits()
    );

    // The observation is real: given the receiver's URL directly (no
    // Warden), the same agent's push sender goes through the observer.
    let before = receiver.hits().len();
    let direct = client()
        .post(format!("http://127.0.0.1:{agent_port}/jsonrpc"))
        .header("A2A-Version", "1.0")
        .json(&json!({"jsonrpc": "2.0", "id": 2, "method": "SendMessage", "params": {
            "message": {"role": "ROLE_USER", "messageId": "direct-1", "parts": [{"text": "slow:1"}]},
            "configuration": {"taskPushNotificationConfig": {"url": hook}}}}))
        .send()
        .await
        .expect("send directly");
    assert!(direct.status().is_success());
    let deadline = Instant::now() + WAIT;
    while observer.hits().is_empty() {
        assert!(Instant::now() < deadline, "the observer saw nothing");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        observer
            .hits()
            .iter()
            .any(|s| s.path.contains("hooks.receiver.test")),
        "{:?}",
        observer.hits()
    );
    assert_eq!(
        receiver.hits().len(),
        before,
        "it never reached the receiver"
    );
}
