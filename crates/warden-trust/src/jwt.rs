//! JWT verification against one issuer's policy.
//!
//! The algorithm comes from the policy's allow-list, never from the token:
//! a token naming `none`, an HMAC algorithm or anything unlisted is refused
//! before any key is looked at. The key comes from the issuer's key set by
//! `kid` (required), never from the token (`jwk`, `jku`, `x5u`, `x5c` in the
//! header are refused). `crit` is refused: Warden understands no extension.
//! Time is passed in, so tests and callers control the clock.

use serde_json::{Map, Value};
use warden_json::{JsonLimits, parse_strict};

use crate::alg::JwsAlg;
use crate::jwks::KeySet;
use crate::jws::{JwsError, parse_compact};

/// What one issuer's tokens must look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerPolicy {
    pub issuer: String,
    /// At least one must appear in `aud`. Empty accepts none.
    pub audiences: Vec<String>,
    /// The only algorithms accepted. Empty accepts none.
    pub algorithms: Vec<JwsAlg>,
    /// Required `typ` (compared case-insensitively, `application/` optional).
    pub typ: Option<String>,
    pub max_lifetime_secs: u64,
    pub leeway_secs: u64,
    pub max_token_bytes: usize,
}

/// The registered claims Warden relies on, plus the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    pub iss: String,
    pub sub: Option<String>,
    pub aud: Vec<String>,
    pub exp: u64,
    pub nbf: Option<u64>,
    pub iat: u64,
    pub jti: String,
    pub scope: Vec<String>,
    /// The `cnf` (confirmation) claim, when the token is sender-constrained.
    pub cnf: Option<Map<String, Value>>,
    pub all: Map<String, Value>,
}

#[derive(Debug, Clone)]
pub struct VerifiedJwt {
    pub alg: JwsAlg,
    pub kid: String,
    pub claims: Claims,
}

/// Why a token is refused. `public_description` is what a caller may see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token is too large")]
    TooLarge,
    #[error("algorithm {0:?} is not allowed for this issuer")]
    AlgorithmNotAllowed(String),
    #[error("token header has no kid")]
    MissingKid,
    #[error("no key with kid {0:?}")]
    UnknownKid(String),
    #[error("token header embeds a key or key URL ({0})")]
    EmbeddedKey(&'static str),
    #[error("token header has crit; no JOSE extension is supported")]
    UnsupportedCrit,
    #[error("token typ is not {0:?}")]
    WrongTyp(String),
    #[error("signature does not verify")]
    BadSignature,
    #[error("wrong issuer")]
    WrongIssuer,
    #[error("wrong audience")]
    WrongAudience,
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
    #[error("token issued in the future")]
    IssuedInFuture,
    #[error("token lifetime exceeds {0} s")]
    LifetimeTooLong(u64),
    #[error("claim {0} is missing or invalid")]
    BadClaim(&'static str),
}

impl TokenError {
    /// The `error_description` sent to the caller: enough to fix an honest
    /// mistake, nothing about keys or other issuers.
    pub fn public_description(&self) -> &'static str {
        match self {
            Self::Expired => "the token has expired",
            Self::NotYetValid | Self::IssuedInFuture => "the token is not valid yet",
            Self::TooLarge => "the token is too large",
            Self::WrongAudience => "the token is not for this audience",
            _ => "the token is not valid",
        }
    }
}

impl From<JwsError> for TokenError {
    fn from(e: JwsError) -> Self {
        match e {
            JwsError::TooLarge(_) => Self::TooLarge,
            _ => Self::Malformed,
        }
    }
}

/// Claims are small; bounded tighter than bodies.
const CLAIM_LIMITS: JsonLimits = JsonLimits {
    max_depth: 8,
    max_string_bytes: 8 * 1024,
};

fn typ_matches(found: &str, want: &str) -> bool {
    let norm = |s: &str| {
        let s = s.to_ascii_lowercase();
        s.strip_prefix("application/")
            .map(str::to_owned)
            .unwrap_or(s)
    };
    norm(found) == norm(want)
}

fn numeric_date(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<u64>, TokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(u) = n.as_u64() {
                return Ok(Some(u));
            }
            match n.as_f64() {
                Some(f) if (0.0..1e15).contains(&f) => Ok(Some(f.floor() as u64)),
                _ => Err(TokenError::BadClaim(name)),
            }
        }
        Some(_) => Err(TokenError::BadClaim(name)),
    }
}

/// Checks the header of a compact JWS against an algorithm allow-list and
/// returns its algorithm and kid. Shared by access tokens and client
/// assertions.
pub fn check_header(
    header: &Map<String, Value>,
    algorithms: &[JwsAlg],
) -> Result<(JwsAlg, String), TokenError> {
    let name = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let alg = JwsAlg::parse(name)
        .filter(|a| algorithms.contains(a))
        .ok_or_else(|| TokenError::AlgorithmNotAllowed(name.chars().take(16).collect()))?;
    for embedded in ["jwk", "jku", "x5u", "x5c"] {
        if header.contains_key(embedded) {
            return Err(TokenError::EmbeddedKey(embedded));
        }
    }
    if header.contains_key("crit") {
        return Err(TokenError::UnsupportedCrit);
    }
    let kid = match header.get("kid") {
        Some(Value::String(k)) if !k.is_empty() && k.len() <= 256 => k.clone(),
        _ => return Err(TokenError::MissingKid),
    };
    Ok((alg, kid))
}

/// Verifies a JWT against `policy` and `keys` at time `now` (Unix seconds).
pub fn verify_jwt(
    token: &str,
    policy: &IssuerPolicy,
    keys: &KeySet,
    now: u64,
) -> Result<VerifiedJwt, TokenError> {
    let jws = parse_compact(token, policy.max_token_bytes)?;
    let (alg, kid) = check_header(&jws.header, &policy.algorithms)?;
    if let Some(want) = &policy.typ {
        let found = jws.header_str("typ").unwrap_or("");
        if !typ_matches(found, want) {
            return Err(TokenError::WrongTyp(want.clone()));
        }
    }
    let key = keys
        .get(&kid)
        .ok_or_else(|| TokenError::UnknownKid(kid.clone()))?;
    if !key.verify(alg, jws.signing_input.as_bytes(), &jws.signature) {
        return Err(TokenError::BadSignature);
    }
    let claims = match parse_strict(&jws.payload, CLAIM_LIMITS) {
        Ok(Value::Object(o)) => o,
        _ => return Err(TokenError::Malformed),
    };
    let claims = check_claims(claims, policy, now)?;
    Ok(VerifiedJwt { alg, kid, claims })
}

fn check_claims(
    all: Map<String, Value>,
    policy: &IssuerPolicy,
    now: u64,
) -> Result<Claims, TokenError> {
    let iss = all
        .get("iss")
        .and_then(Value::as_str)
        .ok_or(TokenError::BadClaim("iss"))?;
    if iss != policy.issuer {
        return Err(TokenError::WrongIssuer);
    }
    let aud: Vec<String> = match all.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => return Err(TokenError::BadClaim("aud")),
    };
    if !aud.iter().any(|a| policy.audiences.contains(a)) {
        return Err(TokenError::WrongAudience);
    }
    let exp = numeric_date(&all, "exp")?.ok_or(TokenError::BadClaim("exp"))?;
    let iat = numeric_date(&all, "iat")?.ok_or(TokenError::BadClaim("iat"))?;
    let nbf = numeric_date(&all, "nbf")?;
    let leeway = policy.leeway_secs;
    if now > exp.saturating_add(leeway) {
        return Err(TokenError::Expired);
    }
    if nbf.is_some_and(|n| n > now.saturating_add(leeway)) {
        return Err(TokenError::NotYetValid);
    }
    if iat > now.saturating_add(leeway) {
        return Err(TokenError::IssuedInFuture);
    }
    if exp.saturating_sub(iat) > policy.max_lifetime_secs {
        return Err(TokenError::LifetimeTooLong(policy.max_lifetime_secs));
    }
    let jti = match all.get("jti") {
        Some(Value::String(j)) if !j.is_empty() && j.len() <= 256 => j.clone(),
        _ => return Err(TokenError::BadClaim("jti")),
    };
    let sub = match all.get("sub") {
        None => None,
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(_) => return Err(TokenError::BadClaim("sub")),
    };
    let scope = match all.get("scope") {
        None => Vec::new(),
        Some(Value::String(s)) => s
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(_) => return Err(TokenError::BadClaim("scope")),
    };
    let cnf = match all.get("cnf") {
        None => None,
        Some(Value::Object(o)) => Some(o.clone()),
        Some(_) => return Err(TokenError::BadClaim("cnf")),
    };
    Ok(Claims {
        iss: iss.to_string(),
        sub,
        aud,
        exp,
        nbf,
        iat,
        jti,
        scope,
        cnf,
        all,
    })
}
