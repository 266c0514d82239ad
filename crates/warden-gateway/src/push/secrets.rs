//! What a subscription keeps secret, and how: the caller's `token` and
//! `authentication` credentials and the subscription's `whsec_` secret are
//! sealed together under the key-encryption key (AES-256-GCM, bound to the
//! subscription id, so a sealed blob moved to another row does not open);
//! the agent's relay token is kept as its SHA-256 only and compared in
//! constant time.

use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use serde::{Deserialize, Serialize};
use warden_trust::seal::Kek;

/// Why a subscription's secrets could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("sealing: {0}")]
    Seal(#[from] warden_trust::seal::SealError),
    #[error("the sealed secrets do not read back: {0}")]
    Format(String),
    #[error("no randomness")]
    Random,
}

/// The secrets of one subscription, as sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secrets {
    /// The caller's `token` (sent back as `X-A2A-Notification-Token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The caller's `authentication` scheme (v0.3: the first of `schemes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// The caller's `authentication.credentials`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
    /// The subscription's `whsec_…` secret (Standard Webhooks `v1`).
    pub secret: String,
}

/// The context a subscription's blob is sealed to.
fn context(subscription: &str) -> Vec<u8> {
    format!("warden-push-subscription:{subscription}").into_bytes()
}

pub fn seal(kek: &Kek, subscription: &str, s: &Secrets) -> Result<Vec<u8>, SecretsError> {
    let plain = serde_json::to_vec(s).map_err(|e| SecretsError::Format(e.to_string()))?;
    Ok(kek.seal(&context(subscription), &plain)?)
}

pub fn open(kek: &Kek, subscription: &str, sealed: &[u8]) -> Result<Secrets, SecretsError> {
    let plain = kek.open(&context(subscription), sealed)?;
    serde_json::from_slice(&plain).map_err(|e| SecretsError::Format(e.to_string()))
}

/// `n` random bytes as unpadded base64url.
fn random_text(n: usize) -> Result<String, SecretsError> {
    let mut b = vec![0u8; n];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| SecretsError::Random)?;
    Ok(warden_trust::b64url_encode(&b))
}

/// A fresh subscription id: `sub_` and 32 hex digits.
pub fn new_subscription_id() -> String {
    format!("sub_{}", uuid::Uuid::new_v4().simple())
}

/// A fresh relay token for an agent: `wpr_` and 32 random bytes.
pub fn new_relay_token() -> Result<String, SecretsError> {
    Ok(format!("wpr_{}", random_text(32)?))
}

/// What the store keeps of a relay token.
pub fn relay_hash(token: &str) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes())
        .as_ref()
        .to_vec()
}

/// Whether `presented` is the relay token whose hash is `kept`: hashes
/// compared in constant time (equal lengths by construction).
pub fn relay_token_matches(presented: &str, kept: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(&relay_hash(presented), kept).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kek() -> Kek {
        Kek::from_text(&Kek::generate_text().expect("kek")).expect("kek")
    }

    fn secrets() -> Secrets {
        Secrets {
            token: Some("caller-token".into()),
            scheme: Some("Bearer".into()),
            credentials: Some("caller-credentials".into()),
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
        }
    }

    #[test]
    fn sealed_secrets_open_only_for_their_subscription_and_kek() {
        let k = kek();
        let sealed = seal(&k, "sub_1", &secrets()).expect("seal");
        let text = String::from_utf8_lossy(&sealed);
        assert!(!text.contains("caller-token") && !text.contains("whsec_"));
        assert_eq!(open(&k, "sub_1", &sealed).expect("open"), secrets());
        assert!(open(&k, "sub_2", &sealed).is_err(), "another row's id");
        assert!(open(&kek(), "sub_1", &sealed).is_err(), "another KEK");
    }

    #[test]
    fn relay_tokens_are_fresh_and_checked_by_hash() {
        let a = new_relay_token().expect("token");
        let b = new_relay_token().expect("token");
        assert_ne!(a, b);
        assert!(a.starts_with("wpr_") && a.len() > 40);
        let kept = relay_hash(&a);
        assert!(relay_token_matches(&a, &kept));
        assert!(!relay_token_matches(&b, &kept));
        assert!(!relay_token_matches("", &kept));
        assert!(new_subscription_id().starts_with("sub_"));
    }
}
