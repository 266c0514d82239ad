//! Agent Card signatures (THREATS T7), Warden on both sides: every algorithm, tampering,
//! reformatting, the Python SDK's readings of a card, `jku`, several
//! signatures. Refusals: `card_signature_refusals.rs`; interop with the
//! Python SDK itself: `python_card_signing.rs`.

mod card_support;

use card_support::*;
use serde_json::{Value, json};
use warden_trust::alg::ALL_ALGS;
use warden_trust::card_signature::{
    CanonicalForm, CardSigningError, CardSigningOptions, CardVerifyPolicy, KeyRequest,
    SignatureRejection, add_card_signature, canonical_payload, signature_headers,
    strip_empty_values, verify_card,
};
use warden_trust::jcs::JcsLimits;
use warden_trust::{JwsAlg, KeySet, PublicJwk, SigningKey};

#[test]
fn every_algorithm_signs_and_verifies() {
    for alg in ALL_ALGS {
        let k = key(alg);
        let c = signed(&k);
        let header = &c["signatures"][0]["protected"];
        let header: Value = serde_json::from_slice(
            &warden_trust::b64url_decode(header.as_str().expect("protected")).expect("b64"),
        )
        .expect("header JSON");
        assert_eq!(
            header,
            json!({"alg": alg.as_str(), "kid": k.kid(), "typ": "JOSE"})
        );
        let ok = verify(c.to_string().as_bytes(), &keys(&[&k])).expect("verifies");
        assert_eq!((ok.alg, ok.kid.as_str(), ok.index), (alg, k.kid(), 0));
        assert_eq!(ok.form, CanonicalForm::Rfc8785);
    }
}

#[test]
fn any_altered_byte_fails() {
    let k = key(JwsAlg::EdDsa);
    let text = signed(&k).to_string().into_bytes();
    let set = keys(&[&k]);
    for i in 0..text.len() {
        let mut altered = text.clone();
        altered[i] ^= 0x01;
        assert!(
            verify(&altered, &set).is_err(),
            "flipping byte {i} ({:?}) still verified",
            char::from(text[i])
        );
    }
}

#[test]
fn reformatted_card_still_verifies() {
    let k = key(JwsAlg::Es256);
    let c = signed(&k);
    // Pretty-printed, members in reverse order, non-ASCII written as \u escapes.
    let pretty = warden_test_support::reformatted(&c);
    let escaped: String = pretty
        .chars()
        .map(|ch| {
            if ch.is_ascii() {
                ch.to_string()
            } else {
                let mut units = [0u16; 2];
                ch.encode_utf16(&mut units)
                    .iter()
                    .map(|u| format!("\\u{u:04x}"))
                    .collect()
            }
        })
        .collect();
    assert_ne!(escaped, c.to_string());
    assert!(verify(escaped.as_bytes(), &keys(&[&k])).is_ok());
}

#[test]
fn wrong_or_unknown_key_fails() {
    let k = key(JwsAlg::Es256);
    let text = signed(&k).to_string().into_bytes();
    let impostor = SigningKey::from_pkcs8(JwsAlg::Es256, key(JwsAlg::Es256).pkcs8(), Some(k.kid()))
        .expect("impostor");
    assert_eq!(
        rejections(verify(&text, &keys(&[&impostor]))),
        vec![SignatureRejection::BadSignature]
    );
    assert_eq!(
        rejections(verify(&text, &KeySet::default())),
        vec![SignatureRejection::UnknownKey(k.kid().into())]
    );
}

#[test]
fn python_readings_verify_when_they_differ() {
    let k = key(JwsAlg::EdDsa);
    let mut c = card();
    c["iconUrl"] = json!("");
    c["capabilities"]["extensions"][0]["params"]["gone"] = json!({"a": [null, ""]});
    for form in [CanonicalForm::PythonSdk, CanonicalForm::PythonSdkJsonDumps] {
        let entry = entry_with_header(
            &c,
            &k,
            &json!({"alg": "EdDSA", "kid": k.kid(), "jku": null}),
            form,
        );
        let text = with_signatures(c.clone(), vec![entry]);
        let ok = verify(&text, &keys(&[&k])).expect("verifies");
        assert_eq!(ok.form, form);
        // A verifier that only accepts the specification's reading refuses it.
        let strict = CardVerifyPolicy {
            forms: vec![CanonicalForm::Rfc8785],
            ..CardVerifyPolicy::new(ALL_ALGS.to_vec())
        };
        assert!(verify_card(&text, &strict, &keys(&[&k])).is_err());
    }
}

#[test]
fn python_readings_of_a_card() {
    let text = r#"{"b":"","a":{"x":[],"y":{},"z":null},"n":1e-7,"m":[0,false,""],
                  "é":"\u00e9","😀":1,"！":2,"signatures":[{"protected":"e30","signature":""}]}"#;
    let form = |f| {
        String::from_utf8(
            canonical_payload(text.as_bytes(), f, JcsLimits::default()).expect("payload"),
        )
        .expect("UTF-8")
    };
    assert_eq!(
        form(CanonicalForm::Rfc8785),
        r#"{"a":{"x":[],"y":{},"z":null},"b":"","m":[0,false,""],"n":1e-7,"é":"é","😀":1,"！":2}"#
    );
    assert_eq!(
        form(CanonicalForm::PythonSdk),
        r#"{"m":[0,false],"n":1e-7,"é":"é","😀":1,"！":2}"#
    );
    assert_eq!(
        form(CanonicalForm::PythonSdkJsonDumps),
        r#"{"m":[0.0,false],"n":1e-07,"\u00e9":"\u00e9","\uff01":2.0,"\ud83d\ude00":1.0}"#
    );
}

#[test]
fn warden_signs_only_cards_both_readings_agree_on() {
    let k = key(JwsAlg::Es256);
    let mut c = card();
    c["iconUrl"] = json!("");
    c["skills"][0]["examples"] = json!([]);
    assert_eq!(
        add_card_signature(&mut c, &k, &CardSigningOptions::default()),
        Err(CardSigningError::EmptyValues)
    );
    strip_empty_values(&mut c);
    assert!(c.get("iconUrl").is_none() && c["skills"][0].get("examples").is_none());
    add_card_signature(&mut c, &k, &CardSigningOptions::default()).expect("signs once stripped");
    assert!(verify(c.to_string().as_bytes(), &keys(&[&k])).is_ok());
}

#[test]
fn jku_is_handed_to_the_caller_never_fetched() {
    let k = key(JwsAlg::Es384);
    let mut c = card();
    let options = CardSigningOptions {
        jku: Some("https://agents.example/jwks.json".into()),
        ..CardSigningOptions::default()
    };
    add_card_signature(&mut c, &k, &options).expect("sign");
    let text = c.to_string().into_bytes();
    let policy = CardVerifyPolicy::new(ALL_ALGS.to_vec());
    let headers = signature_headers(&text, &policy).expect("headers");
    let header = headers[0].as_ref().expect("usable header");
    assert_eq!(
        header.jku.as_deref(),
        Some("https://agents.example/jwks.json")
    );
    let public = k.public_jwk();
    let lookup = |req: &KeyRequest<'_>| -> Option<PublicJwk> {
        (req.jku == Some("https://agents.example/jwks.json") && req.kid == k.kid())
            .then(|| public.clone())
    };
    let ok = verify_card(&text, &policy, &lookup).expect("verifies");
    assert_eq!(ok.jku.as_deref(), Some("https://agents.example/jwks.json"));
}

#[test]
fn any_one_valid_signature_passes() {
    let old = key(JwsAlg::Rs256);
    let new = key(JwsAlg::EdDsa);
    let mut c = card();
    add_card_signature(&mut c, &old, &CardSigningOptions::default()).expect("sign");
    add_card_signature(&mut c, &new, &CardSigningOptions::default()).expect("sign");
    assert_eq!(c["signatures"].as_array().map(Vec::len), Some(2));
    let ok = verify(c.to_string().as_bytes(), &keys(&[&new])).expect("second verifies");
    assert_eq!((ok.index, ok.alg), (1, JwsAlg::EdDsa));
}
