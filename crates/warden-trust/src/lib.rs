//! `warden-trust`: the cryptographic decisions Warden makes, with aws-lc-rs
//! as the only provider and no I/O beyond reading key files.
//!
//! - [`jwk`], [`jwks`]: public keys read from raw JSON (private and
//!   symmetric keys refused), RFC 7638 thumbprints.
//! - [`jws`]: compact JWS parsing (bounded, strict header) and signing.
//! - [`jwt`]: access-token verification against an issuer policy: algorithm
//!   allow-list, `kid`, no embedded keys, no `crit`, `typ`, time claims with
//!   bounded skew and lifetime, `jti`.
//! - [`signing`]: private signing keys (Warden's own Ed25519/ES256 keys,
//!   and ES384/RS256/PS256 keys for signing Agent Cards);
//!   [`key_file`]: loading them from PKCS#8 (PEM, DER) and private JWKs.
//! - [`jcs`]: RFC 8785 JSON canonicalisation of raw JSON bytes.
//! - [`card_signature`]: A2A Agent Card signatures (detached JWS over a
//!   canonical card), signing and verifying, interoperable with the Python
//!   A2A SDK.
//! - [`replay`]: single-use ids, bounded, failing closed.
//! - [`apikey`]: API keys stored as id + hash, compared in constant time.
//! - [`seal`]: private keys sealed at rest.
//!
//! Why not `jsonwebtoken`: verification here is a few calls into aws-lc-rs,
//! and owning them removes that crate's traps (validation built from the
//! token's own `alg`, `oct` keys from headers, unchecked `crit`/`typ`)
//! instead of working around them.

pub mod alg;
pub mod apikey;
mod b64;
pub mod card_signature;
pub mod dpop;
pub mod jcs;
pub mod jwk;
pub mod jwks;
pub mod jws;
pub mod jwt;
pub mod key_file;
pub mod replay;
pub mod seal;
pub mod signing;

pub use alg::JwsAlg;
pub use card_signature::{
    CanonicalForm, CardSignature, CardVerifyPolicy, VerifiedCard, sign_card, verify_card,
};
pub use dpop::{DpopError, DpopPolicy, DpopRequest, VerifiedProof, check_binding, verify_proof};
pub use jwk::PublicJwk;
pub use jwks::KeySet;
pub use jwt::{Claims, IssuerPolicy, TokenError, VerifiedJwt, verify_jwt};
pub use replay::{CompactReplayCache, MemoryReplayCache, ReplayCache, ReplayError};
pub use signing::SigningKey;

/// base64url without padding (JOSE's encoding).
pub fn b64url_encode(bytes: &[u8]) -> String {
    b64::encode(bytes)
}

/// Strict base64url decoding (no padding).
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    b64::decode(s)
}
