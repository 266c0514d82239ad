//! The mailbox over MCP (issue 16): the official MCP Python SDK
//! (`mcp==2.3.0`) as a client of `/mcp` on a running `warden up`, in both
//! eras (2026-07-28 stateless, and the 2025-11-25 handshake with a
//! session), then what the SDK does not show: the Origin check, sessions
//! bound to their opener, single-use tokens, and the audit trail.

use reqwest::StatusCode;
use serde_json::{Value, json};
use warden_test_support::repo_root;

use crate::support::{Running, client, python, up};

/// Two registry agents, each with an API key.
async fn two_agents(w: &Running) -> [(String, String); 2] {
    let mut out = Vec::new();
    for id in ["mcp-alice", "mcp-bob"] {
        w.cli(&["registry", "add", id]).await;
        let key = w.cli(&["apikey", "create", "--sub", id]).await;
        out.push((id.to_string(), key));
    }
    [out[0].clone(), out[1].clone()]
}

/// Runs tests/interop/python/mcp_client.py; its JSON summary.
async fn sdk_client(
    w: &Running,
    sender: &(String, String),
    recipient: &(String, String),
    mode: &str,
) -> Value {
    let out = tokio::process::Command::new(python())
        .arg(repo_root().join("tests/interop/python/mcp_client.py"))
        .args(["--url", &format!("{}/mcp", w.gateway), "--mode", mode])
        .args(["--sender", &format!("{}={}", sender.0, sender.1)])
        .args(["--recipient", &format!("{}={}", recipient.0, recipient.1)])
        .kill_on_drop(true)
        .output()
        .await
        .expect("run mcp_client.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: Value = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(Value::Null);
    assert!(
        out.status.success() && summary["ok"] == json!(true),
        "mcp_client.py --mode {mode}: {summary}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    summary
}

#[tokio::test]
async fn the_official_mcp_sdk_completes_the_first_conversation() {
    let w = up(&[]).await;
    let [alice, bob] = two_agents(&w).await;
    let modern = sdk_client(&w, &alice, &bob, "auto").await;
    assert_eq!(modern["protocol"], "2026-07-28", "{modern}");
    for tool in [
        "send",
        "inbox",
        "read",
        "ack",
        "request_access",
        "grant",
        "revoke",
        "whoami",
    ] {
        assert!(
            modern["tools"]
                .as_array()
                .expect("tools")
                .contains(&json!(tool)),
            "{tool}"
        );
    }
    // The same with the roles swapped, by the handshake and a session.
    let legacy = sdk_client(&w, &bob, &alice, "legacy").await;
    assert_eq!(legacy["protocol"], "2025-11-25", "{legacy}");

    // Audited per operation, without content.
    w.flush_audit().await;
    let store = warden_store::Store::open(&w.data_dir().join("warden.db"))
        .await
        .expect("store");
    let events = store.recent_audit(1000).await.expect("audit");
    let sends: Vec<_> = events.iter().filter(|e| e.kind == "mail_send").collect();
    // Per run: refused (not granted), refused (unknown), sent, duplicate, conflict.
    assert_eq!(sends.len(), 10, "{sends:?}");
    assert!(sends.iter().any(|e| e.outcome == "answered"));
    assert!(
        sends
            .iter()
            .any(|e| e.reason.as_deref() == Some("not_found"))
    );
    for e in &events {
        let all = format!("{e:?}");
        assert!(!all.contains("build 42"), "content in the audit: {all}");
        assert!(!all.contains("build results"), "a note in the audit: {all}");
    }
    let mcp = events
        .iter()
        .filter(|e| e.kind.starts_with("mail_"))
        .count();
    assert!(mcp >= 20, "{mcp} mailbox events");
}

/// A raw POST to `/mcp`.
async fn post(w: &Running, headers: &[(&str, &str)], body: Value) -> reqwest::Response {
    let mut req = client()
        .post(format!("{}/mcp", w.gateway))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.body(body.to_string()).send().await.expect("POST /mcp")
}

/// A 2026-07-28 `tools/call` with every header a conforming client sends:
/// the result.
async fn tool_call(w: &Running, key: &str, tool: &str, arguments: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {
        "name": tool, "arguments": arguments,
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                  "io.modelcontextprotocol/clientCapabilities": {}}}});
    let headers = [
        ("x-api-key", key),
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", tool),
    ];
    let r = post(w, &headers, body).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.expect("JSON-RPC");
    v["result"].clone()
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "e2e", "version": "1"}}})
}

#[tokio::test]
async fn origin_sessions_and_credentials_are_checked() {
    let w = up(&[]).await;
    let [(_, alice), (_, bob)] = two_agents(&w).await;
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});

    // No credential: 401 with a challenge.
    let r = post(&w, &[], initialize()).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().contains_key("www-authenticate"));

    // A web page of another origin (DNS rebinding): 403, even with a key.
    let r = post(
        &w,
        &[("x-api-key", &alice), ("origin", "http://evil.example")],
        initialize(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = post(
        &w,
        &[("x-api-key", &alice), ("origin", &w.gateway)],
        initialize(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK, "Warden's own origin passes");

    // A session is its opener's: another agent presenting its id is told
    // it does not exist.
    let r = post(&w, &[("x-api-key", &alice)], initialize()).await;
    let sid = r.headers()["mcp-session-id"]
        .to_str()
        .expect("ascii")
        .to_string();
    let mine = [
        ("x-api-key", alice.as_str()),
        ("mcp-session-id", sid.as_str()),
    ];
    let r = post(&w, &mine, list.clone()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let theirs = [
        ("x-api-key", bob.as_str()),
        ("mcp-session-id", sid.as_str()),
    ];
    assert_eq!(
        post(&w, &theirs, list.clone()).await.status(),
        StatusCode::NOT_FOUND
    );
    // No stream to open; DELETE ends the session.
    let get = client()
        .get(format!("{}/mcp", w.gateway))
        .header("x-api-key", &alice)
        .header("mcp-session-id", &sid)
        .send()
        .await
        .expect("GET /mcp");
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    let del = client()
        .delete(format!("{}/mcp", w.gateway))
        .header("x-api-key", &alice)
        .header("mcp-session-id", &sid)
        .send()
        .await
        .expect("DELETE /mcp");
    assert_eq!(del.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        post(&w, &mine, list.clone()).await.status(),
        StatusCode::NOT_FOUND
    );

    // A Warden bearer token for the mailbox works once: it is single-use,
    // which is why MCP clients are configured with an API key.
    let token = w
        .cli(&[
            "token",
            "mint",
            "--sub",
            "mcp-alice",
            "--aud",
            warden_mailbox::AUDIENCE,
        ])
        .await;
    let bearer = format!("Bearer {token}");
    let r = post(&w, &[("authorization", &bearer)], initialize()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = post(&w, &[("authorization", &bearer)], initialize()).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "a replayed token");

    // The webhook tool is the gateway's: shown (none yet), and a URL the
    // egress rules refuse is a tool error naming why.
    let shown = tool_call(&w, &alice, "webhook", json!({"action": "show"})).await;
    assert_eq!(shown["structuredContent"], json!({"url": null}), "{shown}");
    let metadata = json!({"action": "set", "url": "http://169.254.169.254/latest"});
    let refused = tool_call(&w, &alice, "webhook", metadata).await;
    assert_eq!(refused["isError"], true, "{refused}");
    assert_eq!(
        refused["structuredContent"]["error"]["code"], "invalid",
        "{refused}"
    );

    // A file by reference obeys the egress rules, as over REST.
    let part = json!({"to": "mcp-bob", "idempotencyKey": "k-url",
                      "parts": [{"url": "http://169.254.169.254/latest/meta-data"}]});
    let refused = tool_call(&w, &alice, "send", part).await;
    assert_eq!(
        refused["structuredContent"]["error"]["code"], "invalid",
        "{refused}"
    );
    let why = refused["structuredContent"]["error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(why.contains("egress rules"), "{refused}");

    // A quarantined agent has no mailbox (its key still authenticates).
    w.cli(&["quarantine", "add", "mcp-bob", "--reason", "test"])
        .await;
    let r = post(&w, &[("x-api-key", &bob)], initialize()).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let v: Value = r.json().await.expect("JSON-RPC error");
    assert_eq!(v["error"]["message"], "no mailbox for this caller", "{v}");

    // A batch is refused in the protocol's own shape.
    let r = post(&w, &[("x-api-key", &alice)], json!([initialize()])).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.expect("JSON-RPC error");
    assert_eq!(v["error"]["code"], -32600);
}
