//! `[[remote_agents]]` and `[egress_proxy]`: the remote agents local agents
//! may call through the egress proxy, how Warden trusts their cards, and
//! which credential it presents to them. Secrets never sit in the file:
//! the configuration names environment variables, read once at start.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::Config;
use super::egress::{UrlUse, check_configured};

/// `[egress_proxy]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EgressProxySection {
    /// Where local agents send their outbound calls. Loopback by default;
    /// the listener starts only when `[[remote_agents]]` exist.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
}

impl Default for EgressProxySection {
    fn default() -> Self {
        Self {
            listen: default_listen(),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8090))
}

/// One `[[remote_agents]]` entry: an agent outside, reached at
/// `/egress/{name}` on the egress proxy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteAgentConfig {
    /// The path segment (`/egress/{name}`) and the target grants name.
    pub name: String,
    /// The remote agent's base URL; its card is at
    /// `{url}/.well-known/agent-card.json`.
    pub url: String,
    /// Pinned keys (a JWKS file) one of which must sign the remote's card.
    #[serde(default)]
    pub trust_jwks_file: Option<PathBuf>,
    /// The same, inline (JWKS JSON text).
    #[serde(default)]
    pub trust_jwks: Option<String>,
    /// Hosts whose JWKS a card signature's `jku` may name.
    #[serde(default)]
    pub allow_jku_hosts: Vec<String>,
    /// Accept a card without a verifying signature. An explicit opt-in,
    /// logged at every start; the credential then goes only to the card's
    /// own origin. `allow_unsigned` is the old, deprecated spelling.
    #[serde(default, alias = "allow_unsigned")]
    pub insecure_unsigned_card: bool,
    /// The credential Warden presents to the remote agent.
    #[serde(default)]
    pub auth: RemoteAuth,
    /// What happens to a remote card whose lint reports an error before
    /// local agents read it (as for `[[agents]] card_lint`; there is no
    /// review queue here, so `refuse` means the card is not served).
    #[serde(default)]
    pub card_lint: super::CardLintPolicy,
}

/// `[remote_agents.auth]`: what Warden presents to the remote agent. Local
/// agents never hold it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RemoteAuth {
    /// No credential.
    #[default]
    None,
    /// A static token (`Authorization: Bearer`) from the environment
    /// variable `env`.
    BearerEnv { env: String },
    /// An API key (`X-API-Key`) from the environment variable `env`.
    ApiKeyEnv { env: String },
    /// OAuth 2.0 client credentials at `token_url` (e.g. another Warden's
    /// `/oauth2/token`), cached until shortly before expiry.
    ClientCredentials {
        token_url: String,
        /// Sent with the secret in the form; without it, the secret is a
        /// Warden API key, sent as `X-API-Key`.
        #[serde(default)]
        client_id: Option<String>,
        /// The environment variable holding the client secret (or API key).
        client_secret_env: String,
        /// The token's audience: the agent's name at the remote gateway.
        audience: String,
        /// Space-separated scopes (skill ids at a Warden gateway).
        #[serde(default)]
        scope: Option<String>,
        /// Bind the token to an ephemeral key (RFC 9449): reusable within
        /// its lifetime, each call with a fresh proof.
        #[serde(default)]
        dpop: bool,
    },
}

impl RemoteAuth {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::BearerEnv { .. } => "bearer_env",
            Self::ApiKeyEnv { .. } => "api_key_env",
            Self::ClientCredentials { .. } => "client_credentials",
        }
    }

    /// The environment variable the secret comes from, if any.
    pub fn secret_env(&self) -> Option<&str> {
        match self {
            Self::None => None,
            Self::BearerEnv { env } | Self::ApiKeyEnv { env } => Some(env),
            Self::ClientCredentials {
                client_secret_env, ..
            } => Some(client_secret_env),
        }
    }
}

/// Rules serde cannot express for `[[remote_agents]]` (part of
/// [`Config::validate`]).
pub fn validate(config: &Config, rules: &warden_egress::Rules) -> Result<(), String> {
    if config.remote_agents.is_empty() {
        return Ok(());
    }
    if config.auth.mode != super::AuthMode::Strict {
        return Err(
            "remote_agents need auth.mode = \"strict\": the egress proxy attaches Warden's \
             credentials for remote agents, so it must know who is calling"
                .into(),
        );
    }
    let mut seen = std::collections::HashSet::new();
    for (i, r) in config.remote_agents.iter().enumerate() {
        let key = format!("remote_agents[{i}]");
        if !super::valid_name(&r.name) {
            return Err(format!(
                "{key}.name {:?} must be 1-64 characters of A-Z, a-z, 0-9, '-' or '_'",
                r.name
            ));
        }
        if !seen.insert(r.name.as_str()) {
            return Err(format!("{key}.name {:?} is used twice", r.name));
        }
        if config.agents.iter().any(|a| a.name == r.name) {
            return Err(format!(
                "{key}.name {:?} is also an [[agents]] name: grants could not tell them apart",
                r.name
            ));
        }
        check_url(rules, &format!("{key}.url"), &r.url)?;
        if r.trust_jwks.is_some() && r.trust_jwks_file.is_some() {
            return Err(format!(
                "{key}: give trust_jwks or trust_jwks_file, not both"
            ));
        }
        let pinned = r.trust_jwks.is_some() || r.trust_jwks_file.is_some();
        if !pinned && r.allow_jku_hosts.is_empty() && !r.insecure_unsigned_card {
            return Err(format!(
                "{key}: give the keys that sign {:?}'s card (trust_jwks_file or trust_jwks, or \
                 allow_jku_hosts), or accept it unsigned with insecure_unsigned_card = true",
                r.name
            ));
        }
        for h in &r.allow_jku_hosts {
            let t = warden_egress::target::parse(&format!("https://{h}/"));
            if h.is_empty() || h.contains(['/', '@', ':']) || t.is_err() {
                return Err(format!("{key}.allow_jku_hosts: {h:?} is not a host name"));
            }
        }
        check_auth(rules, &format!("{key}.auth"), &r.auth)?;
    }
    Ok(())
}

fn check_auth(rules: &warden_egress::Rules, key: &str, auth: &RemoteAuth) -> Result<(), String> {
    if let Some(env) = auth.secret_env() {
        let valid = !env.is_empty()
            && env.len() <= 128
            && !env.starts_with(|c: char| c.is_ascii_digit())
            && env.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "{key}: {env:?} is not an environment variable name (A-Z, a-z, 0-9, '_')"
            ));
        }
    }
    if let RemoteAuth::ClientCredentials {
        token_url,
        client_id,
        audience,
        ..
    } = auth
    {
        check_url(rules, &format!("{key}.token_url"), token_url)?;
        if audience.trim().is_empty() {
            return Err(format!("{key}.audience must not be empty"));
        }
        if client_id.as_deref().is_some_and(|c| c.trim().is_empty()) {
            return Err(format!(
                "{key}.client_id must not be empty (leave it out to send the secret as a Warden API key)"
            ));
        }
    }
    Ok(())
}

/// An http(s) URL without query or fragment that the egress rules do not
/// refuse outright (the lookup-time checks run at every call, and in
/// `warden config check`). The egress reason code is named in brackets.
fn check_url(rules: &warden_egress::Rules, key: &str, url: &str) -> Result<(), String> {
    check_configured(rules, url, UrlUse::Base)
        .map_err(|e| format!("{key}: {url:?} is refused: {e} [{}]", e.reason()))?;
    Ok(())
}

/// The pinned keys of a remote (empty when none are configured).
pub fn trust_keys(r: &RemoteAgentConfig) -> Result<warden_trust::KeySet, String> {
    let keys = match (&r.trust_jwks, &r.trust_jwks_file) {
        (Some(text), _) => warden_client::CardTrust::read_jwks(text),
        (None, Some(file)) => warden_client::CardTrust::read_jwks_file(file),
        (None, None) => return Ok(warden_trust::KeySet::default()),
    }
    .map_err(|e| e.to_string())?;
    if keys.is_empty() {
        return Err("the trusted JWKS has no usable key (each needs a kid)".into());
    }
    Ok(keys)
}
