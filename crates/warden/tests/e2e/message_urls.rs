//! URLs inside calls at ingress: the whole hostile-URL corpus sent as `url`
//! parts through a running gateway is refused before the agent sees it,
//! benign URLs pass, and `strip` forwards the message without the bad part.

use serde_json::{Value, json};

use crate::support::{Spy, client, gateway};

/// `[egress.resolve]` holding the corpus's DNS answers, so names resolve
/// the same way on every machine.
fn resolve_table() -> String {
    let mut t = String::from("[egress.resolve]\n");
    for (name, addrs) in warden_egress::corpus::answers() {
        let list: Vec<String> = addrs.iter().map(|a| format!("\"{a}\"")).collect();
        t.push_str(&format!("\"{name}\" = [{}]\n", list.join(", ")));
    }
    t
}

async fn send(gateway: &str, key: &str, parts: Value) -> Value {
    let body = json!({
        "jsonrpc": "2.0", "id": 7, "method": "SendMessage",
        "params": {"message": {"role": "ROLE_USER", "messageId": "m-url", "parts": parts}}
    });
    client()
        .post(format!("{gateway}/agents/spy"))
        .header("A2A-Version", "1.0")
        .header("X-API-Key", key)
        .json(&body)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json")
}

fn message_calls(spy: &Spy) -> Vec<Value> {
    spy.requests()
        .into_iter()
        .filter(|s| s.method == "POST")
        .filter_map(|s| serde_json::from_slice(&s.body).ok())
        .collect()
}

#[tokio::test]
async fn hostile_url_parts_never_reach_the_agent() {
    let spy = Spy::start().await;
    let w = gateway(&format!(
        "{}[[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        resolve_table(),
        spy.url
    ))
    .await;
    let key = w.api_key().await;
    let mut wrong = Vec::new();
    let mut refused = 0;
    for (url, reason) in warden_egress::corpus::hostile_urls() {
        let v = send(&w.gateway, &key, json!([{"text": "x"}, {"url": url}])).await;
        let msg = v
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or("");
        let info = v
            .pointer("/error/data/0/reason")
            .and_then(Value::as_str)
            .unwrap_or("");
        if info == "PERMISSION_DENIED" && msg.contains(reason) {
            refused += 1;
        } else if v.pointer("/error/code") == Some(&json!(-32602)) {
            // The strict A2A parser refused the URL text before the egress
            // check: still never reaches the agent.
            refused += 1;
        } else {
            wrong.push(format!("{url:?}: {v}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(refused >= 60, "{refused}");
    assert!(
        message_calls(&spy).is_empty(),
        "the agent saw a hostile URL"
    );

    // Benign public-looking URLs pass (the spy answers a completed task).
    for url in warden_egress::corpus::benign_urls() {
        let v = send(&w.gateway, &key, json!([{"url": url}])).await;
        assert!(v.get("result").is_some(), "{url}: {v}");
    }
    assert_eq!(
        message_calls(&spy).len(),
        warden_egress::corpus::benign_urls().len()
    );
}

#[tokio::test]
async fn strip_forwards_the_message_without_the_bad_part() {
    let spy = Spy::start().await;
    let w = gateway(&format!(
        "[message_urls]\naction = \"strip\"\n[[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        spy.url
    ))
    .await;
    let key = w.api_key().await;
    let v = send(
        &w.gateway,
        &key,
        json!([{"text": "keep"}, {"url": "https://169.254.169.254/latest/meta-data/"}]),
    )
    .await;
    assert!(v.get("result").is_some(), "{v}");
    let calls = message_calls(&spy);
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].pointer("/params/message/parts"),
        Some(&json!([{"text": "keep"}]))
    );
}
