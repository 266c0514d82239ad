//! Client credentials at a token endpoint: the form, client
//! authentication, caching until shortly before expiry, DPoP binding and
//! the nonce retry.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::Method;
use serde_json::json;
use warden_client::{Credentials, DpopKey, TokenSource};
use warden_trust::MemoryReplayCache;
use warden_trust::dpop::{DpopPolicy, DpopRequest, verify_proof};

use crate::support::{ManualClock, egress};
use warden_test_support::http::{Reply, Seen, serve};

const NOW: u64 = 1_800_000_000;

fn cc(token_url: &str, client_id: Option<&str>, dpop: Option<DpopKey>) -> TokenSource {
    TokenSource::ClientCredentials {
        token_url: token_url.into(),
        client_id: client_id.map(str::to_owned),
        client_secret: "wdn_key.secret".into(),
        audience: "echo".into(),
        scope: Some("echo".into()),
        dpop,
    }
}

/// Answers tokens `tok-1`, `tok-2`, … of the given type and lifetime.
fn issuer(kind: &'static str, expires_in: Option<u64>) -> impl Fn(&Seen) -> Reply + Send + Sync {
    let n = AtomicUsize::new(0);
    move |_| {
        let i = n.fetch_add(1, Ordering::SeqCst) + 1;
        let mut body = json!({"access_token": format!("tok-{i}"), "token_type": kind});
        if let Some(e) = expires_in {
            body["expires_in"] = json!(e);
        }
        Reply::json(200, &body)
    }
}

fn form(seen: &Seen) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&seen.body)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn a_token_is_cached_until_shortly_before_it_expires() {
    let server = serve(issuer("Bearer", Some(300))).await;
    let token_url = format!("http://idp.test:{}/oauth2/token", server.port());
    let clock = ManualClock::at(NOW);
    let creds = Credentials::with_clock(cc(&token_url, None, None), clock.clone());
    let e = egress(&["idp.test"]);
    let call = "https://agent.example.com/a2a";
    let auth = |h: http::HeaderMap| h["authorization"].to_str().expect("ascii").to_string();

    let first = auth(creds.headers_for(&e, &Method::POST, call).await.expect("1"));
    assert_eq!(first, "Bearer tok-1");
    clock.advance(269);
    let again = auth(creds.headers_for(&e, &Method::POST, call).await.expect("2"));
    assert_eq!(again, "Bearer tok-1", "still cached");
    assert_eq!(server.hits().len(), 1);
    clock.advance(1);
    let renewed = auth(creds.headers_for(&e, &Method::POST, call).await.expect("3"));
    assert_eq!(renewed, "Bearer tok-2", "refetched 30 s before expiry");
    // Dropped on demand (e.g. after the agent refused it).
    creds.forget_token().await;
    let fresh = auth(creds.headers_for(&e, &Method::POST, call).await.expect("4"));
    assert_eq!(fresh, "Bearer tok-3");
    assert_eq!(server.hits().len(), 3);
}

#[tokio::test]
async fn a_token_without_a_lifetime_is_used_once() {
    let server = serve(issuer("Bearer", None)).await;
    let token_url = format!("http://idp.test:{}/oauth2/token", server.port());
    let creds = Credentials::new(cc(&token_url, None, None));
    let e = egress(&["idp.test"]);
    for _ in 0..2 {
        creds
            .headers_for(&e, &Method::POST, "https://agent.example.com/")
            .await
            .expect("token");
    }
    assert_eq!(server.hits().len(), 2);
}

#[tokio::test]
async fn client_authentication_is_an_api_key_header_or_client_secret_post() {
    let server = serve(issuer("Bearer", Some(60))).await;
    let token_url = format!("http://idp.test:{}/oauth2/token", server.port());
    let e = egress(&["idp.test"]);
    for client_id in [None, Some("agent-7")] {
        Credentials::new(cc(&token_url, client_id, None))
            .headers_for(&e, &Method::POST, "https://agent.example.com/")
            .await
            .expect("token");
    }
    let hits = server.hits();
    let (key, post) = (&hits[0], &hits[1]);
    for h in [key, post] {
        assert_eq!(h.method, "POST");
        assert_eq!(h.path, "/oauth2/token");
        assert_eq!(
            h.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        let f = form(h);
        assert!(f.contains(&("grant_type".into(), "client_credentials".into())));
        assert!(f.contains(&("audience".into(), "echo".into())));
        assert!(f.contains(&("scope".into(), "echo".into())));
    }
    assert_eq!(key.header("x-api-key"), Some("wdn_key.secret"));
    assert!(!key.body_text().contains("client_secret"));
    assert_eq!(post.header("x-api-key"), None);
    let f = form(post);
    assert!(f.contains(&("client_id".into(), "agent-7".into())));
    assert!(f.contains(&("client_secret".into(), "wdn_key.secret".into())));
}

#[tokio::test]
async fn a_dpop_token_is_requested_with_a_proof_and_used_with_one() {
    let server = serve(issuer("DPoP", Some(300))).await;
    let token_url = format!("http://idp.test:{}/oauth2/token", server.port());
    let key = DpopKey::ephemeral().expect("key");
    let jkt = key.thumbprint();
    let clock = ManualClock::at(NOW);
    let creds = Credentials::with_clock(cc(&token_url, None, Some(key)), clock);
    let e = egress(&["idp.test"]);
    let call = "https://agent.example.com/agents/echo";
    let replay = MemoryReplayCache::new(64);
    let verify = |proof: &str, url: &str, token: Option<&str>| {
        let req = DpopRequest {
            method: "POST",
            url,
            access_token: token,
            nonce: None,
        };
        verify_proof(proof, &req, &DpopPolicy::default(), &replay, NOW).expect("proof verifies")
    };
    for _ in 0..2 {
        let h = creds
            .headers_for(&e, &Method::POST, call)
            .await
            .expect("headers");
        assert_eq!(h["authorization"], "DPoP tok-1");
        let proof = h["dpop"].to_str().expect("ascii");
        assert_eq!(verify(proof, call, Some("tok-1")).jkt, jkt);
    }
    let hits = server.hits();
    assert_eq!(hits.len(), 1, "the bound token is reused with fresh proofs");
    let token_proof = hits[0].header("dpop").expect("proof on the token request");
    let v = verify(token_proof, &token_url, None);
    assert_eq!(v.jkt, jkt);
    assert!(v.claims.get("ath").is_none());
}

#[tokio::test]
async fn use_dpop_nonce_is_retried_once_with_the_nonce() {
    let n = Arc::new(AtomicUsize::new(0));
    let count = n.clone();
    let server = serve(move |seen| {
        if count.fetch_add(1, Ordering::SeqCst) == 0 {
            return Reply::json(
                400,
                &json!({"error": "use_dpop_nonce", "error_description": "a DPoP nonce is required"}),
            )
            .with_header("DPoP-Nonce", "n-42");
        }
        let proof = seen.header("dpop").unwrap_or_default();
        let jws = warden_trust::jws::parse_compact(proof, 8192).expect("proof");
        let claims: serde_json::Value = serde_json::from_slice(&jws.payload).expect("claims");
        if claims["nonce"] == "n-42" {
            Reply::json(200, &json!({"access_token": "bound", "token_type": "DPoP", "expires_in": 60}))
        } else {
            Reply::json(400, &json!({"error": "use_dpop_nonce"})).with_header("DPoP-Nonce", "n-42")
        }
    })
    .await;
    let token_url = format!("http://idp.test:{}/oauth2/token", server.port());
    let key = DpopKey::ephemeral().expect("key");
    let creds = Credentials::new(cc(&token_url, None, Some(key)));
    let e = egress(&["idp.test"]);
    let h = creds
        .headers_for(&e, &Method::POST, "https://agent.example.com/")
        .await
        .expect("token after one retry");
    assert_eq!(h["authorization"], "DPoP bound");
    assert_eq!(server.hits().len(), 2);
}

#[tokio::test]
async fn token_endpoint_refusals_and_downgrades_are_errors() {
    let server = serve(|_| {
        Reply::json(
            401,
            &json!({"error": "invalid_client", "error_description": "client authentication failed"}),
        )
    })
    .await;
    let token_url = format!("http://idp.test:{}/oauth2/token", server.port());
    let e = egress(&["idp.test"]);
    let err = Credentials::new(cc(&token_url, None, None))
        .headers_for(&e, &Method::POST, "https://agent.example.com/")
        .await
        .expect_err("refused");
    assert_eq!(err.reason(), "token_endpoint");
    assert!(err.to_string().contains("invalid_client"), "{err}");
    assert!(!err.is_refusal());

    // DPoP asked for, a bearer token given: not quietly accepted.
    let bearer = serve(issuer("Bearer", Some(60))).await;
    let token_url = format!("http://idp.test:{}/oauth2/token", bearer.port());
    let key = DpopKey::ephemeral().expect("key");
    let err = Credentials::new(cc(&token_url, None, Some(key)))
        .headers_for(&e, &Method::POST, "https://agent.example.com/")
        .await
        .expect_err("downgrade");
    assert_eq!(err.reason(), "dpop", "{err}");

    // The token endpoint is behind the same rules as everything else.
    let err = Credentials::new(cc("https://169.254.169.254/token", None, None))
        .headers_for(&e, &Method::POST, "https://agent.example.com/")
        .await
        .expect_err("metadata");
    assert_eq!(err.reason(), "denied_address");
}
