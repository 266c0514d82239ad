//! A receiver's verifier built from Warden's JWKS fetched through the
//! egress rules: a notification signed for this receiver verifies once,
//! and a JWKS URL the rules refuse is refused with the egress reason.

use warden_client::webhooks::{self, VerifyError};
use warden_test_support::http::{Reply, serve};
use warden_trust::{JwsAlg, KeySet, SigningKey};
use warden_webhooks::{Notification, Signer};

use crate::support::egress;

const URL: &str = "https://hooks.example.com/a2a";

#[tokio::test]
async fn a_verifier_from_a_fetched_jwks_checks_notifications() {
    let key = SigningKey::generate(JwsAlg::EdDsa).expect("key");
    let key = SigningKey::from_pkcs8(JwsAlg::EdDsa, key.pkcs8(), Some("webhook-1")).expect("key");
    let jwks = KeySet::from_keys([key.public_jwk()]).to_jwks();
    let server = serve(move |_| Reply::json(200, &jwks)).await;
    let jwks_url = format!("http://warden.test:{}/.well-known/jwks.json", server.port());
    let verifier = webhooks::builder_from_jwks_url(&egress(&["warden.test"]), &jwks_url, URL)
        .await
        .expect("fetched")
        .build()
        .expect("verifier");
    let body = br#"{"task":{"id":"t-1"}}"#;
    let n = Notification {
        id: "msg_1",
        body,
        url: URL,
        task_id: "t-1",
    };
    let headers = Signer::new("http://warden.test")
        .sign(&n, &[], &key, 1_000)
        .expect("sign");
    let pairs = || headers.iter().map(|(k, v)| (*k, v.as_bytes()));
    let ok = verifier.verify(pairs(), body, 1_001).expect("verifies");
    assert_eq!(ok.task_id.as_deref(), Some("t-1"));
    assert_eq!(
        verifier.verify(pairs(), body, 1_002),
        Err(VerifyError::Replayed)
    );
}

#[tokio::test]
async fn a_jwks_url_the_egress_rules_refuse_is_not_fetched() {
    for url in [
        "http://169.254.169.254/jwks.json",
        "https://10.0.0.1/jwks.json",
        "http://hooks.example.com/jwks.json",
    ] {
        let err = webhooks::builder_from_jwks_url(&egress(&[]), url, URL)
            .await
            .err()
            .expect("refused");
        assert!(
            matches!(&err, warden_client::ClientError::Egress(e) if e.is_refusal()),
            "{url}: {err}"
        );
    }
}
