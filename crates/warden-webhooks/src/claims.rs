//! The notification JWT: what Warden puts in it and how a receiver reads it.
//!
//! Header: `alg` `EdDSA`, `kid` (a `webhook-` key in Warden's JWKS), `typ`
//! [`TYP`]. Claims:
//!
//! | claim | value |
//! |---|---|
//! | `iss` | Warden's issuer URL (its public URL) |
//! | `aud` | the webhook URL exactly as the caller registered it |
//! | `iat` | the attempt's time, equal to `webhook-timestamp` |
//! | `exp` | `iat` + the JWT lifetime (5 minutes by default) |
//! | `jti` | the webhook id, equal to `webhook-id` (stable across retries) |
//! | `taskId` | the A2A task the notification is about |
//! | `body_sha256` | base64url (no padding) of SHA-256 over the exact body bytes |
//!
//! Verification uses [`warden_trust::verify_jwt`] (algorithm allow-list of
//! one, `kid` required, no embedded keys, no `crit`, `typ` checked, bounded
//! size, time claims) and then the claims above.

use serde_json::{Map, Value, json};
use warden_trust::jwt::{IssuerPolicy, TokenError, verify_jwt};
use warden_trust::{JwsAlg, KeySet, SigningKey};

use crate::notification::Notification;
use crate::verify::VerifyError;

/// The JWT's `typ`: no other Warden token has it, so none can pass for a
/// notification (and a notification JWT is refused as an access token).
pub const TYP: &str = "warden-notification+jwt";
/// The claim holding the task id (A2A's own spelling).
pub const TASK_ID: &str = "taskId";
/// The claim holding the body's hash.
pub const BODY_SHA256: &str = "body_sha256";
/// The longest JWT read.
pub const MAX_JWT_BYTES: usize = 8 * 1024;
/// The longest lifetime (`exp` - `iat`) a receiver accepts.
pub const MAX_LIFETIME_SECS: u64 = 3600;

/// The signed JWT for one attempt at `now`.
pub(crate) fn mint(
    key: &SigningKey,
    issuer: &str,
    n: &Notification<'_>,
    now: u64,
    ttl_secs: u64,
) -> String {
    let claims = json!({
        "iss": issuer,
        "aud": n.url,
        "iat": now,
        "exp": now.saturating_add(ttl_secs),
        "jti": n.id,
        TASK_ID: n.task_id,
        BODY_SHA256: crate::body_sha256(n.body),
    });
    let mut header = Map::new();
    header.insert("typ".into(), Value::String(TYP.into()));
    warden_trust::jws::sign_compact(key, &header, claims.to_string().as_bytes())
}

/// What a verified JWT said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtFacts {
    pub kid: String,
    pub iss: String,
    pub task_id: String,
}

/// What the JWT is checked against.
pub(crate) struct Expect<'a> {
    pub keys: &'a KeySet,
    pub issuer: Option<&'a str>,
    pub audience: &'a str,
    pub id: &'a str,
    pub timestamp: u64,
    pub body: &'a [u8],
    pub leeway_secs: u64,
}

/// Verifies `token` and binds it to the headers and body it came with.
pub(crate) fn check(token: &str, want: &Expect<'_>, now: u64) -> Result<JwtFacts, VerifyError> {
    let issuer = match want.issuer {
        Some(iss) => iss.to_string(),
        // No issuer pinned: the keys are (only Warden's webhook keys sign
        // with them), so take the token's own `iss` for the comparison.
        None => unverified_issuer(token)?,
    };
    let policy = IssuerPolicy {
        issuer,
        audiences: vec![want.audience.to_string()],
        algorithms: vec![JwsAlg::EdDsa],
        typ: Some(TYP.into()),
        max_lifetime_secs: MAX_LIFETIME_SECS,
        leeway_secs: want.leeway_secs,
        max_token_bytes: MAX_JWT_BYTES,
    };
    let verified = verify_jwt(token, &policy, want.keys, now).map_err(from_token_error)?;
    let claims = &verified.claims;
    // The leeway above is the freshness window, which an `iat` ahead of
    // the receiver's clock needs; `exp` is Warden's word on how long the
    // JWT lives and gets none: a receiver's wider window does not extend it.
    if now > claims.exp {
        return Err(VerifyError::Stale);
    }
    if claims.jti != want.id {
        return Err(VerifyError::Malformed(
            "the JWT's jti is not the webhook-id".into(),
        ));
    }
    if claims.iat != want.timestamp {
        return Err(VerifyError::Malformed(
            "the JWT's iat is not the webhook-timestamp".into(),
        ));
    }
    let task_id = match claims.all.get(TASK_ID) {
        Some(Value::String(t)) if !t.is_empty() && t.len() <= 256 => t.clone(),
        _ => return Err(VerifyError::Malformed("the JWT has no taskId".into())),
    };
    match claims.all.get(BODY_SHA256).and_then(Value::as_str) {
        None => return Err(VerifyError::Malformed("the JWT has no body_sha256".into())),
        Some(hash) if !ct_eq(hash.as_bytes(), crate::body_sha256(want.body).as_bytes()) => {
            return Err(VerifyError::BodySwapped);
        }
        Some(_) => {}
    }
    Ok(JwtFacts {
        kid: verified.kid,
        iss: claims.iss.clone(),
        task_id,
    })
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// The `iss` of a token whose signature is checked right after.
fn unverified_issuer(token: &str) -> Result<String, VerifyError> {
    let malformed = || VerifyError::Malformed("the JWT is not a compact JWS".into());
    let jws = warden_trust::jws::parse_compact(token, MAX_JWT_BYTES).map_err(|_| malformed())?;
    let limits = warden_json::JsonLimits {
        max_depth: 8,
        max_string_bytes: 8 * 1024,
    };
    match warden_json::parse_strict(&jws.payload, limits) {
        Ok(Value::Object(o)) => match o.get("iss") {
            Some(Value::String(iss)) => Ok(iss.clone()),
            _ => Err(VerifyError::Malformed("the JWT has no iss".into())),
        },
        _ => Err(malformed()),
    }
}

fn from_token_error(e: TokenError) -> VerifyError {
    match e {
        TokenError::BadSignature => VerifyError::BadSignature,
        TokenError::UnknownKid(_) => VerifyError::UnknownKey,
        TokenError::WrongAudience => VerifyError::WrongAudience,
        TokenError::WrongIssuer => VerifyError::WrongIssuer,
        TokenError::Expired => VerifyError::Stale,
        TokenError::NotYetValid | TokenError::IssuedInFuture => VerifyError::Future,
        other => VerifyError::Malformed(format!("JWT: {other}")),
    }
}
