//! Mailbox delivery beyond the inbox (issue 16): a recipient's webhook gets
//! each new message signed as push notifications are, verified here by the
//! official `standardwebhooks` library and by Warden's JWKS
//! (tests/interop/python/webhook_receiver.py); a gateway agent with
//! `mailbox = "bridge"` gets each message to it as an A2A `SendMessage`
//! with Warden's upstream token naming the sender (verified against the
//! gateway's JWKS); and `warden up`'s echo demo agent, bridged, answers a
//! message sent to it.

use std::io::Write as _;
use std::process::Stdio;

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use warden_test_support::http::{Reply, serve};

use crate::support::{Running, Seen, Spy, WAIT, client, gateway, python, repo_root, up};

/// Warden may deliver to the test's servers on loopback.
const EGRESS: &str = "[egress]\nallow_http = true\nallowed_ports = [443, \"1024-65535\"]\n\
                      allow_cidrs = [\"127.0.0.1/32\"]\n";

/// A `/mail/v1` request with an API key: status and JSON answer (null
/// when empty).
async fn mail(
    w: &Running,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client()
        .request(method, format!("{}/mail/v1{path}", w.gateway))
        .header("x-api-key", key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("mail request");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
    };
    (status, v)
}

/// Registers `agents` with an API key each.
async fn agents(w: &Running, names: &[&str]) -> Vec<String> {
    let mut keys = Vec::new();
    for a in names {
        w.cli(&["registry", "add", a]).await;
        keys.push(w.cli(&["apikey", "create", "--sub", a]).await);
    }
    keys
}

async fn next(rx: &mut UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("delivered within the wait")
        .expect("server running")
}

/// What webhook_receiver.py says of `deliveries` (name, seen).
fn verify_with_python(
    secret: &str,
    jwks: &Value,
    url: &str,
    deliveries: &[(&str, &Seen)],
) -> Vec<Value> {
    let case = json!({
        "secret": secret, "jwks": jwks, "url": url,
        "deliveries": deliveries.iter().map(|(name, s)| json!({
            "name": name,
            "headers": s.headers.iter().cloned().collect::<std::collections::HashMap<_, _>>(),
            "body_b64": base64::engine::general_purpose::STANDARD.encode(&s.body),
        })).collect::<Vec<_>>(),
    });
    let mut child = std::process::Command::new(python())
        .arg(repo_root().join("tests/interop/python/webhook_receiver.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start webhook_receiver.py");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(case.to_string().as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("output");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

#[tokio::test]
async fn a_webhook_gets_each_new_message_signed_and_the_receiver_verifies_it() {
    let (tx, mut rx) = unbounded_channel();
    let receiver = serve(move |s| {
        let _ = tx.send(s.clone());
        Reply::json(200, &json!({}))
    })
    .await;
    let w = gateway(EGRESS).await;
    let keys = agents(&w, &["alice", "bob", "carol"]).await;
    let (alice, bob) = (&keys[0], &keys[1]);
    let (s, v) = mail(
        &w,
        alice,
        reqwest::Method::POST,
        "/grants",
        Some(json!({"sender": "bob"})),
    )
    .await;
    assert!(s == 200 || s == 201, "{s} {v}");

    // A URL the egress rules refuse is refused at registration.
    let (s, v) = mail(
        &w,
        alice,
        reqwest::Method::PUT,
        "/webhook",
        Some(json!({"url": "http://10.1.2.3/hook"})),
    )
    .await;
    assert_eq!(s, 400, "{v}");

    let hook = format!("http://127.0.0.1:{}/mail-hook", receiver.addr.port());
    let (s, registered) = mail(
        &w,
        alice,
        reqwest::Method::PUT,
        "/webhook",
        Some(json!({"url": hook})),
    )
    .await;
    assert_eq!(s, 201, "{registered}");
    let secret = registered["secret"]
        .as_str()
        .expect("secret shown once")
        .to_string();
    assert!(secret.starts_with("whsec_"));
    let (s, shown) = mail(&w, alice, reqwest::Method::GET, "/webhook", None).await;
    assert_eq!((s, &shown["url"]), (200, &json!(hook)));
    assert!(
        shown.get("secret").is_none(),
        "the secret is shown only once: {shown}"
    );

    let (s, sent) = mail(
        &w,
        bob,
        reqwest::Method::POST,
        "/messages",
        Some(json!({"to": "alice", "parts": [{"text": "build 42 is green"}]})),
    )
    .await;
    assert_eq!(s, 201, "{sent}");
    let delivered = next(&mut rx).await;
    assert_eq!(delivered.path, "/mail-hook");
    assert_eq!(delivered.header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_slice(&delivered.body).expect("JSON body");
    assert_eq!(body["type"], "mail.message");
    assert_eq!(body["message"]["id"], sent["message"]["id"]);
    assert_eq!(body["message"]["from"], "bob");
    assert_eq!(body["message"]["parts"][0]["text"], "build 42 is green");
    assert!(
        body["message"]["signature"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );

    // The receiver's checks, with code we did not write.
    let jwks: Value = client()
        .get(format!("{}/.well-known/jwks.json", w.gateway))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("jwks json");
    let out = verify_with_python(&secret, &jwks, &hook, &[("first", &delivered)]);
    assert_eq!(out[0]["library"], "ok", "{out:?}");
    assert_eq!(out[0]["hmac"], "ok", "{out:?}");
    assert_eq!(out[0]["keys"], "ok", "{out:?}");
    assert_eq!(out[0]["taskId"], "mailbox:alice");
    // An access request reaches the webhook too (queued just after its
    // answer, so its timing tells nothing).
    let (s, asked) = mail(
        &w,
        &keys[2],
        reqwest::Method::POST,
        "/access-requests",
        Some(json!({"to": "alice", "note": "may I?"})),
    )
    .await;
    assert_eq!(s, 202, "{asked}");
    let request = next(&mut rx).await;
    let body: Value = serde_json::from_slice(&request.body).expect("JSON body");
    assert_eq!(body["message"]["kind"], "access_request", "{body}");
    assert_eq!(body["message"]["id"], asked["requestId"]);
    assert_eq!(body["message"]["from"], "carol");

    // Signed with another secret: refused.
    let other = verify_with_python(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        &jwks,
        &hook,
        &[("x", &delivered)],
    );
    assert_eq!(other[0]["hmac"], "refused");

    // Removed: the next message waits in the inbox only. Registered
    // again (a new secret), the one after is the next the receiver sees.
    let (s, v) = mail(&w, alice, reqwest::Method::DELETE, "/webhook", None).await;
    assert_eq!((s, &v["removed"]), (200, &json!(true)), "{v}");
    let (s, v) = mail(&w, alice, reqwest::Method::GET, "/webhook", None).await;
    assert_eq!((s, &v["url"]), (200, &Value::Null), "{v}");
    let send = |text: &str| json!({"to": "alice", "parts": [{"text": text}]});
    let (s, _) = mail(
        &w,
        bob,
        reqwest::Method::POST,
        "/messages",
        Some(send("unwatched")),
    )
    .await;
    assert_eq!(s, 201);
    let (s, again) = mail(
        &w,
        alice,
        reqwest::Method::PUT,
        "/webhook",
        Some(json!({"url": hook})),
    )
    .await;
    assert_eq!(s, 201, "{again}");
    assert_ne!(again["secret"], registered["secret"], "a new secret");
    let (s, third) = mail(
        &w,
        bob,
        reqwest::Method::POST,
        "/messages",
        Some(send("watched")),
    )
    .await;
    assert_eq!(s, 201);
    let next_one = next(&mut rx).await;
    let body: Value = serde_json::from_slice(&next_one.body).expect("JSON body");
    assert_eq!(
        body["message"]["id"], third["message"]["id"],
        "the unwatched one was never posted"
    );
    let secret = again["secret"].as_str().expect("secret");
    let out = verify_with_python(secret, &jwks, &hook, &[("third", &next_one)]);
    assert_eq!(
        (&out[0]["hmac"], &out[0]["keys"]),
        (&json!("ok"), &json!("ok")),
        "{out:?}"
    );
}

/// The claims of Warden's upstream token in `seen`, its signature checked
/// against the gateway's JWKS.
async fn upstream_claims(w: &Running, seen: &Seen, audience: &str) -> Value {
    let token = seen
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .expect("Warden's upstream token");
    let payload = token.split('.').nth(1).expect("a JWT");
    let claims: Value =
        serde_json::from_slice(&warden_trust::b64url_decode(payload).expect("b64")).expect("json");
    let jwks: Value = client()
        .get(format!("{}/.well-known/jwks.json", w.gateway))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("jwks json");
    let keys = warden_trust::KeySet::from_jwks(&jwks).expect("Warden's JWKS");
    let policy = warden_trust::IssuerPolicy {
        issuer: claims["iss"].as_str().expect("iss").to_string(),
        audiences: vec![audience.to_string()],
        algorithms: vec![warden_trust::JwsAlg::EdDsa],
        typ: None,
        max_lifetime_secs: 3600,
        leeway_secs: 60,
        max_token_bytes: 16 * 1024,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    warden_trust::verify_jwt(token, &policy, &keys, now).expect("Warden's signature verifies");
    claims
}

#[tokio::test]
async fn a_bridged_agent_gets_a_send_message_naming_the_sender_in_wardens_token() {
    let spy = Spy::start().await;
    let w = gateway(&format!(
        "{EGRESS}[[agents]]\nname = \"spy\"\nurl = \"{}\"\nmailbox = \"bridge\"\n",
        spy.url
    ))
    .await;
    // The agent's address is granted from the registry entry of its name.
    let keys = agents(&w, &["spy", "bob"]).await;
    let (s, v) = mail(
        &w,
        &keys[0],
        reqwest::Method::POST,
        "/grants",
        Some(json!({"sender": "bob"})),
    )
    .await;
    assert!(s == 200 || s == 201, "{s} {v}");
    let (s, sent) = mail(
        &w,
        &keys[1],
        reqwest::Method::POST,
        "/messages",
        Some(json!({"to": "spy", "topic": "builds", "parts": [{"text": "deploy 42?"}]})),
    )
    .await;
    assert_eq!(s, 201, "{sent}");
    let id = sent["message"]["id"].as_str().expect("id").to_string();

    let call = tokio::time::timeout(WAIT, async {
        loop {
            if let Some(c) = spy
                .requests()
                .into_iter()
                .find(|r| r.method == "POST" && String::from_utf8_lossy(&r.body).contains(&id))
            {
                return c;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the bridge called the agent within the wait");
    let rpc: Value = serde_json::from_slice(&call.body).expect("JSON-RPC");
    assert_eq!(rpc["method"], "SendMessage");
    assert_eq!(call.header("a2a-version"), Some("1.0"));
    let message = &rpc["params"]["message"];
    assert_eq!(message["messageId"], id.as_str());
    assert_eq!(message["parts"][0]["text"], "deploy 42?");
    assert_eq!(message["metadata"]["wardenMail"]["from"], "bob");
    assert_eq!(message["metadata"]["wardenMail"]["topic"], "builds");
    let claims = upstream_claims(&w, &call, "spy").await;
    assert_eq!(claims["aud"], "spy");
    assert_eq!(claims["act"]["sub"], "bob", "the sender, named by Warden");

    // Sent over MCP instead of REST: the same delivery (the mailbox's hook).
    let body = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {
        "name": "send",
        "arguments": {"to": "spy", "text": "via mcp", "idempotencyKey": "k-mcp-1"},
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                  "io.modelcontextprotocol/clientCapabilities": {}}}});
    let r = client()
        .post(format!("{}/mcp", w.gateway))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("x-api-key", &keys[1])
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "send")
        .body(body.to_string())
        .send()
        .await
        .expect("POST /mcp");
    let answer: Value = r.json().await.expect("JSON-RPC");
    assert_ne!(answer["result"]["isError"], json!(true), "{answer}");
    let call = tokio::time::timeout(WAIT, async {
        loop {
            if let Some(c) = spy.requests().into_iter().find(|r| {
                r.method == "POST" && String::from_utf8_lossy(&r.body).contains("via mcp")
            }) {
                return c;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the MCP send was bridged within the wait");
    let claims = upstream_claims(&w, &call, "spy").await;
    assert_eq!(claims["act"]["sub"], "bob");
}

#[tokio::test]
async fn warden_up_bridges_mail_to_the_echo_demo_agent() {
    let w = up(&[]).await;
    let keys = agents(&w, &["echo", "bob"]).await;
    let (s, v) = mail(
        &w,
        &keys[0],
        reqwest::Method::POST,
        "/grants",
        Some(json!({"sender": "bob"})),
    )
    .await;
    assert!(s == 200 || s == 201, "{s} {v}");
    let (s, sent) = mail(
        &w,
        &keys[1],
        reqwest::Method::POST,
        "/messages",
        Some(json!({"to": "echo", "parts": [{"text": "hello echo, from the mailbox"}]})),
    )
    .await;
    assert_eq!(s, 201, "{sent}");
    // The demo agents keep their tasks in Warden's store: the echo task of
    // this message, answered.
    let store = warden_store::Store::open(&w.data_dir().join("warden.db"))
        .await
        .expect("store");
    let task = tokio::time::timeout(WAIT, async {
        loop {
            let page = store
                .list_tasks("echo", &Default::default(), 100, None)
                .await
                .expect("tasks");
            if let Some(t) = page
                .tasks
                .into_iter()
                .find(|t| t.body.contains("hello echo, from the mailbox"))
            {
                return t;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the echo agent got the message within the wait");
    assert_eq!(task.state, "TASK_STATE_COMPLETED", "{}", task.body);
}
