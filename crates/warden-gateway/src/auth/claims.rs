//! What a verified token's claims make of a caller: the principal, the
//! certificate binding (RFC 8705), and the unverified peek that only picks
//! which policy and keys will verify a token.

use std::net::IpAddr;

use serde_json::Value;
use warden_trust::{Claims, TokenError};

use super::AuthError;
use crate::listener::PeerCertificate;
use crate::principal::{AuthMethod, Principal};

pub(super) fn principal(
    claims: &Claims,
    method: AuthMethod,
    source: IpAddr,
    own: &str,
) -> Principal {
    Principal {
        subject: claims.sub.clone().unwrap_or_default(),
        issuer: claims.iss.clone(),
        local: claims.iss == own,
        scopes: claims.scope.clone(),
        method,
        token_id: Some(claims.jti.clone()),
        source,
        peer: None,
    }
}

/// RFC 8705 §3: when the token carries `cnf.x5t#S256`, the connection's
/// client certificate must have that thumbprint. Returns whether the token
/// is certificate-bound (and matched); a bound token over a connection
/// without a client certificate, or with another one, is refused.
pub(super) fn check_cert_binding(
    claims: &Claims,
    peer_cert: Option<&PeerCertificate>,
) -> Result<bool, AuthError> {
    let Some(bound) = claims.cnf.as_ref().and_then(|c| c.get("x5t#S256")) else {
        return Ok(false);
    };
    let refused = || AuthError::InvalidToken(TokenError::BadClaim("cnf"));
    let bound = bound
        .as_str()
        .filter(|b| !b.is_empty())
        .ok_or_else(refused)?;
    let cert = peer_cert.ok_or_else(refused)?;
    if bound.as_bytes() != cert.identity.x5t_s256.as_bytes() {
        return Err(refused());
    }
    Ok(true)
}

/// The `iss` of a token, read without verifying (only to pick the policy).
pub(super) fn peek_issuer(token: &str, max: usize) -> Option<String> {
    peek_claim(token, "iss", max)
}

/// A string claim of a JWT, read without verifying — only to choose which
/// policy and keys will verify it.
pub fn peek_claim(token: &str, name: &str, max: usize) -> Option<String> {
    if token.len() > max {
        return None;
    }
    let payload = token.split('.').nth(1)?;
    let bytes = warden_trust::b64url_decode(payload)?;
    let limits = warden_json::JsonLimits {
        max_depth: 8,
        max_string_bytes: 8 * 1024,
    };
    match warden_json::parse_strict(&bytes, limits).ok()? {
        Value::Object(o) => o.get(name).and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}
