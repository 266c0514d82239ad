//! Calls: card to interface to SendMessage in both bindings, streaming,
//! A2A errors, credential retries, and keys from an allow-listed `jku`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::StreamExt;
use serde_json::{Value, json};
use warden_a2a::Binding;
use warden_client::{A2aClient, Answer, CardTrust, DpopKey, TokenSource};
use warden_trust::KeySet;

use crate::support::{card, egress, key, signed, user_message};
use warden_test_support::http::{Reply, Seen, serve};

fn task(state: &str) -> Value {
    json!({"task": {"id": "t-1", "contextId": "c-1", "status": {"state": state}}})
}

/// An agent at `/a2a`: its card (signed by `signer`), JSON-RPC and REST.
fn agent(card_json: Value) -> impl Fn(&Seen) -> Reply + Send + Sync {
    move |seen| match seen.path.as_str() {
        "/a2a/.well-known/agent-card.json" => Reply::json(200, &card_json),
        "/a2a" => {
            let req: Value = serde_json::from_slice(&seen.body).expect("json-rpc body");
            let id = req["id"].clone();
            match req["method"].as_str() {
                Some("SendMessage") => Reply::json(
                    200,
                    &json!({"jsonrpc": "2.0", "id": id, "result": task("TASK_STATE_COMPLETED")}),
                ),
                Some("SendStreamingMessage") => Reply::sse(&[
                    json!({"jsonrpc": "2.0", "id": id, "result": task("TASK_STATE_SUBMITTED")}),
                    json!({"jsonrpc": "2.0", "id": id, "result": {"statusUpdate": {"taskId": "t-1", "contextId": "c-1", "status": {"state": "TASK_STATE_COMPLETED"}}}}),
                ]),
                _ => Reply::json(
                    200,
                    &json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "no such method"}}),
                ),
            }
        }
        "/a2a/t1/message:send" => Reply::json(200, &task("TASK_STATE_COMPLETED")),
        "/a2a/t1/message:stream" => {
            Reply::sse(&[task("TASK_STATE_WORKING"), task("TASK_STATE_COMPLETED")])
        }
        _ => Reply::json(
            404,
            &json!({"error": {"code": 404, "status": "NOT_FOUND", "message": "nothing here"}}),
        ),
    }
}

async fn collect(answer: Answer) -> Vec<Value> {
    match answer {
        Answer::Result(v) => vec![v],
        Answer::Stream(events) => events.map(|e| e.expect("event")).collect::<Vec<_>>().await,
    }
}

#[tokio::test]
async fn card_to_call_in_both_bindings_with_and_without_streaming() {
    let signer = key();
    let holder = Arc::new(std::sync::Mutex::new(Value::Null));
    let served = holder.clone();
    let server = serve(move |seen| {
        let c = served.lock().expect("lock").clone();
        agent(c)(seen)
    })
    .await;
    let base = format!("http://agent.test:{}/a2a", server.port());
    *holder.lock().expect("lock") = signed(card(&base), &signer, None);
    let client = A2aClient::new(egress(&["agent.test"]), TokenSource::Bearer("tok".into()));
    let trust = CardTrust::pinned(KeySet::from_keys([signer.public_jwk()]));
    let verified = client.fetch_card(&base, &trust).await.expect("card");

    let rpc = client
        .interface(&verified, Binding::JsonRpc)
        .await
        .expect("jsonrpc");
    let out = collect(
        client
            .send_message(&rpc, user_message("hi"), false)
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(out, vec![task("TASK_STATE_COMPLETED")]);
    let out = collect(
        client
            .send_message(&rpc, user_message("hi"), true)
            .await
            .expect("stream"),
    )
    .await;
    assert_eq!(out.len(), 2);
    assert_eq!(
        out[1]["statusUpdate"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );

    let rest = client
        .interface(&verified, Binding::Rest)
        .await
        .expect("rest");
    assert_eq!(rest.tenant(), Some("t1"));
    let out = collect(
        client
            .send_message(&rest, user_message("hi"), false)
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(out, vec![task("TASK_STATE_COMPLETED")]);
    let out = collect(
        client
            .send_message(&rest, user_message("hi"), true)
            .await
            .expect("stream"),
    )
    .await;
    assert_eq!(
        out,
        vec![task("TASK_STATE_WORKING"), task("TASK_STATE_COMPLETED")]
    );

    let hits = server.hits();
    let calls: Vec<&Seen> = hits.iter().filter(|h| h.method == "POST").collect();
    assert_eq!(
        calls.iter().map(|h| h.path.as_str()).collect::<Vec<_>>(),
        [
            "/a2a",
            "/a2a",
            "/a2a/t1/message:send",
            "/a2a/t1/message:stream"
        ]
    );
    for c in &calls {
        assert_eq!(c.header("a2a-version"), Some("1.0"));
        assert_eq!(c.header("authorization"), Some("Bearer tok"));
        assert_eq!(c.header("content-type"), Some("application/json"));
    }
    assert_eq!(calls[1].header("accept"), Some("text/event-stream"));
    let rpc_body: Value = serde_json::from_slice(&calls[0].body).expect("json");
    assert_eq!(rpc_body["method"], "SendMessage");
    assert_eq!(rpc_body["params"]["message"]["parts"][0]["text"], "hi");
    let rest_body: Value = serde_json::from_slice(&calls[2].body).expect("json");
    assert_eq!(rest_body["tenant"], "t1");
    // The card request carried no credential.
    assert!(hits[0].header("authorization").is_none());
}

#[tokio::test]
async fn an_a2a_error_comes_back_typed() {
    let server = serve(|_| {
        Reply::json(200, &json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32001, "message": "task not found"}}))
    })
    .await;
    let client = A2aClient::new(egress(&["agent.test"]), TokenSource::None);
    let url = format!("http://agent.test:{}/a2a", server.port());
    let iface = warden_client::Interface::check(client.egress(), &url, Binding::JsonRpc, None)
        .await
        .expect("checked");
    let err = client
        .send_message(&iface, user_message("x"), false)
        .await
        .expect_err("a2a error");
    assert_eq!(err.reason(), "a2a_error");
    assert!(err.to_string().contains("-32001: task not found"), "{err}");
    match err {
        warden_client::ClientError::Agent { error, .. } => assert_eq!(error["code"], -32001),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn a_used_up_token_is_replaced_once_and_a_dpop_nonce_is_honoured() {
    // The token endpoint and the agent on one origin, as with Warden.
    let tokens = Arc::new(AtomicUsize::new(0));
    let issued = tokens.clone();
    let server = serve(move |seen| {
        if seen.path == "/oauth2/token" {
            let i = issued.fetch_add(1, Ordering::SeqCst) + 1;
            let kind = if seen.header("dpop").is_some() { "DPoP" } else { "Bearer" };
            return Reply::json(200, &json!({"access_token": format!("tok-{i}"), "token_type": kind, "expires_in": 300}));
        }
        let auth = seen.header("authorization").unwrap_or_default();
        if auth == "Bearer tok-1" {
            // Single-use: Warden's answer to a second use of a bearer token.
            return Reply::json(401, &json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32600, "message": "the token is not valid"}}))
                .with_header("WWW-Authenticate", "Bearer realm=\"warden\", error=\"invalid_token\"");
        }
        if auth.starts_with("DPoP ") {
            let proof = seen.header("dpop").unwrap_or_default();
            let jws = warden_trust::jws::parse_compact(proof, 8192).expect("proof");
            let claims: Value = serde_json::from_slice(&jws.payload).expect("claims");
            if claims["nonce"] != "n-1" {
                return Reply::json(401, &json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32600, "message": "nonce"}}))
                    .with_header("WWW-Authenticate", "DPoP error=\"use_dpop_nonce\"")
                    .with_header("DPoP-Nonce", "n-1");
            }
        }
        Reply::json(200, &json!({"jsonrpc": "2.0", "id": 1, "result": task("TASK_STATE_COMPLETED")}))
    })
    .await;
    let origin = format!("http://gw.test:{}", server.port());
    let source = |dpop: Option<DpopKey>| TokenSource::ClientCredentials {
        token_url: format!("{origin}/oauth2/token"),
        client_id: None,
        client_secret: "wdn_k.s".into(),
        audience: "echo".into(),
        scope: None,
        dpop,
    };

    let client = A2aClient::new(egress(&["gw.test"]), source(None));
    let iface = warden_client::Interface::check(
        client.egress(),
        &format!("{origin}/agents/echo"),
        Binding::JsonRpc,
        None,
    )
    .await
    .expect("checked");
    let out = collect(
        client
            .send_message(&iface, user_message("a"), false)
            .await
            .expect("call"),
    )
    .await;
    assert_eq!(out, vec![task("TASK_STATE_COMPLETED")]);
    assert_eq!(
        tokens.load(Ordering::SeqCst),
        2,
        "the refused token was replaced once"
    );

    let client = A2aClient::new(
        egress(&["gw.test"]),
        source(Some(DpopKey::ephemeral().expect("key"))),
    );
    for _ in 0..2 {
        let out = collect(
            client
                .send_message(&iface, user_message("b"), false)
                .await
                .expect("call"),
        )
        .await;
        assert_eq!(out, vec![task("TASK_STATE_COMPLETED")]);
    }
    assert_eq!(
        tokens.load(Ordering::SeqCst),
        3,
        "one DPoP token for both calls"
    );
    let agent_calls: Vec<Seen> = server
        .hits()
        .into_iter()
        .filter(|h| {
            h.path == "/agents/echo"
                && h.header("authorization")
                    .is_some_and(|a| a.starts_with("DPoP "))
        })
        .collect();
    assert_eq!(
        agent_calls.len(),
        3,
        "one refused for the nonce, then two with it"
    );
}

#[tokio::test]
async fn keys_from_an_allow_listed_jku_verify_the_card() {
    let signer = key();
    let jwks = KeySet::from_keys([signer.public_jwk()]).to_jwks();
    let jwks_served = jwks.clone();
    let keys = serve(move |_| Reply::json(200, &jwks_served)).await;
    let jku = format!("http://keys.test:{}/jwks.json", keys.port());
    let card_json = signed(card("https://agent.example.com/a2a"), &signer, Some(&jku));
    let agent = serve(move |_| Reply::json(200, &card_json)).await;
    let client = A2aClient::new(egress(&["agent.test", "keys.test"]), TokenSource::None);
    let base = format!("http://agent.test:{}/a2a", agent.port());

    let allowed = CardTrust {
        allowed_jku_hosts: vec!["keys.test".into()],
        ..CardTrust::default()
    };
    let v = client
        .fetch_card(&base, &allowed)
        .await
        .expect("verified by jku");
    assert_eq!(v.signed_by.as_deref(), Some(signer.kid()));
    assert_eq!(keys.hits().len(), 1);

    // Not on the list: not fetched, and the card is refused.
    let err = client
        .fetch_card(&base, &CardTrust::default())
        .await
        .expect_err("jku not allowed");
    assert_eq!(err.reason(), "card_signature");
    assert_eq!(keys.hits().len(), 1);
}
