//! End-to-end sealing of mailbox messages: a sender encrypts to the
//! recipient's published X25519 key so that Warden stores only ciphertext.
//!
//! The format is a JWE compact serialization (RFC 7516) with `alg` `ECDH-ES`
//! (direct key agreement, RFC 7518 §4.6, Concat KDF with SHA-256) and `enc`
//! `A256GCM`; keys are OKP JWKs on X25519 (RFC 8037) whose `kid` is their
//! RFC 7638 thumbprint. Any JOSE library that speaks those can seal to and
//! open for a Warden mailbox; the interop tests prove it with one we did
//! not write.
//!
//! Three users: the CLI seals and opens ([`PublicJwk::seal`],
//! [`RecipientKey::open`]); the mailbox validates a key before publishing it
//! ([`PublicJwk::parse`]); and the mailbox checks stored sealed content
//! ([`check_sealed`]) without ever holding a key that could open it.

mod compact;
mod kdf;
mod keys;

pub use compact::{SealedInfo, check_sealed};
pub use keys::{PublicJwk, RecipientKey};

/// The only key management algorithm Warden seals with or accepts.
pub const ALG: &str = "ECDH-ES";
/// The only content encryption Warden seals with or accepts.
pub const ENC: &str = "A256GCM";

/// Why a key or a sealed message is refused. The messages are safe to show
/// to the caller: none carries key material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// A JWK that is not an X25519 key Warden accepts.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// A sealed message that is not a well-formed JWE of the accepted shape.
    #[error("invalid sealed message: {0}")]
    Malformed(String),
    /// Sealed to another key than the one(s) given: the `kid` it names.
    #[error("sealed to key {kid}, which is not among the keys given")]
    OtherKey { kid: String },
    /// The ciphertext or its header was altered, or the key is not the one
    /// it was sealed to (authentication failed).
    #[error("the sealed message does not open with this key (altered, or sealed to another key)")]
    NotOpened,
    /// The crypto library failed (no caller input causes this).
    #[error("crypto failure: {0}")]
    Crypto(&'static str),
}

/// Seals `plaintext` to `recipient` (see [`PublicJwk::seal`]).
pub fn seal(recipient: &PublicJwk, plaintext: &[u8]) -> Result<String, SealError> {
    recipient.seal(plaintext)
}

/// Opens `compact` with whichever of `keys` it names by `kid`: a recipient
/// keeps its old private keys after a rotation, and messages sealed before
/// the rotation name the old key.
pub fn open(keys: &[RecipientKey], compact: &str) -> Result<Vec<u8>, SealError> {
    let info = check_sealed(compact, usize::MAX)?;
    let key = keys
        .iter()
        .find(|k| k.kid() == info.kid)
        .ok_or(SealError::OtherKey { kid: info.kid })?;
    key.open(compact)
}

#[cfg(test)]
mod tests;
