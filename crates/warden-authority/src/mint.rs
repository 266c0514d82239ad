//! Access tokens Warden issues: JWTs of type `at+jwt` (RFC 9068).

use serde_json::{Map, Value, json};
use warden_trust::SigningKey;
use warden_trust::jws::sign_compact;

/// What goes into a token.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenSpec {
    pub subject: String,
    pub audience: String,
    pub scopes: Vec<String>,
    pub ttl_secs: u64,
    /// The OAuth client the token was issued to (often the subject).
    pub client_id: String,
    /// Confirmation claim for sender-constrained tokens (`jkt`, `x5t#S256`).
    pub cnf: Option<Value>,
    /// Actor claim (RFC 8693) for tokens Warden presents on a caller's behalf.
    pub act: Option<Value>,
}

/// A signed token and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minted {
    pub token: String,
    pub jti: String,
    pub expires_at: u64,
}

pub fn mint(key: &SigningKey, issuer: &str, spec: &TokenSpec, now: u64) -> Minted {
    let jti = uuid::Uuid::new_v4().to_string();
    let expires_at = now.saturating_add(spec.ttl_secs);
    let mut claims = json!({
        "iss": issuer,
        "sub": spec.subject,
        "aud": spec.audience,
        "iat": now,
        "exp": expires_at,
        "jti": jti,
        "client_id": spec.client_id,
    });
    if let Some(obj) = claims.as_object_mut() {
        if !spec.scopes.is_empty() {
            obj.insert("scope".into(), json!(spec.scopes.join(" ")));
        }
        if let Some(cnf) = &spec.cnf {
            obj.insert("cnf".into(), cnf.clone());
        }
        if let Some(act) = &spec.act {
            obj.insert("act".into(), act.clone());
        }
    }
    let mut header = Map::new();
    header.insert("typ".into(), Value::String("at+jwt".into()));
    let token = sign_compact(key, &header, claims.to_string().as_bytes());
    Minted {
        token,
        jti,
        expires_at,
    }
}
