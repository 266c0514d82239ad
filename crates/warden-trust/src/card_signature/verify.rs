//! Verifying a received card: any one signature, by an allowed algorithm and
//! a trusted key, over one of the accepted canonical forms.

use crate::alg::JwsAlg;
use crate::b64;
use crate::jcs::{self, JcsError, JcsLimits, Json};
use crate::jwk::PublicJwk;
use crate::jwks::KeySet;

use super::form::{CanonicalForm, PayloadError, payload, split_signatures};
use super::header::{SignatureHeader, SignatureRejection, read_entry};

/// What a verifier accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardVerifyPolicy {
    /// The only algorithms accepted. Empty accepts none.
    pub algorithms: Vec<JwsAlg>,
    /// The canonical forms tried, in order. Empty accepts none.
    pub forms: Vec<CanonicalForm>,
    pub limits: JcsLimits,
    /// More entries than this refuse the card (each costs up to one
    /// verification per form).
    pub max_signatures: usize,
}

impl CardVerifyPolicy {
    /// `algorithms`, every canonical form (specification's first), default
    /// limits and at most 8 signatures.
    pub fn new(algorithms: Vec<JwsAlg>) -> Self {
        Self {
            algorithms,
            forms: CanonicalForm::ALL.to_vec(),
            limits: JcsLimits::default(),
            max_signatures: 8,
        }
    }
}

/// What the caller is asked for: the key named `kid`, for `alg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRequest<'a> {
    pub kid: &'a str,
    /// The signer's JWKS URL, if any: the caller decides whether to trust it.
    pub jku: Option<&'a str>,
    pub alg: JwsAlg,
}

/// Where verification keys come from: the caller's trusted set.
pub trait CardKeys {
    fn key(&self, request: &KeyRequest<'_>) -> Option<PublicJwk>;
}

/// A pinned key set: `kid` selects the key, `jku` is ignored.
impl CardKeys for KeySet {
    fn key(&self, request: &KeyRequest<'_>) -> Option<PublicJwk> {
        self.get(request.kid).cloned()
    }
}

impl<F: Fn(&KeyRequest<'_>) -> Option<PublicJwk>> CardKeys for F {
    fn key(&self, request: &KeyRequest<'_>) -> Option<PublicJwk> {
        self(request)
    }
}

/// The signature that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCard {
    /// Its position in `signatures`.
    pub index: usize,
    pub kid: String,
    pub alg: JwsAlg,
    pub jku: Option<String>,
    /// The reading of the card it verified over.
    pub form: CanonicalForm,
}

/// Why a card is not verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardVerifyError {
    #[error("card is not acceptable JSON: {0}")]
    Json(#[from] JcsError),
    #[error("card is not a JSON object")]
    NotAnObject,
    #[error("card has no signatures")]
    NoSignatures,
    #[error("card signatures member is not an array")]
    SignaturesNotArray,
    #[error("card has more than {0} signatures")]
    TooManySignatures(usize),
    /// One rejection per entry, in order.
    #[error("no signature verifies ({})", summary(.0))]
    NoValidSignature(Vec<SignatureRejection>),
}

fn summary(rejections: &[SignatureRejection]) -> String {
    let parts: Vec<String> = rejections.iter().map(ToString::to_string).collect();
    parts.join("; ")
}

impl From<PayloadError> for CardVerifyError {
    fn from(e: PayloadError) -> Self {
        match e {
            PayloadError::Json(j) => Self::Json(j),
            PayloadError::NotAnObject => Self::NotAnObject,
        }
    }
}

/// Reads the card and its signature entries under `policy`'s bounds.
fn read_card(
    card_json: &[u8],
    policy: &CardVerifyPolicy,
) -> Result<(Json, Vec<Json>), CardVerifyError> {
    let (card, signatures) = split_signatures(jcs::parse::parse(card_json, policy.limits)?)?;
    let entries = match signatures {
        None => return Err(CardVerifyError::NoSignatures),
        Some(Json::Array(a)) if a.is_empty() => return Err(CardVerifyError::NoSignatures),
        Some(Json::Array(a)) => a,
        Some(_) => return Err(CardVerifyError::SignaturesNotArray),
    };
    if entries.len() > policy.max_signatures {
        return Err(CardVerifyError::TooManySignatures(policy.max_signatures));
    }
    Ok((card, entries))
}

/// Each entry's checked protected header (or why it is unusable), so that a
/// caller can fetch or look up keys (e.g. from an allow-listed `jku`)
/// before calling [`verify_card`].
pub fn signature_headers(
    card_json: &[u8],
    policy: &CardVerifyPolicy,
) -> Result<Vec<Result<SignatureHeader, SignatureRejection>>, CardVerifyError> {
    let (_, entries) = read_card(card_json, policy)?;
    Ok(entries
        .iter()
        .map(|e| read_entry(e, &policy.algorithms).map(|entry| entry.header))
        .collect())
}

/// Verifies the card `card_json` (the raw received bytes): passes if any
/// signature verifies with an allowed algorithm and a key from `keys`, over
/// one of `policy.forms`.
pub fn verify_card(
    card_json: &[u8],
    policy: &CardVerifyPolicy,
    keys: &impl CardKeys,
) -> Result<VerifiedCard, CardVerifyError> {
    let (card, entries) = read_card(card_json, policy)?;
    // Each form's payload is built at most once, when first needed.
    let mut payloads: Vec<(CanonicalForm, String)> = Vec::new();
    let mut rejections = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        match verify_entry(entry, &card, policy, keys, &mut payloads) {
            Ok((header, form)) => {
                return Ok(VerifiedCard {
                    index,
                    kid: header.kid,
                    alg: header.alg,
                    jku: header.jku,
                    form,
                });
            }
            Err(rejection) => rejections.push(rejection),
        }
    }
    Err(CardVerifyError::NoValidSignature(rejections))
}

fn verify_entry(
    entry: &Json,
    card: &Json,
    policy: &CardVerifyPolicy,
    keys: &impl CardKeys,
    payloads: &mut Vec<(CanonicalForm, String)>,
) -> Result<(SignatureHeader, CanonicalForm), SignatureRejection> {
    let entry = read_entry(entry, &policy.algorithms)?;
    let header = entry.header;
    let key = keys
        .key(&KeyRequest {
            kid: &header.kid,
            jku: header.jku.as_deref(),
            alg: header.alg,
        })
        .ok_or_else(|| SignatureRejection::UnknownKey(header.kid.clone()))?;
    if !key.fits(header.alg) {
        return Err(SignatureRejection::KeyMismatch {
            kid: header.kid,
            alg: header.alg,
        });
    }
    for &form in &policy.forms {
        let at = match payloads.iter().position(|(f, _)| *f == form) {
            Some(at) => at,
            None => {
                payloads.push((form, b64::encode(&payload(card, form))));
                payloads.len() - 1
            }
        };
        let input = format!("{}.{}", entry.protected, payloads[at].1);
        if key.verify(header.alg, input.as_bytes(), &entry.signature) {
            return Ok((header, form));
        }
    }
    Err(SignatureRejection::BadSignature)
}
