//! One remote agent as the proxy holds it: its card (fetched through the
//! egress, verified under the configured trust, cached) and its credential
//! (read from the environment once, tokens cached by warden-client).

use std::sync::Arc;
use std::time::{Duration, Instant};

use warden_a2a::Binding;
use warden_client::{CardTrust, Credentials, DpopKey, Interface, TokenSource, VerifiedCard};
use warden_egress::Egress;

use super::error::ProxyError;
use crate::config::{RemoteAgentConfig, RemoteAuth, trust_keys};

/// Why a remote could not be set up at start.
#[derive(Debug, thiserror::Error)]
#[error("remote_agents[{index}] ({name}): {why}")]
pub struct SetupError {
    pub index: usize,
    pub name: String,
    pub why: String,
}

pub struct Remote {
    pub config: RemoteAgentConfig,
    trust: CardTrust,
    pub credentials: Credentials,
    card: tokio::sync::Mutex<Option<Arc<RemoteCard>>>,
    ttl: Duration,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("name", &self.config.name)
            .field("url", &self.config.url)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

/// A verified card and the interfaces the proxy may call, each checked by
/// the egress rules when the card was fetched (every send is checked again).
#[derive(Debug)]
pub struct RemoteCard {
    pub card: VerifiedCard,
    fetched: Instant,
    jsonrpc: Result<Interface, ProxyError>,
    rest: Result<Interface, ProxyError>,
}

impl RemoteCard {
    pub fn interface(&self, binding: Binding) -> Result<&Interface, ProxyError> {
        match binding {
            Binding::JsonRpc => self.jsonrpc.as_ref(),
            Binding::Rest => self.rest.as_ref(),
        }
        .map_err(Clone::clone)
    }

    /// The skill ids the card lists.
    pub fn skill_ids(&self) -> Vec<String> {
        self.card.card.skills.iter().map(|s| s.id.clone()).collect()
    }
}

impl Remote {
    /// Builds the remote: the pinned keys read, the secret taken from the
    /// environment through `env` (never from the file, never logged).
    pub fn new(
        index: usize,
        config: &RemoteAgentConfig,
        env: &dyn Fn(&str) -> Option<String>,
        card_ttl: Duration,
    ) -> Result<Self, SetupError> {
        let fail = |why: String| SetupError {
            index,
            name: config.name.clone(),
            why,
        };
        let keys = trust_keys(config).map_err(fail)?;
        let trust = CardTrust {
            keys,
            allowed_jku_hosts: config.allow_jku_hosts.clone(),
            require_signature: !config.insecure_unsigned_card,
            ..CardTrust::default()
        };
        let secret = match config.auth.secret_env() {
            None => String::new(),
            Some(var) => env(var).filter(|s| !s.is_empty()).ok_or_else(|| {
                fail(format!(
                    "the environment variable {var} (auth.{}) is not set",
                    match config.auth {
                        RemoteAuth::ClientCredentials { .. } => "client_secret_env",
                        _ => "env",
                    }
                ))
            })?,
        };
        let source = match &config.auth {
            RemoteAuth::None => TokenSource::None,
            RemoteAuth::BearerEnv { .. } => TokenSource::Bearer(secret),
            RemoteAuth::ApiKeyEnv { .. } => TokenSource::ApiKey(secret),
            RemoteAuth::ClientCredentials {
                token_url,
                client_id,
                audience,
                scope,
                dpop,
                ..
            } => TokenSource::ClientCredentials {
                token_url: token_url.clone(),
                client_id: client_id.clone(),
                client_secret: secret,
                audience: audience.clone(),
                scope: scope.clone(),
                dpop: if *dpop {
                    Some(DpopKey::ephemeral().map_err(|e| fail(e.to_string()))?)
                } else {
                    None
                },
            },
        };
        if config.insecure_unsigned_card {
            tracing::warn!(
                remote = %config.name,
                "remote_agents.insecure_unsigned_card = true: the card of this remote agent is accepted \
                 without a verifying signature"
            );
        }
        Ok(Self {
            config: config.clone(),
            trust,
            credentials: Credentials::new(source),
            card: tokio::sync::Mutex::new(None),
            ttl: card_ttl,
        })
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The cached card, or a fresh one (one fetch at a time; a failure is
    /// not cached, and a stale card is not used in its place).
    pub async fn card(&self, egress: &Egress) -> Result<Arc<RemoteCard>, ProxyError> {
        let mut cached = self.card.lock().await;
        if let Some(c) = cached.as_ref()
            && c.fetched.elapsed() < self.ttl
        {
            return Ok(Arc::clone(c));
        }
        *cached = None;
        let card = warden_client::fetch_card(egress, &self.config.url, &self.trust).await?;
        let fresh = Arc::new(RemoteCard {
            jsonrpc: self.checked(egress, &card, Binding::JsonRpc).await,
            rest: self.checked(egress, &card, Binding::Rest).await,
            card,
            fetched: Instant::now(),
        });
        *cached = Some(Arc::clone(&fresh));
        Ok(fresh)
    }

    /// The card's interface in `binding`, its URL admitted by the egress
    /// rules; for a card accepted unsigned, only on the configured origin.
    async fn checked(
        &self,
        egress: &Egress,
        card: &VerifiedCard,
        binding: Binding,
    ) -> Result<Interface, ProxyError> {
        let iface = Interface::from_card(egress, card, binding).await?;
        if card.signed_by.is_none() {
            let configured = warden_egress::target::parse(&self.config.url)?;
            if iface.admitted().target.url.origin() != configured.url.origin() {
                return Err(ProxyError::InterfaceOrigin {
                    url: warden_egress::audit::redact(iface.url()),
                });
            }
        }
        Ok(iface)
    }
}
