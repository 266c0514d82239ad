//! A2A Agent Card signatures (A2A v1.0 §8.4): detached JWS (RFC 7515) over
//! a canonical form of the card.
//!
//! Each `signatures[]` entry is `{"protected", "signature", "header"?}`.
//! The signing input is `protected || "." || base64url(payload)`, where the
//! payload is the card without its `signatures` member, canonicalised.
//!
//! # Which payload
//!
//! The specification does not pin the payload down, and the official SDKs
//! disagree (A2A#2122):
//!
//! - §8.4.1 says RFC 8785 over the ProtoJSON card "with field presence
//!   respected": explicitly set empty optionals and empty REQUIRED fields
//!   are kept, its own worked example keeps `"description":""` and
//!   `"skills":[]`. §8.4.2/§8.4.3 say "remove properties with default
//!   values", with no exception, which would drop both.
//! - `a2a-sdk` (Python) drops every `""`, `[]`, `{}` and `null`,
//!   recursively; up to 1.2 it then used `json.dumps` (ASCII escapes,
//!   code-point key order, Python float text), from 1.3 real RFC 8785.
//!
//! Warden does not pick one reading and fail the others. A verifier tries
//! [`CanonicalForm::Rfc8785`] (the card exactly as received, minus
//! `signatures`), then [`CanonicalForm::PythonSdk`], then
//! [`CanonicalForm::PythonSdkJsonDumps`] ([`CardVerifyPolicy::forms`]
//! narrows this). This widens nothing an attacker controls: every form is
//! computed from the same received bytes, parsed once and strictly (no
//! duplicate keys, no lone surrogates), and each form's output is a JSON
//! text denoting that parse (minus empties for the Python forms), so a
//! signature over one form's bytes can only be replayed onto a card with the
//! same content. The only freedom the Python forms add is that empty values
//! are not covered, which is what the Python SDK signs for anyway.
//!
//! Warden *signs* the RFC 8785 form, and only cards on which it agrees with
//! the Python SDK's form: a card with empty values is refused
//! ([`CardSigningError::EmptyValues`]); [`strip_empty_values`] removes them
//! first. Two caveats a signer must still respect for the Python SDK to
//! accept Warden's signature, because that SDK canonicalises its parsed
//! protobuf, not the received JSON: the card must hold no members unknown to
//! `a2a.proto` (they are dropped before canonicalisation) and must already be
//! in ProtoJSON's canonical spelling (camelCase names, enum names).
//!
//! # Which keys and algorithms
//!
//! The algorithm must be on the caller's allow-list ([`JwsAlg`] cannot name
//! `none` or HMAC). Keys come only from the caller ([`CardKeys`]), by `kid`:
//! a header carrying `jwk`, `x5c` or `x5u` is refused, as is `crit` and an
//! unencoded payload (`b64`). The header's `jku` is handed to the caller
//! ([`KeyRequest::jku`], [`signature_headers`]) and never fetched here: a
//! signer-chosen URL is not a trust root (A2A#2096).
//!
//! [`JwsAlg`]: crate::alg::JwsAlg

mod form;
mod header;
mod sign;
mod verify;

use serde_json::{Map, Value};

pub use form::{CanonicalForm, PayloadError, canonical_payload, strip_empty_values};
pub use header::{SignatureHeader, SignatureRejection};
pub use sign::{CardSigningError, CardSigningOptions, add_card_signature, sign_card};
pub use verify::{
    CardKeys, CardVerifyError, CardVerifyPolicy, KeyRequest, VerifiedCard, signature_headers,
    verify_card,
};

/// One `signatures[]` entry (`AgentCardSignature`), as written.
#[derive(Debug, Clone, PartialEq)]
pub struct CardSignature {
    /// base64url of the protected header JSON.
    pub protected: String,
    /// base64url of the signature bytes.
    pub signature: String,
    /// The unprotected header, if any.
    pub header: Option<Map<String, Value>>,
}

impl CardSignature {
    pub fn to_json(&self) -> Value {
        let mut entry = Map::new();
        entry.insert("protected".into(), Value::String(self.protected.clone()));
        entry.insert("signature".into(), Value::String(self.signature.clone()));
        if let Some(header) = &self.header {
            entry.insert("header".into(), Value::Object(header.clone()));
        }
        Value::Object(entry)
    }
}
