//! The verifier against every way a notification can be wrong: each signed
//! by this crate's `Signer` and then forged, aged, replayed, re-targeted or
//! swapped, checked on an injected clock.

use std::sync::Arc;

use serde_json::json;
use warden_trust::{JwsAlg, KeySet, MemoryReplayCache, SigningKey};
use warden_webhooks::{
    ConfigError, Notification, Signer, SubscriptionSecret, Verifier, VerifyError, new_id,
};

const NOW: u64 = 1_800_000_000;
const URL: &str = "https://hooks.example.com/a2a/tasks";
const ISSUER: &str = "https://warden.example.com";
const BODY: &[u8] = br#"{"statusUpdate":{"taskId":"t-1","contextId":"c-1","status":{"state":"TASK_STATE_COMPLETED"}}}"#;

fn key(kid: &str) -> SigningKey {
    let k = SigningKey::generate(JwsAlg::EdDsa).expect("key");
    SigningKey::from_pkcs8(JwsAlg::EdDsa, k.pkcs8(), Some(kid)).expect("key")
}

/// One Warden: its webhook key, a token key and a card key (all published,
/// as in the real JWKS), and a subscription secret.
struct Fixture {
    webhook: SigningKey,
    jwks: KeySet,
    secret: SubscriptionSecret,
}

impl Fixture {
    fn new() -> Self {
        let webhook = key("webhook-k1");
        let jwks = KeySet::from_keys([
            webhook.public_jwk(),
            key("tok-1").public_jwk(),
            key("card-1").public_jwk(),
        ]);
        Self {
            webhook,
            jwks,
            secret: SubscriptionSecret::generate().expect("secret"),
        }
    }

    fn sign_with(
        &self,
        key: &SigningKey,
        secrets: &[SubscriptionSecret],
        id: &str,
        url: &str,
        body: &[u8],
        at: u64,
    ) -> Vec<(&'static str, String)> {
        let n = Notification {
            id,
            body,
            url,
            task_id: "t-1",
        };
        Signer::new(ISSUER)
            .sign(&n, secrets, key, at)
            .expect("sign")
    }

    fn sign(&self, id: &str, at: u64) -> Vec<(&'static str, String)> {
        self.sign_with(
            &self.webhook,
            std::slice::from_ref(&self.secret),
            id,
            URL,
            BODY,
            at,
        )
    }

    /// A verifier holding the JWKS and the receiver's URL.
    fn by_keys(&self) -> Verifier {
        Verifier::builder()
            .keys(self.jwks.clone())
            .receiver_url(URL)
            .issuer(ISSUER)
            .build()
            .expect("verifier")
    }

    /// A verifier holding only the subscription's secret.
    fn by_secret(&self) -> Verifier {
        Verifier::builder()
            .secret(self.secret.clone())
            .build()
            .expect("verifier")
    }
}

fn check(
    v: &Verifier,
    headers: &[(&'static str, String)],
    body: &[u8],
    now: u64,
) -> Result<warden_webhooks::Verified, VerifyError> {
    v.verify(headers.iter().map(|(k, s)| (*k, s.as_bytes())), body, now)
}

fn replace(headers: &mut [(&'static str, String)], name: &str, value: String) {
    for (k, v) in headers.iter_mut() {
        if *k == name {
            *v = value.clone();
        }
    }
}

#[test]
fn a_genuine_notification_verifies_both_ways() {
    let f = Fixture::new();
    let id = new_id();
    let h = f.sign(&id, NOW);
    let v = check(&f.by_keys(), &h, BODY, NOW + 10).expect("keys");
    assert_eq!(v.id, id);
    assert_eq!(v.timestamp, NOW);
    assert_eq!(v.task_id.as_deref(), Some("t-1"));
    assert_eq!(v.issuer.as_deref(), Some(ISSUER));
    assert_eq!(v.jwt_kid.as_deref(), Some("webhook-k1"));
    assert_eq!(
        (v.signature, v.v1a_kid.as_deref()),
        ("v1a", Some("webhook-k1"))
    );
    let v = check(&f.by_secret(), &h, BODY, NOW - 10).expect("secret");
    assert_eq!((v.signature, v.task_id), ("v1", None));
}

#[test]
fn forged_notifications_are_refused() {
    let f = Fixture::new();
    // Another key posing as Warden's webhook key (same kid): the JWT and
    // v1a fail; another secret: v1 fails.
    let impostor = key("webhook-k1");
    let other = SubscriptionSecret::generate().expect("secret");
    let h = f.sign_with(&impostor, &[other], "m1", URL, BODY, NOW);
    assert_eq!(
        check(&f.by_keys(), &h, BODY, NOW),
        Err(VerifyError::BadSignature)
    );
    assert_eq!(
        check(&f.by_secret(), &h, BODY, NOW),
        Err(VerifyError::BadSignature)
    );
    // A key Warden never published.
    let h = f.sign_with(&key("webhook-zz"), &[], "m2", URL, BODY, NOW);
    assert_eq!(
        check(&f.by_keys(), &h, BODY, NOW),
        Err(VerifyError::UnknownKey)
    );
    // A genuine JWT with a forged v1a and no v1: the signatures still count.
    let mut h = f.sign_with(&f.webhook, &[], "m3", URL, BODY, NOW);
    let forged = f.sign_with(&impostor, &[], "m3", URL, BODY, NOW);
    replace(&mut h, "webhook-signature", forged[2].1.clone());
    assert_eq!(
        check(&f.by_keys(), &h, BODY, NOW),
        Err(VerifyError::BadSignature)
    );
    // One flipped bit of a genuine HMAC.
    let mut h = f.sign("m4", NOW);
    let sig = h[2].1.clone();
    let flipped = if sig.as_bytes()[3] == b'A' { "B" } else { "A" };
    replace(
        &mut h,
        "webhook-signature",
        format!("v1,{flipped}{}", &sig[4..sig.find(' ').expect("two")]),
    );
    assert_eq!(
        check(&f.by_secret(), &h, BODY, NOW),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn token_and_card_keys_never_verify_a_notification() {
    let f = Fixture::new();
    let card = key("card-1");
    let jwks = KeySet::from_keys([f.webhook.public_jwk(), card.public_jwk()]);
    let v = Verifier::builder()
        .keys(jwks)
        .receiver_url(URL)
        .build()
        .expect("verifier");
    // Signed with the card key under a webhook kid: Signer refuses a
    // non-webhook kid, so relabel the same key material.
    let relabelled =
        SigningKey::from_pkcs8(JwsAlg::EdDsa, card.pkcs8(), Some("webhook-card")).expect("key");
    let h = f.sign_with(&relabelled, &[], "m1", URL, BODY, NOW);
    assert_eq!(check(&v, &h, BODY, NOW), Err(VerifyError::UnknownKey));
    // A JWKS with no webhook key cannot make a verifier at all.
    let no_webhook = KeySet::from_keys([card.public_jwk()]);
    assert_eq!(
        Verifier::builder()
            .keys(no_webhook)
            .receiver_url(URL)
            .build()
            .err(),
        Some(ConfigError::NoWebhookKey)
    );
}

#[test]
fn stale_and_future_notifications_are_refused() {
    let f = Fixture::new();
    for v in [f.by_keys(), f.by_secret()] {
        let h = f.sign(&new_id(), NOW);
        assert_eq!(check(&v, &h, BODY, NOW + 301), Err(VerifyError::Stale));
        assert_eq!(check(&v, &h, BODY, NOW - 301), Err(VerifyError::Future));
        // The edges of the window are inside it.
        check(&v, &h, BODY, NOW + 300).expect("at +300");
        let h = f.sign(&new_id(), NOW);
        check(&v, &h, BODY, NOW - 300).expect("at -300");
    }
    // A window set by the receiver.
    let v = Verifier::builder()
        .secret(f.secret.clone())
        .tolerance_secs(60)
        .build()
        .expect("verifier");
    assert_eq!(
        check(&v, &f.sign("m1", NOW), BODY, NOW + 61),
        Err(VerifyError::Stale)
    );
}

#[test]
fn an_expired_jwt_is_stale_even_in_a_wider_window() {
    let f = Fixture::new();
    let v = Verifier::builder()
        .keys(f.jwks.clone())
        .receiver_url(URL)
        .tolerance_secs(3600)
        .build()
        .expect("verifier");
    let n = Notification {
        id: "m1",
        body: BODY,
        url: URL,
        task_id: "t-1",
    };
    let h = Signer::new(ISSUER)
        .with_jwt_ttl(60)
        .sign(&n, &[], &f.webhook, NOW)
        .expect("sign");
    // The JWT's exp (NOW + 60) ends it, though the window is an hour.
    check(&v, &h, BODY, NOW + 60).expect("up to exp");
    let h2 = Signer::new(ISSUER)
        .with_jwt_ttl(60)
        .sign(&Notification { id: "m2", ..n }, &[], &f.webhook, NOW)
        .expect("sign");
    assert_eq!(check(&v, &h2, BODY, NOW + 61), Err(VerifyError::Stale));
}

#[test]
fn replays_are_refused_until_the_window_forgets_them() {
    let f = Fixture::new();
    for v in [f.by_keys(), f.by_secret()] {
        let h = f.sign("m-replay", NOW);
        check(&v, &h, BODY, NOW).expect("first");
        assert_eq!(check(&v, &h, BODY, NOW + 1), Err(VerifyError::Replayed));
        // A retry is re-signed with a new timestamp but keeps its id: still
        // a duplicate for the receiver.
        let retry = f.sign("m-replay", NOW + 30);
        assert_eq!(
            check(&v, &retry, BODY, NOW + 30),
            Err(VerifyError::Replayed)
        );
    }
    // A clone shares the cache; a forged copy does not burn the id.
    let v = f.by_secret();
    let h = f.sign("m-2", NOW);
    let mut forged = h.clone();
    replace(
        &mut forged,
        "webhook-signature",
        format!("v1,{}", "A".repeat(43) + "="),
    );
    assert_eq!(
        check(&v, &forged, BODY, NOW),
        Err(VerifyError::BadSignature)
    );
    check(&v.clone(), &h, BODY, NOW).expect("the genuine one still passes");
    assert_eq!(check(&v, &h, BODY, NOW), Err(VerifyError::Replayed));
}

#[test]
fn a_full_replay_cache_refuses_instead_of_forgetting() {
    let f = Fixture::new();
    let v = Verifier::builder()
        .secret(f.secret.clone())
        .replay_cache(Arc::new(MemoryReplayCache::new(2)))
        .build()
        .expect("verifier");
    check(&v, &f.sign("a", NOW), BODY, NOW).expect("a");
    check(&v, &f.sign("b", NOW), BODY, NOW).expect("b");
    let r = check(&v, &f.sign("c", NOW), BODY, NOW);
    assert_eq!(r.as_ref().map_err(VerifyError::reason), Err("replay_cache"));
}

#[test]
fn a_notification_for_another_receiver_is_refused() {
    let f = Fixture::new();
    // Warden's key signs for every receiver: one meant for another URL
    // carries a valid v1a, and only the JWT's aud tells them apart.
    let h = f.sign_with(
        &f.webhook,
        &[],
        "m1",
        "https://other.example.com/hook",
        BODY,
        NOW,
    );
    assert_eq!(
        check(&f.by_keys(), &h, BODY, NOW),
        Err(VerifyError::WrongAudience)
    );
    // A URL that differs only by a trailing slash is another URL.
    let h = f.sign_with(&f.webhook, &[], "m2", &format!("{URL}/"), BODY, NOW);
    assert_eq!(
        check(&f.by_keys(), &h, BODY, NOW),
        Err(VerifyError::WrongAudience)
    );
    // With a secret, another subscription's secret.
    let other = SubscriptionSecret::generate().expect("secret");
    let h = f.sign_with(
        &f.webhook,
        &[other],
        "m3",
        "https://other.example.com/hook",
        BODY,
        NOW,
    );
    assert_eq!(
        check(&f.by_secret(), &h, BODY, NOW),
        Err(VerifyError::BadSignature)
    );
    // And a JWT without its header: the keys alone do not say who it is for.
    let mut h = f.sign("m4", NOW);
    h.retain(|(k, _)| *k != "warden-notification-jwt");
    assert!(matches!(
        check(&f.by_keys(), &h, BODY, NOW),
        Err(VerifyError::Malformed(why)) if why.contains("warden-notification-jwt")
    ));
}

#[test]
fn another_issuer_is_refused_when_pinned() {
    let f = Fixture::new();
    let n = Notification {
        id: "m1",
        body: BODY,
        url: URL,
        task_id: "t-1",
    };
    let h = Signer::new("https://elsewhere.example.com")
        .sign(&n, &[], &f.webhook, NOW)
        .expect("sign");
    assert_eq!(
        check(&f.by_keys(), &h, BODY, NOW),
        Err(VerifyError::WrongIssuer)
    );
}

#[test]
fn a_swapped_body_is_refused() {
    let f = Fixture::new();
    let other = br#"{"statusUpdate":{"taskId":"t-1","contextId":"c-1","status":{"state":"TASK_STATE_FAILED"}}}"#;
    let h = f.sign("m1", NOW);
    assert_eq!(
        check(&f.by_keys(), &h, other, NOW),
        Err(VerifyError::BodySwapped)
    );
    // Without the JWT the HMAC does not verify over the other body.
    assert_eq!(
        check(&f.by_secret(), &h, other, NOW),
        Err(VerifyError::BadSignature)
    );
    // Even one trailing newline is another body.
    let mut nl = BODY.to_vec();
    nl.push(b'\n');
    assert_eq!(
        check(&f.by_keys(), &f.sign("m2", NOW), &nl, NOW),
        Err(VerifyError::BodySwapped)
    );
}

#[test]
fn headers_that_disagree_with_the_jwt_are_refused() {
    let f = Fixture::new();
    let mut h = f.sign("m1", NOW);
    replace(&mut h, "webhook-id", "m2".into());
    assert!(
        matches!(check(&f.by_keys(), &h, BODY, NOW), Err(VerifyError::Malformed(w)) if w.contains("jti"))
    );
    let mut h = f.sign("m3", NOW);
    replace(&mut h, "webhook-timestamp", (NOW + 1).to_string());
    assert!(
        matches!(check(&f.by_keys(), &h, BODY, NOW), Err(VerifyError::Malformed(w)) if w.contains("iat"))
    );
}

#[test]
fn a_jwt_of_another_kind_is_refused() {
    let f = Fixture::new();
    // An access-token-shaped JWT signed by the webhook key: wrong typ.
    let claims = json!({"iss": ISSUER, "aud": URL, "iat": NOW, "exp": NOW + 60, "jti": "m1",
        "taskId": "t-1", "body_sha256": warden_webhooks::body_sha256(BODY)});
    let mut header = serde_json::Map::new();
    header.insert("typ".into(), json!("at+jwt"));
    let jwt = warden_trust::jws::sign_compact(&f.webhook, &header, claims.to_string().as_bytes());
    let mut h = f.sign("m1", NOW);
    replace(&mut h, "warden-notification-jwt", jwt);
    assert!(
        matches!(check(&f.by_keys(), &h, BODY, NOW), Err(VerifyError::Malformed(w)) if w.contains("typ"))
    );
}

#[test]
fn verifier_configuration_is_secure_by_default() {
    let f = Fixture::new();
    assert_eq!(Verifier::builder().build().err(), Some(ConfigError::NoKeys));
    assert_eq!(
        Verifier::builder().keys(f.jwks.clone()).build().err(),
        Some(ConfigError::NeedsReceiverUrl)
    );
    assert_eq!(
        Verifier::builder()
            .secret(f.secret.clone())
            .receiver_url(URL)
            .build()
            .err(),
        Some(ConfigError::UrlWithoutKeys)
    );
    // Secret and keys together: the JWT is checked and either signature
    // passes.
    let v = Verifier::builder()
        .secret(f.secret.clone())
        .keys(f.jwks.clone())
        .receiver_url(URL)
        .build()
        .expect("both");
    let h = f.sign("m1", NOW);
    let ok = check(&v, &h, BODY, NOW).expect("verifies");
    assert_eq!((ok.signature, ok.task_id.as_deref()), ("v1", Some("t-1")));
}

#[test]
fn a_header_map_verifies_like_pairs() {
    let f = Fixture::new();
    let mut map = http::HeaderMap::new();
    for (k, v) in f.sign("m1", NOW) {
        map.insert(k, http::HeaderValue::from_str(&v).expect("value"));
    }
    f.by_keys()
        .verify_header_map(&map, BODY, NOW)
        .expect("verifies");
}
