//! URLs inside calls at ingress: the whole hostile-URL corpus sent as `url`
//! parts through a running gateway is refused before the agent sees it,
//! benign URLs pass, `strip` forwards the message without the bad part,
//! and a `[[message_urls.allow]]` entry lets one push destination through
//! for one caller and agent only.

use serde_json::{Value, json};
use warden_test_support::http::{Reply, serve};

use crate::support::{Seen, Spy, WAIT, client, gateway, user_message};

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
    send_to(gateway, "spy", key, parts).await.1
}

/// SendMessage with `parts` to `agent`: the HTTP status and the body.
async fn send_to(gateway: &str, agent: &str, key: &str, parts: Value) -> (u16, Value) {
    // A new message id each time: a resent id is a retry ([retries]).
    let mut message = user_message("");
    message["parts"] = parts;
    call(gateway, agent, key, json!({"message": message})).await
}

/// SendMessage to `agent` with a push config for `url`.
async fn push_send(gateway: &str, agent: &str, key: &str, url: &str) -> (u16, Value) {
    let params = json!({
        "message": user_message("push me"),
        "configuration": {"taskPushNotificationConfig": {"url": url, "token": "n-1"}}
    });
    call(gateway, agent, key, params).await
}

async fn call(gateway: &str, agent: &str, key: &str, params: Value) -> (u16, Value) {
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "SendMessage", "params": params});
    let r = client()
        .post(format!("{gateway}/agents/{agent}"))
        .header("A2A-Version", "1.0")
        .header("X-API-Key", key)
        .json(&body)
        .send()
        .await
        .expect("send");
    let status = r.status().as_u16();
    (status, r.json().await.expect("json"))
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

/// A push webhook on 127.0.0.1, allowed by one `[[message_urls.allow]]`
/// entry for one caller and one agent: the official Python SDK agent
/// behind the gateway delivers to it. The same host on another port, the
/// same URL from another caller or to another agent, and the same URL as
/// a `url` part are refused with the egress reason, before any agent sees
/// them, and the audit says so.
#[tokio::test]
async fn a_push_url_allowed_for_one_caller_and_agent_is_delivered_to_and_nothing_else() {
    let (tx, mut pushed) = tokio::sync::mpsc::unbounded_channel::<Seen>();
    let receiver = serve(move |s| {
        let _ = tx.send(s.clone());
        Reply::json(200, &json!({}))
    })
    .await;
    let elsewhere = serve(|_| Reply::json(200, &json!({}))).await;
    let (_agent, agent_port) = crate::interop_python::sdk_agent().await;
    let spy = Spy::start().await;
    // The rules as written let http through on high ports, so what they
    // refuse below is the deny table (loopback), not the scheme or port.
    let w = gateway(&format!(
        "[egress]\nallow_http = true\nallowed_ports = [443, \"1024-65535\"]\n\
         [[message_urls.allow]]\ncidr = \"127.0.0.1/32\"\nports = [{}]\nschemes = [\"http\"]\n\
         agents = [\"sdk\"]\ncallers = [\"tester\"]\nkinds = [\"push\"]\n\
         [[agents]]\nname = \"sdk\"\nurl = \"http://127.0.0.1:{agent_port}\"\n\
         [[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        receiver.port(),
        spy.url
    ))
    .await;
    let key = w.api_key().await;
    // Push configs have their own operation class, not granted by default.
    w.cli(&[
        "grant", "add", "--skills", "*", "--ops", "all", "tester", "sdk",
    ])
    .await;
    w.cli(&["registry", "add", "other", "--grant", "sdk=*"])
        .await;
    let other_key = w.cli(&["apikey", "create", "--sub", "other"]).await;
    let hook = format!("http://127.0.0.1:{}/hook", receiver.port());

    // Allowed: accepted, and the agent delivers to the receiver.
    let (status, v) = push_send(&w.gateway, "sdk", &key, &hook).await;
    assert_eq!(status, 200, "{v}");
    let task = v
        .pointer("/result/task/id")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("a task: {v}"))
        .to_string();
    let delivered = tokio::time::timeout(WAIT, pushed.recv())
        .await
        .expect("a push notification within the wait")
        .expect("the receiver is running");
    assert_eq!(delivered.method, "POST");
    assert_eq!(delivered.path, "/hook");
    assert_eq!(delivered.header("X-A2A-Notification-Token"), Some("n-1"));
    assert!(
        delivered.body_text().contains(&task),
        "{}",
        delivered.body_text()
    );

    // Over REST, a push config for the task: the allowed URL is accepted,
    // the same host on another port refused with 403 and the reason.
    let configs = format!(
        "{}/agents/sdk/tasks/{task}/pushNotificationConfigs",
        w.gateway
    );
    let other_port = format!("http://127.0.0.1:{}/hook", elsewhere.port());
    for (url, want) in [(&hook, 200), (&other_port, 403)] {
        let r = client()
            .post(&configs)
            .header("A2A-Version", "1.0")
            .header("X-API-Key", &key)
            .json(&json!({"url": url, "token": "n-2"}))
            .send()
            .await
            .expect("send");
        let status = r.status().as_u16();
        let body = r.text().await.expect("body");
        assert_eq!(status, want, "{url}: {body}");
        if want == 403 {
            assert!(body.contains("push denied_address"), "{body}");
        }
    }

    // Refused with the egress reason: another port, another caller,
    // another agent, and the URL as a part (the entry is for push only).
    for (agent, k, url, kind) in [
        ("sdk", &key, &other_port, "push"),
        ("sdk", &other_key, &hook, "push"),
        ("spy", &key, &hook, "push"),
        ("sdk", &key, &hook, "part"),
    ] {
        let (status, v) = if kind == "push" {
            push_send(&w.gateway, agent, k, url).await
        } else {
            send_to(&w.gateway, agent, k, json!([{"url": url}])).await
        };
        // JSON-RPC answers PERMISSION_DENIED in an HTTP 200 (REST: 403).
        assert_eq!(status, 200, "{agent} {url}: {v}");
        assert_eq!(v.pointer("/error/code"), Some(&json!(-32600)), "{v}");
        assert_eq!(
            v.pointer("/error/data/0/reason"),
            Some(&json!("PERMISSION_DENIED")),
            "{v}"
        );
        let msg = v
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or("");
        let place = if kind == "push" { "push" } else { "part[0]" };
        assert!(
            msg.contains(&format!("{place} denied_address")),
            "{agent} {url}: {v}"
        );
    }
    assert!(
        elsewhere.hits().is_empty(),
        "nothing reached the other port"
    );
    assert!(message_calls(&spy).is_empty(), "the spy saw a refused call");

    // The audit: the delivered call names the allowance, the refusals
    // their caller and the egress reason.
    w.flush_audit().await;
    let store = warden_store::Store::open(&w.data_dir().join("warden.db"))
        .await
        .expect("store");
    let mut events = store.recent_audit(200).await.expect("audit");
    events.retain(|e| e.kind == "request" && e.operation.as_deref() == Some("SendMessage"));
    events.reverse();
    let detail = |e: &warden_store::AuditRecord| -> Value {
        e.detail
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or(Value::Null)
    };
    let allowed = &events[0];
    assert_eq!(allowed.outcome, "forwarded", "{allowed:?}");
    assert_eq!(
        detail(allowed).pointer("/urls/excepted/0/by"),
        Some(&json!(format!(
            "cidr \"127.0.0.1/32\" ports {} (http)",
            receiver.port()
        )))
    );
    let refused: Vec<_> = events[1..].iter().collect();
    assert_eq!(refused.len(), 4, "{events:?}");
    for (e, who) in refused.iter().zip(["tester", "other", "tester", "tester"]) {
        assert_eq!(e.outcome, "refused", "{e:?}");
        assert_eq!(e.reason.as_deref(), Some("url_refused"), "{e:?}");
        assert_eq!(e.principal.as_deref(), Some(who), "{e:?}");
        assert_eq!(
            detail(e).pointer("/urls/refused/0/reason"),
            Some(&json!("denied_address")),
            "{e:?}"
        );
        assert_eq!(detail(e).pointer("/urls/excepted"), None, "{e:?}");
    }
}
