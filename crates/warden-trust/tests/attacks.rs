//! The attack suite (THREATS T2, T3, T4): crafted tokens and DPoP proofs,
//! each built by hand and each refused with the expected error.
//!
//! Tokens are assembled from raw header and payload text (so duplicate
//! members and odd encodings can be expressed), signed with Warden's
//! `SigningKey`, with raw aws-lc-rs keys, or with an HMAC keyed by the
//! issuer's *public* key.

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use base64::Engine as _;
use serde_json::{Map, Value, json};
use warden_trust::alg::ALL_ALGS;
use warden_trust::dpop::{DpopError, access_token_hash};
use warden_trust::jwk::{Curve, JwkError, KeyMaterial};
use warden_trust::jws::sign_compact;
use warden_trust::{
    DpopPolicy, DpopRequest, IssuerPolicy, JwsAlg, KeySet, MemoryReplayCache, PublicJwk,
    ReplayCache, ReplayError, SigningKey, TokenError, b64url_encode, check_binding, verify_jwt,
    verify_proof,
};

const NOW: u64 = 1_800_000_000;
const ISS: &str = "https://warden.example";
const AUD: &str = "agent-b";
const KID: &str = "k1";

// ---------------------------------------------------------------- helpers

fn enc(s: &str) -> String {
    b64url_encode(s.as_bytes())
}

fn es256_key(kid: &str) -> SigningKey {
    let doc = EcdsaKeyPair::generate_pkcs8(
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &SystemRandom::new(),
    )
    .expect("generate P-256");
    SigningKey::from_pkcs8(JwsAlg::Es256, doc.as_ref(), Some(kid)).expect("load P-256")
}

/// Joins raw header and payload text and signs the input with `sign`.
fn token_with(header: &str, payload: &str, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!("{}.{}", enc(header), enc(payload));
    let sig = sign(input.as_bytes());
    format!("{input}.{}", b64url_encode(&sig))
}

fn signed(key: &SigningKey, header: &Value, payload: &Value) -> String {
    token_with(&header.to_string(), &payload.to_string(), |m| key.sign(m))
}

fn hs256(secret: &[u8]) -> impl Fn(&[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    move |m| hmac::sign(&key, m).as_ref().to_vec()
}

fn header(alg: &str, kid: &str) -> Value {
    json!({"alg": alg, "kid": kid, "typ": "at+jwt"})
}

fn claims() -> Value {
    json!({
        "iss": ISS,
        "sub": "agent-a",
        "aud": AUD,
        "iat": NOW,
        "exp": NOW + 300,
        "jti": "jti-1",
        "scope": "skill.echo",
    })
}

fn set(mut v: Value, name: &str, value: Value) -> Value {
    v.as_object_mut()
        .expect("object")
        .insert(name.into(), value);
    v
}

fn unset(mut v: Value, name: &str) -> Value {
    v.as_object_mut().expect("object").remove(name);
    v
}

/// The SubjectPublicKeyInfo of a P-256 point, as PEM: what a confused
/// verifier might use as an HMAC secret.
fn p256_pem(point: &[u8]) -> String {
    let mut der = vec![
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    der.extend_from_slice(point);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("ascii"));
        pem.push('\n');
    }
    pem.push_str("-----END PUBLIC KEY-----\n");
    pem
}

struct Issuer {
    key: SigningKey,
    /// A P-384 key and an Ed25519 key made with raw aws-lc-rs.
    p384: EcdsaKeyPair,
    ed: Ed25519KeyPair,
    keys: KeySet,
}

fn issuer() -> Issuer {
    let rng = SystemRandom::new();
    let key = es256_key(KID);
    let p384_doc = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P384_SHA384_FIXED_SIGNING, &rng)
        .expect("P-384 pkcs8");
    let p384 = EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        p384_doc.as_ref(),
    )
    .expect("P-384");
    let ed_doc = Ed25519KeyPair::generate_pkcs8(&rng).expect("Ed25519 pkcs8");
    let ed = Ed25519KeyPair::from_pkcs8(ed_doc.as_ref()).expect("Ed25519");
    let p384_jwk = PublicJwk {
        kid: Some("k384".into()),
        alg: None,
        material: KeyMaterial::Ec {
            curve: Curve::P384,
            point: p384.public_key().as_ref().to_vec(),
        },
    };
    let ed_jwk = PublicJwk {
        kid: Some("ked".into()),
        alg: Some(JwsAlg::EdDsa),
        material: KeyMaterial::Ed25519 {
            x: ed.public_key().as_ref().to_vec(),
        },
    };
    let keys = KeySet::from_keys([key.public_jwk(), p384_jwk, ed_jwk]);
    Issuer {
        key,
        p384,
        ed,
        keys,
    }
}

fn policy() -> IssuerPolicy {
    IssuerPolicy {
        issuer: ISS.into(),
        audiences: vec![AUD.into()],
        algorithms: vec![JwsAlg::Es256],
        typ: None,
        max_lifetime_secs: 600,
        leeway_secs: 30,
        max_token_bytes: 8 * 1024,
    }
}

fn policy_all_algs() -> IssuerPolicy {
    IssuerPolicy {
        algorithms: ALL_ALGS.to_vec(),
        ..policy()
    }
}

fn policy_at_jwt() -> IssuerPolicy {
    IssuerPolicy {
        typ: Some("at+jwt".into()),
        ..policy()
    }
}

/// What a caller may ever be told about a refused token.
const PUBLIC_DESCRIPTIONS: [&str; 5] = [
    "the token is not valid",
    "the token has expired",
    "the token is not valid yet",
    "the token is too large",
    "the token is not for this audience",
];

// ---------------------------------------------------------- access tokens

struct Case {
    name: &'static str,
    token: String,
    policy: IssuerPolicy,
    want: Result<(), TokenError>,
}

fn case(name: &'static str, token: String, want: TokenError) -> Case {
    Case {
        name,
        token,
        policy: policy(),
        want: Err(want),
    }
}

fn token_cases(iss: &Issuer) -> Vec<Case> {
    let k = &iss.key;
    let h = || header("ES256", KID);
    let c = claims;
    let good = signed(k, &h(), &c());
    let jwk = k.public_jwk().to_json();
    let jwk_bytes = jwk.to_string();
    let point = match k.public_jwk().material {
        KeyMaterial::Ec { point, .. } => point,
        _ => unreachable!("an ES256 key"),
    };
    let pem = p256_pem(&point);
    let (h_good, p_good, _) = {
        let mut it = good.split('.');
        (
            it.next().expect("h").to_string(),
            it.next().expect("p").to_string(),
            it.next().expect("s").to_string(),
        )
    };
    let other_key = es256_key(KID);
    let attacker = es256_key("attacker");
    let mut attacker_private = attacker.public_jwk().to_json();
    attacker_private
        .as_object_mut()
        .expect("object")
        .insert("d".into(), json!(b64url_encode(&[7u8; 32])));
    let rng = SystemRandom::new();
    vec![
        Case {
            name: "valid ES256 token (sign_compact)",
            token: sign_compact(
                k,
                &Map::from_iter([("typ".to_string(), json!("at+jwt"))]),
                c().to_string().as_bytes(),
            ),
            policy: policy_at_jwt(),
            want: Ok(()),
        },
        Case {
            name: "valid, typ application/at+jwt",
            token: signed(k, &set(h(), "typ", json!("application/at+jwt")), &c()),
            policy: policy_at_jwt(),
            want: Ok(()),
        },
        Case {
            name: "valid ES384 (raw aws-lc-rs)",
            token: token_with(
                &header("ES384", "k384").to_string(),
                &c().to_string(),
                |m| iss.p384.sign(&rng, m).expect("sign").as_ref().to_vec(),
            ),
            policy: policy_all_algs(),
            want: Ok(()),
        },
        Case {
            name: "valid EdDSA (raw aws-lc-rs)",
            token: token_with(&header("EdDSA", "ked").to_string(), &c().to_string(), |m| {
                iss.ed.sign(m).as_ref().to_vec()
            }),
            policy: policy_all_algs(),
            want: Ok(()),
        },
        Case {
            name: "valid, time claims as floats, aud array",
            token: signed(
                k,
                &h(),
                &set(
                    set(
                        set(c(), "iat", json!(NOW as f64 + 0.5)),
                        "exp",
                        json!(NOW as f64 + 10.25),
                    ),
                    "aud",
                    json!(["other", AUD]),
                ),
            ),
            policy: policy(),
            want: Ok(()),
        },
        // alg: none, with and without a signature, in several spellings.
        case(
            "alg none, empty signature",
            format!(
                "{}.{}.",
                enc(&json!({"alg": "none", "kid": KID}).to_string()),
                p_good
            ),
            TokenError::AlgorithmNotAllowed("none".into()),
        ),
        case(
            "alg none, with signature",
            signed(k, &header("none", KID), &c()),
            TokenError::AlgorithmNotAllowed("none".into()),
        ),
        case(
            "alg None",
            signed(k, &header("None", KID), &c()),
            TokenError::AlgorithmNotAllowed("None".into()),
        ),
        case(
            "alg NONE, no kid",
            format!("{}.{}.", enc(r#"{"alg":"NONE"}"#), p_good),
            TokenError::AlgorithmNotAllowed("NONE".into()),
        ),
        case(
            "alg missing",
            signed(k, &unset(h(), "alg"), &c()),
            TokenError::AlgorithmNotAllowed(String::new()),
        ),
        case(
            "alg not a string",
            signed(k, &set(h(), "alg", json!(["ES256"])), &c()),
            TokenError::AlgorithmNotAllowed(String::new()),
        ),
        // HS256 keyed with the issuer's public key.
        case(
            "HS256 keyed with the public JWK JSON",
            token_with(
                &header("HS256", KID).to_string(),
                &c().to_string(),
                hs256(jwk_bytes.as_bytes()),
            ),
            TokenError::AlgorithmNotAllowed("HS256".into()),
        ),
        case(
            "HS256 keyed with the public key PEM",
            token_with(
                &header("HS256", KID).to_string(),
                &c().to_string(),
                hs256(pem.as_bytes()),
            ),
            TokenError::AlgorithmNotAllowed("HS256".into()),
        ),
        case(
            "HS256 keyed with the raw public point",
            token_with(
                &header("HS256", KID).to_string(),
                &c().to_string(),
                hs256(&point),
            ),
            TokenError::AlgorithmNotAllowed("HS256".into()),
        ),
        Case {
            policy: policy_all_algs(),
            ..case(
                "HS512 keyed with the PEM, every algorithm allowed",
                token_with(&header("HS512", KID).to_string(), &c().to_string(), |m| {
                    let key = hmac::Key::new(hmac::HMAC_SHA512, pem.as_bytes());
                    hmac::sign(&key, m).as_ref().to_vec()
                }),
                TokenError::AlgorithmNotAllowed("HS512".into()),
            )
        },
        // Algorithm switch: an ES256 key, a token naming something else.
        case(
            "alg switch to RS256 (not allowed)",
            signed(k, &header("RS256", KID), &c()),
            TokenError::AlgorithmNotAllowed("RS256".into()),
        ),
        case(
            "alg switch to EdDSA (not allowed)",
            signed(k, &header("EdDSA", KID), &c()),
            TokenError::AlgorithmNotAllowed("EdDSA".into()),
        ),
        case(
            "alg switch to ES384 (not allowed)",
            signed(k, &header("ES384", KID), &c()),
            TokenError::AlgorithmNotAllowed("ES384".into()),
        ),
        Case {
            policy: policy_all_algs(),
            ..case(
                "alg switch to RS256 (allowed, key does not fit)",
                signed(k, &header("RS256", KID), &c()),
                TokenError::BadSignature,
            )
        },
        Case {
            policy: policy_all_algs(),
            ..case(
                "alg switch to PS256 (allowed, key does not fit)",
                signed(k, &header("PS256", KID), &c()),
                TokenError::BadSignature,
            )
        },
        Case {
            policy: policy_all_algs(),
            ..case(
                "alg switch to EdDSA (allowed, key does not fit)",
                signed(k, &header("EdDSA", KID), &c()),
                TokenError::BadSignature,
            )
        },
        Case {
            policy: policy_all_algs(),
            ..case(
                "alg switch to ES384 (allowed, key does not fit)",
                signed(k, &header("ES384", KID), &c()),
                TokenError::BadSignature,
            )
        },
        Case {
            policy: policy_all_algs(),
            ..case(
                "P-384 key's signature labelled ES256",
                token_with(
                    &header("ES256", "k384").to_string(),
                    &c().to_string(),
                    |m| iss.p384.sign(&rng, m).expect("sign").as_ref().to_vec(),
                ),
                TokenError::BadSignature,
            )
        },
        Case {
            policy: policy_all_algs(),
            ..case(
                "Ed25519 key's kid with an ES256 signature",
                token_with(&header("ES256", "ked").to_string(), &c().to_string(), |m| {
                    k.sign(m)
                }),
                TokenError::BadSignature,
            )
        },
        // kid.
        case(
            "missing kid",
            signed(k, &unset(h(), "kid"), &c()),
            TokenError::MissingKid,
        ),
        case(
            "empty kid",
            signed(k, &header("ES256", ""), &c()),
            TokenError::MissingKid,
        ),
        case(
            "kid not a string",
            signed(k, &set(h(), "kid", json!(1)), &c()),
            TokenError::MissingKid,
        ),
        case(
            "kid of 300 bytes",
            signed(k, &header("ES256", &"k".repeat(300)), &c()),
            TokenError::MissingKid,
        ),
        case(
            "unknown kid",
            signed(k, &header("ES256", "k2"), &c()),
            TokenError::UnknownKid("k2".into()),
        ),
        case(
            "kid differs in case",
            signed(k, &header("ES256", "K1"), &c()),
            TokenError::UnknownKid("K1".into()),
        ),
        case(
            "kid path traversal",
            signed(k, &header("ES256", "../../../../../../dev/null"), &c()),
            TokenError::UnknownKid("../../../../../../dev/null".into()),
        ),
        case(
            "kid SQL injection",
            signed(k, &header("ES256", "x' OR '1'='1' --"), &c()),
            TokenError::UnknownKid("x' OR '1'='1' --".into()),
        ),
        case(
            "kid with NUL",
            signed(k, &header("ES256", "k1\u{0}"), &c()),
            TokenError::UnknownKid("k1\u{0}".into()),
        ),
        case(
            "kid as a URL",
            signed(
                k,
                &header("ES256", "https://evil.example/jwks.json#k1"),
                &c(),
            ),
            TokenError::UnknownKid("https://evil.example/jwks.json#k1".into()),
        ),
        // Signature.
        case(
            "same kid, another key",
            signed(&other_key, &h(), &c()),
            TokenError::BadSignature,
        ),
        case(
            "payload swapped after signing",
            {
                let evil = enc(&set(c(), "scope", json!("admin")).to_string());
                let sig = good.rsplit('.').next().expect("sig");
                format!("{h_good}.{evil}.{sig}")
            },
            TokenError::BadSignature,
        ),
        case(
            "signature truncated",
            {
                let sig = warden_trust::b64url_decode(good.rsplit('.').next().expect("sig"))
                    .expect("b64");
                format!("{h_good}.{p_good}.{}", b64url_encode(&sig[..sig.len() - 3]))
            },
            TokenError::BadSignature,
        ),
        case(
            "empty signature",
            format!("{h_good}.{p_good}."),
            TokenError::BadSignature,
        ),
        // Time.
        case(
            "expired",
            signed(
                k,
                &h(),
                &set(set(c(), "iat", json!(NOW - 400)), "exp", json!(NOW - 31)),
            ),
            TokenError::Expired,
        ),
        case(
            "not yet valid (nbf)",
            signed(k, &h(), &set(c(), "nbf", json!(NOW + 100))),
            TokenError::NotYetValid,
        ),
        case(
            "iat in the future",
            signed(
                k,
                &h(),
                &set(set(c(), "iat", json!(NOW + 100)), "exp", json!(NOW + 200)),
            ),
            TokenError::IssuedInFuture,
        ),
        case(
            "lifetime too long",
            signed(k, &h(), &set(c(), "exp", json!(NOW + 601))),
            TokenError::LifetimeTooLong(600),
        ),
        case(
            "exp missing",
            signed(k, &h(), &unset(c(), "exp")),
            TokenError::BadClaim("exp"),
        ),
        case(
            "exp as a string",
            signed(k, &h(), &set(c(), "exp", json!("1800000300"))),
            TokenError::BadClaim("exp"),
        ),
        case(
            "exp negative",
            signed(k, &h(), &set(c(), "exp", json!(-1))),
            TokenError::BadClaim("exp"),
        ),
        case(
            "iat missing",
            signed(k, &h(), &unset(c(), "iat")),
            TokenError::BadClaim("iat"),
        ),
        // Audience and issuer.
        case(
            "wrong aud",
            signed(k, &h(), &set(c(), "aud", json!("agent-c"))),
            TokenError::WrongAudience,
        ),
        case(
            "aud array without ours",
            signed(k, &h(), &set(c(), "aud", json!(["agent-c", "agent-d"]))),
            TokenError::WrongAudience,
        ),
        case(
            "aud missing",
            signed(k, &h(), &unset(c(), "aud")),
            TokenError::BadClaim("aud"),
        ),
        case(
            "wrong iss",
            signed(k, &h(), &set(c(), "iss", json!("https://evil.example"))),
            TokenError::WrongIssuer,
        ),
        case(
            "iss with a trailing slash",
            signed(k, &h(), &set(c(), "iss", json!(format!("{ISS}/")))),
            TokenError::WrongIssuer,
        ),
        case(
            "iss missing",
            signed(k, &h(), &unset(c(), "iss")),
            TokenError::BadClaim("iss"),
        ),
        // jti.
        case(
            "missing jti",
            signed(k, &h(), &unset(c(), "jti")),
            TokenError::BadClaim("jti"),
        ),
        case(
            "empty jti",
            signed(k, &h(), &set(c(), "jti", json!(""))),
            TokenError::BadClaim("jti"),
        ),
        case(
            "jti not a string",
            signed(k, &h(), &set(c(), "jti", json!(42))),
            TokenError::BadClaim("jti"),
        ),
        case(
            "jti of 300 bytes",
            signed(k, &h(), &set(c(), "jti", json!("j".repeat(300)))),
            TokenError::BadClaim("jti"),
        ),
        // Header extensions and embedded keys.
        case(
            "unknown crit",
            signed(
                k,
                &set(
                    set(h(), "crit", json!(["x-warden-ext"])),
                    "x-warden-ext",
                    json!(1),
                ),
                &c(),
            ),
            TokenError::UnsupportedCrit,
        ),
        case(
            "empty crit",
            signed(k, &set(h(), "crit", json!([])), &c()),
            TokenError::UnsupportedCrit,
        ),
        case(
            "b64:false under crit",
            signed(
                k,
                &set(set(h(), "b64", json!(false)), "crit", json!(["b64"])),
                &c(),
            ),
            TokenError::UnsupportedCrit,
        ),
        case(
            "embedded public jwk (attacker's key)",
            signed(
                &attacker,
                &set(h(), "jwk", attacker.public_jwk().to_json()),
                &c(),
            ),
            TokenError::EmbeddedKey("jwk"),
        ),
        case(
            "embedded private jwk",
            signed(&attacker, &set(h(), "jwk", attacker_private.clone()), &c()),
            TokenError::EmbeddedKey("jwk"),
        ),
        case(
            "embedded oct jwk with HS256",
            token_with(
                &set(
                    header("HS256", KID),
                    "jwk",
                    json!({"kty": "oct", "k": b64url_encode(b"secret")}),
                )
                .to_string(),
                &c().to_string(),
                hs256(b"secret"),
            ),
            TokenError::AlgorithmNotAllowed("HS256".into()),
        ),
        case(
            "embedded oct jwk with ES256",
            signed(
                k,
                &set(
                    h(),
                    "jwk",
                    json!({"kty": "oct", "k": b64url_encode(b"secret")}),
                ),
                &c(),
            ),
            TokenError::EmbeddedKey("jwk"),
        ),
        case(
            "jku",
            signed(
                &attacker,
                &set(h(), "jku", json!("https://evil.example/jwks.json")),
                &c(),
            ),
            TokenError::EmbeddedKey("jku"),
        ),
        case(
            "x5u",
            signed(
                &attacker,
                &set(h(), "x5u", json!("https://evil.example/cert.pem")),
                &c(),
            ),
            TokenError::EmbeddedKey("x5u"),
        ),
        case(
            "x5c",
            signed(&attacker, &set(h(), "x5c", json!(["MIIB"])), &c()),
            TokenError::EmbeddedKey("x5c"),
        ),
        // Size and shape.
        case(
            "oversized token",
            signed(k, &h(), &set(c(), "pad", json!("x".repeat(9000)))),
            TokenError::TooLarge,
        ),
        case(
            "oversized garbage",
            "a".repeat(1 << 20),
            TokenError::TooLarge,
        ),
        case("empty token", String::new(), TokenError::Malformed),
        case(
            "two segments",
            format!("{h_good}.{p_good}"),
            TokenError::Malformed,
        ),
        case(
            "four segments",
            format!("{good}.AAAA"),
            TokenError::Malformed,
        ),
        case(
            "five segments (JWE shape)",
            format!("{h_good}..{p_good}.AAAA.AAAA"),
            TokenError::Malformed,
        ),
        case(
            "padded base64 header",
            good.replacen('.', "=.", 1),
            TokenError::Malformed,
        ),
        case(
            "padded base64 signature",
            format!("{good}=="),
            TokenError::Malformed,
        ),
        case(
            "standard-alphabet character",
            format!("{h_good}.{p_good}+.AAAA"),
            TokenError::Malformed,
        ),
        case(
            "whitespace inside",
            format!("{h_good}. {p_good}.AAAA"),
            TokenError::Malformed,
        ),
        case(
            "header not JSON",
            format!("{}.{p_good}.AAAA", enc("not json")),
            TokenError::Malformed,
        ),
        case(
            "header a JSON array",
            format!("{}.{p_good}.AAAA", enc(r#"["ES256"]"#)),
            TokenError::Malformed,
        ),
        case(
            "payload not JSON (signed)",
            token_with(&h().to_string(), "not json", |m| k.sign(m)),
            TokenError::Malformed,
        ),
        case(
            "payload a JSON array (signed)",
            token_with(&h().to_string(), "[1,2]", |m| k.sign(m)),
            TokenError::Malformed,
        ),
        // Duplicate members: a parser differential.
        case(
            "duplicate alg in header (ES256 then none)",
            token_with(
                r#"{"alg":"ES256","kid":"k1","alg":"none"}"#,
                &c().to_string(),
                |m| k.sign(m),
            ),
            TokenError::Malformed,
        ),
        case(
            "duplicate kid in header",
            token_with(
                r#"{"alg":"ES256","kid":"k1","kid":"k2"}"#,
                &c().to_string(),
                |m| k.sign(m),
            ),
            TokenError::Malformed,
        ),
        case(
            "duplicate aud in payload (signed)",
            token_with(
                &h().to_string(),
                &format!(
                    r#"{{"iss":"{ISS}","aud":"agent-c","aud":"{AUD}","iat":{NOW},"exp":{},"jti":"j"}}"#,
                    NOW + 60
                ),
                |m| k.sign(m),
            ),
            TokenError::Malformed,
        ),
        case(
            "duplicate via escape in payload (signed)",
            token_with(
                &h().to_string(),
                &format!(
                    r#"{{"iss":"{ISS}","aud":"{AUD}","\u0061ud":"agent-c","iat":{NOW},"exp":{},"jti":"j"}}"#,
                    NOW + 60
                ),
                |m| k.sign(m),
            ),
            TokenError::Malformed,
        ),
        // typ.
        Case {
            policy: policy_at_jwt(),
            ..case(
                "typ JWT when at+jwt required",
                signed(k, &set(h(), "typ", json!("JWT")), &c()),
                TokenError::WrongTyp("at+jwt".into()),
            )
        },
        Case {
            policy: policy_at_jwt(),
            ..case(
                "typ missing when at+jwt required",
                signed(k, &unset(h(), "typ"), &c()),
                TokenError::WrongTyp("at+jwt".into()),
            )
        },
        Case {
            policy: policy_at_jwt(),
            ..case(
                "typ dpop+jwt when at+jwt required",
                signed(k, &set(h(), "typ", json!("dpop+jwt")), &c()),
                TokenError::WrongTyp("at+jwt".into()),
            )
        },
    ]
}

#[test]
fn crafted_tokens_are_refused() {
    let iss = issuer();
    let cases = token_cases(&iss);
    let mut failures = Vec::new();
    for c in &cases {
        let got = verify_jwt(&c.token, &c.policy, &iss.keys, NOW).map(|_| ());
        if got != c.want {
            failures.push(format!("{}: got {got:?}, want {:?}", c.name, c.want));
        }
        if let Err(e) = &got {
            let d = e.public_description();
            if !PUBLIC_DESCRIPTIONS.contains(&d) || d.contains(KID) {
                failures.push(format!("{}: public description {d:?}", c.name));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(cases.len() >= 80, "{} cases", cases.len());
}

#[test]
fn der_ecdsa_signature_is_refused_for_a_known_key() {
    let rng = SystemRandom::new();
    let doc = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
        .expect("pkcs8");
    let der = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, doc.as_ref())
        .expect("pair");
    let fixed = SigningKey::from_pkcs8(JwsAlg::Es256, doc.as_ref(), Some("der")).expect("key");
    let keys = KeySet::from_keys([fixed.public_jwk()]);
    let token = token_with(
        &header("ES256", "der").to_string(),
        &claims().to_string(),
        |m| der.sign(&rng, m).expect("sign").as_ref().to_vec(),
    );
    assert_eq!(
        verify_jwt(&token, &policy(), &keys, NOW).map(|_| ()),
        Err(TokenError::BadSignature)
    );
    // The same key with the fixed encoding passes.
    let ok = signed(&fixed, &header("ES256", "der"), &claims());
    assert!(verify_jwt(&ok, &policy(), &keys, NOW).is_ok());
}

#[test]
fn leeway_edges() {
    let iss = issuer();
    let k = &iss.key;
    let h = header("ES256", KID);
    let at = |claims: Value| verify_jwt(&signed(k, &h, &claims), &policy(), &iss.keys, NOW);
    // exp exactly `leeway` ago still passes; one second more does not.
    let exp_edge = set(
        set(claims(), "iat", json!(NOW - 300)),
        "exp",
        json!(NOW - 30),
    );
    assert!(at(exp_edge).is_ok());
    let exp_past = set(
        set(claims(), "iat", json!(NOW - 300)),
        "exp",
        json!(NOW - 31),
    );
    assert_eq!(at(exp_past).map(|_| ()), Err(TokenError::Expired));
    let nbf_edge = set(claims(), "nbf", json!(NOW + 30));
    assert!(at(nbf_edge).is_ok());
    let iat_edge = set(
        set(claims(), "iat", json!(NOW + 30)),
        "exp",
        json!(NOW + 60),
    );
    assert!(at(iat_edge).is_ok());
    let life_edge = set(claims(), "exp", json!(NOW + 600));
    assert!(at(life_edge).is_ok());
}

#[test]
fn bearer_token_is_single_use() {
    let iss = issuer();
    let token = signed(&iss.key, &header("ES256", KID), &claims());
    let cache = MemoryReplayCache::new(16);
    let leeway = policy().leeway_secs;
    // As the gateway does: remember the jti for as long as verify_jwt would
    // still accept the token, i.e. until exp + leeway. Remembering it only
    // until exp would reopen a replay window of `leeway` seconds.
    let admit = |token: &str, now: u64| -> Result<(), String> {
        let v = verify_jwt(token, &policy(), &iss.keys, now).map_err(|e| e.to_string())?;
        cache
            .check_and_insert(
                &format!("jwt:{ISS}:{}", v.claims.jti),
                v.claims.exp.saturating_add(leeway),
                now,
            )
            .map_err(|e| e.to_string())
    };
    let replayed = Err(ReplayError::Replayed.to_string());
    assert_eq!(admit(&token, NOW), Ok(()));
    assert_eq!(admit(&token, NOW + 1), replayed);
    assert_eq!(admit(&token, NOW + 300), replayed);
    // Past exp but within leeway: still accepted by verify_jwt, so the
    // cache must still refuse it.
    assert_eq!(admit(&token, NOW + 330), replayed);
    // After exp + leeway the token itself is refused.
    assert_eq!(
        admit(&token, NOW + 331),
        Err(TokenError::Expired.to_string())
    );
    // A different jti is a different token.
    let other = signed(
        &iss.key,
        &header("ES256", KID),
        &set(claims(), "jti", json!("jti-2")),
    );
    assert_eq!(admit(&other, NOW), Ok(()));
    assert_eq!(admit(&other, NOW + 2), replayed);
}

// ------------------------------------------------------------- DPoP proofs

const AT: &str = "eyJhbGciOiJFUzI1NiJ9.access.token";
const URL: &str = "https://gw.example:443/a2a/agent-b?tenant=x";
const HTU: &str = "https://gw.example/a2a/agent-b";

fn client_key(alg: JwsAlg) -> SigningKey {
    SigningKey::generate(alg).expect("client key")
}

/// The public JWK as a client puts it in a proof: no kid, no use.
fn proof_jwk(key: &SigningKey) -> Value {
    let mut v = key.public_jwk().to_json();
    let o = v.as_object_mut().expect("object");
    o.remove("kid");
    o.remove("use");
    v
}

fn proof_header(key: &SigningKey) -> Value {
    json!({"typ": "dpop+jwt", "alg": key.alg().as_str(), "jwk": proof_jwk(key)})
}

fn proof_claims() -> Value {
    json!({
        "jti": "proof-1",
        "htm": "POST",
        "htu": HTU,
        "iat": NOW,
        "ath": access_token_hash(AT),
    })
}

fn request() -> DpopRequest<'static> {
    DpopRequest {
        method: "POST",
        url: URL,
        access_token: Some(AT),
        nonce: None,
    }
}

struct ProofCase {
    name: &'static str,
    proof: String,
    req: DpopRequest<'static>,
    want: Result<(), DpopError>,
}

fn pcase(name: &'static str, proof: String, want: DpopError) -> ProofCase {
    ProofCase {
        name,
        proof,
        req: request(),
        want: Err(want),
    }
}

fn proof_cases() -> Vec<ProofCase> {
    let k = client_key(JwsAlg::Es256);
    let ed = client_key(JwsAlg::EdDsa);
    let other = client_key(JwsAlg::Es256);
    let h = || proof_header(&k);
    let c = proof_claims;
    let mut private = proof_jwk(&k);
    private
        .as_object_mut()
        .expect("object")
        .insert("d".into(), json!(b64url_encode(&[9u8; 32])));
    let oct = json!({"kty": "oct", "k": b64url_encode(b"shared secret")});
    vec![
        ProofCase {
            name: "valid ES256 proof",
            proof: signed(&k, &h(), &c()),
            req: request(),
            want: Ok(()),
        },
        ProofCase {
            name: "valid EdDSA proof",
            proof: signed(&ed, &proof_header(&ed), &c()),
            req: request(),
            want: Ok(()),
        },
        ProofCase {
            name: "valid, jwk with kid (ignored)",
            proof: signed(&k, &set(h(), "jwk", k.public_jwk().to_json()), &c()),
            req: request(),
            want: Ok(()),
        },
        ProofCase {
            name: "valid without a token (no ath needed)",
            proof: signed(&k, &h(), &unset(c(), "ath")),
            req: DpopRequest {
                access_token: None,
                ..request()
            },
            want: Ok(()),
        },
        ProofCase {
            name: "valid, htu host case and explicit default port",
            proof: signed(
                &k,
                &h(),
                &set(c(), "htu", json!("HTTPS://GW.EXAMPLE:443/a2a/agent-b#f")),
            ),
            req: request(),
            want: Ok(()),
        },
        ProofCase {
            name: "valid with the expected nonce",
            proof: signed(&k, &h(), &set(c(), "nonce", json!("n-1"))),
            req: DpopRequest {
                nonce: Some("n-1"),
                ..request()
            },
            want: Ok(()),
        },
        // Key.
        pcase(
            "signed by another key than its jwk",
            signed(&other, &h(), &c()),
            DpopError::BadSignature,
        ),
        pcase(
            "jwk of an EdDSA key, ES256 signature",
            signed(&k, &set(h(), "jwk", proof_jwk(&ed)), &c()),
            DpopError::KeyAlgMismatch(JwsAlg::Es256),
        ),
        pcase(
            "private jwk in header",
            signed(&k, &set(h(), "jwk", private.clone()), &c()),
            DpopError::BadJwk(JwkError::PrivateMember("d")),
        ),
        pcase(
            "oct jwk, ES256",
            signed(&k, &set(h(), "jwk", oct.clone()), &c()),
            DpopError::BadJwk(JwkError::PrivateMember("k")),
        ),
        pcase(
            "oct jwk, HS256 keyed with it",
            token_with(
                &json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": oct}).to_string(),
                &c().to_string(),
                hs256(b"shared secret"),
            ),
            DpopError::AlgorithmNotAllowed("HS256".into()),
        ),
        pcase(
            "HS256 keyed with the public jwk",
            token_with(
                &set(h(), "alg", json!("HS256")).to_string(),
                &c().to_string(),
                hs256(proof_jwk(&k).to_string().as_bytes()),
            ),
            DpopError::AlgorithmNotAllowed("HS256".into()),
        ),
        pcase(
            "alg none",
            format!(
                "{}.{}.",
                enc(&set(h(), "alg", json!("none")).to_string()),
                enc(&c().to_string())
            ),
            DpopError::AlgorithmNotAllowed("none".into()),
        ),
        pcase(
            "jwk missing",
            signed(&k, &unset(h(), "jwk"), &c()),
            DpopError::MissingJwk,
        ),
        pcase(
            "jwk not an object",
            signed(&k, &set(h(), "jwk", json!("key")), &c()),
            DpopError::BadJwk(JwkError::NotObject),
        ),
        pcase(
            "jku instead of jwk",
            signed(
                &k,
                &set(h(), "jku", json!("https://evil.example/jwks")),
                &c(),
            ),
            DpopError::OtherKeySource("jku"),
        ),
        pcase(
            "x5c beside jwk",
            signed(&k, &set(h(), "x5c", json!(["MIIB"])), &c()),
            DpopError::OtherKeySource("x5c"),
        ),
        pcase(
            "crit",
            signed(&k, &set(h(), "crit", json!(["x"])), &c()),
            DpopError::UnsupportedCrit,
        ),
        // typ.
        pcase(
            "typ missing",
            signed(&k, &unset(h(), "typ"), &c()),
            DpopError::WrongTyp,
        ),
        pcase(
            "typ JWT",
            signed(&k, &set(h(), "typ", json!("JWT")), &c()),
            DpopError::WrongTyp,
        ),
        pcase(
            "typ at+jwt (an access token as proof)",
            signed(&k, &set(h(), "typ", json!("at+jwt")), &c()),
            DpopError::WrongTyp,
        ),
        pcase(
            "typ application/dpop+jwt (not exact)",
            signed(&k, &set(h(), "typ", json!("application/dpop+jwt")), &c()),
            DpopError::WrongTyp,
        ),
        // Method and URL.
        pcase(
            "wrong htm",
            signed(&k, &h(), &set(c(), "htm", json!("GET"))),
            DpopError::WrongMethod,
        ),
        pcase(
            "htm in lower case",
            signed(&k, &h(), &set(c(), "htm", json!("post"))),
            DpopError::WrongMethod,
        ),
        pcase(
            "htm missing",
            signed(&k, &h(), &unset(c(), "htm")),
            DpopError::BadClaim("htm"),
        ),
        pcase(
            "wrong htu host",
            signed(
                &k,
                &h(),
                &set(c(), "htu", json!("https://evil.example/a2a/agent-b")),
            ),
            DpopError::WrongUrl,
        ),
        pcase(
            "wrong htu path",
            signed(
                &k,
                &h(),
                &set(c(), "htu", json!("https://gw.example/a2a/agent-c")),
            ),
            DpopError::WrongUrl,
        ),
        pcase(
            "wrong htu scheme",
            signed(
                &k,
                &h(),
                &set(c(), "htu", json!("http://gw.example/a2a/agent-b")),
            ),
            DpopError::WrongUrl,
        ),
        pcase(
            "wrong htu port",
            signed(
                &k,
                &h(),
                &set(c(), "htu", json!("https://gw.example:8443/a2a/agent-b")),
            ),
            DpopError::WrongUrl,
        ),
        pcase(
            "htu with userinfo",
            signed(
                &k,
                &h(),
                &set(
                    c(),
                    "htu",
                    json!("https://gw.example@evil.example/a2a/agent-b"),
                ),
            ),
            DpopError::WrongUrl,
        ),
        pcase(
            "htu relative",
            signed(&k, &h(), &set(c(), "htu", json!("/a2a/agent-b"))),
            DpopError::WrongUrl,
        ),
        pcase(
            "htu missing",
            signed(&k, &h(), &unset(c(), "htu")),
            DpopError::BadClaim("htu"),
        ),
        // ath.
        pcase(
            "wrong ath",
            signed(
                &k,
                &h(),
                &set(c(), "ath", json!(access_token_hash("another token"))),
            ),
            DpopError::WrongAth,
        ),
        pcase(
            "missing ath with a token",
            signed(&k, &h(), &unset(c(), "ath")),
            DpopError::WrongAth,
        ),
        pcase(
            "ath of the raw token, not its hash",
            signed(&k, &h(), &set(c(), "ath", json!(AT))),
            DpopError::WrongAth,
        ),
        // Time.
        pcase(
            "stale iat",
            signed(&k, &h(), &set(c(), "iat", json!(NOW - 61))),
            DpopError::Stale,
        ),
        pcase(
            "future iat",
            signed(&k, &h(), &set(c(), "iat", json!(NOW + 6))),
            DpopError::IssuedInFuture,
        ),
        pcase(
            "iat missing",
            signed(&k, &h(), &unset(c(), "iat")),
            DpopError::BadClaim("iat"),
        ),
        pcase(
            "iat a string",
            signed(&k, &h(), &set(c(), "iat", json!("now"))),
            DpopError::BadClaim("iat"),
        ),
        // jti.
        pcase(
            "jti missing",
            signed(&k, &h(), &unset(c(), "jti")),
            DpopError::BadClaim("jti"),
        ),
        pcase(
            "jti empty",
            signed(&k, &h(), &set(c(), "jti", json!(""))),
            DpopError::BadClaim("jti"),
        ),
        // Nonce.
        ProofCase {
            req: DpopRequest {
                nonce: Some("n-2"),
                ..request()
            },
            ..pcase(
                "nonce missing when expected",
                signed(&k, &h(), &c()),
                DpopError::UseNonce,
            )
        },
        ProofCase {
            req: DpopRequest {
                nonce: Some("n-2"),
                ..request()
            },
            ..pcase(
                "stale nonce",
                signed(&k, &h(), &set(c(), "nonce", json!("n-1"))),
                DpopError::UseNonce,
            )
        },
        // Shape.
        pcase(
            "oversized proof",
            signed(&k, &h(), &set(c(), "pad", json!("x".repeat(9000)))),
            DpopError::TooLarge,
        ),
        pcase("not a JWS", "proof".into(), DpopError::Malformed),
        pcase(
            "duplicate htu in payload",
            token_with(
                &h().to_string(),
                &format!(
                    r#"{{"jti":"p","htm":"POST","htu":"https://evil.example/","htu":"{HTU}","iat":{NOW},"ath":"{}"}}"#,
                    access_token_hash(AT)
                ),
                |m| k.sign(m),
            ),
            DpopError::Malformed,
        ),
        pcase(
            "duplicate jwk in header",
            token_with(
                &format!(
                    r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{},"jwk":{}}}"#,
                    proof_jwk(&other),
                    proof_jwk(&k)
                ),
                &c().to_string(),
                |m| k.sign(m),
            ),
            DpopError::Malformed,
        ),
    ]
}

#[test]
fn crafted_proofs_are_refused() {
    let cases = proof_cases();
    let policy = DpopPolicy::default();
    let mut failures = Vec::new();
    for c in &cases {
        let cache = MemoryReplayCache::new(16);
        let got = verify_proof(&c.proof, &c.req, &policy, &cache, NOW).map(|_| ());
        if got != c.want {
            failures.push(format!("{}: got {got:?}, want {:?}", c.name, c.want));
        }
        // A refused proof does not use up its jti.
        if got.is_err() && !cache.is_empty() {
            failures.push(format!("{}: refused but recorded", c.name));
        }
        if let Err(e) = &got {
            let d = e.public_description();
            if d.contains("jwk") || d.contains("http") {
                failures.push(format!("{}: public description {d:?}", c.name));
            }
            let code = e.error_code();
            let want_code = if e.is_use_nonce() {
                "use_dpop_nonce"
            } else {
                "invalid_dpop_proof"
            };
            if code != want_code {
                failures.push(format!("{}: error code {code}", c.name));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(cases.len() >= 45, "{} cases", cases.len());
}

#[test]
fn proof_jti_is_single_use_per_key() {
    let k = client_key(JwsAlg::Es256);
    let policy = DpopPolicy::default();
    let cache = MemoryReplayCache::new(16);
    let proof = signed(&k, &proof_header(&k), &proof_claims());
    let first = verify_proof(&proof, &request(), &policy, &cache, NOW).expect("first use");
    assert_eq!(first.jkt, k.public_jwk().thumbprint());
    assert_eq!(first.jti, "proof-1");
    assert_eq!(
        verify_proof(&proof, &request(), &policy, &cache, NOW + 1).map(|_| ()),
        Err(DpopError::Replayed)
    );
    // Also when re-signed (a fresh signature, the same jti).
    let resigned = signed(&k, &proof_header(&k), &proof_claims());
    assert_eq!(
        verify_proof(&resigned, &request(), &policy, &cache, NOW + 2).map(|_| ()),
        Err(DpopError::Replayed)
    );
    // At the end of the window the proof is stale, not merely replayed.
    assert_eq!(
        verify_proof(&proof, &request(), &policy, &cache, NOW + 61).map(|_| ()),
        Err(DpopError::Stale)
    );
    // Another client's proof with the same jti is its own.
    let other = client_key(JwsAlg::EdDsa);
    let theirs = signed(&other, &proof_header(&other), &proof_claims());
    assert!(verify_proof(&theirs, &request(), &policy, &cache, NOW + 2).is_ok());
}

#[test]
fn refused_proof_does_not_burn_its_jti() {
    let k = client_key(JwsAlg::Es256);
    let policy = DpopPolicy::default();
    let cache = MemoryReplayCache::new(16);
    let proof = signed(&k, &proof_header(&k), &proof_claims());
    let wrong = DpopRequest {
        method: "GET",
        ..request()
    };
    assert_eq!(
        verify_proof(&proof, &wrong, &policy, &cache, NOW).map(|_| ()),
        Err(DpopError::WrongMethod)
    );
    assert!(verify_proof(&proof, &request(), &policy, &cache, NOW).is_ok());
}

#[test]
fn full_replay_cache_fails_closed() {
    let k = client_key(JwsAlg::Es256);
    let cache = MemoryReplayCache::new(0);
    let proof = signed(&k, &proof_header(&k), &proof_claims());
    let err =
        verify_proof(&proof, &request(), &DpopPolicy::default(), &cache, NOW).expect_err("no room");
    assert_eq!(err, DpopError::ReplayUnavailable(ReplayError::Full));
    assert!(err.is_unavailable());
}

#[test]
fn disallowed_algorithm_is_refused() {
    let ed = client_key(JwsAlg::EdDsa);
    let policy = DpopPolicy {
        algorithms: vec![JwsAlg::Es256],
        ..DpopPolicy::default()
    };
    let proof = signed(&ed, &proof_header(&ed), &proof_claims());
    assert_eq!(
        verify_proof(&proof, &request(), &policy, &MemoryReplayCache::new(4), NOW).map(|_| ()),
        Err(DpopError::AlgorithmNotAllowed("EdDSA".into()))
    );
}

#[test]
fn bound_token_needs_a_proof_by_its_key() {
    let iss = issuer();
    let holder = client_key(JwsAlg::Es256);
    let thief = client_key(JwsAlg::Es256);
    let token = signed(
        &iss.key,
        &header("ES256", KID),
        &set(
            claims(),
            "cnf",
            json!({"jkt": holder.public_jwk().thumbprint()}),
        ),
    );
    let verified = verify_jwt(&token, &policy(), &iss.keys, NOW).expect("token");
    let cnf = verified.claims.cnf.as_ref();
    let req = DpopRequest {
        access_token: Some(&token),
        ..request()
    };
    let cache = MemoryReplayCache::new(16);
    let proof_by = |key: &SigningKey, jti: &str| {
        signed(
            key,
            &proof_header(key),
            &set(
                set(proof_claims(), "ath", json!(access_token_hash(&token))),
                "jti",
                json!(jti),
            ),
        )
    };
    // The holder's proof binds.
    let p = verify_proof(
        &proof_by(&holder, "a"),
        &req,
        &DpopPolicy::default(),
        &cache,
        NOW,
    )
    .expect("holder proof");
    assert_eq!(check_binding(cnf, &p.jkt), Ok(()));
    // A thief's own valid proof does not.
    let p = verify_proof(
        &proof_by(&thief, "b"),
        &req,
        &DpopPolicy::default(),
        &cache,
        NOW,
    )
    .expect("thief proof verifies by itself");
    let err = check_binding(cnf, &p.jkt).expect_err("mismatch");
    assert_eq!(err, DpopError::BindingMismatch);
    assert_eq!(err.error_code(), "invalid_token");
    // An unbound token is not a DPoP token.
    let plain = verify_jwt(
        &signed(&iss.key, &header("ES256", KID), &claims()),
        &policy(),
        &iss.keys,
        NOW,
    )
    .expect("plain");
    assert_eq!(
        check_binding(plain.claims.cnf.as_ref(), &p.jkt),
        Err(DpopError::NotBound)
    );
    // cnf carrying only a certificate thumbprint is not DPoP-bound either.
    let mut x5t = Map::new();
    x5t.insert("x5t#S256".into(), json!("abc"));
    assert_eq!(check_binding(Some(&x5t), &p.jkt), Err(DpopError::NotBound));
}
