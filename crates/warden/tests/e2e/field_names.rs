//! Proto field names and unknown fields through the gateway (issue 19, parts
//! 1 and 2): what the agent behind Warden receives, seen by a recording
//! upstream that is not Warden code.

use serde_json::{Value, json};

use crate::support::{Spy, client, gateway, user_message};

/// The JSON body of the spy's last JSON-RPC (POST) request.
fn last_body(spy: &Spy) -> Value {
    let seen = spy.requests();
    let last = seen
        .iter()
        .rev()
        .find(|s| s.method == "POST")
        .expect("a POST reached the agent");
    serde_json::from_slice(&last.body).expect("the agent received JSON")
}

fn posts(spy: &Spy) -> usize {
    spy.requests().iter().filter(|s| s.method == "POST").count()
}

async fn rpc(url: &str, token: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": params});
    client()
        .post(url)
        .header("A2A-Version", "1.0")
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn a_proto_field_name_reaches_the_agent_as_its_json_name() {
    let spy = Spy::start().await;
    let w = gateway(&format!(
        "[[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        spy.url
    ))
    .await;
    let url = format!("{}/agents/spy", w.gateway);
    // The spy answers every call with task "t": the first call makes the
    // tester its owner, so the second may name it.
    let r = rpc(
        &url,
        &w.token("spy").await,
        json!({"message": user_message("hi")}),
    )
    .await;
    assert_eq!(r["result"]["task"]["id"], "t", "{r}");

    let mut m = user_message("again");
    m["task_id"] = json!("t");
    m["context_id"] = json!("c");
    let r = rpc(&url, &w.token("spy").await, json!({"message": m})).await;
    assert!(r.get("result").is_some(), "{r}");
    let got = last_body(&spy);
    let message = &got["params"]["message"];
    assert_eq!(message["taskId"], "t", "{got}");
    assert_eq!(message["contextId"], "c", "{got}");
    assert!(
        message.get("task_id").is_none() && message.get("context_id").is_none(),
        "only the canonical spelling is forwarded: {got}"
    );

    // Both spellings of one field: refused, and nothing reaches the agent.
    let before = posts(&spy);
    let mut m = user_message("twice");
    m["taskId"] = json!("t");
    m["task_id"] = json!("t");
    let r = rpc(&url, &w.token("spy").await, json!({"message": m})).await;
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .is_some_and(|s| s.contains("given twice")),
        "{r}"
    );
    assert_eq!(posts(&spy), before);
}

#[tokio::test]
async fn a_rest_query_in_proto_names_is_forwarded_in_json_names() {
    let spy = Spy::start().await;
    let w = gateway(&format!(
        "[[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        spy.url
    ))
    .await;
    let resp = client()
        .get(format!(
            "{}/agents/spy/tasks?page_size=5&context_id=c&status=2",
            w.gateway
        ))
        .header("A2A-Version", "1.0")
        .bearer_auth(w.token("spy").await)
        .send()
        .await
        .expect("send");
    assert!(resp.status().is_success(), "{}", resp.status());
    let seen = spy.requests();
    let list = seen
        .iter()
        .find(|s| s.method == "GET" && s.path.contains("/tasks"))
        .expect("ListTasks reached the agent");
    assert!(
        list.path
            .ends_with("/tasks?pageSize=5&contextId=c&status=TASK_STATE_WORKING"),
        "{}",
        list.path
    );
}

#[tokio::test]
async fn unknown_fields_are_refused_by_default_and_dropped_where_configured() {
    let strict = Spy::start().await;
    let lenient = Spy::start().await;
    let w = gateway(&format!(
        "[[agents]]\nname = \"strict\"\nurl = \"{}\"\n\n[[agents]]\nname = \"lenient\"\nurl = \"{}\"\nunknown_fields = \"drop\"\n",
        strict.url, lenient.url
    ))
    .await;
    let mut m = user_message("new client");
    m["futureField"] = json!({"secret": "value"});
    let params = json!({"message": m, "newTopLevel": 1});

    let r = rpc(
        &format!("{}/agents/strict", w.gateway),
        &w.token("strict").await,
        params.clone(),
    )
    .await;
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .is_some_and(|s| s.contains("unknown field")),
        "{r}"
    );
    assert_eq!(posts(&strict), 0);

    let r = rpc(
        &format!("{}/agents/lenient", w.gateway),
        &w.token("lenient").await,
        params,
    )
    .await;
    assert!(r.get("result").is_some(), "{r}");
    let got = last_body(&lenient);
    assert!(got["params"].get("newTopLevel").is_none(), "{got}");
    assert!(
        got["params"]["message"].get("futureField").is_none(),
        "{got}"
    );
    assert_eq!(got["params"]["message"]["parts"][0]["text"], "new client");

    // The audit names what was dropped (never its value).
    crate::support::flush_audit(&w.admin, &w.data_dir()).await;
    let store = warden_store::Store::open(&w.data_dir().join("warden.db"))
        .await
        .expect("store");
    let events = store.recent_audit(50).await.expect("audit");
    let forwarded = events
        .iter()
        .find(|e| e.agent.as_deref() == Some("lenient") && e.outcome == "forwarded")
        .expect("the lenient call is audited");
    let detail: Value =
        serde_json::from_str(forwarded.detail.as_deref().expect("detail")).expect("json");
    assert_eq!(
        detail["dropped_fields"],
        json!(["newTopLevel", "message.futureField"]),
        "{detail}"
    );
    assert!(!forwarded.detail.as_deref().unwrap_or("").contains("value"));
}
