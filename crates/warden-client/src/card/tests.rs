//! Card verification and interface checks, without a network: the egress
//! answers names from the hostile corpus's table.

use std::sync::Arc;

use serde_json::{Value, json};
use warden_a2a::Binding;
use warden_egress::{Egress, EgressPolicy, Rules, StaticResolver};
use warden_trust::card_signature::{CardSigningOptions, add_card_signature};
use warden_trust::{JwsAlg, KeySet, SigningKey};

use super::{CardTrust, Interface, card_url, read_card};
use crate::error::ClientError;

const URL: &str = "https://agent.example.com/.well-known/agent-card.json";

fn egress() -> Egress {
    let policy = EgressPolicy {
        resolve: warden_egress::corpus::answers(),
        ..EgressPolicy::default()
    };
    Egress::with(
        Rules::new(policy).expect("rules"),
        Arc::new(StaticResolver::default()),
        None,
    )
    .expect("egress")
}

fn card(iface_url: &str) -> Value {
    json!({
        "name": "weather",
        "description": "forecasts",
        "version": "1",
        "supportedInterfaces": [
            {"url": iface_url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}
        ],
        "capabilities": {"streaming": true},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [{"id": "f", "name": "f", "description": "f", "tags": ["w"]}]
    })
}

fn signed(mut card: Value, key: &SigningKey, jku: Option<&str>) -> Vec<u8> {
    let options = CardSigningOptions {
        jku: jku.map(str::to_owned),
        ..CardSigningOptions::default()
    };
    add_card_signature(&mut card, key, &options).expect("sign");
    card.to_string().into_bytes()
}

fn key() -> SigningKey {
    SigningKey::generate(JwsAlg::Es256).expect("key")
}

fn trust(key: &SigningKey) -> CardTrust {
    CardTrust::pinned(KeySet::from_keys([key.public_jwk()]))
}

async fn read(body: &[u8], trust: &CardTrust) -> Result<super::VerifiedCard, ClientError> {
    read_card(&egress(), URL, body, trust).await
}

#[tokio::test]
async fn a_card_signed_by_a_pinned_key_is_verified() {
    let k = key();
    let v = read(
        &signed(card("https://agent.example.com/a2a"), &k, None),
        &trust(&k),
    )
    .await
    .expect("verified");
    assert_eq!(v.signed_by.as_deref(), Some(k.kid()));
    assert_eq!(v.card.name, "weather");
    assert!(v.has_signatures());
    let iface = Interface::from_card(&egress(), &v, Binding::JsonRpc)
        .await
        .expect("interface");
    assert_eq!(iface.url(), "https://agent.example.com/a2a");
}

#[tokio::test]
async fn an_unsigned_card_is_refused_unless_allowed() {
    let body = card("https://agent.example.com/a2a").to_string();
    let err = read(body.as_bytes(), &trust(&key()))
        .await
        .expect_err("unsigned");
    assert_eq!(err.reason(), "card_unsigned", "{err}");
    assert!(err.is_refusal());
    let lenient = CardTrust {
        require_signature: false,
        ..CardTrust::default()
    };
    let v = read(body.as_bytes(), &lenient).await.expect("accepted");
    assert_eq!(v.signed_by, None);
}

#[tokio::test]
async fn an_altered_card_is_refused_even_when_unsigned_cards_are_allowed() {
    let k = key();
    let body = signed(card("https://agent.example.com/a2a"), &k, None);
    let mut altered: Value = serde_json::from_slice(&body).expect("json");
    altered["supportedInterfaces"][0]["url"] = json!("https://evil.example.net/a2a");
    let altered = altered.to_string();
    for require_signature in [true, false] {
        let t = CardTrust {
            require_signature,
            ..trust(&k)
        };
        let err = read(altered.as_bytes(), &t).await.expect_err("altered");
        assert_eq!(err.reason(), "card_signature", "{err}");
        assert!(err.to_string().contains("does not verify"), "{err}");
    }
}

#[tokio::test]
async fn a_signature_by_an_unknown_key_proves_nothing() {
    let body = signed(card("https://agent.example.com/a2a"), &key(), None);
    let err = read(&body, &trust(&key())).await.expect_err("unknown key");
    assert_eq!(err.reason(), "card_signature");
    assert!(err.to_string().contains("no trusted key"), "{err}");
    // Without require_signature, it is taken as an unsigned card.
    let lenient = CardTrust {
        require_signature: false,
        ..trust(&key())
    };
    assert_eq!(read(&body, &lenient).await.expect("ok").signed_by, None);
}

#[tokio::test]
async fn a_jku_off_the_allow_list_is_not_followed() {
    // The signer names its own JWKS; the host is not allowed, so nothing is
    // fetched (the name does not even resolve) and the key is unknown.
    let k = key();
    let body = signed(
        card("https://agent.example.com/a2a"),
        &k,
        Some("https://keys.attacker.test/jwks.json"),
    );
    let t = CardTrust {
        allowed_jku_hosts: vec!["keys.example.com".into()],
        ..CardTrust::default()
    };
    let err = read(&body, &t).await.expect_err("jku not followed");
    assert_eq!(err.reason(), "card_signature", "{err}");
}

#[tokio::test]
async fn a_refused_allowed_jku_names_the_jwks() {
    // On the allow-list, but its address is in the deny table.
    let body = signed(
        card("https://agent.example.com/a2a"),
        &key(),
        Some("https://metadata.attacker.test/jwks.json"),
    );
    let t = CardTrust {
        allowed_jku_hosts: vec!["metadata.attacker.test".into()],
        ..CardTrust::default()
    };
    let err = read(&body, &t).await.expect_err("jwks refused");
    assert_eq!(err.reason(), "jwks", "{err}");
    assert!(err.to_string().contains("denied range"), "{err}");
}

#[tokio::test]
async fn a_hostile_interface_url_is_refused_with_the_egress_reason() {
    let k = key();
    for (url, reason) in [
        ("http://169.254.169.254/latest/meta-data/", "scheme"),
        (
            "https://169.254.169.254/latest/meta-data/",
            "denied_address",
        ),
        ("https://metadata.attacker.test/", "denied_address"),
        ("https://localhost/", "bad_host"),
        ("https://agent.example.com:8443/", "port"),
    ] {
        let v = read(&signed(card(url), &k, None), &trust(&k))
            .await
            .expect("the card itself verifies");
        let err = Interface::from_card(&egress(), &v, Binding::JsonRpc)
            .await
            .expect_err(url);
        assert_eq!(err.reason(), reason, "{url}: {err}");
        assert!(err.is_refusal());
        assert!(err.to_string().contains(url), "{err}");
    }
}

#[tokio::test]
async fn a_card_without_the_binding_or_with_bad_json_is_refused() {
    let k = key();
    let v = read(
        &signed(card("https://agent.example.com/a2a"), &k, None),
        &trust(&k),
    )
    .await
    .expect("verified");
    let err = Interface::from_card(&egress(), &v, Binding::Rest)
        .await
        .expect_err("no REST");
    assert_eq!(err.reason(), "no_interface");
    let dup = br#"{"name":"a","name":"b"}"#;
    assert_eq!(
        read(dup, &trust(&k)).await.expect_err("dup").reason(),
        "card_json"
    );
    let not_a_card = br#"{"name":"a"}"#;
    assert_eq!(
        read(not_a_card, &trust(&k))
            .await
            .expect_err("bad")
            .reason(),
        "card_invalid"
    );
}

#[test]
fn jwks_sets_merge_and_refuse_a_repeated_kid() {
    let (a, b) = (key(), key());
    let merged = CardTrust::merge([
        KeySet::from_keys([a.public_jwk()]),
        KeySet::from_keys([b.public_jwk()]),
    ])
    .expect("merge");
    assert_eq!(merged.len(), 2);
    let twice = CardTrust::merge([
        KeySet::from_keys([a.public_jwk()]),
        KeySet::from_keys([a.public_jwk()]),
    ]);
    assert!(twice.is_err());
    assert!(CardTrust::read_jwks(r#"{"keys": 1}"#).is_err());
}

#[test]
fn the_card_url_is_joined_on_the_parsed_base() {
    assert_eq!(
        card_url("http://127.0.0.1:9/agents/echo/").as_deref(),
        Ok("http://127.0.0.1:9/agents/echo/.well-known/agent-card.json")
    );
    for base in [
        "http://127.0.0.1:9#@example.com/",
        "http://127.0.0.1:9/?x#",
        "http://127.0.0.1:9/a?b",
    ] {
        assert_eq!(
            card_url(base).map_err(|e| e.reason()),
            Err("bad_url"),
            "{base}"
        );
    }
}
