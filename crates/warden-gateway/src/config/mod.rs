//! `warden.toml`: the gateway's configuration. Unknown keys are refused, and
//! every error names the key and line.
//!
//! The bottom of the gateway: every section type lives here, one file per
//! section, and nothing here imports a feature module. Values are typed as
//! they are read (`Duration`s from `*_ms` keys, `NonZero*` counts), so
//! [`Config::validate`] checks only what serde cannot express. Checks that
//! read the files a configuration names are in [`crate::startup`].

mod agent_webhooks;
mod agents;
mod auth;
mod authz;
mod deprecated;
pub mod egress;
mod limits;
mod listeners;
mod mailbox;
mod message_urls;
mod millis;
mod protocol;
mod push;
mod remote_agents;
mod retention;
mod retries;
mod shared;
mod store;
mod url_allowances;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use agent_webhooks::AgentWebhooks;
pub use agents::{AgentAccess, AgentConfig, AgentMailbox, CardLintPolicy, PushFollow, valid_name};
pub use auth::{
    AuthMode, AuthSection, CLIENT_ASSERTION_MAX_LIFETIME_SECS, DpopMode, IssuerConfig,
    OWN_TOKEN_MAX_LIFETIME_SECS, ReplaySource,
};
pub use authz::{AuthzSection, LimitSpec, RateLimitSection};
pub use limits::Limits;
pub use listeners::{AdminSection, ClientAuth, GatewaySection, TlsConfig};
pub use mailbox::{MAX_GRANT_TTL_DAYS, MailboxSection};
pub use message_urls::{MessageUrlsSection, UrlAction};
pub use protocol::{ProtocolSection, UnknownFieldsRule};
pub use push::PushSection;
pub use remote_agents::{EgressProxySection, RemoteAgentConfig, RemoteAuth, trust_keys};
pub use retention::RetentionSection;
pub use retries::RetriesSection;
pub use shared::{OnUnavailable, SharedSection};
pub use store::StoreSection;
pub use url_allowances::{AllowError, EntryError, UrlAllowance, UrlKind};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub gateway: GatewaySection,
    #[serde(default)]
    pub admin: AdminSection,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub auth: AuthSection,
    #[serde(default)]
    pub authz: AuthzSection,
    #[serde(default)]
    pub rate_limits: RateLimitSection,
    /// The upstream agents, each reachable at `/agents/{name}`.
    #[serde(default)]
    pub agents: Vec<AgentConfig>,
    /// The rules every outbound call obeys (JWKS and card fetches, remote
    /// agents, the egress proxy). See docs/egress.md.
    #[serde(default)]
    pub egress: warden_egress::EgressPolicy,
    /// What happens to a call carrying a URL the egress rules refuse.
    #[serde(default)]
    pub message_urls: MessageUrlsSection,
    /// How strictly calls are read (unknown fields).
    #[serde(default)]
    pub protocol: ProtocolSection,
    /// State replicated gateways share on Redis (absent: in memory).
    #[serde(default)]
    pub shared: Option<SharedSection>,
    /// How long a `SendMessage` answer is kept for a retry.
    #[serde(default)]
    pub retries: RetriesSection,
    /// Where the durable state is (absent: SQLite in `gateway.data_dir`).
    #[serde(default)]
    pub store: StoreSection,
    /// What the gateway removes from the store on a schedule, and when
    /// (absent: ownership records only). See docs/retention.md.
    #[serde(default)]
    pub retention: RetentionSection,
    /// How push notifications are delivered from the outbox (retries,
    /// caps, circuit breakers, dead letters). See docs/push.md.
    #[serde(default)]
    pub push: PushSection,
    /// The mailbox between registry agents (`/mail/v1`, `/mcp`): on by
    /// default; its limits, quotas and retention. See docs/mailbox.md.
    #[serde(default)]
    pub mailbox: MailboxSection,
    /// Look-alike agents (names, titles, skills): what is flagged and what
    /// refused. See docs/cards.md.
    #[serde(default)]
    pub shadowing: warden_card::shadow::ShadowPolicy,
    /// Remote agents local agents may call through the egress proxy, at
    /// `/egress/{name}`. See docs/egress-proxy.md.
    #[serde(default)]
    pub remote_agents: Vec<RemoteAgentConfig>,
    /// The egress proxy's listener (started when remote agents exist).
    #[serde(default)]
    pub egress_proxy: EgressProxySection,
    /// One warning per deprecated spelling the file used (an insecure
    /// opt-in's old name), naming the new one: logged when the gateway
    /// starts, printed by `warden config check`.
    #[serde(skip)]
    pub deprecations: Vec<String>,
}

/// A configuration that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and checks configuration text; `path` is only used in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        // Old spellings first (an old and a new spelling together is an
        // error naming both); text that is not TOML is reported below.
        let deprecations = match toml::from_str::<toml::Table>(text) {
            Ok(raw) => deprecated::scan(&raw).map_err(|message| ConfigError::Invalid {
                path: path.to_path_buf(),
                message,
            })?,
            Err(_) => Vec::new(),
        };
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: describe_toml_error(text, &e),
        })?;
        config.deprecations = deprecations;
        config.validate().map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(config)
    }

    /// Rules serde cannot express, section by section.
    pub fn validate(&self) -> Result<(), String> {
        let general = egress::general_rules(self).map_err(|e| e.to_string())?;
        let upstream = egress::upstream_rules(self).map_err(|e| e.to_string())?;
        agents::validate(&self.agents, &upstream)?;
        agent_webhooks::validate(&self.agents, &general)?;
        self.message_urls.validate(&self.agents)?;
        self.authz.validate()?;
        self.rate_limits.validate()?;
        if let Some(s) = &self.shared {
            s.validate()?;
        }
        self.store.validate(self.authz.poll_interval)?;
        self.push.validate()?;
        self.mailbox
            .validate(self.limits.max_request_body_bytes.get())?;
        // A bridge with the mailbox off would never receive a message.
        if let Some(a) = self
            .agents
            .iter()
            .find(|a| a.mailbox == AgentMailbox::Bridge)
            && !self.mailbox.enabled
        {
            return Err(format!(
                "agents.{}.mailbox = \"bridge\" needs the mailbox: [mailbox] enabled = false",
                a.name
            ));
        }
        if let Some(p) = &self.gateway.public_url {
            // Advertised, never called: read strictly, not judged by the rules.
            warden_egress::target::parse_base(p)
                .map_err(|e| format!("gateway.public_url: {p:?} is not usable: {e}"))?;
        }
        if let Some(t) = &self.gateway.tls {
            t.validate("gateway.tls")?;
        }
        if let Some(t) = &self.admin.tls {
            t.validate("admin.tls")?;
        }
        self.limits.validate()?;
        if self.gateway.listen.ip().is_unspecified() && self.gateway.public_url.is_none() {
            return Err(format!(
                "gateway.listen is {}: set gateway.public_url, the address clients use, so cards do not advertise it",
                self.gateway.listen
            ));
        }
        self.auth.validate(&self.public_url(), &general)?;
        remote_agents::validate(self, &general)?;
        Ok(())
    }

    /// Where the key-encryption key file is.
    pub fn kek_file(&self) -> PathBuf {
        self.auth
            .kek_file
            .clone()
            .unwrap_or_else(|| self.gateway.data_dir.join("kek"))
    }

    /// `https` when the gateway listener has TLS, else `http`.
    pub fn gateway_scheme(&self) -> &'static str {
        if self.gateway.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// `https` when the admin listener has TLS, else `http`.
    pub fn admin_scheme(&self) -> &'static str {
        if self.admin.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// The public base URL, without a trailing slash. Defaults to
    /// `{scheme}://{listen}`, `https` when the gateway has TLS.
    pub fn public_url(&self) -> String {
        self.gateway
            .public_url
            .clone()
            .unwrap_or_else(|| format!("{}://{}", self.gateway_scheme(), self.gateway.listen))
            .trim_end_matches('/')
            .to_string()
    }
}

/// toml's message plus the line and column it points at.
fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().to_string();
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, str::len) + 1;
            format!("line {line}, column {col}: {msg}")
        }
        None => msg,
    }
}

#[cfg(test)]
mod tests;
