//! Shared fixtures for the card-signature tests: a card, keys, and signature
//! entries built by hand.

#![allow(dead_code)] // each test binary uses a different subset

use serde_json::{Value, json};
use warden_trust::alg::ALL_ALGS;
use warden_trust::card_signature::{
    CanonicalForm, CardSigningOptions, CardVerifyError, CardVerifyPolicy, SignatureRejection,
    add_card_signature, canonical_payload, verify_card,
};
use warden_trust::jcs::JcsLimits;
use warden_trust::{JwsAlg, KeySet, SigningKey, b64url_encode};

pub fn card() -> Value {
    json!({
        "name": "Café Agent",
        "description": "Answers in 中文, with emoji 😀",
        "version": "1.0.0",
        "supportedInterfaces": [{
            "url": "https://agents.example/a2a/v1",
            "protocolBinding": "JSONRPC",
            "protocolVersion": "1.0"
        }],
        "capabilities": {
            "streaming": true,
            "pushNotifications": false,
            "extensions": [{
                "uri": "https://ext.example/x",
                "params": {"ratio": 0.000001, "count": 3, "\u{ff01}": 1, "\u{1f600}": 2}
            }]
        },
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [{"id": "echo", "name": "Echo", "description": "Echoes", "tags": ["echo"]}]
    })
}

pub fn key(alg: JwsAlg) -> SigningKey {
    SigningKey::generate(alg).expect("generate a signing key")
}

pub fn signed(key: &SigningKey) -> Value {
    let mut c = card();
    add_card_signature(&mut c, key, &CardSigningOptions::default()).expect("sign");
    c
}

pub fn keys(list: &[&SigningKey]) -> KeySet {
    KeySet::from_keys(list.iter().map(|k| k.public_jwk()))
}

pub fn verify(card: &[u8], keys: &KeySet) -> Result<warden_trust::VerifiedCard, CardVerifyError> {
    verify_card(card, &CardVerifyPolicy::new(ALL_ALGS.to_vec()), keys)
}

pub fn rejections(
    result: Result<warden_trust::VerifiedCard, CardVerifyError>,
) -> Vec<SignatureRejection> {
    match result {
        Err(CardVerifyError::NoValidSignature(r)) => r,
        other => panic!("expected every signature rejected, got {other:?}"),
    }
}

/// A signature entry with a hand-made protected header, signed by `key`
/// over `form`'s payload of `card`.
pub fn entry_with_header(
    card: &Value,
    key: &SigningKey,
    header: &Value,
    form: CanonicalForm,
) -> Value {
    let protected = b64url_encode(header.to_string().as_bytes());
    let payload = canonical_payload(card.to_string().as_bytes(), form, JcsLimits::default())
        .expect("payload");
    let input = format!("{protected}.{}", b64url_encode(&payload));
    json!({"protected": protected, "signature": b64url_encode(&key.sign(input.as_bytes()))})
}

pub fn with_signatures(mut card: Value, entries: Vec<Value>) -> Vec<u8> {
    card["signatures"] = Value::Array(entries);
    card.to_string().into_bytes()
}
