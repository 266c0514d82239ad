//! Stage 4 of the pipeline: who is calling. Strict by default: every A2A
//! call needs one verified credential — a JWT from Warden's own authority or
//! a configured issuer (single-use when it is a plain bearer token), or an
//! API key.

mod error;
mod principal;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http::HeaderMap;
use serde_json::Value;
use warden_store::Store;
use warden_trust::{
    IssuerPolicy, JwsAlg, KeySet, ReplayCache, ReplayError, TokenError, verify_jwt,
};

pub use error::AuthError;
pub use principal::{AuthMethod, Principal};

use crate::authority::{Authority, grants_of};
use crate::config::{AuthMode, AuthSection, ConfigError};

/// The header API keys travel in (also accepted as `Authorization: Bearer wdn_…`).
pub const API_KEY_HEADER: &str = "x-api-key";

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

struct External {
    policy: IssuerPolicy,
    keys: KeySet,
}

pub struct Authenticator {
    pub mode: AuthMode,
    pub authority: Authority,
    externals: Vec<External>,
    pub replay: Arc<dyn ReplayCache>,
    leeway: u64,
    max_token_bytes: usize,
    store: Store,
    /// When the own key set was last reloaded for an unknown `kid`.
    last_refresh: AtomicU64,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// Algorithms Warden's own tokens may use.
const OWN_ALGS: [JwsAlg; 2] = [JwsAlg::EdDsa, JwsAlg::Es256];

impl Authenticator {
    pub fn new(
        section: &AuthSection,
        authority: Authority,
        replay: Arc<dyn ReplayCache>,
        store: Store,
    ) -> Result<Self, ConfigError> {
        let mut externals = Vec::new();
        for (i, iss) in section.issuers.iter().enumerate() {
            let text = match (&iss.jwks, &iss.jwks_file) {
                (Some(inline), _) => inline.clone(),
                (None, Some(path)) => {
                    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                        path: path.clone(),
                        source,
                    })?
                }
                (None, None) => String::new(),
            };
            let invalid = |message: String| ConfigError::Invalid {
                path: format!("auth.issuers[{i}]").into(),
                message,
            };
            let doc =
                warden_json::parse_strict(text.as_bytes(), warden_json::JsonLimits::default())
                    .map_err(|e| invalid(format!("JWKS is not valid JSON: {e}")))?;
            let keys = KeySet::from_jwks(&doc).map_err(|e| invalid(e.to_string()))?;
            externals.push(External {
                policy: IssuerPolicy {
                    issuer: iss.issuer.clone(),
                    audiences: iss.audiences.clone(),
                    algorithms: iss.algorithms.clone(),
                    typ: iss.typ.clone(),
                    max_lifetime_secs: iss.max_lifetime_secs,
                    leeway_secs: section.leeway_secs,
                    max_token_bytes: section.max_token_bytes,
                },
                keys,
            });
        }
        Ok(Self {
            mode: section.mode,
            authority,
            externals,
            replay,
            leeway: section.leeway_secs,
            max_token_bytes: section.max_token_bytes,
            store,
            last_refresh: AtomicU64::new(0),
        })
    }

    /// Authenticates a call to `agent`. The agent need not exist: the answer
    /// for a missing or bad credential is the same either way.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        agent: &str,
        source: IpAddr,
        now: u64,
    ) -> Result<Principal, AuthError> {
        if self.mode == AuthMode::OffInsecure {
            return Ok(Principal::anonymous(source));
        }
        let authz: Vec<&str> = headers
            .get_all(http::header::AUTHORIZATION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let api_keys: Vec<&str> = headers
            .get_all(API_KEY_HEADER)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if authz.len() + api_keys.len() > 1 {
            return Err(AuthError::InvalidRequest("present exactly one credential"));
        }
        if let Some(key) = api_keys.first() {
            return self.api_key(key.trim(), agent, source, now).await;
        }
        let Some(value) = authz.first() else {
            return Err(AuthError::Missing);
        };
        let (scheme, credential) = value.trim().split_once(' ').unwrap_or((value, ""));
        let credential = credential.trim();
        if credential.is_empty() {
            return Err(AuthError::InvalidRequest(
                "the Authorization header has no credential",
            ));
        }
        if scheme.eq_ignore_ascii_case("bearer") {
            if credential.starts_with(warden_trust::apikey::PREFIX) && !credential.contains('.') {
                return self.api_key(credential, agent, source, now).await;
            }
            return self.bearer(credential, agent, source, now).await;
        }
        if scheme.eq_ignore_ascii_case("dpop") {
            return Err(AuthError::InvalidRequest(
                "DPoP-bound tokens are not accepted by this gateway yet",
            ));
        }
        Err(AuthError::InvalidRequest(
            "unsupported authorization scheme",
        ))
    }

    async fn bearer(
        &self,
        token: &str,
        agent: &str,
        source: IpAddr,
        now: u64,
    ) -> Result<Principal, AuthError> {
        let issuer = peek_issuer(token, self.max_token_bytes)
            .ok_or(AuthError::InvalidToken(TokenError::Malformed))?;
        let verified = if issuer == self.authority.issuer {
            let policy = IssuerPolicy {
                issuer: issuer.clone(),
                audiences: vec![agent.to_string()],
                algorithms: OWN_ALGS.to_vec(),
                typ: Some("at+jwt".into()),
                max_lifetime_secs: 86_400,
                leeway_secs: self.leeway,
                max_token_bytes: self.max_token_bytes,
            };
            match verify_jwt(token, &policy, &self.authority.keys.published(), now) {
                Err(TokenError::UnknownKid(_)) if self.may_refresh(now) => {
                    // Another process (a rotation, `warden token mint`) may
                    // have added a key; reload once, then decide.
                    let _ = self.authority.keys.refresh(now).await;
                    verify_jwt(token, &policy, &self.authority.keys.published(), now)
                }
                other => other,
            }
        } else {
            let ext = self
                .externals
                .iter()
                .find(|e| e.policy.issuer == issuer)
                .ok_or(AuthError::InvalidToken(TokenError::WrongIssuer))?;
            verify_jwt(token, &ext.policy, &ext.keys, now)
        }
        .map_err(AuthError::InvalidToken)?;
        let claims = verified.claims;
        // A sender-constrained token without its proof is refused.
        if claims
            .cnf
            .as_ref()
            .is_some_and(|cnf| cnf.contains_key("jkt") || cnf.contains_key("x5t#S256"))
        {
            return Err(AuthError::InvalidToken(TokenError::BadClaim("cnf")));
        }
        // Plain bearer tokens are single-use: remember the id until expiry.
        let id = format!("{}\n{}", claims.iss, claims.jti);
        match self
            .replay
            .check_and_insert(&id, claims.exp.saturating_add(self.leeway), now)
        {
            Ok(()) => {}
            Err(ReplayError::Replayed) => return Err(AuthError::Replayed),
            Err(ReplayError::Full | ReplayError::Unavailable) => {
                return Err(AuthError::Unavailable);
            }
        }
        Ok(Principal {
            subject: claims.sub.clone().unwrap_or_default(),
            issuer: claims.iss.clone(),
            scopes: claims.scope.clone(),
            method: AuthMethod::Bearer,
            token_id: Some(claims.jti.clone()),
            source,
        })
    }

    fn may_refresh(&self, now: u64) -> bool {
        let last = self.last_refresh.load(Ordering::Relaxed);
        now >= last.saturating_add(10)
            && self
                .last_refresh
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    async fn api_key(
        &self,
        presented: &str,
        agent: &str,
        source: IpAddr,
        now: u64,
    ) -> Result<Principal, AuthError> {
        let bad = || AuthError::InvalidToken(TokenError::Malformed);
        let (id, secret) = warden_trust::apikey::split(presented).ok_or_else(bad)?;
        let record = self
            .store
            .api_key(id)
            .await
            .map_err(|_| AuthError::Unavailable)?;
        let Some(record) = record else {
            return Err(bad());
        };
        let expired = record
            .expires_at
            .is_some_and(|e| i64::try_from(now).unwrap_or(i64::MAX) >= e);
        // The hash is compared even for revoked keys, so timing says nothing.
        let matches = warden_trust::apikey::matches(secret, &record.hash);
        if !matches || record.revoked_at.is_some() || expired {
            return Err(bad());
        }
        let store = self.store.clone();
        let at = crate::audit::now_rfc3339();
        let key_id = record.id.clone();
        tokio::spawn(async move {
            let _ = store.touch_api_key(&key_id, &at).await;
        });
        let scopes = match self.store.agent(&record.subject).await {
            Ok(Some(a)) => grants_of(&a).get(agent).cloned().unwrap_or_default(),
            _ => Vec::new(),
        };
        Ok(Principal {
            subject: record.subject,
            issuer: format!("{}#api-key", self.authority.issuer),
            scopes,
            method: AuthMethod::ApiKey,
            token_id: Some(record.id),
            source,
        })
    }
}

/// The `iss` of a token, read without verifying (only to pick the policy).
fn peek_issuer(token: &str, max: usize) -> Option<String> {
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
        Value::Object(o) => o.get("iss").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}
