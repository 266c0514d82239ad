//! Certificate-bound tokens (RFC 8705) and the peer identity in the
//! principal, through the real authenticator.

use std::net::{IpAddr, Ipv4Addr};

use http::HeaderMap;
use serde_json::json;

use crate::auth::{AuthError, AuthRequest};
use crate::clock::unix_now;
use crate::listener::PeerCertificate;
use crate::principal::{AuthMethod, Principal};
use crate::{Config, GatewayState};
use warden_store::Store;
use warden_trust::TokenError;

async fn state(dir: &std::path::Path) -> GatewayState {
    let mut config = Config::parse("", std::path::Path::new("test")).expect("config");
    config.gateway.data_dir = dir.to_path_buf();
    let store = Store::open(&dir.join("warden.db")).await.expect("store");
    store
        .put_agent(&warden_store::RegisteredAgent {
            id: "client".into(),
            display_name: "client".into(),
            jwks: None,
            jwks_url: None,
            grants: json!({"echo": ["echo"]}).to_string(),
            tls_subject: None,
            created_at: crate::clock::now_rfc3339(),
        })
        .await
        .expect("registry");
    warden_authority::grants::ensure_grants(
        &store,
        "client",
        &[("echo".to_string(), vec!["echo".to_string()])].into(),
    )
    .await
    .expect("grant");
    GatewayState::open(config, store).await.expect("state")
}

fn cert(uri: &str) -> PeerCertificate {
    let mut params =
        rcgen::CertificateParams::new(vec!["client.example".to_string()]).expect("params");
    params.subject_alt_names.push(rcgen::SanType::URI(
        rcgen::string::Ia5String::try_from(uri).expect("uri"),
    ));
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("cert");
    PeerCertificate::from_der(cert.der().clone())
}

async fn token(s: &GatewayState, cnf: Option<serde_json::Value>) -> String {
    s.auth
        .authority
        .issue("client", "echo", &[], cnf, unix_now())
        .await
        .expect("issue")
        .0
        .token
}

async fn call(
    s: &GatewayState,
    token: &str,
    peer: Option<&PeerCertificate>,
) -> Result<Principal, AuthError> {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("header"),
    );
    let req = AuthRequest {
        headers: &headers,
        agent: "echo",
        source: IpAddr::V4(Ipv4Addr::LOCALHOST),
        method: "POST",
        url: "https://127.0.0.1:8443/agents/echo",
        now: unix_now(),
        peer_cert: peer,
        seen: None,
    };
    s.auth.authenticate(&req).await
}

fn is_bad_cnf(r: &Result<Principal, AuthError>) -> bool {
    matches!(r, Err(AuthError::InvalidToken(TokenError::BadClaim("cnf"))))
}

#[tokio::test]
async fn a_bound_token_needs_its_certificate_and_may_be_reused_with_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = state(dir.path()).await;
    let alice = cert("spiffe://example.org/sa/alice");
    let bob = cert("spiffe://example.org/sa/bob");
    let bound = token(&s, Some(json!({"x5t#S256": alice.identity.x5t_s256}))).await;

    assert!(is_bad_cnf(&call(&s, &bound, None).await), "no certificate");
    assert!(
        is_bad_cnf(&call(&s, &bound, Some(&bob)).await),
        "another certificate"
    );
    let p = call(&s, &bound, Some(&alice))
        .await
        .expect("its certificate");
    assert_eq!(p.subject, "client");
    assert_eq!(p.method, AuthMethod::Bearer);
    let peer = p.peer.expect("peer identity");
    assert_eq!(peer.spiffe_id(), Some("spiffe://example.org/sa/alice"));
    assert_eq!(peer.x5t_s256, alice.identity.x5t_s256);
    // The handshake is the proof: the same token works again.
    call(&s, &bound, Some(&alice)).await.expect("reused");

    // A malformed binding is refused even with a certificate.
    for cnf in [json!({"x5t#S256": ""}), json!({"x5t#S256": 5})] {
        let t = token(&s, Some(cnf)).await;
        assert!(is_bad_cnf(&call(&s, &t, Some(&alice)).await));
    }
}

#[tokio::test]
async fn plain_tokens_stay_single_use_and_carry_the_peer_when_there_is_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = state(dir.path()).await;
    let alice = cert("spiffe://example.org/sa/alice");
    let plain = token(&s, None).await;
    let p = call(&s, &plain, Some(&alice)).await.expect("plain token");
    assert_eq!(p.peer.as_ref(), Some(&alice.identity));
    assert!(matches!(
        call(&s, &plain, Some(&alice)).await,
        Err(AuthError::Replayed)
    ));
    let p = call(&s, &token(&s, None).await, None)
        .await
        .expect("no TLS");
    assert_eq!(p.peer, None);
}
