//! Signing a card: a detached JWS over the card's RFC 8785 form, made only
//! when the Python SDK's reading of the card gives the same bytes.

use serde_json::{Map, Value};

use crate::b64;
use crate::jcs::{self, JcsError, JcsLimits};
use crate::signing::SigningKey;

use super::CardSignature;
use super::form::{CanonicalForm, PayloadError, payload, split_signatures};

/// Optional parts of a signature.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CardSigningOptions {
    /// A JWKS URL to name in the protected header, where the public key is
    /// published.
    pub jku: Option<String>,
    /// An unprotected header (JSON object); it may not repeat or override
    /// protected members.
    pub header: Option<Map<String, Value>>,
    pub limits: JcsLimits,
}

/// Why a card was not signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardSigningError {
    #[error("card is not acceptable JSON: {0}")]
    Json(#[from] JcsError),
    #[error("card is not a JSON object")]
    NotAnObject,
    #[error(
        "card holds empty strings, arrays, objects or nulls, which the Python A2A SDK drops \
         before verifying; remove them first (strip_empty_values)"
    )]
    EmptyValues,
    #[error("unprotected header member {0:?} is not allowed")]
    BadHeaderMember(String),
    #[error("card signatures member is not an array")]
    SignaturesNotArray,
}

impl From<PayloadError> for CardSigningError {
    fn from(e: PayloadError) -> Self {
        match e {
            PayloadError::Json(j) => Self::Json(j),
            PayloadError::NotAnObject => Self::NotAnObject,
        }
    }
}

/// Signs the card `card_json` (its `signatures`, if any, are not covered)
/// and returns the new `signatures[]` entry.
///
/// Refuses a card that the specification's reading and the Python SDK's
/// reading canonicalise differently, so that every verifier Warden knows of
/// accepts what Warden signs.
pub fn sign_card(
    card_json: &[u8],
    key: &SigningKey,
    options: &CardSigningOptions,
) -> Result<CardSignature, CardSigningError> {
    let (card, _) = split_signatures(jcs::parse::parse(card_json, options.limits)?)?;
    let canonical = payload(&card, CanonicalForm::Rfc8785);
    if payload(&card, CanonicalForm::PythonSdk) != canonical {
        return Err(CardSigningError::EmptyValues);
    }
    let mut protected = Map::new();
    protected.insert("alg".into(), Value::String(key.alg().as_str().into()));
    protected.insert("kid".into(), Value::String(key.kid().into()));
    protected.insert("typ".into(), Value::String("JOSE".into()));
    if let Some(jku) = &options.jku {
        protected.insert("jku".into(), Value::String(jku.clone()));
    }
    if let Some(header) = &options.header
        && let Some(name) = header.keys().find(|name| {
            protected.contains_key(*name)
                || matches!(name.as_str(), "crit" | "b64" | "jwk" | "x5c" | "x5u")
        })
    {
        return Err(CardSigningError::BadHeaderMember(name.clone()));
    }
    let protected = b64::encode(Value::Object(protected).to_string().as_bytes());
    let input = format!("{protected}.{}", b64::encode(&canonical));
    Ok(CardSignature {
        protected,
        signature: b64::encode(&key.sign(input.as_bytes())),
        header: options.header.clone(),
    })
}

/// Signs `card` and appends the signature to its `signatures` array
/// (created if missing; earlier signatures are kept, e.g. during a key
/// rotation).
pub fn add_card_signature(
    card: &mut Value,
    key: &SigningKey,
    options: &CardSigningOptions,
) -> Result<(), CardSigningError> {
    let signature = sign_card(card.to_string().as_bytes(), key, options)?;
    let Value::Object(members) = card else {
        return Err(CardSigningError::NotAnObject);
    };
    match members
        .entry("signatures")
        .or_insert_with(|| Value::Array(Vec::new()))
    {
        Value::Array(list) => {
            list.push(signature.to_json());
            Ok(())
        }
        _ => Err(CardSigningError::SignaturesNotArray),
    }
}
