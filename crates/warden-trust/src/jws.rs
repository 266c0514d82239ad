//! Compact JWS (RFC 7515): reading one defensively, and writing one.

use serde_json::{Map, Value};
use warden_json::{JsonLimits, parse_strict};

use crate::alg::JwsAlg;
use crate::b64;
use crate::signing::SigningKey;

/// A compact JWS split into its parts, header read strictly.
#[derive(Debug, Clone)]
pub struct CompactJws<'a> {
    pub header: Map<String, Value>,
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`: the signing input.
    pub signing_input: &'a str,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    #[error("token is larger than {0} bytes")]
    TooLarge(usize),
    #[error("token is not a compact JWS")]
    Malformed,
    #[error("token header is not a valid JSON object")]
    BadHeader,
}

/// Limits on what a JOSE header may hold: small and flat.
const HEADER_LIMITS: JsonLimits = JsonLimits {
    max_depth: 4,
    max_string_bytes: 8 * 1024,
};

/// Splits and decodes a compact JWS of at most `max_bytes`.
pub fn parse_compact(token: &str, max_bytes: usize) -> Result<CompactJws<'_>, JwsError> {
    if token.len() > max_bytes {
        return Err(JwsError::TooLarge(max_bytes));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed);
    };
    let header_bytes = b64::decode(h).ok_or(JwsError::Malformed)?;
    let payload = b64::decode(p).ok_or(JwsError::Malformed)?;
    let signature = b64::decode(s).ok_or(JwsError::Malformed)?;
    let header = match parse_strict(&header_bytes, HEADER_LIMITS) {
        Ok(Value::Object(o)) => o,
        _ => return Err(JwsError::BadHeader),
    };
    Ok(CompactJws {
        header,
        signing_input: &token[..h.len() + 1 + p.len()],
        payload,
        signature,
    })
}

impl CompactJws<'_> {
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    pub fn alg(&self) -> Option<JwsAlg> {
        self.header_str("alg").and_then(JwsAlg::parse)
    }
}

/// Signs `payload` with `key`; the header gets `alg` and `kid` from the key
/// plus the members of `extra` (e.g. `typ`).
pub fn sign_compact(key: &SigningKey, extra: &Map<String, Value>, payload: &[u8]) -> String {
    let mut header = Map::new();
    header.insert("alg".into(), Value::String(key.alg().as_str().into()));
    header.insert("kid".into(), Value::String(key.kid().into()));
    for (k, v) in extra {
        header.insert(k.clone(), v.clone());
    }
    let input = format!(
        "{}.{}",
        b64::encode(Value::Object(header).to_string().as_bytes()),
        b64::encode(payload)
    );
    let sig = key.sign(input.as_bytes());
    format!("{input}.{}", b64::encode(&sig))
}
