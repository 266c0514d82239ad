//! DPoP proofs (RFC 9449): a client proves, request by request, that it
//! holds the private key its access token is bound to.
//!
//! Verification is pure: the clock and the replay cache are passed in.
//! A proof is a compact JWS whose header carries the client's *public* key:
//! - `typ` is exactly `dpop+jwt`; `alg` comes from the policy's allow-list
//!   (`none` and HMAC cannot even be named, see [`JwsAlg`]);
//! - `jwk` is read from the raw header JSON with [`PublicJwk::from_json`],
//!   which refuses private members and symmetric (`oct`) keys, so a proof
//!   can never make the verifier check an HMAC under a key the attacker
//!   chose; `jku`, `x5u`, `x5c` (other places to find a key) and `crit`
//!   are refused; `kid`, if present, is ignored;
//! - the claims bind the proof to this request (`htm`, `htu`), to a short
//!   time window (`iat`), to the presented access token (`ath`), to the
//!   server's nonce when nonces are on, and are single-use (`jti`).
//!
//! Whether the access token is bound to the proof's key (`cnf.jkt`) is
//! [`check_binding`]'s decision, made by the caller once the token is
//! verified.

use aws_lc_rs::digest::{SHA256, digest};
use serde_json::{Map, Value};
use warden_json::{JsonLimits, parse_strict};

use crate::alg::{ALL_ALGS, JwsAlg};
use crate::b64;
use crate::jwk::{JwkError, PublicJwk};
use crate::jws::{JwsError, parse_compact};
use crate::replay::{ReplayCache, ReplayError};

/// The `typ` every proof carries (compared exactly).
pub const DPOP_TYP: &str = "dpop+jwt";

/// Prefix of the replay-cache keys of proof ids, so they never collide with
/// access-token ids kept in the same cache.
pub const REPLAY_PREFIX: &str = "dpop:";

/// Longest accepted `jti`.
const MAX_JTI_BYTES: usize = 256;

/// Claims are small and flat.
const CLAIM_LIMITS: JsonLimits = JsonLimits {
    max_depth: 4,
    max_string_bytes: 8 * 1024,
};

/// What proofs must look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopPolicy {
    /// The only algorithms accepted. Empty accepts none.
    pub algorithms: Vec<JwsAlg>,
    /// How far in the past `iat` may be (seconds); also how long a proof's
    /// `jti` is remembered.
    pub iat_window_secs: u64,
    /// How far in the future `iat` may be (clock skew, seconds).
    pub max_future_secs: u64,
    /// Largest proof accepted, in bytes.
    pub max_proof_bytes: usize,
}

impl Default for DpopPolicy {
    /// Every supported algorithm, 60 s in the past, 5 s in the future,
    /// 8 KiB (room for an RSA-4096 key and signature).
    fn default() -> Self {
        Self {
            algorithms: ALL_ALGS.to_vec(),
            iat_window_secs: 60,
            max_future_secs: 5,
            max_proof_bytes: 8 * 1024,
        }
    }
}

/// The request a proof must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DpopRequest<'a> {
    /// The HTTP method, as sent (`GET`, `POST`, ...); compared exactly.
    pub method: &'a str,
    /// The request's full URL as the server sees it (scheme, host, port,
    /// path; query and fragment are ignored).
    pub url: &'a str,
    /// The access token presented with the proof, if any: then `ath` is
    /// required and must be its hash.
    pub access_token: Option<&'a str>,
    /// The nonce the server expects, when nonces are on.
    pub nonce: Option<&'a str>,
}

/// A proof that verified.
#[derive(Debug, Clone)]
pub struct VerifiedProof {
    /// RFC 7638 thumbprint of the proof key: what `cnf.jkt` must hold.
    pub jkt: String,
    /// The proof key.
    pub key: PublicJwk,
    pub alg: JwsAlg,
    pub jti: String,
    pub iat: u64,
    /// Every claim of the proof.
    pub claims: Map<String, Value>,
}

/// Why a proof (or a token's binding to it) is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DpopError {
    #[error("DPoP proof is malformed")]
    Malformed,
    #[error("DPoP proof is too large")]
    TooLarge,
    #[error("DPoP proof typ is not {DPOP_TYP:?}")]
    WrongTyp,
    #[error("algorithm {0:?} is not allowed for DPoP proofs")]
    AlgorithmNotAllowed(String),
    #[error("DPoP proof header has no jwk")]
    MissingJwk,
    #[error("DPoP proof jwk is refused: {0}")]
    BadJwk(JwkError),
    #[error("DPoP proof jwk does not fit algorithm {0}")]
    KeyAlgMismatch(JwsAlg),
    #[error("DPoP proof header names another key source ({0})")]
    OtherKeySource(&'static str),
    #[error("DPoP proof header has crit; no JOSE extension is supported")]
    UnsupportedCrit,
    #[error("DPoP proof signature does not verify")]
    BadSignature,
    #[error("DPoP claim {0} is missing or invalid")]
    BadClaim(&'static str),
    #[error("DPoP proof htm does not match the request method")]
    WrongMethod,
    #[error("DPoP proof htu does not match the request URL")]
    WrongUrl,
    #[error("DPoP proof is too old")]
    Stale,
    #[error("DPoP proof is issued in the future")]
    IssuedInFuture,
    #[error("DPoP proof ath is missing or does not match the access token")]
    WrongAth,
    #[error("DPoP proof nonce is missing or not the expected one")]
    UseNonce,
    #[error("DPoP proof was already used")]
    Replayed,
    #[error("DPoP replay cache cannot record the proof ({0})")]
    ReplayUnavailable(ReplayError),
    #[error("the access token is not bound to a DPoP key")]
    NotBound,
    #[error("the access token is bound to another key")]
    BindingMismatch,
}

impl DpopError {
    /// The `error` code for `WWW-Authenticate` (RFC 9449 §7.1, §9):
    /// `use_dpop_nonce`, `invalid_token` for a token/key binding failure,
    /// `invalid_dpop_proof` otherwise.
    pub fn error_code(&self) -> &'static str {
        match self {
            Self::UseNonce => "use_dpop_nonce",
            Self::NotBound | Self::BindingMismatch => "invalid_token",
            _ => "invalid_dpop_proof",
        }
    }

    /// Whether the server should answer with a fresh `DPoP-Nonce` and
    /// `use_dpop_nonce` so the client can retry.
    pub fn is_use_nonce(&self) -> bool {
        matches!(self, Self::UseNonce)
    }

    /// Whether the failure is the server's (replay store full or down):
    /// the request is refused, but a 503 fits better than a 401.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::ReplayUnavailable(_))
    }

    /// The `error_description` sent to the caller: enough to fix an honest
    /// mistake, nothing about keys or what was compared.
    pub fn public_description(&self) -> &'static str {
        match self {
            Self::UseNonce => "a DPoP nonce is required",
            Self::TooLarge => "the DPoP proof is too large",
            Self::Stale | Self::IssuedInFuture => "the DPoP proof is not fresh",
            Self::NotBound | Self::BindingMismatch => "the token is not bound to the DPoP key",
            Self::ReplayUnavailable(_) => "the DPoP proof cannot be checked now",
            _ => "the DPoP proof is not valid",
        }
    }
}

impl From<JwsError> for DpopError {
    fn from(e: JwsError) -> Self {
        match e {
            JwsError::TooLarge(_) => Self::TooLarge,
            _ => Self::Malformed,
        }
    }
}

/// `base64url(SHA-256(access_token))`: the `ath` a proof carries.
pub fn access_token_hash(access_token: &str) -> String {
    b64::encode(digest(&SHA256, access_token.as_bytes()).as_ref())
}

/// Verifies a DPoP proof for `req` at time `now` (Unix seconds). The proof's
/// `jti` is recorded in `replay` (as `dpop:<jkt>:<jti>`, until
/// `iat + iat_window_secs`) only once every other check passed.
pub fn verify_proof(
    proof: &str,
    req: &DpopRequest<'_>,
    policy: &DpopPolicy,
    replay: &dyn ReplayCache,
    now: u64,
) -> Result<VerifiedProof, DpopError> {
    let jws = parse_compact(proof, policy.max_proof_bytes)?;
    let header = &jws.header;

    if header.get("typ").and_then(Value::as_str) != Some(DPOP_TYP) {
        return Err(DpopError::WrongTyp);
    }
    let name = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let alg = JwsAlg::parse(name)
        .filter(|a| policy.algorithms.contains(a))
        .ok_or_else(|| DpopError::AlgorithmNotAllowed(name.chars().take(16).collect()))?;
    for other in ["jku", "x5u", "x5c"] {
        if header.contains_key(other) {
            return Err(DpopError::OtherKeySource(other));
        }
    }
    if header.contains_key("crit") {
        return Err(DpopError::UnsupportedCrit);
    }
    // The raw header member: `from_json` sees every member, so private and
    // symmetric keys cannot slip through.
    let jwk = header.get("jwk").ok_or(DpopError::MissingJwk)?;
    let key = PublicJwk::from_json(jwk).map_err(DpopError::BadJwk)?;
    if !key.fits(alg) {
        return Err(DpopError::KeyAlgMismatch(alg));
    }
    if !key.verify(alg, jws.signing_input.as_bytes(), &jws.signature) {
        return Err(DpopError::BadSignature);
    }

    let claims = match parse_strict(&jws.payload, CLAIM_LIMITS) {
        Ok(Value::Object(o)) => o,
        _ => return Err(DpopError::Malformed),
    };
    let jti = match claims.get("jti") {
        Some(Value::String(j)) if !j.is_empty() && j.len() <= MAX_JTI_BYTES => j.clone(),
        _ => return Err(DpopError::BadClaim("jti")),
    };
    let htm = claims
        .get("htm")
        .and_then(Value::as_str)
        .ok_or(DpopError::BadClaim("htm"))?;
    if htm != req.method {
        return Err(DpopError::WrongMethod);
    }
    let htu = claims
        .get("htu")
        .and_then(Value::as_str)
        .ok_or(DpopError::BadClaim("htu"))?;
    if !htu_matches(htu, req.url) {
        return Err(DpopError::WrongUrl);
    }
    let iat = numeric_date(claims.get("iat")).ok_or(DpopError::BadClaim("iat"))?;
    if iat.saturating_add(policy.iat_window_secs) < now {
        return Err(DpopError::Stale);
    }
    if iat > now.saturating_add(policy.max_future_secs) {
        return Err(DpopError::IssuedInFuture);
    }
    if let Some(token) = req.access_token {
        let ath = claims.get("ath").and_then(Value::as_str);
        if ath != Some(access_token_hash(token).as_str()) {
            return Err(DpopError::WrongAth);
        }
    }
    if let Some(want) = req.nonce
        && claims.get("nonce").and_then(Value::as_str) != Some(want)
    {
        return Err(DpopError::UseNonce);
    }

    let jkt = key.thumbprint();
    let replay_key = format!("{REPLAY_PREFIX}{jkt}:{jti}");
    replay
        .check_and_insert(&replay_key, iat.saturating_add(policy.iat_window_secs), now)
        .map_err(|e| match e {
            ReplayError::Replayed => DpopError::Replayed,
            other => DpopError::ReplayUnavailable(other),
        })?;

    Ok(VerifiedProof {
        jkt,
        key,
        alg,
        jti,
        iat,
        claims,
    })
}

/// Checks that an access token's `cnf` claim binds it to the proof key
/// `jkt` (the [`VerifiedProof::jkt`]).
pub fn check_binding(claims_cnf: Option<&Map<String, Value>>, jkt: &str) -> Result<(), DpopError> {
    let bound = claims_cnf
        .and_then(|c| c.get("jkt"))
        .and_then(Value::as_str)
        .ok_or(DpopError::NotBound)?;
    if bound.is_empty() {
        return Err(DpopError::NotBound);
    }
    if bound != jkt {
        return Err(DpopError::BindingMismatch);
    }
    Ok(())
}

fn numeric_date(v: Option<&Value>) -> Option<u64> {
    let n = match v? {
        Value::Number(n) => n,
        _ => return None,
    };
    if let Some(u) = n.as_u64() {
        return Some(u);
    }
    n.as_f64()
        .filter(|f| (0.0..1e15).contains(f))
        .map(|f| f.floor() as u64)
}

/// Whether the proof's `htu` names the request URL: scheme, host
/// (case-insensitive), port (default ports normalised) and path must be
/// equal; query and fragment are ignored (RFC 9449 §4.3). Both sides are
/// normalised the same way (RFC 3986 §6.2.2: case of scheme, host and
/// percent-escapes, unreserved characters decoded; §6.2.3: default port,
/// empty path is `/`). Dot segments are not resolved: a URL that needs it
/// does not match.
pub fn htu_matches(htu: &str, request_url: &str) -> bool {
    match (NormalUrl::parse(htu), NormalUrl::parse(request_url)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[derive(Debug, PartialEq, Eq)]
struct NormalUrl {
    scheme: &'static str,
    host: String,
    port: u16,
    path: String,
}

impl NormalUrl {
    fn parse(s: &str) -> Option<Self> {
        if s.bytes().any(|b| b <= b' ' || b == 0x7f || b == b'\\') {
            return None;
        }
        let s = s.split('#').next().unwrap_or_default();
        let s = s.split('?').next().unwrap_or_default();
        let (scheme, rest) = s.split_once("://")?;
        let (scheme, default_port) = if scheme.eq_ignore_ascii_case("https") {
            ("https", 443)
        } else if scheme.eq_ignore_ascii_case("http") {
            ("http", 80)
        } else {
            return None;
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return None;
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (addr, after) = v6.split_once(']')?;
            if addr.is_empty()
                || !addr
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            {
                return None;
            }
            (format!("[{}]", addr.to_ascii_lowercase()), after)
        } else {
            let (h, p) = match authority.find(':') {
                Some(i) => authority.split_at(i),
                None => (authority, ""),
            };
            let ok = |b: u8| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b);
            if h.is_empty() || !h.bytes().all(ok) {
                return None;
            }
            (normalize_escapes(h)?.to_ascii_lowercase(), p)
        };
        let port = match port.strip_prefix(':') {
            None if port.is_empty() => default_port,
            None => return None,
            Some("") => default_port,
            Some(p) if p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok()?,
            Some(_) => return None,
        };
        let path = if path.is_empty() {
            "/".to_string()
        } else {
            normalize_escapes(path)?
        };
        Some(Self {
            scheme,
            host,
            port,
            path,
        })
    }
}

/// Upper-cases percent-escapes and decodes those of unreserved characters;
/// `None` for a broken escape.
fn normalize_escapes(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            let v = u8::from_str_radix(hex, 16).ok()?;
            if v.is_ascii_alphanumeric() || b"-._~".contains(&v) {
                out.push(char::from(v));
            } else {
                out.push('%');
                out.push_str(&hex.to_ascii_uppercase());
            }
            i += 3;
        } else {
            let c = s[i..].chars().next()?;
            out.push(c);
            i += c.len_utf8();
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htu_normalisation() {
        let url = "https://gw.example:443/a2a/agent?x=1";
        for same in [
            "https://gw.example/a2a/agent",
            "HTTPS://GW.Example/a2a/agent",
            "https://gw.example:443/a2a/agent?other=2#frag",
            "https://gw.example:/a2a/agent",
            "https://gw.example/a2a/%61gent",
        ] {
            assert!(htu_matches(same, url), "{same}");
        }
        for other in [
            "http://gw.example/a2a/agent",
            "https://gw.example:8443/a2a/agent",
            "https://evil.example/a2a/agent",
            "https://gw.example/a2a/Agent",
            "https://gw.example/a2a/agent/",
            "https://gw.example/a2a/x/../agent",
            "https://user@gw.example/a2a/agent",
            "https://gw.example/a2a/agent%zz",
            "ftp://gw.example/a2a/agent",
            "gw.example/a2a/agent",
            "https://gw.example/a2a/ agent",
        ] {
            assert!(!htu_matches(other, url), "{other}");
        }
        assert!(htu_matches("http://h", "http://h:80/"));
        assert!(htu_matches("http://[::1]:8080/x", "http://[::1]:8080/x?q"));
        assert!(htu_matches("https://h/%2f", "https://h/%2F"));
        assert!(!htu_matches("https://h/%2F", "https://h//"));
    }

    #[test]
    fn binding() {
        let mut cnf = Map::new();
        cnf.insert("jkt".into(), Value::String("abc".into()));
        assert_eq!(check_binding(Some(&cnf), "abc"), Ok(()));
        assert_eq!(
            check_binding(Some(&cnf), "abd"),
            Err(DpopError::BindingMismatch)
        );
        assert_eq!(check_binding(None, "abc"), Err(DpopError::NotBound));
        assert_eq!(
            check_binding(Some(&Map::new()), "abc"),
            Err(DpopError::NotBound)
        );
        assert_eq!(DpopError::BindingMismatch.error_code(), "invalid_token");
        assert!(DpopError::UseNonce.is_use_nonce());
        assert_eq!(DpopError::UseNonce.error_code(), "use_dpop_nonce");
    }
}
