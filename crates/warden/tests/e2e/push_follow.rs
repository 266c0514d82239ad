//! Issue 15, part 4: push for an agent whose card offers none. The
//! upstream is the official Python SDK agent (`sdk_agent.py --no-push`: a
//! card with `pushNotifications: false`, no push sender, push configs
//! refused); Warden serves a card offering push, keeps the callers'
//! configs, follows the tasks itself (`push_follow = "poll"` and
//! `"subscribe"`), and the notifications reach a receiver signed, in order,
//! each verified with the subscription secret. A follow survives a crash of
//! the gateway and resumes from the store without sending again what it
//! had sent.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use warden_test_support::http::{Reply, Seen, Server, serve};
use warden_webhooks::{SubscriptionSecret, Verifier};

use crate::interop_python::script;
use crate::support::{Running, WAIT, client, gateway, gateway_from_file, python};

/// `sdk_agent.py --no-push`, and its port.
async fn sdk_agent_without_push() -> (tokio::process::Child, u16) {
    let mut child = Command::new(python())
        .arg(script("sdk_agent.py"))
        .args(["--port", "0", "--exit-on-stdin-eof", "--no-push"])
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

/// The gateway's configuration: the receiver reachable under a name only
/// Warden resolves, the SDK agent as `polled` (`push_follow = "poll"`) or
/// `streamed` (`"subscribe"`): one per gateway, as one card served twice
/// would be refused as a look-alike.
fn config(agent_port: u16, agent: &str) -> String {
    let mode = if agent == "polled" {
        "push_follow = \"poll\"\npush_poll_interval_ms = 100\n"
    } else {
        "push_follow = \"subscribe\"\n"
    };
    format!(
        "[egress]\nallow_http = true\nallowed_ports = [443, \"1024-65535\"]\n\
         allow_cidrs = [\"127.0.0.1/32\"]\n\
         [egress.resolve]\n\"hooks.receiver.test\" = [\"127.0.0.1\"]\n\
         [[agents]]\nname = \"{agent}\"\nurl = \"http://127.0.0.1:{agent_port}\"\n{mode}"
    )
}

/// A message with a push config, through Warden (JSON-RPC, v1.0): the
/// task's id and the subscription secret shown once.
async fn send_with_push(
    w: &Running,
    agent: &str,
    text: &str,
    hook: &str,
    blocking: bool,
) -> (Value, String) {
    let token = w.token(agent).await;
    let resp = client()
        .post(format!("{}/agents/{agent}", w.gateway))
        .bearer_auth(token)
        .header("A2A-Version", "1.0")
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {
            "message": {"role": "ROLE_USER", "messageId": uuid(), "parts": [{"text": text}]},
            "configuration": {
                "returnImmediately": !blocking,
                "taskPushNotificationConfig": {"url": hook, "token": "caller-token"},
            }}}),
        )
        .send()
        .await
        .expect("send");
    let secret = resp
        .headers()
        .get("warden-push-secret")
        .and_then(|v| v.to_str().ok())
        .expect("the secret, once")
        .to_string();
    let body: Value = resp.json().await.expect("json");
    assert!(body["result"]["task"]["id"].is_string(), "{body}");
    (body["result"]["task"].clone(), secret)
}

/// A message over REST without a config (returned at once), then a config
/// for its task with `CreateTaskPushNotificationConfig` (REST): the task's
/// id and the secret.
async fn rest_create(w: &Running, agent: &str, text: &str, hook: &str) -> (String, String) {
    let base = format!("{}/agents/{agent}", w.gateway);
    let token = w.token(agent).await;
    let sent: Value = client()
        .post(format!("{base}/message:send"))
        .bearer_auth(&token)
        .header("A2A-Version", "1.0")
        .json(&json!({
            "message": {"role": "ROLE_USER", "messageId": uuid(), "parts": [{"text": text}]},
            "configuration": {"returnImmediately": true}}))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let task = sent["task"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{sent}"))
        .to_string();
    let token = w.token(agent).await;
    let resp = client()
        .post(format!("{base}/tasks/{task}/pushNotificationConfigs"))
        .bearer_auth(&token)
        .header("A2A-Version", "1.0")
        .json(&json!({"url": hook, "token": "caller-token", "id": "cfg-rest"}))
        .send()
        .await
        .expect("create");
    assert_eq!(resp.status().as_u16(), 200);
    let secret = resp
        .headers()
        .get("warden-push-secret")
        .and_then(|v| v.to_str().ok())
        .expect("the secret, once")
        .to_string();
    let view: Value = resp.json().await.expect("json");
    assert_eq!(view["url"], json!(hook), "{view}");
    assert_eq!(view["id"], json!("cfg-rest"), "{view}");
    assert_eq!(view["taskId"], json!(task), "{view}");
    assert!(view.get("token").is_none(), "never returned: {view}");
    (task, secret)
}

fn uuid() -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("follow-{}-{n}", std::process::id())
}

/// The receiver's notifications about `task`, once one is the task in
/// `state`.
async fn until(receiver: &Server, task: &str, state: &str) -> Vec<Seen> {
    let deadline = Instant::now() + WAIT;
    loop {
        let mine: Vec<Seen> = receiver
            .hits()
            .into_iter()
            .filter(|s| s.body_text().contains(task))
            .collect();
        if mine.iter().any(|s| {
            let v: Value = serde_json::from_slice(&s.body).unwrap_or(Value::Null);
            v.pointer("/task/status/state") == Some(&json!(state))
        }) {
            return mine;
        }
        assert!(
            Instant::now() < deadline,
            "no {state} task for {task}: {mine:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs()
}

/// Every notification verified with `secret`, carrying the caller's token;
/// their bodies, in the order they arrived.
fn verified(got: &[Seen], secret: &str) -> Vec<Value> {
    let verifier = Verifier::builder()
        .secret(SubscriptionSecret::parse(secret).expect("whsec"))
        .build()
        .expect("verifier");
    let mut ids = std::collections::HashSet::new();
    got.iter()
        .map(|n| {
            let headers: Vec<(&str, &[u8])> = n
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_bytes()))
                .collect();
            verifier
                .verify(headers.iter().copied(), &n.body, now())
                .unwrap_or_else(|e| panic!("{e:?}: {}", n.body_text()));
            assert_eq!(n.header("x-a2a-notification-token"), Some("caller-token"));
            assert!(
                ids.insert(n.header("webhook-id").unwrap_or_default().to_string()),
                "each notification once: {}",
                n.body_text()
            );
            serde_json::from_slice(&n.body).expect("json")
        })
        .collect()
}

/// The texts of the agent's "step i/n" status messages, in order.
fn steps(bodies: &[Value]) -> Vec<String> {
    bodies
        .iter()
        .filter_map(|b| {
            b.pointer("/statusUpdate/status/message/parts/0/text")
                .and_then(Value::as_str)
                .filter(|t| t.starts_with("step "))
                .map(str::to_owned)
        })
        .collect()
}

#[tokio::test]
async fn an_agent_without_push_gets_push_from_warden_by_polls() {
    follow_delivers("polled").await;
}

#[tokio::test]
async fn an_agent_without_push_gets_push_from_warden_by_a_stream() {
    follow_delivers("streamed").await;
}

async fn follow_delivers(agent: &str) {
    let receiver = serve(|_| Reply::json(200, &json!({}))).await;
    let (_agent, port) = sdk_agent_without_push().await;
    let w = gateway(&config(port, agent)).await;
    let hook = format!("http://hooks.receiver.test:{}/hook", receiver.port());
    // Push configs are an operation of their own (a Create needs it).
    w.cli(&[
        "grant", "add", "--skills", "*", "--ops", "all", "tester", agent,
    ])
    .await;
    {
        // The card Warden serves offers push; the agent's does not.
        let card: Value = client()
            .get(format!(
                "{}/agents/{agent}/.well-known/agent-card.json",
                w.gateway
            ))
            .send()
            .await
            .expect("card")
            .json()
            .await
            .expect("json");
        assert_eq!(
            card["capabilities"]["pushNotifications"],
            json!(true),
            "{card}"
        );

        // A task that works a while: each change arrives, in order, the
        // final task last.
        let (task, secret) = send_with_push(&w, agent, "slow:3", &hook, false).await;
        let id = task["id"].as_str().expect("id").to_string();
        let got = until(&receiver, &id, "TASK_STATE_COMPLETED").await;
        let bodies = verified(&got, &secret);
        let last = bodies.last().expect("some");
        assert_eq!(
            last.pointer("/task/status/state"),
            Some(&json!("TASK_STATE_COMPLETED")),
            "{agent}: the final task comes last: {bodies:?}"
        );
        assert!(
            last.to_string().contains("done 3 steps"),
            "{agent}: with its artifact: {last}"
        );
        let seen = steps(&bodies);
        assert!(!seen.is_empty(), "{agent}: status updates came: {bodies:?}");
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(seen, sorted, "{agent}: in order, each once");
        if agent == "streamed" {
            // A stream misses nothing.
            assert_eq!(seen, ["step 1/3", "step 2/3", "step 3/3"], "{bodies:?}");
        }

        // Over REST, a config created for a running task: answered by
        // Warden (the caller's view, the secret once); the task followed.
        let (task, secret) = rest_create(&w, agent, "slow:2", &hook).await;
        let got = until(&receiver, &task, "TASK_STATE_COMPLETED").await;
        let bodies = verified(&got, &secret);
        assert!(
            bodies
                .last()
                .is_some_and(|b| b.to_string().contains("done 2 steps")),
            "{agent}: {bodies:?}"
        );

        // A blocking message whose answer is final: its notification comes
        // at once, the task whole.
        let (task, secret) = send_with_push(&w, agent, "hello warden", &hook, true).await;
        assert_eq!(task["status"]["state"], json!("TASK_STATE_COMPLETED"));
        let id = task["id"].as_str().expect("id");
        let got = until(&receiver, id, "TASK_STATE_COMPLETED").await;
        let bodies = verified(&got, &secret);
        assert_eq!(bodies.len(), 1, "{bodies:?}");
        assert!(bodies[0].to_string().contains("hello warden"));
    }
}

#[tokio::test]
async fn a_follow_resumes_after_the_gateway_crashed() {
    let receiver = serve(|_| Reply::json(200, &json!({}))).await;
    let (_agent, port) = sdk_agent_without_push().await;
    let w = gateway(&config(port, "polled")).await;
    let hook = format!("http://hooks.receiver.test:{}/hook", receiver.port());
    let (task, secret) = send_with_push(&w, "polled", "hold:3", &hook, false).await;
    let id = task["id"].as_str().expect("id").to_string();
    // The working status ("holding") is sent before the crash.
    let deadline = Instant::now() + WAIT;
    while !receiver
        .hits()
        .iter()
        .any(|s| s.body_text().contains(&id) && s.body_text().contains("holding"))
    {
        assert!(Instant::now() < deadline, "no working notification");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dir = w.kill().await;
    let path = dir.path().join("warden.toml");
    let w = gateway_from_file(dir, &path).await;
    // The dead gateway's lease on the follow runs out (30 s) on the
    // gateway's clock, which the test moves.
    w.advance_clock(31);
    let got = until(&receiver, &id, "TASK_STATE_COMPLETED").await;
    let bodies = verified(&got, &secret);
    let holding = bodies
        .iter()
        .filter(|b| b.get("statusUpdate").is_some())
        .count();
    assert_eq!(
        holding, 1,
        "what was sent before the crash is not sent again: {bodies:?}"
    );
    assert_eq!(
        bodies.last().and_then(|b| b.pointer("/task/status/state")),
        Some(&json!("TASK_STATE_COMPLETED"))
    );
    drop(w);
}
