//! Agent Card signatures against the official Python SDK (a2a-sdk 1.3.0,
//! PyJWT 2.15.1, cryptography 50.0.2), both ways. The Python side is
//! `tests/interop/python/card_signing.py`, run with the interop venv
//! (`WARDEN_PYTHON`, else what `tests/interop/python/setup.sh` prints last).
//!
//! All five algorithms interoperate in both directions: the SDK signs
//! through PyJWT, which does ES256, ES384, EdDSA (Ed25519), RS256 and PS256
//! with the `cryptography` backend.

use serde_json::{Value, json};
use warden_trust::alg::ALL_ALGS;
use warden_trust::card_signature::{
    CanonicalForm, CardSigningOptions, CardVerifyError, CardVerifyPolicy, SignatureRejection,
    add_card_signature, canonical_payload,
};
use warden_trust::jcs::JcsLimits;
use warden_trust::{JwsAlg, KeySet, PublicJwk, SigningKey, VerifiedCard, verify_card};

use warden_test_support::interop::card_signing as tool;
use warden_test_support::reformatted;

/// A card in ProtoJSON form (what the SDK itself emits), with text and keys
/// where the naive canonicalisations go wrong: non-ASCII, a key above the
/// BMP next to one at U+FF01, numbers in extension params.
fn card() -> Value {
    json!({
        "name": "Café Agent ☕",
        "description": "Answers in 中文, with emoji 😀",
        "version": "1.0.0",
        "supportedInterfaces": [{
            "url": "https://agents.example/a2a/v1",
            "protocolBinding": "JSONRPC",
            "protocolVersion": "1.0"
        }],
        "provider": {"organization": "Example", "url": "https://example.org"},
        "capabilities": {
            "streaming": true,
            "pushNotifications": false,
            "extensions": [{
                "uri": "https://ext.example/x",
                "description": "params with numbers",
                "required": true,
                "params": {
                    "ratio": 0.000001, "count": 3, "big": 1e21, "half": 0.5,
                    "\u{ff01}": "fullwidth", "\u{1f600}": "grin",
                    "nested": {"b": [1.5, true, "x"], "a": "y"}
                }
            }]
        },
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain", "application/json"],
        "skills": [{
            "id": "echo", "name": "Echo", "description": "Echoes", "tags": ["echo"],
            "examples": ["héllo"]
        }]
    })
}

struct PyKey {
    private_pem: String,
    private_jwk: Value,
    jwk: PublicJwk,
}

fn python_key(alg: JwsAlg, kid: &str) -> PyKey {
    let (out, _) = tool("keygen", &json!({"alg": alg.as_str(), "kid": kid}));
    PyKey {
        private_pem: out["private_pem"].as_str().expect("pem").to_string(),
        private_jwk: out["private_jwk"].clone(),
        jwk: PublicJwk::from_json(&out["jwk"]).expect("Python's public JWK"),
    }
}

fn python_sign(card: &Value, key: &PyKey, alg: JwsAlg, kid: &str, form: &str) -> Value {
    let req = json!({"card": card, "private_pem": key.private_pem, "alg": alg.as_str(),
                     "kid": kid, "form": form});
    tool("sign", &req).0["card"].clone()
}

/// Whether the SDK's verifier accepts `card_text` with `jwk`.
fn python_verifies(card_text: &str, jwk: &PublicJwk, algorithms: &[JwsAlg]) -> bool {
    let algs: Vec<&str> = algorithms.iter().map(|a| a.as_str()).collect();
    let (out, code) = tool(
        "verify",
        &json!({"card_json": card_text, "jwk": jwk.to_json(), "algorithms": algs}),
    );
    assert_eq!(out["ok"] == json!(true), code == 0, "{out}");
    code == 0
}

fn warden_verify(card_text: &[u8], jwk: &PublicJwk) -> Result<VerifiedCard, CardVerifyError> {
    verify_card(
        card_text,
        &CardVerifyPolicy::new(ALL_ALGS.to_vec()),
        &KeySet::from_keys([jwk.clone()]),
    )
}

fn warden_signed(key: &SigningKey) -> Value {
    let mut c = card();
    add_card_signature(&mut c, key, &CardSigningOptions::default()).expect("Warden signs");
    c
}

#[test]
fn python_signs_warden_verifies_every_algorithm() {
    for alg in ALL_ALGS {
        let kid = format!("py-{alg}");
        let key = python_key(alg, &kid);
        let signed = python_sign(&card(), &key, alg, &kid, "sdk");
        let ok = warden_verify(signed.to_string().as_bytes(), &key.jwk)
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!((ok.alg, ok.kid.as_str()), (alg, kid.as_str()));
        // Python 1.3 and the specification agree on a card without empties.
        assert_eq!(ok.form, CanonicalForm::Rfc8785, "{alg}");
        // Reformatted (whitespace, member order), still the same card.
        assert!(
            warden_verify(reformatted(&signed).as_bytes(), &key.jwk).is_ok(),
            "{alg}"
        );
        // One altered byte (inside the name) and it no longer verifies.
        let altered = signed.to_string().replacen("Café", "Cafe", 1);
        assert!(
            warden_verify(altered.as_bytes(), &key.jwk).is_err(),
            "{alg}"
        );
        // Another key under the same kid does not verify it.
        let other = python_key(alg, &kid);
        assert_eq!(
            warden_verify(signed.to_string().as_bytes(), &other.jwk),
            Err(CardVerifyError::NoValidSignature(vec![
                SignatureRejection::BadSignature
            ])),
            "{alg}"
        );
    }
}

#[test]
fn warden_signs_python_verifies_every_algorithm() {
    for alg in ALL_ALGS {
        let key = SigningKey::generate(alg).expect("key");
        let signed = warden_signed(&key);
        let text = signed.to_string();
        assert!(python_verifies(&text, &key.public_jwk(), &[alg]), "{alg}");
        assert!(
            python_verifies(&reformatted(&signed), &key.public_jwk(), &[alg]),
            "{alg}"
        );
        let altered = text.replacen("Café", "Cafe", 1);
        assert!(
            !python_verifies(&altered, &key.public_jwk(), &[alg]),
            "{alg}"
        );
        let other = SigningKey::from_pkcs8(
            alg,
            SigningKey::generate(alg).expect("key").pkcs8(),
            Some(key.kid()),
        )
        .expect("other key");
        assert!(
            !python_verifies(&text, &other.public_jwk(), &[alg]),
            "{alg}"
        );
        // The SDK's allow-list is honoured too.
        let elsewhere = if alg == JwsAlg::EdDsa {
            JwsAlg::Es256
        } else {
            JwsAlg::EdDsa
        };
        assert!(
            !python_verifies(&text, &key.public_jwk(), &[elsewhere]),
            "{alg}"
        );
    }
}

#[test]
fn python_keys_load_as_warden_signing_keys() {
    for alg in ALL_ALGS {
        let key = python_key(alg, "py");
        let from_pem = SigningKey::from_key_bytes(key.private_pem.as_bytes(), alg, Some("pem"))
            .unwrap_or_else(|e| panic!("{alg} PEM: {e}"));
        let jwk_text = key.private_jwk.to_string();
        let from_jwk = SigningKey::from_key_bytes(jwk_text.as_bytes(), alg, Some("py"))
            .unwrap_or_else(|e| panic!("{alg} JWK: {e}"));
        assert_eq!(
            from_pem.public_jwk().thumbprint(),
            key.jwk.thumbprint(),
            "{alg}"
        );
        assert_eq!(
            from_jwk.public_jwk().thumbprint(),
            key.jwk.thumbprint(),
            "{alg}"
        );
        // A card signed with the loaded key verifies in Python with Python's
        // own public JWK.
        let mut c = card();
        add_card_signature(&mut c, &from_jwk, &CardSigningOptions::default()).expect("sign");
        assert!(python_verifies(&c.to_string(), &key.jwk, &[alg]), "{alg}");
    }
}

#[test]
fn canonical_forms_match_python_byte_for_byte() {
    let mut with_empties = card();
    with_empties["iconUrl"] = json!("");
    with_empties["capabilities"]["extensions"][0]["params"]["gone"] = json!({"a": [null, "", {}]});
    with_empties["capabilities"]["extensions"][0]["params"]["neg"] = json!(-0.0);
    for c in [card(), with_empties] {
        let (out, _) = tool("canonical", &json!({"card": c}));
        let ours = |form| {
            String::from_utf8(
                canonical_payload(c.to_string().as_bytes(), form, JcsLimits::default())
                    .expect("payload"),
            )
            .expect("UTF-8")
        };
        assert_eq!(
            ours(CanonicalForm::PythonSdk),
            out["python_sdk"].as_str().expect("text")
        );
        assert_eq!(
            ours(CanonicalForm::PythonSdkJsonDumps),
            out["json_dumps"].as_str().expect("text")
        );
    }
}

#[test]
fn python_signatures_over_empty_values_verify_through_the_python_reading() {
    let mut c = card();
    // An explicitly set empty optional: the SDK emits it, then drops it
    // before signing, so only the Python reading matches.
    c["iconUrl"] = json!("");
    let key = python_key(JwsAlg::Es256, "py");
    let signed = python_sign(&c, &key, JwsAlg::Es256, "py", "sdk");
    assert_eq!(signed["iconUrl"], json!(""));
    let ok = warden_verify(signed.to_string().as_bytes(), &key.jwk).expect("verifies");
    assert_eq!(ok.form, CanonicalForm::PythonSdk);
}

#[test]
fn older_python_sdk_signatures_verify_through_the_json_dumps_reading() {
    // a2a-sdk 1.0-1.2 signed json.dumps output (ASCII escapes, float repr).
    let key = python_key(JwsAlg::EdDsa, "py-old");
    let signed = python_sign(&card(), &key, JwsAlg::EdDsa, "py-old", "json-dumps");
    let ok = warden_verify(signed.to_string().as_bytes(), &key.jwk).expect("verifies");
    assert_eq!(ok.form, CanonicalForm::PythonSdkJsonDumps);
}

#[test]
fn none_and_hs256_signatures_are_refused() {
    let key = python_key(JwsAlg::Es256, "py");
    // HS256 keyed with public key material (PyJWT refuses a whole JWK or
    // PEM as an HMAC secret, not its coordinates): what anyone who knows
    // the public key can make with the SDK's own signer.
    let public = key.jwk.to_json();
    let secret = public["x"].as_str().expect("x").to_string();
    for (alg, signing_key) in [("HS256", secret.as_str()), ("none", "")] {
        let req = json!({"card": card(), "private_pem": signing_key, "alg": alg, "kid": "py"});
        let signed = tool("sign", &req).0["card"].clone();
        assert_eq!(
            warden_verify(signed.to_string().as_bytes(), &key.jwk),
            Err(CardVerifyError::NoValidSignature(vec![
                SignatureRejection::AlgorithmNotAllowed(alg.into())
            ])),
        );
    }
}

#[test]
fn the_python_sdk_drops_proto_defaults_so_warden_must_sign_protojson() {
    // `AgentExtension.required` has no presence: ProtoJSON omits `false`,
    // so the SDK's payload lacks it while the received card (and Warden's
    // RFC 8785 payload) has it. Cards Warden signs must already be in the
    // form ProtoJSON emits; this pins down why.
    let key = SigningKey::generate(JwsAlg::Es256).expect("key");
    let mut c = card();
    c["capabilities"]["extensions"][0]["required"] = json!(false);
    add_card_signature(&mut c, &key, &CardSigningOptions::default()).expect("sign");
    assert!(warden_verify(c.to_string().as_bytes(), &key.public_jwk()).is_ok());
    assert!(!python_verifies(
        &c.to_string(),
        &key.public_jwk(),
        &[JwsAlg::Es256]
    ));
}
