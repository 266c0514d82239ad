//! Malformed input gets the protocol's error shape from the gateway and never
//! reaches the agent: a spy upstream proves it saw nothing.

use serde_json::{Value, json};

use crate::support::{Running, Spy, client, gateway, user_message};

const CAP: usize = 4096;

/// Posts with a fresh valid token, so the request gets past authentication
/// and it is the parser that answers.
async fn post(w: &Running, url: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let r = client()
        .post(url)
        .bearer_auth(w.token("spy").await)
        .header("Content-Type", content_type)
        .header("A2A-Version", "1.0")
        .body(body)
        .send()
        .await
        .expect("send");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn envelope(method: &str, params: Value) -> Vec<u8> {
    json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params})
        .to_string()
        .into_bytes()
}

#[tokio::test]
async fn malformed_requests_are_answered_by_the_gateway_and_never_forwarded() {
    let spy = Spy::start().await;
    let w = gateway(&format!(
        "[limits]\nmax_request_body_bytes = {CAP}\n[[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        spy.url
    ))
    .await;
    let url = format!("{}/agents/spy", w.gateway);
    let deep = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"SendMessage\",\"params\":{{\"message\":{{\"role\":\"ROLE_USER\",\"messageId\":\"m\",\"parts\":[{{\"data\":{}1{}}}]}}}}}}",
        "[".repeat(70),
        "]".repeat(70)
    );
    let two_kinds = envelope(
        "SendMessage",
        json!({"message": {"role": "ROLE_USER", "messageId": "m", "parts": [{"text": "a", "url": "http://x"}]}}),
    );
    // Proto names and enum numbers are ProtoJSON and pass (canonicalised:
    // see field_names.rs); one field in both spellings, or a number the
    // enum does not have, does not.
    let both_spellings = envelope(
        "SendMessage",
        json!({"message": {"role": "ROLE_USER", "messageId": "m", "message_id": "m", "parts": [{"text": "a"}]}}),
    );
    let enum_int = envelope(
        "SendMessage",
        json!({"message": {"role": 7, "messageId": "m", "parts": [{"text": "a"}]}}),
    );
    let oversize = envelope(
        "SendMessage",
        json!({"message": {"role": "ROLE_USER", "messageId": "m", "parts": [{"text": "x".repeat(CAP)}]}}),
    );
    // (body, expected JSON-RPC code, expected reason, what it is)
    let cases: Vec<(Vec<u8>, i64, &str, &str)> = vec![
        (b"{not json".to_vec(), -32700, "JSON_PARSE", "bad JSON"),
        (
            br#"{"jsonrpc":"1.0","id":7,"method":"SendMessage","params":{}}"#.to_vec(),
            -32600,
            "INVALID_REQUEST",
            "wrong jsonrpc",
        ),
        (
            envelope("tasks/explode", json!({})),
            -32601,
            "METHOD_NOT_FOUND",
            "unknown method",
        ),
        (
            br#"{"jsonrpc":"2.0","id":7,"id":8,"method":"GetTask","params":{"id":"t"}}"#.to_vec(),
            -32700,
            "JSON_PARSE",
            "duplicate keys",
        ),
        (two_kinds, -32602, "INVALID_PARAMS", "a part with two kinds"),
        (deep.into_bytes(), -32700, "JSON_PARSE", "over-deep nesting"),
        (
            both_spellings,
            -32602,
            "INVALID_PARAMS",
            "both spellings of a field",
        ),
        (
            enum_int,
            -32602,
            "INVALID_PARAMS",
            "an enum number out of range",
        ),
        (
            br#"[{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"t"}}]"#.to_vec(),
            -32600,
            "INVALID_REQUEST",
            "batch",
        ),
        (oversize, -32600, "PAYLOAD_TOO_LARGE", "body over the cap"),
    ];
    for (body, code, reason, what) in cases {
        let (status, v) = post(&w, &url, "application/json", body).await;
        assert_eq!(status, 200, "{what}: JSON-RPC errors travel with HTTP 200");
        assert_eq!(v["jsonrpc"], "2.0", "{what}: {v}");
        assert_eq!(v["error"]["code"], code, "{what}: {v}");
        assert_eq!(v["error"]["data"][0]["reason"], reason, "{what}: {v}");
        assert_eq!(
            v["error"]["data"][0]["@type"], "type.googleapis.com/google.rpc.ErrorInfo",
            "{what}"
        );
    }
    let (_, batch) = post(&w, &url, "application/json", b"[]".to_vec()).await;
    assert!(
        batch["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("batch")),
        "{batch}"
    );
    // Wrong content type: ContentTypeNotSupported.
    let (_, v) = post(
        &w,
        &url,
        "text/plain",
        envelope("GetTask", json!({"id": "t"})),
    )
    .await;
    assert_eq!(v["error"]["code"], -32005, "{v}");

    // REST: google.rpc.Status with ErrorInfo and the mapped HTTP status.
    let (status, v) = post(
        &w,
        &format!("{url}/message:send"),
        "application/json",
        br#"{"message":{"role":"ROLE_USER","messageId":"m","parts":[{"text":"a","data":{}}]}}"#
            .to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["status"], "INVALID_ARGUMENT", "{v}");
    assert_eq!(v["error"]["details"][0]["reason"], "INVALID_PARAMS");
    let (status, v) = post(
        &w,
        &format!("{url}/message:send"),
        "application/json",
        vec![b' '; CAP + 1],
    )
    .await;
    assert_eq!(status, 413, "{v}");
    let r = client()
        .get(format!("{url}/tasks/abc?historyLength=1&historyLength=2"))
        .bearer_auth(w.token("spy").await)
        .header("A2A-Version", "1.0")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 400);
    let r = client()
        .post(format!("{url}/nowhere"))
        .bearer_auth(w.token("spy").await)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 404);
    let r = client()
        .post(&url)
        .bearer_auth(w.token("spy").await)
        .header("Content-Type", "application/json")
        .header("A2A-Version", "9.0")
        .body(envelope("GetTask", json!({"id": "t"})))
        .send()
        .await
        .expect("send");
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"]["code"], -32009, "{v}");

    assert_eq!(
        spy.connection_count(),
        0,
        "the agent saw: {:?}",
        spy.requests()
    );

    // Control: a valid request does reach the spy, so the spy can see.
    let (_, v) = post(
        &w,
        &url,
        "application/json",
        envelope("SendMessage", json!({"message": user_message("hi")})),
    )
    .await;
    assert_eq!(v["result"]["task"]["id"], "t", "{v}");
    assert!(spy.connection_count() > 0);
}

#[tokio::test]
async fn headers_crossing_the_gateway_are_cleaned_and_versioned() {
    let spy = Spy::start().await;
    let w = gateway(&format!(
        "[[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        spy.url
    ))
    .await;
    let url = format!("{}/agents/spy", w.gateway);
    let r = client()
        .post(&url)
        .bearer_auth(w.token("spy").await)
        .header("Content-Type", "application/json")
        .header("Connection", "keep-alive, x-hop")
        .header("x-hop", "drop me")
        .header("X-Warden-Principal", "admin")
        .header("X-Forwarded-For", "6.6.6.6")
        .header("A2A-Extensions", "urn:example:ext")
        // No A2A-Version: a 0.3 caller.
        .body(
            json!({"jsonrpc": "2.0", "id": 1, "method": "message/send",
                   "params": {"message": {"kind": "message", "role": "user", "messageId": "m",
                                          "parts": [{"kind": "text", "text": "hi"}]}}})
            .to_string(),
        )
        .send()
        .await
        .expect("send");
    assert!(
        r.headers().get("x-warden-injected").is_none(),
        "internal headers from upstream are dropped"
    );
    let seen = spy.requests();
    let rpc = seen.iter().find(|s| s.method == "POST").expect("forwarded");
    assert_eq!(rpc.header("a2a-version"), Some("0.3"));
    assert_eq!(rpc.header("a2a-extensions"), Some("urn:example:ext"));
    assert!(rpc.header("x-hop").is_none());
    assert!(rpc.header("x-warden-principal").is_none());
    assert_eq!(rpc.header("x-forwarded-for"), Some("127.0.0.1"));
    // The agent gets Warden's own token, never the caller's: issued by
    // Warden, for this agent, with the caller in `act`.
    let upstream = rpc
        .header("authorization")
        .expect("Warden's token upstream");
    let token = upstream.strip_prefix("Bearer ").expect("bearer");
    let payload = token.split('.').nth(1).expect("JWT");
    let claims: Value =
        serde_json::from_slice(&warden_trust::b64url_decode(payload).expect("b64")).expect("json");
    assert_eq!(claims["sub"], "warden");
    assert_eq!(claims["aud"], "spy");
    assert_eq!(claims["act"]["sub"], "tester");
    // The body is forwarded byte for byte.
    let sent: Value = serde_json::from_slice(&rpc.body).expect("json");
    assert_eq!(sent["method"], "message/send");

    // Card fetches carry A2A-Version too.
    let _ = client()
        .get(format!("{url}/.well-known/agent-card.json"))
        .send()
        .await
        .expect("card");
    let seen = spy.requests();
    let card = seen
        .iter()
        .find(|s| s.path.ends_with("agent-card.json"))
        .expect("card fetched");
    assert_eq!(card.header("a2a-version"), Some("1.0"));
}
