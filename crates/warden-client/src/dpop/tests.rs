//! Proofs made here verify with Warden's own verifier, and bind what they
//! should.

use warden_trust::dpop::{DpopError, DpopPolicy, DpopRequest, verify_proof};
use warden_trust::{JwsAlg, MemoryReplayCache};

use super::DpopKey;

const NOW: u64 = 1_800_000_000;

fn verify(
    proof: &str,
    method: &str,
    url: &str,
    token: Option<&str>,
    nonce: Option<&str>,
) -> Result<warden_trust::VerifiedProof, DpopError> {
    let req = DpopRequest {
        method,
        url,
        access_token: token,
        nonce,
    };
    verify_proof(
        proof,
        &req,
        &DpopPolicy::default(),
        &MemoryReplayCache::new(16),
        NOW,
    )
}

#[test]
fn proof_verifies_with_wardens_verifier_for_both_algorithms() {
    for alg in [JwsAlg::Es256, JwsAlg::EdDsa] {
        let key = DpopKey::generate(alg).expect("key");
        let url = "https://gw.example/agents/echo";
        let proof = key
            .proof("POST", &format!("{url}?q=1#f"), Some("tok"), None, NOW)
            .expect("proof");
        let v = verify(&proof, "POST", url, Some("tok"), None).expect("verifies");
        assert_eq!(v.jkt, key.thumbprint(), "{alg}");
        assert_eq!(v.alg, alg);
        assert_eq!(v.iat, NOW);
        assert_eq!(v.claims["htu"], url, "query and fragment left out");
        assert!(!v.jti.is_empty());
    }
}

#[test]
fn proof_binds_method_url_token_and_nonce() {
    let key = DpopKey::ephemeral().expect("key");
    let url = "https://gw.example/agents/echo";
    let p = key
        .proof("POST", url, Some("tok"), Some("n-1"), NOW)
        .expect("proof");
    assert!(verify(&p, "POST", url, Some("tok"), Some("n-1")).is_ok());
    assert_eq!(
        verify(&p, "GET", url, Some("tok"), None).err(),
        Some(DpopError::WrongMethod)
    );
    assert_eq!(
        verify(
            &p,
            "POST",
            "https://gw.example/agents/other",
            Some("tok"),
            None
        )
        .err(),
        Some(DpopError::WrongUrl)
    );
    assert_eq!(
        verify(&p, "POST", url, Some("another"), None).err(),
        Some(DpopError::WrongAth)
    );
    assert_eq!(
        verify(&p, "POST", url, Some("tok"), Some("n-2")).err(),
        Some(DpopError::UseNonce)
    );
    // The token request's proof has no ath, and a fresh jti each time.
    let a = key.proof("POST", url, None, None, NOW).expect("proof");
    let b = key.proof("POST", url, None, None, NOW).expect("proof");
    let (va, vb) = (
        verify(&a, "POST", url, None, None).expect("a"),
        verify(&b, "POST", url, None, None).expect("b"),
    );
    assert!(va.claims.get("ath").is_none());
    assert_ne!(va.jti, vb.jti);
}

#[test]
fn proof_header_carries_only_the_public_key() {
    let key = DpopKey::ephemeral().expect("key");
    let p = key
        .proof("POST", "https://h/x", None, None, NOW)
        .expect("proof");
    let jws = warden_trust::jws::parse_compact(&p, 8 * 1024).expect("compact");
    assert_eq!(jws.header["typ"], "dpop+jwt");
    assert_eq!(jws.header["alg"], "ES256");
    let jwk = jws.header["jwk"].as_object().expect("jwk");
    assert!(jwk.get("d").is_none(), "no private member");
    assert!(jwk.get("kid").is_none());
    assert!(jws.header.get("kid").is_none());
}
