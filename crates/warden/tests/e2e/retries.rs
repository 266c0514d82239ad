//! Safe retries (issue 20, part 4): a `SendMessage` retried by the same
//! caller — same message id, or same `Idempotency-Key` — gets the first
//! answer, and the agent (a recording spy) sees one call.

use serde_json::{Value, json};

use crate::support::{Running, Spy, client, gateway};

async fn send(w: &Running, id: u64, message: Value, key: Option<&str>, token: &str) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "SendMessage", "params": {"message": message}});
    let mut req = client()
        .post(format!("{}/agents/spy", w.gateway))
        .header("A2A-Version", "1.0")
        .bearer_auth(token)
        .json(&body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    req.send().await.expect("send").json().await.expect("json")
}

fn message(id: &str, text: &str) -> Value {
    json!({"role": "ROLE_USER", "messageId": id, "parts": [{"text": text}]})
}

fn posts(spy: &Spy) -> usize {
    spy.requests().iter().filter(|s| s.method == "POST").count()
}

#[tokio::test]
async fn a_retried_message_gets_its_first_answer_and_one_task() {
    let spy = Spy::start_numbering_tasks().await;
    let w = gateway(&format!(
        "[[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        spy.url
    ))
    .await;
    let first = send(&w, 1, message("m-1", "hello"), None, &w.token("spy").await).await;
    assert_eq!(first["result"]["task"]["id"], "t1", "{first}");
    // The same message again, with a new JSON-RPC id (and a new token).
    let again = send(&w, 2, message("m-1", "hello"), None, &w.token("spy").await).await;
    assert_eq!(again["result"]["task"]["id"], "t1", "{again}");
    assert_eq!(again["id"], 2, "the retry's own id");
    assert_eq!(posts(&spy), 1, "the agent saw one call");
    // The same message id for a different message is refused.
    let other = send(
        &w,
        3,
        message("m-1", "something else"),
        None,
        &w.token("spy").await,
    )
    .await;
    assert_eq!(other["error"]["code"], -32600, "{other}");
    assert_eq!(posts(&spy), 1);
    // An Idempotency-Key names the call whatever its message id.
    let k1 = send(
        &w,
        4,
        message("m-2", "x"),
        Some("order-42"),
        &w.token("spy").await,
    )
    .await;
    let k2 = send(
        &w,
        5,
        message("m-2", "x"),
        Some("order-42"),
        &w.token("spy").await,
    )
    .await;
    assert_eq!(k1["result"]["task"]["id"], "t2");
    assert_eq!(k2["result"]["task"]["id"], "t2");
    let k3 = send(
        &w,
        6,
        message("m-3", "x"),
        Some("order-42"),
        &w.token("spy").await,
    )
    .await;
    assert_eq!(k3["error"]["code"], -32600, "{k3}");
    assert_eq!(posts(&spy), 2);
    // Another caller's message with the same id is its own call.
    w.cli(&["registry", "add", "other", "--grant", "spy=*"])
        .await;
    let theirs = w
        .cli(&["token", "mint", "--sub", "other", "--aud", "spy"])
        .await;
    let r = send(&w, 7, message("m-1", "hello"), None, theirs.trim()).await;
    assert_eq!(r["result"]["task"]["id"], "t3", "{r}");
    assert_eq!(posts(&spy), 3);
    // Audited: the retries were answered without the agent.
    crate::support::flush_audit(&w.admin, &w.data_dir()).await;
    let store = warden_store::Store::open(&w.data_dir().join("warden.db"))
        .await
        .expect("store");
    let events = store.recent_audit(50).await.expect("audit");
    assert_eq!(
        events
            .iter()
            .filter(|e| e.outcome == "retry_answered")
            .count(),
        2,
        "{events:?}"
    );
}
