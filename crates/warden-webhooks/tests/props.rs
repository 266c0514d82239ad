//! Properties (proptest): whatever is signed verifies, at any time and for
//! any body and id; any change to the body refuses it; and arbitrary
//! header bytes never make the reader or the verifier panic (the
//! `webhook_headers` fuzz target explores the same ground longer).

use proptest::prelude::*;
use warden_trust::{JwsAlg, KeySet, SigningKey};
use warden_webhooks::headers::WebhookHeaders;
use warden_webhooks::{Notification, Signer, SubscriptionSecret, Verifier, VerifyError};

const URL: &str = "https://hooks.example.com/a2a";

fn webhook_key() -> SigningKey {
    let k = SigningKey::generate(JwsAlg::EdDsa).expect("key");
    SigningKey::from_pkcs8(JwsAlg::EdDsa, k.pkcs8(), Some("webhook-p")).expect("key")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn what_is_signed_verifies_and_a_changed_body_does_not(
        id in "[A-Za-z0-9_-]{1,64}",
        body in proptest::collection::vec(any::<u8>(), 0..2048),
        at in 0u64..4_000_000_000,
        flip in any::<prop::sample::Index>(),
    ) {
        let key = webhook_key();
        let secret = SubscriptionSecret::generate().expect("secret");
        let n = Notification { id: &id, body: &body, url: URL, task_id: "t" };
        let headers = Signer::new("https://w.example")
            .sign(&n, std::slice::from_ref(&secret), &key, at)
            .expect("sign");
        let pairs = || headers.iter().map(|(k, v)| (*k, v.as_bytes()));
        let by_secret = Verifier::builder().secret(secret).build().expect("verifier");
        let by_keys = Verifier::builder()
            .keys(KeySet::from_keys([key.public_jwk()]))
            .receiver_url(URL)
            .build()
            .expect("verifier");
        prop_assert!(by_secret.verify(pairs(), &body, at).is_ok());
        prop_assert!(by_keys.verify(pairs(), &body, at).is_ok());
        let mut changed = body.clone();
        if changed.is_empty() {
            changed.push(b' ');
        } else {
            let i = flip.index(changed.len());
            changed[i] ^= 0x01;
        }
        let fresh = Verifier::builder()
            .keys(KeySet::from_keys([key.public_jwk()]))
            .receiver_url(URL)
            .build()
            .expect("verifier");
        prop_assert_eq!(fresh.verify(pairs(), &changed, at), Err(VerifyError::BodySwapped));
    }

    #[test]
    fn arbitrary_header_bytes_never_panic(
        values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 4),
        body in proptest::collection::vec(any::<u8>(), 0..64),
        now in any::<u64>(),
    ) {
        let names = ["webhook-id", "webhook-timestamp", "webhook-signature", "warden-notification-jwt"];
        let pairs = || names.iter().zip(&values).map(|(n, v)| (*n, v.as_slice()));
        let _ = WebhookHeaders::parse(pairs());
        let secret = SubscriptionSecret::from_bytes(vec![1; 32]).expect("secret");
        let v = Verifier::builder().secret(secret).build().expect("verifier");
        let _ = v.verify(pairs(), &body, now);
    }
}
