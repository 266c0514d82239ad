//! The README's run command serves, and `warden call` gets the echo back.

use serde_json::{Value, json};

use crate::support::{Running, client, rpc_with, up, user_message, warden};

async fn call_json(w: &Running, args: &[&str]) -> (bool, Value) {
    let out = warden()
        .arg("call")
        .args(args)
        .args(&w.instance)
        .arg("--json")
        .output()
        .await
        .expect("run warden call");
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap_or("null");
    (
        out.status.success(),
        serde_json::from_str(last).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn warden_call_through_the_gateway_gets_the_echo_back_in_both_bindings() {
    let w = up(&[]).await;
    let echo = format!("{}/agents/echo", w.gateway);
    for binding in ["jsonrpc", "rest"] {
        let (ok, v) = call_json(&w, &[&echo, "--text", "hello warden", "--binding", binding]).await;
        assert!(ok, "{binding}: {v}");
        assert_eq!(v["task"]["status"]["state"], "TASK_STATE_COMPLETED", "{v}");
        assert_eq!(
            v["task"]["artifacts"][0]["parts"][0]["text"],
            "hello warden"
        );
    }
}

#[tokio::test]
async fn warden_call_streams_and_continues_an_input_task() {
    let w = up(&["--step-interval-ms", "20"]).await;
    let out = warden()
        .args([
            "call",
            &format!("{}/agents/slow", w.gateway),
            "--text",
            "3",
            "--stream",
            "--json",
        ])
        .args(&w.instance)
        .output()
        .await
        .expect("run");
    assert!(out.status.success());
    let events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert!(events[0].get("task").is_some(), "first event is the task");
    assert_eq!(
        events.last().expect("events")["statusUpdate"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
    assert_eq!(events.len(), 1 + 3 * 2 + 1);

    let input = format!("{}/agents/input", w.gateway);
    let (ok, first) = call_json(&w, &[&input, "--text", "hi"]).await;
    assert!(ok);
    assert_eq!(
        first["task"]["status"]["state"],
        "TASK_STATE_INPUT_REQUIRED"
    );
    let task_id = first["task"]["id"].as_str().expect("task id").to_string();
    let (ok, second) = call_json(&w, &[&input, "--text", "Ada", "--task-id", &task_id]).await;
    assert!(ok);
    assert_eq!(second["task"]["status"]["state"], "TASK_STATE_COMPLETED");
    assert_eq!(
        second["task"]["artifacts"][0]["parts"][0]["text"],
        "Hello, Ada!"
    );
}

#[tokio::test]
async fn a_v0_3_json_rpc_client_is_understood() {
    let w = up(&[]).await;
    // A v0.3 client: slash method names, `kind` fields, no A2A-Version header.
    let body = json!({
        "jsonrpc": "2.0", "id": "legacy-1", "method": "message/send",
        "params": {"message": {"kind": "message", "role": "user", "messageId": "m03",
                               "parts": [{"kind": "text", "text": "old client"}]}}
    });
    let v: Value = client()
        .post(format!("{}/agents/echo", w.gateway))
        .bearer_auth(w.token("echo").await)
        .json(&body)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(v["id"], "legacy-1");
    let task = &v["result"];
    assert_eq!(task["kind"], "task", "{v}");
    assert_eq!(task["status"]["state"], "completed");
    assert_eq!(task["artifacts"][0]["parts"][0]["kind"], "text");
    assert_eq!(task["artifacts"][0]["parts"][0]["text"], "old client");

    // The interface root with a trailing slash is the same endpoint.
    let v = rpc_with(
        &format!("{}/agents/echo/", w.gateway),
        Some(&w.token("echo").await),
        "SendMessage",
        json!({"message": user_message("slash")}),
    )
    .await;
    assert_eq!(
        v["result"]["task"]["status"]["state"], "TASK_STATE_COMPLETED",
        "{v}"
    );

    // tasks/get in v0.3 too.
    let get =
        json!({"jsonrpc": "2.0", "id": 2, "method": "tasks/get", "params": {"id": task["id"]}});
    let v: Value = client()
        .post(format!("{}/agents/echo", w.gateway))
        .bearer_auth(w.token("echo").await)
        .json(&get)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(v["result"]["id"], task["id"]);
}

#[tokio::test]
async fn tasks_persist_in_the_data_directory() {
    let w = up(&[]).await;
    let v = w
        .rpc(
            "echo",
            "SendMessage",
            json!({"message": user_message("keep me")}),
        )
        .await;
    let id = v["result"]["task"]["id"].as_str().expect("id").to_string();
    let db = w.dir.path().join("warden.db");
    assert!(db.exists());
    let store = warden_store::Store::open(&db).await.expect("open store");
    assert_eq!(store.journal_mode().await.expect("mode"), "wal");
    let rec = store
        .task("echo", &id)
        .await
        .expect("read")
        .expect("task stored");
    assert_eq!(rec.state, "TASK_STATE_COMPLETED");
}

#[tokio::test]
async fn warden_up_again_on_the_same_data_directory_serves_the_demo_agents() {
    // The demo agents get new ports each start; their pinned cards must not
    // turn that into a card change held for review.
    let first = up(&[]).await;
    let v = first
        .rpc(
            "echo",
            "SendMessage",
            json!({"message": user_message("one")}),
        )
        .await;
    assert_eq!(
        v["result"]["task"]["status"]["state"], "TASK_STATE_COMPLETED",
        "{v}"
    );
    let dir = first.stop().await;
    let again = crate::support::up_in(dir, &[]).await;
    for agent in ["echo", "slow", "input"] {
        let r = client()
            .get(format!(
                "{}/agents/{agent}/.well-known/agent-card.json",
                again.gateway
            ))
            .send()
            .await
            .expect("card");
        assert_eq!(
            r.status(),
            200,
            "{agent}: {}",
            r.text().await.unwrap_or_default()
        );
    }
    let v = again
        .rpc(
            "echo",
            "SendMessage",
            json!({"message": user_message("two")}),
        )
        .await;
    assert_eq!(
        v["result"]["task"]["status"]["state"], "TASK_STATE_COMPLETED",
        "{v}"
    );
    assert_eq!(
        again.cli(&["registry", "review", "--json"]).await,
        "",
        "nothing held for review"
    );
}

#[tokio::test]
async fn config_check_names_the_bad_key_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "[gateway]\nlisten = \"127.0.0.1:8080\"\n\n[[agents]]\nname = \"echo\"\nurl = \"http://127.0.0.1:9001\"\n",
    )
    .expect("write");
    let out = warden()
        .args(["config", "check"])
        .arg(&good)
        .output()
        .await
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[gateway]\nlisten = \"127.0.0.1:8080\"\nlisten_port = 3\n",
    )
    .expect("write");
    let out = warden()
        .args(["config", "check"])
        .arg(&bad)
        .output()
        .await
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("listen_port") && err.contains("line 3"),
        "{err}"
    );

    // Its remote agent is at a documentation name (agents.partner.example):
    // checked without lookups.
    let example = crate::support::repo_root().join("warden.example.toml");
    let out = warden()
        .args(["config", "check", "--offline"])
        .arg(&example)
        .output()
        .await
        .expect("run");
    assert!(
        out.status.success(),
        "the documented example must be valid: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
