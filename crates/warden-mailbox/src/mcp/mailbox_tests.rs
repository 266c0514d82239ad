//! The MCP tools on a real mailbox (in-memory SQLite store): the whole
//! first conversation of two agents, through the protocol layer.

use std::sync::Arc;

use serde_json::{Value, json};
use warden_trust::{JwsAlg, SigningKey};

use super::transport::{Caller, Exchange, Headers, Verb};
use super::{Server, SessionLimits};
use crate::{KeySigner, Limits, Mailbox};

/// A server whose exchanges run on one mailbox.
struct Harness {
    server: Server,
    mailbox: Mailbox,
}

async fn server() -> Harness {
    let store = crate::test_store::store_with(&["alice", "bob"]).await;
    let key = Arc::new(SigningKey::generate(JwsAlg::EdDsa).expect("key"));
    let mailbox = Mailbox::new(store, Arc::new(KeySigner(key)), Limits::default());
    Harness {
        server: Server::new(SessionLimits::default(), "test"),
        mailbox,
    }
}

/// A 2026-07-28 `tools/call` as `who`: the result (structured content and
/// whether it is an error).
async fn call(s: &Harness, who: &str, tool: &str, args: Value) -> (Value, bool) {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": tool, "arguments": args,
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                  "io.modelcontextprotocol/clientCapabilities": {}}}})
    .to_string();
    let caller = Caller {
        address: who.into(),
        owner: who.into(),
    };
    let r = s
        .server
        .handle(
            &s.mailbox,
            Exchange {
                verb: Verb::Post,
                headers: Headers {
                    protocol_version: Some("2026-07-28"),
                    mcp_method: Some("tools/call"),
                    mcp_name: Some(tool),
                    content_type: Some("application/json"),
                    ..Headers::default()
                },
                body: body.as_bytes(),
                caller: &caller,
                now_ms: 0,
            },
        )
        .await;
    assert_eq!(r.status, 200, "{tool}: {:?}", r.body);
    let result = r.body.expect("a body")["result"].clone();
    (
        result["structuredContent"].clone(),
        result["isError"] == json!(true),
    )
}

async fn ok(s: &Harness, who: &str, tool: &str, args: Value) -> Value {
    let (v, failed) = call(s, who, tool, args).await;
    assert!(!failed, "{tool}: {v}");
    v
}

async fn fails(s: &Harness, who: &str, tool: &str, args: Value) -> String {
    let (v, failed) = call(s, who, tool, args).await;
    assert!(failed, "{tool} should fail: {v}");
    v["error"]["code"].as_str().expect("a code").to_string()
}

#[tokio::test]
async fn two_agents_meet_through_the_tools() {
    let s = server().await;
    assert_eq!(
        ok(&s, "alice", "whoami", json!({})).await["address"],
        "alice"
    );
    let send = json!({"to": "bob", "text": "hello", "idempotencyKey": "k-1"});
    assert_eq!(fails(&s, "alice", "send", send.clone()).await, "not_found");
    let ghost = json!({"to": "ghost", "text": "hello", "idempotencyKey": "k-2"});
    assert_eq!(fails(&s, "alice", "send", ghost).await, "not_found");

    let asked = ok(
        &s,
        "alice",
        "request_access",
        json!({"to": "bob", "note": "hi"}),
    )
    .await;
    let request_id = asked["requestId"].as_str().expect("requestId").to_string();
    let page = ok(&s, "bob", "inbox", json!({"kind": "access_request"})).await;
    assert_eq!(page["messages"][0]["id"], request_id.as_str());
    ok(&s, "bob", "grant", json!({"requestId": request_id})).await;

    let first = ok(&s, "alice", "send", send.clone()).await;
    let again = ok(&s, "alice", "send", send.clone()).await;
    assert_eq!(first["message"]["id"], again["message"]["id"]);
    assert_eq!(
        (first["duplicate"].clone(), again["duplicate"].clone()),
        (json!(false), json!(true))
    );
    let other = json!({"to": "bob", "text": "changed", "idempotencyKey": "k-1"});
    assert_eq!(
        fails(&s, "alice", "send", other).await,
        "idempotency_conflict"
    );
    let id = first["message"]["id"].as_str().expect("id").to_string();

    let read = ok(&s, "bob", "read", json!({"id": id})).await;
    assert_eq!(read["parts"], json!([{"text": "hello"}]));
    ok(&s, "bob", "ack", json!({"id": id})).await;
    let left = ok(
        &s,
        "bob",
        "inbox",
        json!({"kind": "message", "state": "unacked"}),
    )
    .await;
    assert_eq!(left["messages"], json!([]));
    // Alice cannot read Bob's message.
    assert_eq!(
        fails(&s, "alice", "read", json!({"id": id})).await,
        "no_such_message"
    );
    // Sealing: Bob publishes a key, Alice (granted) fetches it, seals to
    // it and sends; Bob opens what he reads.
    let bob_key = crate::seal::RecipientKey::generate().expect("key");
    let published = ok(
        &s,
        "bob",
        "publish_key",
        json!({"jwk": bob_key.public().to_json()}),
    )
    .await;
    assert_eq!(published["kid"], bob_key.kid());
    let fetched = ok(&s, "alice", "key_of", json!({"address": "bob"})).await;
    let jwk = crate::seal::PublicJwk::parse(&fetched["jwk"]).expect("a public JWK");
    let sealed = jwk.seal(br#"[{"text":"secret"}]"#).expect("seal");
    let sent = ok(
        &s,
        "alice",
        "send",
        json!({"to": "bob", "sealed": sealed, "idempotencyKey": "k-s"}),
    )
    .await;
    let id = sent["message"]["id"].as_str().expect("id").to_string();
    let read = ok(&s, "bob", "read", json!({"id": id})).await;
    let opened = bob_key
        .open(read["sealed"].as_str().expect("sealed"))
        .expect("open");
    assert_eq!(opened, br#"[{"text":"secret"}]"#);
    assert_eq!(
        fails(&s, "bob", "key_of", json!({"address": "alice"})).await,
        "not_found"
    );

    let grants = ok(&s, "bob", "grants", json!({})).await;
    assert_eq!(grants["given"][0]["sender"], "alice");
    let grants = ok(&s, "alice", "grants", json!({})).await;
    assert_eq!(grants["received"][0]["recipient"], "bob");
    ok(&s, "bob", "revoke", json!({"sender": "alice"})).await;
    let later = json!({"to": "bob", "text": "still there?", "idempotencyKey": "k-3"});
    assert_eq!(fails(&s, "alice", "send", later).await, "not_found");
    ok(&s, "bob", "delete", json!({"id": id})).await;
}

#[tokio::test]
async fn arguments_are_read_strictly() {
    let s = server().await;
    assert_eq!(
        fails(&s, "alice", "whoami", json!({"x": 1})).await,
        "invalid"
    );
    assert_eq!(
        fails(&s, "alice", "inbox", json!({"limit": 0})).await,
        "invalid"
    );
    assert_eq!(
        fails(&s, "alice", "inbox", json!({"state": "new"})).await,
        "invalid"
    );
    let no_key = json!({"to": "bob", "text": "hi"});
    assert_eq!(fails(&s, "alice", "send", no_key).await, "invalid");
    let both = json!({"to": "bob", "text": "hi", "parts": [{"text": "hi"}], "idempotencyKey": "k"});
    assert_eq!(fails(&s, "alice", "send", both).await, "invalid");
    let neither = json!({"to": "bob", "idempotencyKey": "k"});
    assert_eq!(fails(&s, "alice", "send", neither).await, "invalid");
    let bad_part = json!({"to": "bob", "parts": [{"text": "a", "url": "https://x.example/"}], "idempotencyKey": "k"});
    assert_eq!(fails(&s, "alice", "send", bad_part).await, "invalid");
    // A caller that cannot have a mailbox.
    assert_eq!(
        fails(&s, "not an address!", "whoami", json!({})).await,
        "forbidden"
    );
}
