//! Card signatures Warden refuses (THREATS T7, tampered or forged cards):
//! `none` and HMAC, algorithms off the allow-list, headers that
//! choose keys or change processing, algorithm/key mismatches, wrong keys,
//! and card JSON that is not read strictly.

mod card_support;

use aws_lc_rs::hmac;
use card_support::*;
use serde_json::{Value, json};
use warden_trust::card_signature::{
    CanonicalForm, CardVerifyError, CardVerifyPolicy, SignatureRejection, canonical_payload,
    verify_card,
};
use warden_trust::jcs::{JcsError, JcsLimits};
use warden_trust::{JwsAlg, b64url_encode};

#[test]
fn none_and_hmac_are_refused() {
    let k = key(JwsAlg::Es256);
    let base = card();
    let none = {
        let protected = b64url_encode(
            json!({"alg": "none", "kid": k.kid()})
                .to_string()
                .as_bytes(),
        );
        json!({"protected": protected, "signature": ""})
    };
    // HS256 keyed with the public key: the classic confusion attack.
    let hs = {
        let protected = b64url_encode(
            json!({"alg": "HS256", "kid": k.kid(), "typ": "JOSE"})
                .to_string()
                .as_bytes(),
        );
        let payload = canonical_payload(
            base.to_string().as_bytes(),
            CanonicalForm::Rfc8785,
            JcsLimits::default(),
        )
        .expect("payload");
        let input = format!("{protected}.{}", b64url_encode(&payload));
        let secret = k.public_jwk().to_json().to_string();
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()),
            input.as_bytes(),
        );
        json!({"protected": protected, "signature": b64url_encode(tag.as_ref())})
    };
    let text = with_signatures(base, vec![none, hs]);
    assert_eq!(
        rejections(verify(&text, &keys(&[&k]))),
        vec![
            SignatureRejection::AlgorithmNotAllowed("none".into()),
            SignatureRejection::AlgorithmNotAllowed("HS256".into()),
        ]
    );
}

#[test]
fn algorithm_must_be_on_the_allow_list() {
    let k = key(JwsAlg::Es256);
    let text = signed(&k).to_string().into_bytes();
    let only_eddsa = CardVerifyPolicy::new(vec![JwsAlg::EdDsa]);
    assert!(matches!(
        verify_card(&text, &only_eddsa, &keys(&[&k])),
        Err(CardVerifyError::NoValidSignature(r)) if r == vec![SignatureRejection::AlgorithmNotAllowed("ES256".into())]
    ));
    let nothing = CardVerifyPolicy::new(Vec::new());
    assert!(verify_card(&text, &nothing, &keys(&[&k])).is_err());
}

#[test]
fn headers_that_pick_keys_or_change_processing_are_refused() {
    let k = key(JwsAlg::Es256);
    let jwk = k.public_jwk().to_json();
    let kid = k.kid();
    let base = card();
    let header = |extra: Value| {
        let mut h = json!({"alg": "ES256", "kid": kid, "typ": "JOSE"});
        for (name, v) in extra.as_object().expect("object") {
            h[name] = v.clone();
        }
        entry_with_header(&base, &k, &h, CanonicalForm::Rfc8785)
    };
    let mut unprotected_alg = header(json!({}));
    unprotected_alg["header"] = json!({"alg": "EdDSA"});
    let mut unprotected_kid = header(json!({}));
    unprotected_kid["header"] = json!({"kid": "other"});
    let mut unprotected_jwk = header(json!({}));
    unprotected_jwk["header"] = json!({"jwk": jwk});
    let cases = vec![
        (
            header(json!({"jwk": jwk})),
            SignatureRejection::EmbeddedKey("jwk"),
        ),
        (
            header(json!({"x5c": ["MIIB"]})),
            SignatureRejection::EmbeddedKey("x5c"),
        ),
        (
            header(json!({"x5u": "https://x.example/c.pem"})),
            SignatureRejection::EmbeddedKey("x5u"),
        ),
        (
            header(json!({"crit": ["exp"], "exp": 1})),
            SignatureRejection::UnsupportedCrit,
        ),
        (
            header(json!({"b64": false})),
            SignatureRejection::UnencodedPayload,
        ),
        (header(json!({"kid": ""})), SignatureRejection::MissingKid),
        (
            header(json!({"jku": 7})),
            SignatureRejection::BadHeaderMember("jku".into()),
        ),
        (
            unprotected_alg,
            SignatureRejection::BadHeaderMember("alg".into()),
        ),
        (
            unprotected_kid,
            SignatureRejection::BadHeaderMember("kid".into()),
        ),
        (unprotected_jwk, SignatureRejection::EmbeddedKey("jwk")),
        (
            json!({"protected": "!!", "signature": "AA"}),
            SignatureRejection::BadProtectedHeader,
        ),
        (
            json!({"protected": "e30", "signature": "AA", "extra": 1}),
            SignatureRejection::Shape,
        ),
        (json!("not an object"), SignatureRejection::Shape),
    ];
    for (entry, want) in cases {
        let text = with_signatures(base.clone(), vec![entry.clone()]);
        assert_eq!(
            rejections(verify(&text, &keys(&[&k]))),
            vec![want],
            "{entry}"
        );
    }
    // `b64: true` is the default and changes nothing.
    let text = with_signatures(base.clone(), vec![header(json!({"b64": true}))]);
    assert!(verify(&text, &keys(&[&k])).is_ok());
}

#[test]
fn algorithm_and_key_type_must_match() {
    let p256 = key(JwsAlg::Es256);
    let rsa = key(JwsAlg::Ps256);
    let base = card();
    // Signed by the P-256 key but labelled ES384; and an RS256 label on a
    // key published for PS256 only.
    let es384 = entry_with_header(
        &base,
        &p256,
        &json!({"alg": "ES384", "kid": p256.kid()}),
        CanonicalForm::Rfc8785,
    );
    let rs256 = entry_with_header(
        &base,
        &rsa,
        &json!({"alg": "RS256", "kid": rsa.kid()}),
        CanonicalForm::Rfc8785,
    );
    let text = with_signatures(base, vec![es384, rs256]);
    assert_eq!(
        rejections(verify(&text, &keys(&[&p256, &rsa]))),
        vec![
            SignatureRejection::KeyMismatch {
                kid: p256.kid().into(),
                alg: JwsAlg::Es384
            },
            SignatureRejection::KeyMismatch {
                kid: rsa.kid().into(),
                alg: JwsAlg::Rs256
            },
        ]
    );
}

#[test]
fn card_json_is_read_strictly() {
    let k = key(JwsAlg::EdDsa);
    let set = keys(&[&k]);
    let text = signed(&k).to_string();
    let dup = text.replacen("{\"name\":", "{\"name\":\"x\",\"name\":", 1);
    assert_eq!(
        verify(dup.as_bytes(), &set),
        Err(CardVerifyError::Json(JcsError::DuplicateKey("name".into())))
    );
    assert_eq!(
        verify(card().to_string().as_bytes(), &set),
        Err(CardVerifyError::NoSignatures)
    );
    assert_eq!(
        verify(br#"{"signatures":{}}"#, &set),
        Err(CardVerifyError::SignaturesNotArray)
    );
    assert_eq!(
        verify(br#"{"signatures":[]}"#, &set),
        Err(CardVerifyError::NoSignatures)
    );
    assert_eq!(verify(b"[]", &set), Err(CardVerifyError::NotAnObject));
    let many = with_signatures(card(), vec![json!({}); 9]);
    assert_eq!(
        verify(&many, &set),
        Err(CardVerifyError::TooManySignatures(8))
    );
}
