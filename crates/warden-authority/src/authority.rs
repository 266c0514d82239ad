//! The authority of one gateway instance: its issuer, key ring and store,
//! issuing tokens within the registry's grants.

use std::sync::Arc;

use warden_store::{Store, StoreError};
use warden_trust::seal::Kek;

use crate::keys::{KeyError, KeyRing};
use crate::mint::{Minted, TokenSpec, mint};
use crate::{GATEWAY_SUBJECT, ISSUER_SETTING, UPSTREAM_TOKEN_TTL_SECS, grants};

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

/// How long the authority's tokens and keys live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// Lifetime of the tokens it issues.
    pub token_ttl_secs: u64,
    /// Clock skew tolerated on client assertions.
    pub leeway_secs: u64,
    /// How long a signing key signs before a successor takes over.
    pub key_rotation_secs: u64,
    /// At least how long a retired token key stays published: what it
    /// signed and Warden keeps (mailbox messages, `[mailbox]
    /// retention_days`) stays verifiable against the JWKS for as long as
    /// it is kept. 0: only as long as its tokens need.
    pub keep_published_secs: u64,
}

/// Who a call through Warden is made for: the caller named in the `act`
/// claim of the token Warden presents upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor<'a> {
    pub subject: &'a str,
    /// Empty, or Warden's own issuer, for Warden's own callers.
    pub issuer: &'a str,
    /// Skill ids the caller's credential carries.
    pub scopes: &'a [String],
}

/// Why a token is not issued. [`IssueError::oauth_code`] names the RFC 6749
/// §5.2 error; the gateway alone decides the HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The registry could not be read (Warden's trouble).
    #[error("the registry is unavailable")]
    Unavailable(#[source] StoreError),
    /// The client is not in the registry.
    #[error("client authentication failed")]
    UnknownClient,
    #[error("this client is quarantined")]
    Quarantined,
    /// No grant in force from the client to the audience.
    #[error("this client may not be granted access to that audience")]
    NotGranted,
    /// A requested scope beyond the client's grants.
    #[error("scope {0:?} is not granted to this client for that audience")]
    ScopeNotGranted(String),
    /// The key ring holds no current signing key (Warden's trouble).
    #[error("no signing key")]
    NoSigningKey,
}

impl IssueError {
    /// The OAuth error code (RFC 6749 §5.2, RFC 8707 `invalid_target`).
    pub fn oauth_code(&self) -> &'static str {
        match self {
            Self::Unavailable(_) | Self::NoSigningKey => "server_error",
            Self::UnknownClient => "invalid_client",
            Self::Quarantined => "unauthorized_client",
            Self::NotGranted => "invalid_target",
            Self::ScopeNotGranted(_) => "invalid_scope",
        }
    }
}

impl Authority {
    /// Opens the authority of a data directory: loads its key ring (the
    /// first keys generated on first use, sealed under `kek`) and records
    /// `issuer` in the store, so `warden token mint` signs as the gateway
    /// does. Retired keys stay published until every token they signed has
    /// expired, and a day more — or `keep_published_secs`, if longer.
    pub async fn open(
        store: Store,
        kek: Kek,
        issuer: &str,
        lifetimes: Lifetimes,
        now: u64,
    ) -> Result<Self, KeyError> {
        let publish_after_retire = lifetimes
            .token_ttl_secs
            .saturating_add(lifetimes.leeway_secs)
            .saturating_add(86_400)
            .max(lifetimes.keep_published_secs);
        let keys = KeyRing::open(
            store.clone(),
            kek,
            lifetimes.key_rotation_secs,
            publish_after_retire,
            now,
        )
        .await?;
        store.put_setting(ISSUER_SETTING, issuer).await?;
        Ok(Self {
            issuer: issuer.to_string(),
            keys: Arc::new(keys),
            store,
            token_ttl_secs: lifetimes.token_ttl_secs,
            leeway_secs: lifetimes.leeway_secs,
        })
    }

    /// The token Warden presents to `audience` for a call made by `caller`:
    /// issued by Warden, subject `warden`, with the caller in an `act` claim
    /// (RFC 8693), so the agent can tell the call came through Warden and
    /// from whom. `None` without a current signing key.
    pub fn upstream_token<'a>(
        &self,
        audience: &str,
        caller: impl Into<Actor<'a>>,
        now: u64,
    ) -> Option<String> {
        let caller = caller.into();
        let key = self.keys.signing_key()?;
        let mut act = serde_json::json!({"sub": caller.subject});
        if !caller.issuer.is_empty() && caller.issuer != self.issuer {
            act["iss"] = serde_json::Value::String(caller.issuer.to_string());
        }
        let spec = TokenSpec {
            subject: GATEWAY_SUBJECT.into(),
            audience: audience.to_string(),
            scopes: caller.scopes.to_vec(),
            ttl_secs: UPSTREAM_TOKEN_TTL_SECS,
            client_id: GATEWAY_SUBJECT.into(),
            cnf: None,
            act: Some(act),
        };
        Some(mint(&key, &self.issuer, &spec, now).token)
    }

    /// Issues a token for `client` to call `audience` with `requested`
    /// skills (all granted ones when empty), never more than its grants.
    /// Returns the token and the scopes it carries.
    pub async fn issue(
        &self,
        client: &str,
        audience: &str,
        requested: &[String],
        cnf: Option<serde_json::Value>,
        now: u64,
    ) -> Result<(Minted, Vec<String>), IssueError> {
        let agent = self
            .store
            .agent(client)
            .await
            .map_err(IssueError::Unavailable)?
            .ok_or(IssueError::UnknownClient)?;
        if self
            .store
            .quarantined()
            .await
            .map_err(IssueError::Unavailable)?
            .iter()
            .any(|q| q.agent == agent.id)
        {
            return Err(IssueError::Quarantined);
        }
        // The mailbox keeps its own grants (who may message whom): any
        // registry agent may hold a token for it, with no skill scopes.
        let allowed = if audience == crate::MAILBOX_AUDIENCE {
            Vec::new()
        } else {
            grants::skills_granted(&self.store, client, audience, now)
                .await
                .map_err(IssueError::Unavailable)?
                .ok_or(IssueError::NotGranted)?
        };
        let any = allowed.iter().any(|s| s == warden_policy::ANY_SKILL);
        let scopes: Vec<String> = if requested.is_empty() {
            allowed
        } else {
            if let Some(bad) = requested.iter().find(|s| !any && !allowed.contains(s)) {
                return Err(IssueError::ScopeNotGranted(bad.clone()));
            }
            requested.to_vec()
        };
        let key = self.keys.signing_key().ok_or(IssueError::NoSigningKey)?;
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

#[cfg(test)]
mod tests;
