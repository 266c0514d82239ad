//! API keys for callers that cannot do better.
//!
//! A key is `wdn_<id>_<secret>`: the id (public) finds the record, the secret
//! (32 random bytes) is never stored, only its SHA-256 — plain SHA-256 is
//! right for random high-entropy secrets, where slow hashes buy nothing.
//! Comparison is constant-time.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

use crate::b64;

pub const PREFIX: &str = "wdn";

/// A freshly generated key: `display` is shown once and never again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    pub id: String,
    pub display: String,
    pub hash: Vec<u8>,
}

fn random(len: usize) -> Result<Vec<u8>, String> {
    let mut b = vec![0u8; len];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| "the system random generator failed".to_string())?;
    Ok(b)
}

pub fn generate() -> Result<NewApiKey, String> {
    let id = hex(&random(8)?);
    let secret = b64::encode(&random(32)?);
    let hash = digest(&SHA256, secret.as_bytes()).as_ref().to_vec();
    Ok(NewApiKey {
        display: format!("{PREFIX}_{id}_{secret}"),
        id,
        hash,
    })
}

/// Splits a presented key into id and secret, if it has the right shape.
pub fn split(presented: &str) -> Option<(&str, &str)> {
    let rest = presented.strip_prefix(PREFIX)?.strip_prefix('_')?;
    let (id, secret) = rest.split_once('_')?;
    let ok = id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()) && secret.len() == 43;
    ok.then_some((id, secret))
}

/// Whether `secret` matches the stored hash, in constant time.
pub fn matches(secret: &str, stored_hash: &[u8]) -> bool {
    let h = digest(&SHA256, secret.as_bytes());
    verify_slices_are_equal(h.as_ref(), stored_hash).is_ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_verify_and_others_do_not() {
        let k = generate().expect("key");
        let (id, secret) = split(&k.display).expect("shape");
        assert_eq!(id, k.id);
        assert!(matches(secret, &k.hash));
        let other = generate().expect("key");
        let (_, other_secret) = split(&other.display).expect("shape");
        assert!(!matches(other_secret, &k.hash));
        assert!(split("wdn_short_x").is_none());
        assert!(split("Bearer abc").is_none());
    }
}
