//! Task ownership leaves the request path: the owner of a new task is held
//! in memory and committed by one batching writer after the answer is
//! relayed. These tests show what that costs in a crash (nothing unsafe:
//! the task is refused to everyone) and that a clean stop loses nothing.

use serde_json::{Value, json};

use crate::support::{Running, up, up_in, up_in_env, user_message};

const TASK_NOT_FOUND: i64 = -32001;

/// A new task at the echo agent, created by the demo client.
async fn new_task(w: &Running) -> String {
    let v = w
        .rpc(
            "echo",
            "SendMessage",
            json!({"message": user_message("hi")}),
        )
        .await;
    v["result"]["task"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a task: {v}"))
        .to_string()
}

async fn get_task(w: &Running, id: &str) -> Value {
    w.rpc("echo", "GetTask", json!({"id": id})).await
}

#[tokio::test]
async fn a_task_relayed_but_never_recorded_is_refused_after_a_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    // This debug-build hook stops the writer from ever committing: the
    // gateway dies, below, with the owner still only in its memory.
    let first = up_in_env(dir, &[], &[("WARDEN_TEST_HOLD_OWNERSHIP_WRITES", "1")]).await;
    let task = new_task(&first).await;
    // While it runs, the gateway knows the owner from memory.
    let v = get_task(&first, &task).await;
    assert_eq!(v["result"]["id"], task.as_str(), "owner's GetTask: {v}");

    let again = up_in(first.kill().await, &[]).await;
    // The record was lost with the process: nobody may see the task, its
    // creator included (fail closed), and it cannot be continued either.
    let v = get_task(&again, &task).await;
    assert_eq!(v["error"]["code"], TASK_NOT_FOUND, "after the crash: {v}");
    let mut msg = user_message("again");
    msg["taskId"] = json!(task);
    let v = again
        .rpc("echo", "SendMessage", json!({"message": msg}))
        .await;
    assert_eq!(v["error"]["code"], TASK_NOT_FOUND, "continuing it: {v}");
}

#[tokio::test]
async fn a_clean_stop_commits_every_owner_it_holds() {
    let first = up(&[]).await;
    let mut tasks = Vec::new();
    for _ in 0..5 {
        tasks.push(new_task(&first).await);
    }
    let again = up_in(first.stop().await, &[]).await;
    for task in &tasks {
        let v = get_task(&again, task).await;
        assert_eq!(v["result"]["id"], task.as_str(), "after a clean stop: {v}");
    }
}
