//! One `signatures[]` entry read defensively: its shape, and a protected
//! header that names an allowed algorithm, a `kid`, and nothing Warden would
//! have to trust the signer for.

use serde_json::{Map, Value};
use warden_json::{JsonLimits, parse_strict};

use crate::alg::JwsAlg;
use crate::b64;
use crate::jcs::Json;

/// What a verifier may use from a signature's protected header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    pub alg: JwsAlg,
    pub kid: String,
    /// The JWKS URL the signer names. Never fetched here: whether to fetch
    /// it, and from which hosts, is the caller's decision (a signer-chosen
    /// URL is not a trust root).
    pub jku: Option<String>,
}

/// Why one signature entry is not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureRejection {
    #[error("signature entry is not an object of \"protected\", \"signature\" and \"header\"")]
    Shape,
    #[error("protected header is not base64url of a JSON object")]
    BadProtectedHeader,
    #[error("signature value is not base64url")]
    BadEncoding,
    #[error("algorithm {0:?} is not allowed")]
    AlgorithmNotAllowed(String),
    #[error("protected header has no usable kid")]
    MissingKid,
    #[error("header carries a key or key reference ({0}); keys come from the trusted set")]
    EmbeddedKey(&'static str),
    #[error("header has crit; no JOSE extension is supported")]
    UnsupportedCrit,
    #[error("header asks for an unencoded payload (b64)")]
    UnencodedPayload,
    #[error("header member {0:?} is invalid or repeated in the unprotected header")]
    BadHeaderMember(String),
    #[error("no trusted key for kid {0:?}")]
    UnknownKey(String),
    #[error("the key for kid {kid:?} cannot verify {alg}")]
    KeyMismatch { kid: String, alg: JwsAlg },
    #[error("signature does not verify")]
    BadSignature,
}

/// A parsed entry: its header, and the raw parts the signing input needs.
pub(crate) struct Entry {
    pub header: SignatureHeader,
    pub protected: String,
    pub signature: Vec<u8>,
}

/// Members that would make the signer, not the caller, choose the key.
const EMBEDDED_KEY_MEMBERS: [&str; 3] = ["jwk", "x5c", "x5u"];

/// Protected headers are small and flat.
const HEADER_LIMITS: JsonLimits = JsonLimits {
    max_depth: 4,
    max_string_bytes: 8 * 1024,
};
const MAX_PROTECTED_BYTES: usize = 16 * 1024;
const MAX_KID_BYTES: usize = 256;

/// Reads one entry and checks its header against `algorithms`.
pub(crate) fn read_entry(entry: &Json, algorithms: &[JwsAlg]) -> Result<Entry, SignatureRejection> {
    let Json::Object(members) = entry else {
        return Err(SignatureRejection::Shape);
    };
    let (mut protected, mut signature, mut unprotected) = (None, None, None);
    for (name, value) in members {
        match (name.as_str(), value) {
            ("protected", Json::String(s)) => protected = Some(s.as_str()),
            ("signature", Json::String(s)) => signature = Some(s.as_str()),
            ("header", Json::Object(h)) => unprotected = Some(h),
            _ => return Err(SignatureRejection::Shape),
        }
    }
    // ProtoJSON omits a string holding its default, so an absent member
    // reads as "" (and then fails like any other bad value): the Python SDK
    // emits an `alg: none` signature without its empty `signature`.
    let (protected, signature) = (protected.unwrap_or(""), signature.unwrap_or(""));
    let header = decode_protected(protected)?;
    let checked = check_header(&header, algorithms)?;
    if let Some(unprotected) = unprotected {
        check_unprotected(unprotected, &header)?;
    }
    let signature = b64::decode(signature).ok_or(SignatureRejection::BadEncoding)?;
    Ok(Entry {
        header: checked,
        protected: protected.to_owned(),
        signature,
    })
}

fn decode_protected(protected: &str) -> Result<Map<String, Value>, SignatureRejection> {
    if protected.len() > MAX_PROTECTED_BYTES {
        return Err(SignatureRejection::BadProtectedHeader);
    }
    let bytes = b64::decode(protected).ok_or(SignatureRejection::BadProtectedHeader)?;
    match parse_strict(&bytes, HEADER_LIMITS) {
        Ok(Value::Object(o)) => Ok(o),
        _ => Err(SignatureRejection::BadProtectedHeader),
    }
}

/// The algorithm comes from the header but must be on the caller's list,
/// which can only name asymmetric algorithms (`none` and HS* cannot be
/// expressed as a [`JwsAlg`]). `typ` is not checked: the SDKs write `JOSE`,
/// PyJWT's default is `JWT`, and a payload that is a whole canonical card
/// cannot be mistaken for any other kind of token.
fn check_header(
    header: &Map<String, Value>,
    algorithms: &[JwsAlg],
) -> Result<SignatureHeader, SignatureRejection> {
    let name = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let alg = JwsAlg::parse(name)
        .filter(|a| algorithms.contains(a))
        .ok_or_else(|| SignatureRejection::AlgorithmNotAllowed(name.chars().take(16).collect()))?;
    for member in EMBEDDED_KEY_MEMBERS {
        if header.contains_key(member) {
            return Err(SignatureRejection::EmbeddedKey(member));
        }
    }
    if header.contains_key("crit") {
        return Err(SignatureRejection::UnsupportedCrit);
    }
    // RFC 7797: only `b64: true` (the default) means the payload is what
    // was encoded; anything else would change the signing input.
    if header.get("b64").is_some_and(|b| *b != Value::Bool(true)) {
        return Err(SignatureRejection::UnencodedPayload);
    }
    let kid = match header.get("kid") {
        Some(Value::String(k)) if !k.is_empty() && k.len() <= MAX_KID_BYTES => k.clone(),
        _ => return Err(SignatureRejection::MissingKid),
    };
    // PyJWT writes `"jku": null` when the Python SDK's header has no URL.
    let jku = match header.get("jku") {
        None | Some(Value::Null) => None,
        Some(Value::String(u)) if !u.is_empty() => Some(u.clone()),
        Some(_) => return Err(SignatureRejection::BadHeaderMember("jku".into())),
    };
    Ok(SignatureHeader { alg, kid, jku })
}

/// RFC 7515 §7.2.1: protected and unprotected members must be disjoint, and
/// nothing that changes how the signature is checked may sit unprotected.
fn check_unprotected(
    unprotected: &[(String, Json)],
    protected: &Map<String, Value>,
) -> Result<(), SignatureRejection> {
    for (name, _) in unprotected {
        if let Some(member) = EMBEDDED_KEY_MEMBERS.iter().find(|m| **m == name.as_str()) {
            return Err(SignatureRejection::EmbeddedKey(member));
        }
        if name == "crit" {
            return Err(SignatureRejection::UnsupportedCrit);
        }
        if matches!(name.as_str(), "alg" | "b64") || protected.contains_key(name) {
            return Err(SignatureRejection::BadHeaderMember(
                name.chars().take(32).collect(),
            ));
        }
    }
    Ok(())
}
