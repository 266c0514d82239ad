//! Public agents (issue 19, part 3): callers without a credential reach an
//! agent with `access = "public"` (only that one), each known by the
//! capability Warden hands out; task isolation holds between them and
//! between them and authenticated callers.

use serde_json::{Value, json};

use crate::support::{Running, Spy, client, gateway, user_message};

const CAPABILITY: &str = "warden-capability";

/// A JSON-RPC call; `cap` is a capability, `token` a bearer token.
async fn call(
    w: &Running,
    agent: &str,
    method: &str,
    params: Value,
    cap: Option<&str>,
    token: Option<&str>,
) -> (u16, Option<String>, Value) {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let mut req = client()
        .post(format!("{}/agents/{agent}", w.gateway))
        .header("A2A-Version", "1.0")
        .json(&body);
    if let Some(c) = cap {
        req = req.header(CAPABILITY, c);
    }
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status().as_u16();
    let issued = resp
        .headers()
        .get(CAPABILITY)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, issued, body)
}

fn send() -> Value {
    json!({"message": user_message("hello")})
}

/// The claims of a JWT, read without verifying.
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWS has a payload");
    serde_json::from_slice(&warden_trust::b64url_decode(payload).expect("base64url"))
        .expect("JSON claims")
}

/// A well-formed capability Warden never issued: it owns nothing.
const STRANGER: &str = "wcap_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

async fn two_agents() -> (Spy, Spy, Running) {
    let open = Spy::start_numbering_tasks().await;
    let closed = Spy::start().await;
    let w = gateway(&format!(
        "[[agents]]\nname = \"open\"\nurl = \"{}\"\naccess = \"public\"\n\n[[agents]]\nname = \"closed\"\nurl = \"{}\"\n",
        open.url, closed.url
    ))
    .await;
    (open, closed, w)
}

#[tokio::test]
async fn a_public_agent_serves_anonymous_callers_while_another_stays_strict() {
    let (open, closed, w) = two_agents().await;
    let (status, issued, body) = call(&w, "open", "SendMessage", send(), None, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["task"]["id"], "t1", "{body}");
    let cap = issued.expect("a capability comes with the answer");
    assert!(cap.starts_with("wcap_") && cap.len() == 48, "{cap}");
    // The agent never sees the capability; it gets Warden's own token,
    // naming an anonymous caller (a digest, not the capability).
    let seen = open.requests();
    let post = seen.iter().find(|s| s.method == "POST").expect("forwarded");
    assert!(
        post.headers
            .iter()
            .all(|(k, _)| !k.eq_ignore_ascii_case(CAPABILITY))
    );
    let auth = post
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.clone())
        .expect("Warden's token");
    let claims = claims_of(auth.trim_start_matches("Bearer "));
    let act = claims["act"]["sub"].as_str().expect("act.sub");
    assert!(act.starts_with("anonymous:"), "{claims}");
    assert!(!auth.contains(&cap[5..]));

    // The other agent still needs a credential: the same 401 as ever.
    let (status, issued, body) = call(&w, "closed", "SendMessage", send(), None, None).await;
    assert_eq!(status, 401, "{body}");
    assert!(issued.is_none());
    let (status, _, _) = call(&w, "closed", "SendMessage", send(), Some(&cap), None).await;
    assert_eq!(status, 401);
    assert!(closed.requests().iter().all(|s| s.method != "POST"));
    // An agent that does not exist answers as before.
    let (status, _, _) = call(&w, "nowhere", "SendMessage", send(), None, None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn an_anonymous_task_is_reachable_only_with_its_creators_capability() {
    let (_open, _closed, w) = two_agents().await;
    let (_, issued, body) = call(&w, "open", "SendMessage", send(), None, None).await;
    let cap = issued.expect("capability");
    let task = body["result"]["task"]["id"]
        .as_str()
        .expect("id")
        .to_string();

    // A missing task, as its creator sees it: the shape of every refusal below.
    let (missing_status, _, missing) = call(
        &w,
        "open",
        "GetTask",
        json!({"id": "no-such-task"}),
        Some(&cap),
        None,
    )
    .await;
    assert_eq!(missing["error"]["code"], -32001, "{missing}");

    for (method, params) in [
        ("GetTask", json!({"id": task})),
        ("CancelTask", json!({"id": task})),
        ("SubscribeToTask", json!({"id": task})),
    ] {
        for who in [None, Some(STRANGER)] {
            let (status, issued, body) = call(&w, "open", method, params.clone(), who, None).await;
            assert_eq!(status, missing_status, "{method} {who:?}: {body}");
            assert_eq!(
                body["error"]["code"], missing["error"]["code"],
                "{method}: {body}"
            );
            assert!(issued.is_none(), "a refused call hands out nothing");
        }
    }
    // The creator reaches it, and continues it.
    let (status, _, body) =
        call(&w, "open", "GetTask", json!({"id": task}), Some(&cap), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("result").is_some(), "{body}");

    // A capability presented with a new message keeps the same identity: the
    // second task is also the creator's, and no new capability is issued.
    let (_, issued, body) = call(&w, "open", "SendMessage", send(), Some(&cap), None).await;
    assert!(issued.is_none());
    let second = body["result"]["task"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let (status, _, _) = call(
        &w,
        "open",
        "GetTask",
        json!({"id": second}),
        Some(&cap),
        None,
    )
    .await;
    assert_eq!(status, 200);

    // A malformed capability is refused, never treated as "none".
    let (status, _, _) = call(
        &w,
        "open",
        "GetTask",
        json!({"id": task}),
        Some("wcap_nope"),
        None,
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn authenticated_callers_of_a_public_agent_keep_their_identity_and_tasks() {
    let (_open, _closed, w) = two_agents().await;
    let token = w.token("open").await;
    let (status, issued, body) = call(&w, "open", "SendMessage", send(), None, Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        issued.is_none(),
        "a caller with a credential needs no capability"
    );
    let task = body["result"]["task"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    // An anonymous caller cannot reach it.
    let (_, _, body) = call(&w, "open", "GetTask", json!({"id": task}), None, None).await;
    assert_eq!(body["error"]["code"], -32001, "{body}");
    // Its creator can.
    let (status, _, _) = call(
        &w,
        "open",
        "GetTask",
        json!({"id": task}),
        None,
        Some(&w.token("open").await),
    )
    .await;
    assert_eq!(status, 200);
    // A bad credential is refused, never downgraded to anonymous.
    let (status, _, _) = call(&w, "open", "SendMessage", send(), None, Some("not-a-token")).await;
    assert_eq!(status, 401);

    // The audit names the caller: the tester, and an anonymous digest.
    crate::support::flush_audit(&w.admin, &w.data_dir()).await;
    let store = warden_store::Store::open(&w.data_dir().join("warden.db"))
        .await
        .expect("store");
    let events = store.recent_audit(100).await.expect("audit");
    let principals: Vec<&str> = events
        .iter()
        .filter(|e| e.agent.as_deref() == Some("open") && e.outcome == "forwarded")
        .filter_map(|e| e.principal.as_deref())
        .collect();
    assert!(principals.contains(&"tester"), "{principals:?}");
}

#[tokio::test]
async fn anonymous_callers_share_the_agents_public_limit_and_its_operations() {
    let spy = Spy::start_numbering_tasks().await;
    let w = gateway(&format!(
        "[rate_limits]\npublic = {{ rate = \"1/h\", burst = 3 }}\n\n[[agents]]\nname = \"open\"\nurl = \"{}\"\naccess = \"public\"\n",
        spy.url
    ))
    .await;
    // Push configs are not among the default public operations.
    let (_, issued, _) = call(&w, "open", "SendMessage", send(), None, None).await;
    let cap = issued.expect("capability");
    let (status, _, body) = call(
        &w,
        "open",
        "CreateTaskPushNotificationConfig",
        json!({"taskId": "t1", "url": "https://hooks.example.com/x"}),
        Some(&cap),
        None,
    )
    .await;
    assert_eq!(
        body["error"]["data"][0]["reason"], "PERMISSION_DENIED",
        "{status} {body}"
    );
    // Three calls in all per hour, whoever makes them (a fresh capability
    // each time buys nothing): the fourth is refused.
    for _ in 0..2 {
        let (status, _, body) = call(&w, "open", "SendMessage", send(), None, None).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, _, body) = call(&w, "open", "SendMessage", send(), None, None).await;
    assert_eq!(status, 429, "{body}");
    // A caller with a credential is not held to it.
    let (status, _, body) = call(
        &w,
        "open",
        "SendMessage",
        send(),
        None,
        Some(&w.token("open").await),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}
