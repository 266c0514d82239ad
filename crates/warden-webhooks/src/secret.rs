//! The per-subscription HMAC secret, in the Standard Webhooks form:
//! `whsec_` + standard base64 (padded) of 24 to 64 random bytes. Warden
//! generates 32 bytes from aws-lc-rs's system randomness; the receiver is
//! shown the `whsec_…` text once and keeps it.

use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

/// The prefix of a serialised secret.
pub const PREFIX: &str = "whsec_";
/// The length Warden generates.
pub const GENERATED_BYTES: usize = 32;
/// The lengths the specification allows (192 to 512 bits).
const MIN_BYTES: usize = 24;
const MAX_BYTES: usize = 64;

/// A subscription's HMAC-SHA256 key. Never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SubscriptionSecret {
    bytes: Vec<u8>,
}

impl std::fmt::Debug for SubscriptionSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SubscriptionSecret(…)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("a webhook secret starts with \"whsec_\"")]
    Prefix,
    #[error("a webhook secret is base64 after \"whsec_\"")]
    Base64,
    #[error("a webhook secret is 24 to 64 bytes (this one is {0})")]
    Length(usize),
    #[error("no randomness: {0}")]
    Random(String),
}

impl SubscriptionSecret {
    /// A fresh secret of [`GENERATED_BYTES`] random bytes.
    pub fn generate() -> Result<Self, SecretError> {
        let mut bytes = vec![0u8; GENERATED_BYTES];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|e| SecretError::Random(e.to_string()))?;
        Ok(Self { bytes })
    }

    /// Reads `whsec_<base64>` (padded or not, as the official libraries
    /// accept both). Surrounding whitespace (a trailing newline from a file
    /// or an environment variable) is ignored.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let b64 = text
            .trim()
            .strip_prefix(PREFIX)
            .ok_or(SecretError::Prefix)?;
        let bytes = STANDARD
            .decode(b64)
            .or_else(|_| STANDARD_NO_PAD.decode(b64))
            .map_err(|_| SecretError::Base64)?;
        Self::from_bytes(bytes)
    }

    /// A secret from raw key bytes (e.g. unsealed from the store).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, SecretError> {
        if !(MIN_BYTES..=MAX_BYTES).contains(&bytes.len()) {
            return Err(SecretError::Length(bytes.len()));
        }
        Ok(Self { bytes })
    }

    /// The `whsec_…` text shown to the receiver (padded standard base64,
    /// which both official libraries decode).
    pub fn to_whsec(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.bytes))
    }

    /// The raw key, to be sealed at rest.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(crate) fn key(&self) -> aws_lc_rs::hmac::Key {
        aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_round_trip_and_differ() {
        let a = SubscriptionSecret::generate().expect("secret");
        let b = SubscriptionSecret::generate().expect("secret");
        assert_ne!(a, b);
        assert_eq!(a.as_bytes().len(), 32);
        let text = a.to_whsec();
        assert!(text.starts_with("whsec_") && text.ends_with('='), "{text}");
        assert_eq!(SubscriptionSecret::parse(&text).expect("parse"), a);
        assert_eq!(
            SubscriptionSecret::parse(&format!("{}\n", text.trim_end_matches('='))).expect("nopad"),
            a
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let s = SubscriptionSecret::generate().expect("secret");
        let shown = format!("{s:?}");
        assert!(!shown.contains(&s.to_whsec()[6..12]), "{shown}");
    }

    #[test]
    fn bad_secrets_are_refused() {
        assert_eq!(
            SubscriptionSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            Err(SecretError::Prefix)
        );
        assert_eq!(
            SubscriptionSecret::parse("whsec_not base64!"),
            Err(SecretError::Base64)
        );
        assert_eq!(
            SubscriptionSecret::parse("whsec_c2hvcnQ="),
            Err(SecretError::Length(5))
        );
        // The specification's own example secret (24 bytes) is accepted.
        assert!(SubscriptionSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
    }
}
