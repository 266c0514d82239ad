//! What a caller reads back of their push configs (issue 15): List in
//! pages (`pageSize`, `pageToken`, `nextPageToken`: v1.0, JSON-RPC and
//! REST), and a retried registration that gets the first answer again
//! without the `whsec_` secret, which is shown once.

use serde_json::{Value, json};

use crate::support::{Running, Spy, client, gateway, user_message};

/// JSON-RPC v1.0 to the spy with an API key (and an `Idempotency-Key`):
/// the headers and the body.
async fn rpc(
    w: &Running,
    key: &str,
    idempotency: Option<&str>,
    method: &str,
    params: Value,
) -> (reqwest::header::HeaderMap, Value) {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let mut r = client()
        .post(format!("{}/agents/spy", w.gateway))
        .header("A2A-Version", "1.0")
        .header("X-API-Key", key);
    if let Some(k) = idempotency {
        r = r.header("Idempotency-Key", k);
    }
    let r = r.json(&body).send().await.expect("send");
    assert_eq!(r.status(), 200);
    let headers = r.headers().clone();
    (headers, r.json().await.expect("json"))
}

async fn start() -> (Spy, Running, String) {
    let spy = Spy::start_numbering_tasks().await;
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
    (spy, w, key)
}

fn ids(v: &Value) -> Vec<String> {
    v["result"]["configs"]
        .as_array()
        .unwrap_or_else(|| panic!("configs: {v}"))
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test]
async fn list_answers_in_pages_in_both_bindings() {
    let (_spy, w, key) = start().await;
    let (_, v) = rpc(
        &w,
        &key,
        None,
        "SendMessage",
        json!({"message": user_message("x")}),
    )
    .await;
    assert!(v.get("result").is_some(), "{v}");
    let all: Vec<String> = (1..=5).map(|i| format!("cfg-{i}")).collect();
    for id in &all {
        let (_, v) = rpc(
            &w,
            &key,
            None,
            "CreateTaskPushNotificationConfig",
            json!({"taskId": "t1", "id": id, "url": format!("https://hooks.example.com/{id}")}),
        )
        .await;
        assert!(v.get("result").is_some(), "{v}");
    }
    let list = |params: Value| rpc(&w, &key, None, "ListTaskPushNotificationConfigs", params);

    // Without pageSize: one page, no token.
    let (_, v) = list(json!({"taskId": "t1"})).await;
    assert_eq!(ids(&v), all, "{v}");
    assert!(v["result"].get("nextPageToken").is_none(), "{v}");

    // Two at a time: 2, 2, 1, each page's token leading to the next.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut params = json!({"taskId": "t1", "pageSize": 2});
        if let Some(t) = &token {
            params["pageToken"] = json!(t);
        }
        let (_, v) = list(params).await;
        let page = ids(&v);
        assert!(page.len() <= 2, "{v}");
        seen.extend(page);
        pages += 1;
        match v["result"].get("nextPageToken").and_then(Value::as_str) {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!((seen, pages), (all.clone(), 3));

    // REST: the same pages from the query.
    let rest = client()
        .get(format!(
            "{}/agents/spy/tasks/t1/pushNotificationConfigs?pageSize=3",
            w.gateway
        ))
        .header("A2A-Version", "1.0")
        .header("X-API-Key", &key)
        .send()
        .await
        .expect("rest");
    assert_eq!(rest.status(), 200);
    let page: Value = rest.json().await.expect("json");
    let got: Vec<&str> = page["configs"]
        .as_array()
        .expect("configs")
        .iter()
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    assert_eq!(got, ["cfg-1", "cfg-2", "cfg-3"], "{page}");
    assert!(page["nextPageToken"].is_string(), "{page}");

    // A token Warden did not give: invalid params.
    let (_, v) =
        list(json!({"taskId": "t1", "pageSize": 2, "pageToken": "bm90LWEtY3Vyc29y"})).await;
    assert_eq!(v["error"]["code"], json!(-32602), "{v}");
}

#[tokio::test]
async fn a_retried_registration_gets_its_answer_again_without_the_secret() {
    let (spy, w, key) = start().await;
    let params = json!({"message": user_message("x"),
        "configuration": {"taskPushNotificationConfig": {"url": "https://hooks.example.com/m"}}});
    let (first_h, first) = rpc(&w, &key, Some("retry-1"), "SendMessage", params.clone()).await;
    assert!(first.get("result").is_some(), "{first}");
    let secret = first_h["warden-push-secret"].to_str().expect("secret");
    assert!(secret.starts_with("whsec_"), "{secret}");
    let (again_h, again) = rpc(&w, &key, Some("retry-1"), "SendMessage", params).await;
    assert_eq!(again, first, "the first answer again");
    assert_eq!(
        again_h.get("warden-push-subscription"),
        first_h.get("warden-push-subscription")
    );
    assert!(
        again_h.get("warden-push-secret").is_none(),
        "the secret shown a second time: {again_h:?}"
    );
    let sent = spy
        .requests()
        .iter()
        .filter(|s| String::from_utf8_lossy(&s.body).contains("SendMessage"))
        .count();
    assert_eq!(sent, 1, "the retry reached the agent");
}
