//! The card Warden serves is Warden's own statement, signed by Warden.
//!
//! A served card is the upstream's verified card rewritten for the gateway
//! ([`super::rewrite`]), with Warden's security declarations
//! ([`super::security`]), empty values stripped (so that the Python SDK's
//! reading of the signature agrees), and signed with Warden's card key,
//! published in Warden's JWKS (the protected header's `jku`).

use serde_json::Value;

use super::rewrite::rewrite;
use super::security::Security;

/// Why a card could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("no card signing key")]
    NoKey,
    #[error("the card could not be signed: {0}")]
    Sign(#[from] warden_trust::card_signature::CardSigningError),
}

/// The card Warden serves: `card` (known fields only, no signatures)
/// rewritten for `gateway_url`, with Warden's security declarations, empty
/// values stripped, signed with `key` (the protected header's `jku` names
/// `jwks_url`, where the key is published).
pub fn signed(
    card: &Value,
    gateway_url: &str,
    security: &Security,
    key: Option<&warden_trust::SigningKey>,
    jwks_url: &str,
) -> Result<Value, ServeError> {
    use warden_trust::card_signature::{
        CardSigningOptions, add_card_signature, strip_empty_values,
    };
    let key = key.ok_or(ServeError::NoKey)?;
    let mut out = rewrite(card, gateway_url);
    if let Some(obj) = out.as_object_mut() {
        security.apply(obj);
    }
    strip_empty_values(&mut out);
    let options = CardSigningOptions {
        jku: Some(jwks_url.to_string()),
        ..CardSigningOptions::default()
    };
    add_card_signature(&mut out, key, &options)?;
    Ok(out)
}

#[cfg(test)]
mod tests;
