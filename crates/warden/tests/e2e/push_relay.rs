//! Push through the gateway (issue 15): a caller's push config is kept by
//! Warden (credentials sealed, redacted on Get/List, owner-scoped) and the
//! agent — here the recording spy, whose part the test then plays — is
//! given a relay URL on Warden and a relay token instead. A notification
//! posted to the relay with that token reaches a real receiver signed
//! (Standard Webhooks v1 with the secret shown once, v1a and the JWT with
//! the gateway's published keys) with the caller's own credential; a wrong
//! token, another subscription's token, another task and an invalid body
//! are refused; Delete ends the relay. The hostile-URL corpus is refused
//! at registration.

use serde_json::{Value, json};
use warden_test_support::http::{Reply, serve};
use warden_webhooks::{SubscriptionSecret, Verifier};

use crate::support::{Spy, WAIT, client, gateway, user_message};

/// JSON-RPC v1.0 to `agent` with an API key: the HTTP status, the
/// headers and the body.
async fn rpc(
    gateway: &str,
    key: &str,
    method: &str,
    params: Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let body = json!({"jsonrpc": "2.0", "id": 3, "method": method, "params": params});
    let r = client()
        .post(format!("{gateway}/agents/spy"))
        .header("A2A-Version", "1.0")
        .header("X-API-Key", key)
        .json(&body)
        .send()
        .await
        .expect("send");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.json().await.expect("json"))
}

/// What the spy (the agent) was sent with each push-config call.
fn agent_configs(spy: &Spy) -> Vec<Value> {
    spy.requests()
        .into_iter()
        .filter_map(|s| serde_json::from_slice::<Value>(&s.body).ok())
        .filter(|v| {
            v.get("method")
                .and_then(Value::as_str)
                .is_some_and(|m| m == "CreateTaskPushNotificationConfig")
        })
        .map(|v| v["params"].clone())
        .collect()
}

async fn relay(url: &str, token: Option<&str>, body: &Value) -> u16 {
    let mut r = client().post(url).json(body);
    if let Some(t) = token {
        r = r.header("X-A2A-Notification-Token", t);
    }
    r.send().await.expect("relay").status().as_u16()
}

fn status_update(task: &str) -> Value {
    json!({"statusUpdate": {"taskId": task, "contextId": "c",
        "status": {"state": "TASK_STATE_WORKING"}}})
}

#[tokio::test]
async fn a_registered_config_is_kept_redacted_and_its_notifications_reach_the_receiver_signed() {
    let (tx, mut pushed) = tokio::sync::mpsc::unbounded_channel();
    let receiver = serve(move |s| {
        let _ = tx.send(s.clone());
        Reply::json(200, &json!({}))
    })
    .await;
    let spy = Spy::start_numbering_tasks().await;
    // Warden delivers: its own rules must admit the receiver (loopback).
    let w = gateway(&format!(
        "[egress]\nallow_http = true\nallowed_ports = [443, \"1024-65535\"]\n\
         allow_cidrs = [\"127.0.0.1/32\"]\n\
         [[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        spy.url
    ))
    .await;
    let key = w.api_key().await;
    w.cli(&[
        "grant", "add", "--skills", "*", "--ops", "all", "tester", "spy",
    ])
    .await;
    w.cli(&["registry", "add", "other", "--grant", "spy=*"])
        .await;
    w.cli(&[
        "grant", "add", "--skills", "*", "--ops", "all", "other", "spy",
    ])
    .await;
    let other_key = w.cli(&["apikey", "create", "--sub", "other"]).await;
    let hook = format!("http://127.0.0.1:{}/hook", receiver.port());

    // Two tasks of the caller's (the spy numbers them t1, t2).
    for _ in 0..2 {
        let (s, _, v) = rpc(
            &w.gateway,
            &key,
            "SendMessage",
            json!({"message": user_message("x")}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
    }
    let create = |task: &str, id: &str| {
        json!({"taskId": task, "id": id, "url": hook, "token": "caller-token",
               "authentication": {"scheme": "Bearer", "credentials": "caller-credentials"}})
    };
    let (s, h, v) = rpc(
        &w.gateway,
        &key,
        "CreateTaskPushNotificationConfig",
        create("t1", "cfg-1"),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["result"],
        json!({"url": hook, "authentication": {"scheme": "Bearer"}}),
        "the caller's own config, redacted: {v}"
    );
    let secret = h["warden-push-secret"]
        .to_str()
        .expect("secret")
        .to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let (_, h2, _) = rpc(
        &w.gateway,
        &key,
        "CreateTaskPushNotificationConfig",
        create("t2", "cfg-2"),
    )
    .await;
    assert_ne!(h2["warden-push-secret"], h["warden-push-secret"]);

    // The agent got the relay, never the caller's URL or credentials.
    let given = agent_configs(&spy);
    assert_eq!(given.len(), 2);
    let text = Value::Array(given.clone()).to_string();
    for secret_text in [&hook, "caller-token", "caller-credentials", &secret] {
        assert!(
            !text.contains(secret_text),
            "the agent saw {secret_text}: {text}"
        );
    }
    let relay_url = given[0]["url"].as_str().expect("url").to_string();
    let token = given[0]["token"].as_str().expect("token").to_string();
    let other_token = given[1]["token"].as_str().expect("token").to_string();
    assert!(
        relay_url.starts_with(&format!("{}/push/sub_", w.gateway)),
        "{relay_url}"
    );
    assert_eq!(given[0]["authentication"]["credentials"], json!(token));

    // Sealed at rest: nothing of the caller's secrets in the store files.
    for f in ["warden.db", "warden.db-wal"] {
        if let Ok(bytes) = std::fs::read(w.data_dir().join(f)) {
            let text = String::from_utf8_lossy(&bytes);
            for s in ["caller-token", "caller-credentials", &secret, &token] {
                assert!(!text.contains(s), "{f} holds {s}");
            }
        }
    }

    // Get and List: what the caller registered, redacted; another caller
    // gets the answer for a task that does not exist.
    let get = json!({"taskId": "t1", "id": "cfg-1"});
    let (_, _, v) = rpc(
        &w.gateway,
        &key,
        "GetTaskPushNotificationConfig",
        get.clone(),
    )
    .await;
    assert_eq!(
        v["result"],
        json!({"taskId": "t1", "id": "cfg-1", "url": hook, "authentication": {"scheme": "Bearer"}})
    );
    let (_, _, v) = rpc(
        &w.gateway,
        &key,
        "ListTaskPushNotificationConfigs",
        json!({"taskId": "t1"}),
    )
    .await;
    assert_eq!(
        v["result"]["configs"].as_array().map(Vec::len),
        Some(1),
        "{v}"
    );
    let (_, _, missing) = rpc(
        &w.gateway,
        &key,
        "GetTaskPushNotificationConfig",
        json!({"taskId": "t1", "id": "nope"}),
    )
    .await;
    let (_, _, foreign) = rpc(
        &w.gateway,
        &other_key,
        "GetTaskPushNotificationConfig",
        get.clone(),
    )
    .await;
    assert_eq!(
        missing["error"]["code"], foreign["error"]["code"],
        "{missing} {foreign}"
    );
    assert!(missing["error"].is_object(), "{missing}");

    // The relay refuses a missing or wrong token, another subscription's
    // token, another task and an invalid body; nothing reaches the receiver.
    assert_eq!(relay(&relay_url, None, &status_update("t1")).await, 401);
    assert_eq!(
        relay(&relay_url, Some("wpr_wrong"), &status_update("t1")).await,
        401
    );
    assert_eq!(
        relay(&relay_url, Some(&other_token), &status_update("t1")).await,
        401
    );
    assert_eq!(
        relay(&relay_url, Some(&token), &status_update("t2")).await,
        400
    );
    assert_eq!(
        relay(&relay_url, Some(&token), &json!({"hello": 1})).await,
        400
    );
    assert_eq!(
        relay(
            &relay_url,
            Some(&token),
            &json!({"task": {"id": "t1"}, "message": {"messageId": "m"}})
        )
        .await,
        400
    );
    let unknown = format!("{}/push/sub_00000000000000000000000000000000", w.gateway);
    assert_eq!(
        relay(&unknown, Some(&token), &status_update("t1")).await,
        401
    );
    assert!(
        receiver.hits().is_empty(),
        "a refused notification was delivered"
    );

    // A good one is accepted and reaches the receiver, signed.
    let note = status_update("t1");
    assert_eq!(relay(&relay_url, Some(&token), &note).await, 202);
    let got = tokio::time::timeout(WAIT, pushed.recv())
        .await
        .expect("delivered within the wait")
        .expect("receiver running");
    assert_eq!(got.path, "/hook");
    assert_eq!(
        serde_json::from_slice::<Value>(&got.body).expect("json"),
        note
    );
    assert_eq!(
        got.header("authorization"),
        Some("Bearer caller-credentials")
    );
    assert_eq!(got.header("x-a2a-notification-token"), Some("caller-token"));
    let headers: Vec<(&str, &[u8])> = got
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_bytes()))
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs();
    let by_secret = Verifier::builder()
        .secret(SubscriptionSecret::parse(&secret).expect("whsec"))
        .build()
        .expect("verifier");
    by_secret
        .verify(headers.iter().copied(), &got.body, now)
        .expect("v1 verifies with the secret shown once");
    let jwks: Value = client()
        .get(format!("{}/.well-known/jwks.json", w.gateway))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("jwks json");
    let by_keys = Verifier::builder()
        .keys(warden_trust::KeySet::from_jwks(&jwks).expect("key set"))
        .receiver_url(hook.clone())
        .build()
        .expect("verifier");
    let v = by_keys
        .verify(headers.iter().copied(), &got.body, now)
        .expect("v1a and the JWT verify with the published keys");
    assert_eq!(v.task_id.as_deref(), Some("t1"));

    // Delete: forwarded to the agent, and the relay URL stops working.
    let (s, _, v) = rpc(
        &w.gateway,
        &key,
        "DeleteTaskPushNotificationConfig",
        get.clone(),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(
        spy.requests()
            .iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains("DeleteTaskPushNotificationConfig")),
        "the agent was told to forget it"
    );
    let (_, _, v) = rpc(&w.gateway, &key, "GetTaskPushNotificationConfig", get).await;
    assert!(v["error"].is_object(), "{v}");
    assert_eq!(relay(&relay_url, Some(&token), &note).await, 401);
}

/// `[egress.resolve]` with the corpus's DNS answers.
fn resolve_table() -> String {
    let mut t = String::from("[egress.resolve]\n");
    for (name, addrs) in warden_egress::corpus::answers() {
        let list: Vec<String> = addrs.iter().map(|a| format!("\"{a}\"")).collect();
        t.push_str(&format!("\"{name}\" = [{}]\n", list.join(", ")));
    }
    t
}

#[tokio::test]
async fn the_hostile_url_corpus_is_refused_at_registration() {
    let spy = Spy::start().await;
    let w = gateway(&format!(
        "{}[[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        resolve_table(),
        spy.url
    ))
    .await;
    let key = w.api_key().await;
    w.cli(&[
        "grant", "add", "--skills", "*", "--ops", "all", "tester", "spy",
    ])
    .await;
    let (s, _, v) = rpc(
        &w.gateway,
        &key,
        "SendMessage",
        json!({"message": user_message("x")}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let mut wrong = Vec::new();
    for (url, _) in warden_egress::corpus::hostile_urls() {
        for (method, params) in [
            (
                "CreateTaskPushNotificationConfig",
                json!({"taskId": "t", "url": url}),
            ),
            (
                "SendMessage",
                json!({"message": user_message("x"),
                       "configuration": {"taskPushNotificationConfig": {"url": url}}}),
            ),
        ] {
            let (_, h, v) = rpc(&w.gateway, &key, method, params).await;
            if v.get("error").is_none() || h.contains_key("warden-push-secret") {
                wrong.push(format!("{method} {url:?}: {v}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(
        agent_configs(&spy).is_empty(),
        "the agent saw a hostile push config"
    );
    // A benign URL is taken (and the agent sees only the relay).
    let (_, h, v) = rpc(
        &w.gateway,
        &key,
        "CreateTaskPushNotificationConfig",
        json!({"taskId": "t", "url": warden_egress::corpus::benign_urls()[0]}),
    )
    .await;
    assert!(v.get("result").is_some(), "{v}");
    assert!(h.contains_key("warden-push-secret"));
    assert_eq!(agent_configs(&spy).len(), 1);
}

/// The v0.3 spellings (`tasks/pushNotificationConfig/set` and `get`, the
/// config nested in `pushNotificationConfig`, `authentication.schemes`):
/// the agent gets the relay in the same nesting, the caller their own
/// config back.
#[tokio::test]
async fn a_v03_registration_is_relayed_in_its_own_spelling() {
    let spy = Spy::start().await;
    let w = gateway(&format!(
        "[egress.resolve]\n\"hooks.example.com\" = [\"93.184.215.14\"]\n\
         [[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        spy.url
    ))
    .await;
    let key = w.api_key().await;
    w.cli(&[
        "grant", "add", "--skills", "*", "--ops", "all", "tester", "spy",
    ])
    .await;
    let (s, _, v) = rpc(
        &w.gateway,
        &key,
        "SendMessage",
        json!({"message": user_message("x")}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let v03 = |method: &str, params: Value| {
        let body = json!({"jsonrpc": "2.0", "id": 4, "method": method, "params": params});
        let gateway = w.gateway.clone();
        let key = key.clone();
        async move {
            let r = client()
                .post(format!("{gateway}/agents/spy"))
                .header("A2A-Version", "0.3")
                .header("X-API-Key", key)
                .json(&body)
                .send()
                .await
                .expect("send");
            let secret = r.headers().get("warden-push-secret").cloned();
            (secret, r.json::<Value>().await.expect("json"))
        }
    };
    let hook = "https://hooks.example.com/v03";
    let (secret, v) = v03(
        "tasks/pushNotificationConfig/set",
        json!({"taskId": "t", "pushNotificationConfig": {"id": "c3", "url": hook, "token": "old-token",
               "authentication": {"schemes": ["Basic"], "credentials": "old-credentials"}}}),
    )
    .await;
    assert!(secret.is_some(), "{v}");
    assert!(v.get("result").is_some(), "{v}");
    let text = v.to_string();
    assert!(
        !text.contains("old-token") && !text.contains("old-credentials"),
        "{text}"
    );
    let sent: Vec<Value> = spy
        .requests()
        .into_iter()
        .filter_map(|s| serde_json::from_slice::<Value>(&s.body).ok())
        .filter(|b| b["method"] == "tasks/pushNotificationConfig/set")
        .collect();
    assert_eq!(sent.len(), 1);
    let given = &sent[0]["params"]["pushNotificationConfig"];
    assert!(
        given["url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&format!("{}/push/sub_", w.gateway))),
        "{given}"
    );
    assert_eq!(given["authentication"]["schemes"], json!(["Bearer"]));
    assert_eq!(given["authentication"]["credentials"], given["token"]);
    let (_, v) = v03(
        "tasks/pushNotificationConfig/get",
        json!({"id": "t", "pushNotificationConfigId": "c3"}),
    )
    .await;
    assert_eq!(
        v["result"],
        json!({"taskId": "t", "pushNotificationConfig": {"id": "c3", "url": hook,
               "authentication": {"schemes": ["Basic"]}}}),
        "{v}"
    );
}
