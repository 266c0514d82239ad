//! Loading signing keys from PKCS#8 (PEM, DER) and refusing what is not
//! one (legacy PEM labels, a JWK for another algorithm). Private JWKs made by
//! Python's `cryptography` are loaded in `python_card_signing.rs`.

use warden_trust::alg::ALL_ALGS;
use warden_trust::key_file::KeyFileError;
use warden_trust::{JwsAlg, SigningKey};

fn key(alg: JwsAlg) -> SigningKey {
    SigningKey::generate(alg).expect("generate a signing key")
}

#[test]
fn signing_keys_load_from_pem_and_der() {
    use base64::Engine as _;
    for alg in ALL_ALGS {
        let k = key(alg);
        let b64 = base64::engine::general_purpose::STANDARD.encode(k.pkcs8());
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).expect("ascii"))
            .collect();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        );
        let from_pem = SigningKey::from_key_bytes(pem.as_bytes(), alg, None).expect("PEM");
        let from_der = SigningKey::from_key_bytes(k.pkcs8(), alg, Some("der")).expect("DER");
        assert_eq!(from_pem.public_jwk(), k.public_jwk());
        assert_eq!(
            from_der.public_jwk().thumbprint(),
            k.public_jwk().thumbprint()
        );
        assert_eq!(from_der.kid(), "der");
    }
    let ec = key(JwsAlg::Es256);
    assert!(SigningKey::from_key_bytes(ec.pkcs8(), JwsAlg::Es384, None).is_err());
    assert!(SigningKey::from_key_bytes(ec.pkcs8(), JwsAlg::Rs256, None).is_err());
    let legacy = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n";
    assert_eq!(
        SigningKey::from_key_bytes(legacy.as_bytes(), JwsAlg::Rs256, None).err(),
        Some(KeyFileError::UnsupportedPem("RSA PRIVATE KEY".into()))
    );
    let jwk = br#"{"kty":"EC","crv":"P-256","alg":"ES384","x":"AA","y":"AA","d":"AA"}"#;
    assert!(matches!(
        SigningKey::from_key_bytes(jwk, JwsAlg::Es256, None),
        Err(KeyFileError::AlgMismatch { .. })
    ));
}
