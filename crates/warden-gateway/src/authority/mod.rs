//! Warden as a token authority: the registry's grants, signing keys, and
//! the access tokens it issues (token endpoint, JWKS, RFC 8414 metadata).

pub mod endpoints;
pub mod grants;
pub mod keys;
pub mod mint;
pub mod registry;

use std::collections::BTreeMap;
use std::sync::Arc;

use warden_store::{Store, StoreError};

pub use keys::KeyRing;
pub use mint::{Minted, TokenSpec, mint};

/// The store setting holding the issuer URL (so `warden token mint` signs
/// as the running gateway does).
pub const ISSUER_SETTING: &str = "authority.issuer";

#[derive(Debug, thiserror::Error)]
pub enum AuthorityError {
    #[error("key-encryption key: {0}")]
    Kek(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key: {0}")]
    Signing(#[from] warden_trust::signing::SigningError),
    #[error("sealed key: {0}")]
    Seal(#[from] warden_trust::seal::SealError),
    #[error("{0}")]
    Refused(String),
}

/// A registry entry's grants: target agent → skill ids it may be granted.
pub type Grants = BTreeMap<String, Vec<String>>;

/// The authority of one gateway instance.
#[derive(Debug, Clone)]
pub struct Authority {
    pub issuer: String,
    pub keys: Arc<KeyRing>,
    pub store: Store,
    pub token_ttl_secs: u64,
    /// Clock skew tolerated on client assertions.
    pub leeway_secs: u64,
}

/// Why a token request is refused, as RFC 6749 §5.2 names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn new(code: &'static str, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }

    /// 401 for client authentication failures, 500/503 for Warden's own
    /// trouble, 400 for the rest.
    pub fn status(&self) -> u16 {
        match self.code {
            "invalid_client" => 401,
            "server_error" => 500,
            "temporarily_unavailable" => 503,
            _ => 400,
        }
    }
}

/// The subject of the tokens Warden presents to upstream agents.
pub const GATEWAY_SUBJECT: &str = "warden";
/// Their lifetime: one call, with room for clock skew.
pub const UPSTREAM_TOKEN_TTL_SECS: u64 = 60;

impl Authority {
    /// The token Warden presents to `audience` for a call made by `caller`:
    /// issued by Warden, subject `warden`, with the caller in an `act` claim
    /// (RFC 8693), so the agent can tell the call came through Warden and
    /// from whom.
    pub fn upstream_token(
        &self,
        audience: &str,
        caller: &crate::auth::Principal,
        now: u64,
    ) -> Option<String> {
        let key = self.keys.signing_key()?;
        let mut act = serde_json::json!({"sub": caller.subject});
        if !caller.issuer.is_empty() && caller.issuer != self.issuer {
            act["iss"] = serde_json::Value::String(caller.issuer.clone());
        }
        let spec = TokenSpec {
            subject: GATEWAY_SUBJECT.into(),
            audience: audience.to_string(),
            scopes: caller.scopes.clone(),
            ttl_secs: UPSTREAM_TOKEN_TTL_SECS,
            client_id: GATEWAY_SUBJECT.into(),
            cnf: None,
            act: Some(act),
        };
        Some(mint(&key, &self.issuer, &spec, now).token)
    }

    /// Issues a token for `client` to call `audience` with `requested`
    /// skills (all granted ones when empty), never more than its grants.
    pub async fn issue(
        &self,
        client: &str,
        audience: &str,
        requested: &[String],
        cnf: Option<serde_json::Value>,
        now: u64,
    ) -> Result<(Minted, Vec<String>), OAuthError> {
        let agent = self
            .store
            .agent(client)
            .await
            .map_err(|_| OAuthError::new("server_error", "the registry is unavailable"))?
            .ok_or_else(|| OAuthError::new("invalid_client", "client authentication failed"))?;
        let unavailable = |_| OAuthError::new("server_error", "the registry is unavailable");
        if self
            .store
            .quarantined()
            .await
            .map_err(unavailable)?
            .iter()
            .any(|q| q.agent == agent.id)
        {
            return Err(OAuthError::new(
                "unauthorized_client",
                "this client is quarantined",
            ));
        }
        let Some(allowed) = grants::skills_granted(&self.store, client, audience, now)
            .await
            .map_err(unavailable)?
        else {
            return Err(OAuthError::new(
                "invalid_target",
                "this client may not be granted access to that audience",
            ));
        };
        let any = allowed.iter().any(|s| s == warden_policy::ANY_SKILL);
        let scopes: Vec<String> = if requested.is_empty() {
            allowed.clone()
        } else {
            if let Some(bad) = requested.iter().find(|s| !any && !allowed.contains(s)) {
                return Err(OAuthError::new(
                    "invalid_scope",
                    format!("scope {bad:?} is not granted to this client for that audience"),
                ));
            }
            requested.to_vec()
        };
        let key = self
            .keys
            .signing_key()
            .ok_or_else(|| OAuthError::new("server_error", "no signing key"))?;
        let spec = TokenSpec {
            subject: client.to_string(),
            audience: audience.to_string(),
            scopes: scopes.clone(),
            ttl_secs: self.token_ttl_secs,
            client_id: client.to_string(),
            cnf,
            act: None,
        };
        Ok((mint(&key, &self.issuer, &spec, now), scopes))
    }
}
