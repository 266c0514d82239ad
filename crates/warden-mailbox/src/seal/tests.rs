use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

fn key() -> RecipientKey {
    RecipientKey::generate().expect("X25519 key generation works")
}

/// A sealed message whose protected header is replaced by `header`, the
/// other segments kept (for shape checks that fail before any decryption).
fn with_header(compact: &str, header: &str) -> String {
    let rest = compact.split_once('.').expect("five segments").1;
    format!("{}.{rest}", B64.encode(header))
}

fn header_of(compact: &str) -> Value {
    let h = compact.split('.').next().expect("a header segment");
    serde_json::from_slice(&B64.decode(h).expect("base64url")).expect("JSON")
}

#[test]
fn sealed_opens_with_the_recipient_key_only() {
    let bob = key();
    let sealed = seal(bob.public(), b"[{\"text\":\"hi\"}]").expect("seals");
    assert_eq!(bob.open(&sealed).expect("opens"), b"[{\"text\":\"hi\"}]");
    let header = header_of(&sealed);
    assert_eq!(header["alg"], "ECDH-ES");
    assert_eq!(header["enc"], "A256GCM");
    assert_eq!(header["kid"], bob.kid());
    assert_eq!(header["epk"]["crv"], "X25519");
    assert_eq!(sealed.split('.').nth(1), Some(""), "no encrypted key");

    let eve = key();
    assert_eq!(
        eve.open(&sealed),
        Err(SealError::OtherKey {
            kid: bob.kid().to_owned()
        })
    );
}

#[test]
fn open_picks_the_named_key_after_a_rotation() {
    let old = key();
    let sealed_to_old = seal(old.public(), b"before").expect("seals");
    let new = key();
    let sealed_to_new = seal(new.public(), b"after").expect("seals");
    let ring = [new, old];
    assert_eq!(open(&ring, &sealed_to_old).expect("old opens"), b"before");
    assert_eq!(open(&ring, &sealed_to_new).expect("new opens"), b"after");
    assert!(matches!(
        open(&ring[..1], &sealed_to_old),
        Err(SealError::OtherKey { .. })
    ));
}

#[test]
fn two_seals_of_one_plaintext_differ() {
    let bob = key();
    let a = seal(bob.public(), b"same").expect("seals");
    let b = seal(bob.public(), b"same").expect("seals");
    assert_ne!(a, b, "fresh ephemeral key and IV each time");
}

#[test]
fn private_jwk_round_trips_and_is_checked() {
    let bob = key();
    let jwk = bob.to_private_json().expect("exports");
    assert_eq!(jwk["kid"], bob.kid());
    let again = RecipientKey::parse(&jwk).expect("reads back");
    assert_eq!(again.kid(), bob.kid());
    let sealed = seal(bob.public(), b"x").expect("seals");
    assert_eq!(again.open(&sealed).expect("opens"), b"x");

    let mut wrong_x = jwk.clone();
    wrong_x["x"] = key().public().to_json()["x"].clone();
    wrong_x.as_object_mut().expect("object").remove("kid");
    assert!(RecipientKey::parse(&wrong_x).is_err(), "x not of d");
    let mut no_d = jwk.clone();
    no_d.as_object_mut().expect("object").remove("d");
    assert!(RecipientKey::parse(&no_d).is_err());
    assert!(!format!("{bob:?}").contains(jwk["d"].as_str().expect("d")));
}

#[test]
fn public_jwk_is_validated() {
    let bob = key();
    let public = bob.public().to_json();
    assert_eq!(PublicJwk::parse(&public).expect("valid"), *bob.public());
    let minimal = json!({"kty": "OKP", "crv": "X25519", "x": public["x"]});
    assert_eq!(
        PublicJwk::parse(&minimal).expect("kid optional").kid(),
        bob.kid()
    );

    let refused = |v: Value| PublicJwk::parse(&v).expect_err("refused");
    let with = |k: &str, val: Value| {
        let mut v = public.clone();
        v[k] = val;
        v
    };
    let private = bob.to_private_json().expect("exports");
    assert!(refused(private).to_string().contains("private key"));
    refused(with("crv", json!("Ed25519")));
    refused(with("kty", json!("EC")));
    refused(with("kid", json!("my-key")));
    refused(with("use", json!("sig")));
    refused(with("alg", json!("ECDH-ES+A256KW")));
    refused(with("x5u", json!("https://example.com")));
    refused(with("x", json!(B64.encode([7u8; 31]))));
    refused(with("x", json!(format!("{}=", B64.encode([7u8; 32])))));
    refused(json!([public]));
    // Low-order points: every sender would agree the all-zero secret.
    for low in [[0u8; 32], {
        let mut one = [0u8; 32];
        one[0] = 1;
        one
    }] {
        let err = refused(json!({"kty": "OKP", "crv": "X25519", "x": B64.encode(low)}));
        assert!(err.to_string().contains("low-order"), "{err}");
    }
    let dup = r#"{"kty":"OKP","crv":"X25519","crv":"X448","x":"AAAA"}"#;
    assert!(PublicJwk::parse_text(dup).is_err());
}

/// RFC 7638 §3.1 computes thumbprints over exactly the required members;
/// RFC 8037 A.6's X25519 key (Bob's) checks ours against a value computed
/// from the canonical JSON by hand.
#[test]
fn kid_is_the_rfc7638_thumbprint() {
    let x = "3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08";
    let jwk = PublicJwk::parse(&json!({"kty": "OKP", "crv": "X25519", "x": x})).expect("valid");
    let canonical = format!(r#"{{"crv":"X25519","kty":"OKP","x":"{x}"}}"#);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
    assert_eq!(jwk.kid(), B64.encode(digest.as_ref()));
}

#[test]
fn check_refuses_every_other_shape() {
    let bob = key();
    let sealed = seal(bob.public(), b"hello").expect("seals");
    assert_eq!(
        check_sealed(&sealed, 4096).expect("well-formed").kid,
        bob.kid()
    );
    let header = header_of(&sealed);
    let hdr = |f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut h = header.clone();
        f(h.as_object_mut().expect("object"));
        with_header(&sealed, &h.to_string())
    };
    let segs: Vec<&str> = sealed.split('.').collect();
    let cases: Vec<(&str, String)> = vec![
        ("too long", sealed.clone() + ""),
        ("four segments", segs[..4].join(".")),
        ("six segments", format!("{sealed}.")),
        (
            "encrypted key",
            format!("{}.AAAA.{}", segs[0], segs[2..].join(".")),
        ),
        (
            "alg",
            hdr(&|h| _ = h.insert("alg".into(), json!("ECDH-ES+A256KW"))),
        ),
        (
            "alg dir",
            hdr(&|h| _ = h.insert("alg".into(), json!("dir"))),
        ),
        (
            "enc",
            hdr(&|h| _ = h.insert("enc".into(), json!("A128GCM"))),
        ),
        ("zip", hdr(&|h| _ = h.insert("zip".into(), json!("DEF")))),
        (
            "crit",
            hdr(&|h| _ = h.insert("crit".into(), json!(["exp"]))),
        ),
        ("no kid", hdr(&|h| _ = h.remove("kid"))),
        (
            "kid shape",
            hdr(&|h| _ = h.insert("kid".into(), json!("k1"))),
        ),
        ("no epk", hdr(&|h| _ = h.remove("epk"))),
        ("epk curve", hdr(&|h| h["epk"]["crv"] = json!("P-256"))),
        ("epk extra", hdr(&|h| h["epk"]["d"] = json!("AAAA"))),
        (
            "apu size",
            hdr(&|h| _ = h.insert("apu".into(), json!(B64.encode([0u8; 65])))),
        ),
        (
            "duplicate alg",
            with_header(
                &sealed,
                &header.to_string().replacen('{', r#"{"alg":"dir","#, 1),
            ),
        ),
        (
            "padded iv",
            format!("{}..{}=.{}.{}", segs[0], segs[2], segs[3], segs[4]),
        ),
        (
            "short tag",
            format!("{}..{}.{}.{}", segs[0], segs[2], segs[3], &segs[4][..20]),
        ),
        (
            "empty ciphertext",
            format!("{}..{}..{}", segs[0], segs[2], segs[4]),
        ),
        (
            "not base64",
            format!("{}..{}.{}!.{}", segs[0], segs[2], segs[3], segs[4]),
        ),
    ];
    for (name, compact) in cases {
        let max = if name == "too long" {
            sealed.len() - 1
        } else {
            4096
        };
        assert!(
            matches!(check_sealed(&compact, max), Err(SealError::Malformed(_))),
            "{name} accepted"
        );
    }
    // An accepted apu/apv takes part in the key derivation (and the AAD).
    let apu = hdr(&|h| _ = h.insert("apu".into(), json!(B64.encode(b"alice"))));
    assert!(check_sealed(&apu, 4096).is_ok());
    assert_eq!(bob.open(&apu), Err(SealError::NotOpened));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn round_trip(plaintext in proptest::collection::vec(any::<u8>(), 1..2048)) {
        let bob = key();
        let sealed = seal(bob.public(), &plaintext).expect("seals");
        prop_assert!(check_sealed(&sealed, usize::MAX).is_ok());
        prop_assert_eq!(bob.open(&sealed).expect("opens"), plaintext);
    }

    /// Arbitrary text into every reader: refused or read, never a panic.
    #[test]
    fn arbitrary_input_never_panics(text in ".{0,400}") {
        let _ = check_sealed(&text, 4096);
        let _ = PublicJwk::parse_text(&text);
        let _ = RecipientKey::parse_text(&text);
    }

    /// Five segments of base64url-ish text, and a header that is JSON with
    /// the right names but arbitrary values: the shape check and `open`
    /// refuse or read, never panic; what the check accepts names a kid of
    /// thumbprint shape.
    #[test]
    fn near_misses_never_panic(
        segs in proptest::collection::vec("[A-Za-z0-9_=-]{0,48}", 5),
        alg in "[A-Z0-9+-]{0,16}",
        kid in "[A-Za-z0-9_-]{40,46}",
        x in "[A-Za-z0-9_-]{40,46}",
    ) {
        let header = json!({"alg": alg, "enc": "A256GCM", "kid": kid,
                            "epk": {"kty": "OKP", "crv": "X25519", "x": x}});
        let mut forms = vec![segs.join(".")];
        forms.push(format!("{}..{}.{}.{}", B64.encode(header.to_string()), segs[2], segs[3], segs[4]));
        let bob = key();
        for f in forms {
            if let Ok(info) = check_sealed(&f, 4096) {
                prop_assert_eq!(info.kid.len(), 43);
            }
            let _ = bob.open(&f);
        }
    }

    /// Any one character changed anywhere is refused: by the shape check, by
    /// the kid, or by AES-GCM's authentication of header and ciphertext.
    #[test]
    fn tampering_is_refused(
        plaintext in proptest::collection::vec(any::<u8>(), 1..256),
        at in any::<prop::sample::Index>(),
        with in prop::sample::select(b"ABCabc019-_.=".to_vec()),
    ) {
        let bob = key();
        let sealed = seal(bob.public(), &plaintext).expect("seals");
        let i = at.index(sealed.len());
        prop_assume!(sealed.as_bytes()[i] != with);
        let mut bytes = sealed.into_bytes();
        bytes[i] = with;
        let tampered = String::from_utf8(bytes).expect("ASCII");
        prop_assert!(bob.open(&tampered).is_err());
    }
}
