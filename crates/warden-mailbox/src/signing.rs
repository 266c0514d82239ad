//! Warden's signature on every stored message: a compact JWS with a
//! detached payload (RFC 7515 appendix F: `header..signature`) whose
//! payload is the RFC 8785 (JCS) canonical form of
//!
//! ```json
//! {"id", "from", "to", "kind", "topic", "thread", "replyTo",
//!  "parts" | "sealed", "created"}
//! ```
//!
//! the same names and values the message's JSON carries (absent optional
//! members are left out, not `null`). A reader verifies it by taking those
//! members of the message it received, canonicalising them, and checking
//! the JWS against Warden's JWKS (`/.well-known/jwks.json`) by `kid`.
//!
//! Who holds the key is the gateway's business: it implements [`Signer`]
//! with the authority's current token-signing key (Ed25519), so the
//! signature verifies against the keys Warden already publishes.

use std::sync::Arc;

use serde_json::{Map, Value};
use warden_trust::jcs::{JcsLimits, canonicalize};
use warden_trust::{PublicJwk, SigningKey};

use crate::Message;

/// Signs messages: returns a compact JWS with an empty payload segment
/// over `payload` (the canonical form). Cheap and synchronous (an Ed25519
/// signature).
pub trait Signer: Send + Sync + 'static {
    fn sign_detached(&self, payload: &[u8]) -> Result<String, String>;
}

/// A [`Signer`] over one key (tests, tools; the gateway's follows key
/// rotation).
#[derive(Debug, Clone)]
pub struct KeySigner(pub Arc<SigningKey>);

impl Signer for KeySigner {
    fn sign_detached(&self, payload: &[u8]) -> Result<String, String> {
        Ok(detach(&warden_trust::jws::sign_compact(
            &self.0,
            &Map::new(),
            payload,
        )))
    }
}

/// `header.payload.signature` → `header..signature`.
pub fn detach(compact: &str) -> String {
    let mut it = compact.splitn(3, '.');
    let (h, _, s) = (
        it.next().unwrap_or_default(),
        it.next(),
        it.next().unwrap_or_default(),
    );
    format!("{h}..{s}")
}

/// The bytes a message's signature covers.
pub fn signed_payload(m: &Message) -> Result<Vec<u8>, String> {
    let mut o = Map::new();
    o.insert("id".into(), Value::String(m.id.clone()));
    o.insert("from".into(), Value::String(m.from.clone()));
    o.insert("to".into(), Value::String(m.to.clone()));
    o.insert("kind".into(), Value::String(m.kind.as_str().into()));
    if let Some(t) = &m.topic {
        o.insert("topic".into(), Value::String(t.clone()));
    }
    o.insert("thread".into(), Value::String(m.thread.clone()));
    if let Some(r) = &m.reply_to {
        o.insert("replyTo".into(), Value::String(r.clone()));
    }
    if let Some(p) = &m.parts {
        o.insert("parts".into(), p.clone());
    }
    if let Some(s) = &m.sealed {
        o.insert("sealed".into(), Value::String(s.clone()));
    }
    o.insert("created".into(), Value::String(m.created.clone()));
    let json = serde_json::to_vec(&Value::Object(o)).map_err(|e| e.to_string())?;
    // A stored message is at most the size limit plus its envelope; the
    // limits only bound what this function itself built.
    let limits = JcsLimits {
        max_bytes: json.len().max(1),
        max_depth: 128,
        max_string_bytes: json.len().max(1),
    };
    canonicalize(&json, limits).map_err(|e| e.to_string())
}

/// Why a message's signature does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the signature is not a detached compact JWS")]
    Malformed,
    #[error("the signature names another key or algorithm")]
    WrongKey,
    #[error("the signature does not match the message")]
    Mismatch,
}

/// Checks `m.signature` with `key` (a key of Warden's JWKS).
pub fn verify_message(m: &Message, key: &PublicJwk) -> Result<(), VerifyError> {
    let mut it = m.signature.split('.');
    let (Some(h), Some(""), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(VerifyError::Malformed);
    };
    let header = warden_trust::b64url_decode(h).ok_or(VerifyError::Malformed)?;
    let header: Value = serde_json::from_slice(&header).map_err(|_| VerifyError::Malformed)?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(warden_trust::JwsAlg::parse)
        .ok_or(VerifyError::Malformed)?;
    if !key.fits(alg) {
        return Err(VerifyError::WrongKey);
    }
    let sig = warden_trust::b64url_decode(s).ok_or(VerifyError::Malformed)?;
    let payload = signed_payload(m).map_err(|_| VerifyError::Malformed)?;
    let input = format!("{h}.{}", warden_trust::b64url_encode(&payload));
    if key.verify(alg, input.as_bytes(), &sig) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}
