//! `warden.toml`: the gateway's configuration. Unknown keys are refused, and
//! every error names the key and line.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

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
    pub authz: crate::authz::AuthzSection,
    #[serde(default)]
    pub rate_limits: crate::authz::RateLimitSection,
    /// The upstream agents, each reachable at `/agents/{name}`.
    #[serde(default)]
    pub agents: Vec<AgentConfig>,
    /// The rules every outbound call obeys (JWKS and card fetches, remote
    /// agents, the egress proxy). See docs/egress.md.
    #[serde(default)]
    pub egress: warden_egress::EgressPolicy,
    /// What happens to a call carrying a URL the egress rules refuse.
    #[serde(default)]
    pub message_urls: crate::message_urls::MessageUrlsSection,
    /// Look-alike agents (names, titles, skills): what is flagged and what
    /// refused. See docs/cards.md.
    #[serde(default)]
    pub shadowing: warden_card::shadow::ShadowPolicy,
    /// Remote agents local agents may call through the egress proxy, at
    /// `/egress/{name}`. See docs/egress-proxy.md.
    #[serde(default)]
    pub remote_agents: Vec<crate::egress_proxy::RemoteAgentConfig>,
    /// The egress proxy's listener (started when remote agents exist).
    #[serde(default)]
    pub egress_proxy: crate::egress_proxy::EgressProxySection,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySection {
    /// Where the gateway listens. Loopback by default.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The base URL clients use to reach the gateway; agent cards advertise
    /// URLs under it. Defaults to `http://{listen}`, or `https://{listen}`
    /// with `[gateway.tls]`.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Peers whose `X-Forwarded-Proto`/`X-Forwarded-Host` are believed when
    /// building card URLs. Empty: forwarded headers are never trusted.
    #[serde(default)]
    pub trusted_proxies: Vec<IpAddr>,
    /// Where the embedded store lives.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// TLS (and optionally mTLS) on the gateway listener. Absent: plain
    /// HTTP.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSection {
    /// Health and metrics listener, separate from client traffic.
    #[serde(default = "default_admin_listen")]
    pub listen: SocketAddr,
    /// TLS (and optionally mTLS) on the admin listener. Absent: plain HTTP.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
}

/// `[gateway.tls]` / `[admin.tls]`: the listener's certificate and, for
/// mutual TLS, the CAs client certificates must chain to. TLS 1.2 and 1.3
/// only; ALPN `h2` and `http/1.1`. The files are polled and a change is
/// picked up without dropping open connections.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The server certificate chain (PEM, leaf first).
    pub cert_file: PathBuf,
    /// The private key of the leaf certificate (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// PEM files of the CAs client certificates are verified against.
    /// Required when `client_auth` is `optional` or `required`.
    #[serde(default)]
    pub client_ca_files: Vec<PathBuf>,
    /// `off` (default): no client certificate is asked for. `optional`: a
    /// certificate is asked for and verified when sent. `required`: a
    /// connection without a verified certificate fails its handshake.
    #[serde(default)]
    pub client_auth: ClientAuth,
    /// A client that has not completed the handshake by then is dropped.
    #[serde(default = "d_handshake")]
    pub handshake_timeout_ms: u64,
    /// How often the files are checked for changes (0: never).
    #[serde(default = "d_reload")]
    pub reload_interval_ms: u64,
}

/// Whether a TLS listener asks clients for certificates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    #[default]
    Off,
    Optional,
    Required,
}

impl ClientAuth {
    /// The configuration value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Optional => "optional",
            Self::Required => "required",
        }
    }
}

fn d_handshake() -> u64 {
    10_000
}
fn d_reload() -> u64 {
    5_000
}

impl TlsConfig {
    /// Rules serde cannot express; `key` names the table in errors.
    pub fn validate(&self, key: &str) -> Result<(), String> {
        for (name, path) in [("cert_file", &self.cert_file), ("key_file", &self.key_file)] {
            if path.as_os_str().is_empty() {
                return Err(format!("{key}.{name} must not be empty"));
            }
        }
        match (self.client_auth, self.client_ca_files.is_empty()) {
            (ClientAuth::Optional | ClientAuth::Required, true) => {
                return Err(format!(
                    "{key}.client_auth = \"{}\" needs {key}.client_ca_files",
                    self.client_auth.as_str()
                ));
            }
            (ClientAuth::Off, false) => {
                return Err(format!(
                    "{key}.client_ca_files is set but {key}.client_auth is \"off\": set it to \"optional\" or \"required\", or remove the CAs"
                ));
            }
            _ => {}
        }
        if !(100..=300_000).contains(&self.handshake_timeout_ms) {
            return Err(format!(
                "{key}.handshake_timeout_ms must be between 100 and 300000"
            ));
        }
        if self.reload_interval_ms != 0 && self.reload_interval_ms < 100 {
            return Err(format!(
                "{key}.reload_interval_ms must be 0 (no reloading) or at least 100"
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest request body accepted from a client.
    #[serde(default = "d_req_body")]
    pub max_request_body_bytes: usize,
    /// Largest non-streaming response body accepted from an upstream, and
    /// largest single SSE event.
    #[serde(default = "d_resp_body")]
    pub max_response_body_bytes: usize,
    /// Largest total size of request headers (names and values).
    #[serde(default = "d_headers")]
    pub max_header_bytes: usize,
    #[serde(default = "d_depth")]
    pub max_json_depth: usize,
    #[serde(default = "d_string")]
    pub max_json_string_bytes: usize,
    #[serde(default = "d_connect")]
    pub upstream_connect_timeout_ms: u64,
    /// Whole-exchange timeout for non-streaming calls; time to response
    /// headers for streams.
    #[serde(default = "d_timeout")]
    pub upstream_timeout_ms: u64,
    /// A stream with no bytes from upstream for this long is closed.
    #[serde(default = "d_idle")]
    pub stream_idle_timeout_ms: u64,
    /// Keep-alive comments are sent on quiet streams at this interval.
    #[serde(default = "d_keepalive")]
    pub keepalive_interval_ms: u64,
    /// How long an upstream card is reused before it is fetched again.
    #[serde(default = "d_card_ttl")]
    pub card_cache_ms: u64,
}

impl Default for GatewaySection {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            public_url: None,
            trusted_proxies: Vec::new(),
            data_dir: default_data_dir(),
            tls: None,
        }
    }
}

impl Default for AdminSection {
    fn default() -> Self {
        Self {
            listen: default_admin_listen(),
            tls: None,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request_body_bytes: d_req_body(),
            max_response_body_bytes: d_resp_body(),
            max_header_bytes: d_headers(),
            max_json_depth: d_depth(),
            max_json_string_bytes: d_string(),
            upstream_connect_timeout_ms: d_connect(),
            upstream_timeout_ms: d_timeout(),
            stream_idle_timeout_ms: d_idle(),
            keepalive_interval_ms: d_keepalive(),
            card_cache_ms: d_card_ttl(),
        }
    }
}

/// Who may call, and Warden as a token authority.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// `strict` (default): every A2A call needs a verified credential.
    /// `off-insecure` turns authentication off (local experiments only; a
    /// warning is logged at every start).
    #[serde(default)]
    pub mode: AuthMode,
    /// Clock skew allowed on `exp`, `nbf` and `iat`.
    #[serde(default = "d_leeway")]
    pub leeway_secs: u64,
    /// Largest token (or DPoP proof) accepted.
    #[serde(default = "d_max_token")]
    pub max_token_bytes: usize,
    /// How many used token ids are remembered; when full, new tokens are
    /// refused rather than an unexpired id forgotten.
    #[serde(default = "d_replay")]
    pub replay_cache_entries: usize,
    /// The key-encryption key sealing Warden's signing keys at rest: a file
    /// (created with mode 0600 on first start when missing). The
    /// `WARDEN_KEK` environment variable takes precedence. Default:
    /// `{data_dir}/kek`.
    #[serde(default)]
    pub kek_file: Option<PathBuf>,
    /// Lifetime of the access tokens Warden issues.
    #[serde(default = "d_ttl")]
    pub token_ttl_secs: u64,
    /// How long a signing key signs before a new one takes over.
    #[serde(default = "d_rotation")]
    pub key_rotation_hours: u64,
    /// DPoP (RFC 9449) for Warden's own tokens: `optional` (default:
    /// DPoP-bound and plain bearer tokens both work), `required`, or `off`.
    #[serde(default)]
    pub dpop: DpopMode,
    /// Require server-issued DPoP nonces (`DPoP-Nonce`).
    #[serde(default)]
    pub dpop_nonces: bool,
    /// Serve agent cards without a credential (the A2A discovery default).
    /// `false` makes the card routes need a credential like any call.
    #[serde(default = "d_true")]
    pub public_cards: bool,
    /// Present a Warden token to upstream agents on every call (audience =
    /// the agent, subject `warden`, the caller in an `act` claim).
    #[serde(default = "d_true")]
    pub upstream_tokens: bool,
    /// Other token issuers whose access tokens the gateway accepts.
    #[serde(default)]
    pub issuers: Vec<IssuerConfig>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DpopMode {
    Off,
    #[default]
    Optional,
    Required,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMode {
    #[default]
    Strict,
    OffInsecure,
}

/// An external issuer of access tokens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The exact `iss` value.
    pub issuer: String,
    /// Tokens must name one of these in `aud`.
    pub audiences: Vec<String>,
    /// The only algorithms accepted (ES256, ES384, EdDSA, RS256, PS256).
    pub algorithms: Vec<warden_trust::JwsAlg>,
    /// The issuer's public keys: a JWKS file.
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// The issuer's public keys: an inline JWKS document (JSON text).
    #[serde(default)]
    pub jwks: Option<String>,
    /// The issuer's public keys: fetched from this URL (https, or http to
    /// loopback), cached, refreshed when stale or when a token names an
    /// unknown `kid`.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// How long fetched keys are used before they are fetched again.
    #[serde(default = "d_jwks_cache")]
    pub jwks_cache_secs: u64,
    /// Fetches triggered by unknown `kid`s happen at most this often.
    #[serde(default = "d_jwks_min_refresh")]
    pub jwks_min_refresh_secs: u64,
    /// Required `typ` header, e.g. `at+jwt`.
    #[serde(default)]
    pub typ: Option<String>,
    /// Tokens living longer than this (`exp - iat`) are refused.
    #[serde(default = "d_issuer_lifetime")]
    pub max_lifetime_secs: u64,
    /// DPoP for this issuer's tokens (`off`, `optional`, `required`).
    #[serde(default)]
    pub dpop: DpopMode,
}

impl Default for AuthSection {
    fn default() -> Self {
        Self {
            mode: AuthMode::Strict,
            leeway_secs: d_leeway(),
            max_token_bytes: d_max_token(),
            replay_cache_entries: d_replay(),
            kek_file: None,
            token_ttl_secs: d_ttl(),
            key_rotation_hours: d_rotation(),
            dpop: DpopMode::Optional,
            dpop_nonces: false,
            upstream_tokens: true,
            public_cards: true,
            issuers: Vec::new(),
        }
    }
}

fn d_jwks_cache() -> u64 {
    300
}
fn d_jwks_min_refresh() -> u64 {
    30
}
fn d_true() -> bool {
    true
}
fn d_leeway() -> u64 {
    30
}
fn d_max_token() -> usize {
    8 * 1024
}
fn d_replay() -> usize {
    1_000_000
}
fn d_ttl() -> u64 {
    300
}
fn d_rotation() -> u64 {
    24 * 30
}
fn d_issuer_lifetime() -> u64 {
    3600
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// The path segment: the agent is served at `/agents/{name}`.
    pub name: String,
    /// The upstream agent's base URL; its card is at
    /// `{url}/.well-known/agent-card.json`.
    pub url: String,
    /// Overrides the JSON-RPC endpoint found in the upstream card.
    #[serde(default)]
    pub jsonrpc_url: Option<String>,
    /// Overrides the HTTP+JSON endpoint found in the upstream card.
    #[serde(default)]
    pub rest_url: Option<String>,
    /// A JWKS file holding the keys pinned for this agent's card signature.
    #[serde(default)]
    pub card_jwks_file: Option<PathBuf>,
    /// The same keys as inline JWKS text (not with `card_jwks_file`).
    #[serde(default)]
    pub card_jwks: Option<String>,
    /// Hosts whose JWKS a card signature's `jku` may name and Warden then
    /// fetches (through the egress rules, purpose `jwks`). Empty: no `jku`
    /// is ever followed.
    #[serde(default)]
    pub card_jku_hosts: Vec<String>,
    /// Serve and proxy this agent even when its card carries no signature
    /// by a trusted key (a warning is logged at start). A signature by a
    /// trusted key that does not verify still refuses the card.
    #[serde(default)]
    pub allow_unsigned_card: bool,
    /// What happens to a card whose lint reports an error (hidden
    /// instructions, exfiltration links, markup, unsafe URLs…): see
    /// [`CardLintPolicy`].
    #[serde(default)]
    pub card_lint: CardLintPolicy,
}

/// What the gateway does with an upstream card (or extended card) whose
/// lint reports an error-level finding. Every card is linted when fetched;
/// hidden characters are always removed and refused links always dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardLintPolicy {
    /// Hold the card for review (`warden registry review`), like a changed
    /// card: the pinned card is served meanwhile, or none at all.
    #[default]
    Refuse,
    /// Serve a sanitised copy: strings with error findings withheld, free
    /// text fenced; refused still if errors remain.
    Sanitise,
    /// Serve the card with its findings stated, logging a warning.
    Allow,
}

impl CardLintPolicy {
    /// The configuration value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Refuse => "refuse",
            Self::Sanitise => "sanitise",
            Self::Allow => "allow",
        }
    }
}

impl AgentConfig {
    /// The keys pinned for this agent's card signature (empty when none are
    /// configured).
    pub fn card_keys(&self) -> Result<warden_trust::KeySet, String> {
        use warden_client::CardTrust;
        match (&self.card_jwks_file, &self.card_jwks) {
            (Some(_), Some(_)) => Err("set card_jwks_file or card_jwks, not both".into()),
            (Some(path), None) => {
                CardTrust::read_jwks_file(path).map_err(|e| format!("card_jwks_file: {e}"))
            }
            (None, Some(text)) => CardTrust::read_jwks(text).map_err(|e| format!("card_jwks: {e}")),
            (None, None) => Ok(warden_trust::KeySet::default()),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_admin_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9091))
}
fn default_data_dir() -> PathBuf {
    PathBuf::from(".warden")
}
fn d_req_body() -> usize {
    4 * 1024 * 1024
}
fn d_resp_body() -> usize {
    16 * 1024 * 1024
}
fn d_headers() -> usize {
    32 * 1024
}
fn d_depth() -> usize {
    64
}
fn d_string() -> usize {
    1024 * 1024
}
fn d_connect() -> u64 {
    5_000
}
fn d_timeout() -> u64 {
    60_000
}
fn d_idle() -> u64 {
    300_000
}
fn d_keepalive() -> u64 {
    15_000
}
fn d_card_ttl() -> u64 {
    30_000
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
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: describe_toml_error(text, &e),
        })?;
        config.validate().map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(config)
    }

    /// Rules serde cannot express.
    pub fn validate(&self) -> Result<(), String> {
        let rules = crate::egress::general_rules(self).map_err(|e| e.to_string())?;
        let mut seen = std::collections::HashSet::new();
        for (i, a) in self.agents.iter().enumerate() {
            let valid_name = !a.name.is_empty()
                && a.name.len() <= 64
                && a.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid_name {
                return Err(format!(
                    "agents[{i}].name {:?} must be 1-64 characters of A-Z, a-z, 0-9, '-' or '_'",
                    a.name
                ));
            }
            if !seen.insert(a.name.as_str()) {
                return Err(format!("agents[{i}].name {:?} is used twice", a.name));
            }
            a.card_keys().map_err(|e| format!("agents[{i}].{e}"))?;
            for host in &a.card_jku_hosts {
                warden_egress::target::parse(&format!("https://{host}/"))
                    .ok()
                    .filter(|_| !host.is_empty() && !host.contains(['/', '@', '?', '#']))
                    .ok_or_else(|| {
                        format!("agents[{i}].card_jku_hosts: {host:?} is not a host name")
                    })?;
            }
        }
        self.rate_limits.validate()?;
        if self.authz.poll_interval_ms < 10 {
            return Err("authz.poll_interval_ms must be at least 10".into());
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
        let l = &self.limits;
        for (key, value) in [
            ("limits.max_request_body_bytes", l.max_request_body_bytes),
            ("limits.max_response_body_bytes", l.max_response_body_bytes),
            ("limits.max_header_bytes", l.max_header_bytes),
            ("limits.max_json_depth", l.max_json_depth),
            ("limits.max_json_string_bytes", l.max_json_string_bytes),
        ] {
            if value == 0 {
                return Err(format!("{key} must be greater than 0"));
            }
        }
        for (key, value, min) in [
            (
                "limits.upstream_connect_timeout_ms",
                l.upstream_connect_timeout_ms,
                1,
            ),
            ("limits.upstream_timeout_ms", l.upstream_timeout_ms, 1),
            ("limits.stream_idle_timeout_ms", l.stream_idle_timeout_ms, 1),
            ("limits.keepalive_interval_ms", l.keepalive_interval_ms, 100),
        ] {
            if value < min {
                return Err(format!("{key} must be at least {min}"));
            }
        }
        self.check_agent_urls()?;
        if self.gateway.listen.ip().is_unspecified() && self.gateway.public_url.is_none() {
            return Err(format!(
                "gateway.listen is {}: set gateway.public_url, the address clients use, so cards do not advertise it",
                self.gateway.listen
            ));
        }
        let a = &self.auth;
        if !(1..=86_400).contains(&a.token_ttl_secs) {
            return Err("auth.token_ttl_secs must be between 1 and 86400".into());
        }
        if a.replay_cache_entries == 0 || a.max_token_bytes < 256 || a.key_rotation_hours == 0 {
            return Err("auth.replay_cache_entries, auth.max_token_bytes (>= 256) and auth.key_rotation_hours must be positive".into());
        }
        for (i, iss) in a.issuers.iter().enumerate() {
            if iss.issuer.is_empty() || iss.audiences.is_empty() || iss.algorithms.is_empty() {
                return Err(format!(
                    "auth.issuers[{i}]: issuer, audiences and algorithms must not be empty"
                ));
            }
            if iss.issuer == self.public_url() {
                return Err(format!(
                    "auth.issuers[{i}]: issuer {:?} is Warden's own issuer (gateway.public_url)",
                    iss.issuer
                ));
            }
            let sources = [
                iss.jwks_file.is_some(),
                iss.jwks.is_some(),
                iss.jwks_url.is_some(),
            ];
            if sources.iter().filter(|s| **s).count() != 1 {
                return Err(format!(
                    "auth.issuers[{i}]: give exactly one of jwks, jwks_file or jwks_url"
                ));
            }
            if iss.jwks_cache_secs == 0 || iss.jwks_min_refresh_secs == 0 {
                return Err(format!(
                    "auth.issuers[{i}]: jwks_cache_secs and jwks_min_refresh_secs must be at least 1"
                ));
            }
            if let Some(url) = &iss.jwks_url {
                crate::egress::check_configured(&rules, url, crate::egress::UrlUse::Endpoint)
                    .map_err(|e| {
                        format!(
                            "auth.issuers[{i}].jwks_url: {url:?} is refused: {e} [{}]",
                            e.reason()
                        )
                    })?;
            }
        }
        if l.max_json_depth > 128 {
            return Err("limits.max_json_depth must be at most 128".into());
        }
        crate::egress_proxy::config::validate(self, &rules)?;
        Ok(())
    }

    /// `[[agents]]` URLs, judged by the rules the gateway reaches them
    /// with ([`crate::egress::upstream_rules`]): their hosts are trusted
    /// (loopback, private, plain http, any port), but metadata addresses
    /// and names, addresses nothing legitimate listens on and every
    /// ambiguous spelling are refused, as they would be at run time.
    fn check_agent_urls(&self) -> Result<(), String> {
        use crate::egress::UrlUse;
        let rules = crate::egress::upstream_rules(self).map_err(|e| e.to_string())?;
        for (i, a) in self.agents.iter().enumerate() {
            for (key, value, how) in [
                ("url", Some(&a.url), UrlUse::Base),
                ("jsonrpc_url", a.jsonrpc_url.as_ref(), UrlUse::Endpoint),
                ("rest_url", a.rest_url.as_ref(), UrlUse::Base),
            ] {
                if let Some(v) = value {
                    crate::egress::check_configured(&rules, v, how).map_err(|e| {
                        format!("agents[{i}].{key}: {v:?} is refused: {e} [{}]", e.reason())
                    })?;
                }
            }
        }
        Ok(())
    }

    /// Checks what lives in files the configuration names (issuer JWKS,
    /// TLS certificates and keys), so `warden config check` catches them
    /// before the gateway starts.
    pub fn check_files(&self, path: &Path) -> Result<(), ConfigError> {
        if let Some(policy) = &self.authz.policy_file {
            crate::authz::load_rules(policy)?;
        }
        crate::egress_proxy::config::check_files(self, path)?;
        for (i, iss) in self.auth.issuers.iter().enumerate() {
            let text = match (&iss.jwks, &iss.jwks_file) {
                (Some(t), _) => t.clone(),
                (None, Some(f)) => {
                    std::fs::read_to_string(f).map_err(|source| ConfigError::Read {
                        path: f.clone(),
                        source,
                    })?
                }
                _ => continue,
            };
            let invalid = |message: String| ConfigError::Invalid {
                path: path.to_path_buf(),
                message: format!("auth.issuers[{i}]: {message}"),
            };
            let doc =
                warden_json::parse_strict(text.as_bytes(), warden_json::JsonLimits::default())
                    .map_err(|e| invalid(format!("JWKS is not valid JSON: {e}")))?;
            let keys = warden_trust::KeySet::from_jwks(&doc).map_err(|e| invalid(e.to_string()))?;
            if keys.is_empty() {
                return Err(invalid(
                    "the JWKS has no usable signing key (each needs a kid)".into(),
                ));
            }
        }
        for (key, tls) in [
            ("gateway.tls", &self.gateway.tls),
            ("admin.tls", &self.admin.tls),
        ] {
            if let Some(t) = tls {
                crate::listener::check(t).map_err(|e| ConfigError::Invalid {
                    path: path.to_path_buf(),
                    message: format!("{key}: {e}"),
                })?;
            }
        }
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
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Config, ConfigError> {
        Config::parse(s, Path::new("warden.toml"))
    }

    #[test]
    fn defaults_are_loopback_and_safe() {
        let c = parse("").expect("empty config is valid");
        assert!(c.gateway.listen.ip().is_loopback());
        assert!(c.admin.listen.ip().is_loopback());
        assert!(c.gateway.trusted_proxies.is_empty());
        assert_eq!(c.public_url(), "http://127.0.0.1:8080");
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let err = parse("[gateway]\nlisten = \"127.0.0.1:1\"\nlisten_addr = \"x\"\n")
            .expect_err("unknown key");
        let text = err.to_string();
        assert!(text.contains("listen_addr"), "{text}");
        assert!(text.contains("line 3"), "{text}");
    }

    #[test]
    fn agents_are_checked() {
        assert!(parse("[[agents]]\nname = \"a b\"\nurl = \"http://x\"\n").is_err());
        assert!(parse("[[agents]]\nname = \"a\"\nurl = \"ftp://x\"\n").is_err());
        assert!(parse("[[agents]]\nname = \"a\"\nurl = \"http://u:p@x\"\n").is_err());
        let dup = "[[agents]]\nname = \"a\"\nurl = \"http://x\"\n[[agents]]\nname = \"a\"\nurl = \"http://y\"\n";
        assert!(parse(dup).expect_err("dup").to_string().contains("twice"));
        let ok = parse("[[agents]]\nname = \"echo\"\nurl = \"http://127.0.0.1:9\"\n").expect("ok");
        assert_eq!(ok.agents[0].name, "echo");
    }

    #[test]
    fn card_keys_are_checked() {
        let agent = "[[agents]]\nname = \"a\"\nurl = \"http://x\"\n";
        let jwks = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
        let ok = parse(&format!(
            "{agent}card_jwks = '{jwks}'\ncard_jku_hosts = [\"keys.example\"]\n"
        ))
        .expect("inline keys");
        assert_eq!(ok.agents[0].card_keys().expect("keys").len(), 1);
        assert!(
            !ok.agents[0].allow_unsigned_card,
            "signatures are required by default"
        );
        let both = format!("{agent}card_jwks = '{jwks}'\ncard_jwks_file = \"k.json\"\n");
        assert!(
            parse(&both)
                .expect_err("both")
                .to_string()
                .contains("not both")
        );
        assert!(parse(&format!("{agent}card_jwks = 'nope'\n")).is_err());
        assert!(
            parse(&format!(
                "{agent}card_jwks_file = \"/nonexistent/k.json\"\n"
            ))
            .is_err()
        );
        let private = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}]}"#;
        assert!(parse(&format!("{agent}card_jwks = '{private}'\n")).is_err());
        assert!(parse(&format!("{agent}card_jku_hosts = [\"a/b\"]\n")).is_err());
    }

    /// `[[agents]]` URLs are judged as the gateway will reach them: the
    /// configured host trusted (loopback, private), but never metadata,
    /// never-legitimate addresses or ambiguous spellings.
    #[test]
    fn agent_urls_get_the_upstream_egress_rules() {
        let agent = |url: &str| format!("[[agents]]\nname = \"a\"\nurl = \"{url}\"\n");
        let refused = [
            ("http://169.254.169.254/", "denied_address"),
            ("http://2852039166/", "denied_address"),
            ("http://0xa9.0xfe.0xa9.0xfe/", "denied_address"),
            ("http://0251.0376.0251.0376/", "denied_address"),
            ("http://169.254.43518/", "denied_address"),
            ("http://[::ffff:169.254.169.254]/", "denied_address"),
            ("http://[::ffff:127.0.0.1]:9000/", "denied_address"),
            ("http://metadata.google.internal/", "bad_host"),
            ("http://224.0.0.1:9000/", "denied_address"),
            ("http://0.0.0.0:9000/", "denied_address"),
            ("http://[::]:9000/", "denied_address"),
            ("http://255.255.255.255:9000/", "denied_address"),
            ("http://%31%32%37.0.0.1:9000/", "bad_host"),
            ("http://127.0.0.1:9000/#frag", "bad_url"),
            ("http://127.0.0.1:9000#@example.com/", "bad_url"),
            ("http://127.0.0.1:9000/?x", "bad_url"),
            ("http://u:p@127.0.0.1:9000/", "userinfo"),
            ("ftp://127.0.0.1/", "scheme"),
        ];
        for (url, reason) in refused {
            let err = parse(&agent(url)).expect_err(url).to_string();
            assert!(
                err.contains("agents[0].url") && err.contains(&format!("[{reason}]")),
                "{url}: {err}"
            );
        }
        for url in [
            "http://10.0.0.5:9000",
            "http://127.0.0.1:9000/a2a/",
            "http://[::1]:9000",
            "http://localhost:9000",
            "https://agents.internal",
        ] {
            parse(&agent(url)).unwrap_or_else(|e| panic!("{url}: {e}"));
        }
        let endpoints = |rpc: &str, rest: &str| {
            format!(
                "{}jsonrpc_url = \"{rpc}\"\nrest_url = \"{rest}\"\n",
                agent("http://127.0.0.1:9000")
            )
        };
        parse(&endpoints(
            "http://127.0.0.1:9000/rpc?v=1",
            "http://127.0.0.1:9000/rest",
        ))
        .expect("a query on the JSON-RPC endpoint is kept");
        for (rpc, rest, key) in [
            (
                "http://127.0.0.1:9000/rpc#x",
                "http://127.0.0.1:9000/rest",
                "jsonrpc_url",
            ),
            (
                "http://127.0.0.1:9000/rpc",
                "http://127.0.0.1:9000/rest?v=1",
                "rest_url",
            ),
            (
                "http://169.254.169.254/",
                "http://127.0.0.1:9000/rest",
                "jsonrpc_url",
            ),
        ] {
            let err = parse(&endpoints(rpc, rest)).expect_err(key).to_string();
            assert!(err.contains(&format!("agents[0].{key}")), "{err}");
        }
        let err = parse("[gateway]\npublic_url = \"https://gw.example/#x\"\n")
            .expect_err("fragment")
            .to_string();
        assert!(err.contains("gateway.public_url"), "{err}");
    }

    const TLS: &str = "[gateway.tls]\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\n";

    #[test]
    fn tls_defaults_and_https_public_url() {
        let c = parse(TLS).expect("tls config");
        let t = c.gateway.tls.as_ref().expect("tls");
        assert_eq!(t.client_auth, ClientAuth::Off);
        assert_eq!(t.handshake_timeout_ms, 10_000);
        assert_eq!(t.reload_interval_ms, 5_000);
        assert!(t.client_ca_files.is_empty());
        assert!(c.admin.tls.is_none());
        assert_eq!(c.public_url(), "https://127.0.0.1:8080");
        assert_eq!(c.admin_scheme(), "http");
        let c = parse(&format!("{TLS}[admin.tls]\ncert_file = \"a.pem\"\nkey_file = \"b.pem\"\nclient_auth = \"required\"\nclient_ca_files = [\"ca.pem\"]\n"))
            .expect("admin tls");
        let a = c.admin.tls.as_ref().expect("admin tls");
        assert_eq!(a.client_auth, ClientAuth::Required);
        assert_eq!(c.admin_scheme(), "https");
    }

    #[test]
    fn tls_is_checked() {
        let err = |extra: &str| {
            parse(&format!("{TLS}{extra}"))
                .expect_err(extra)
                .to_string()
        };
        assert!(err("client_auth = \"required\"\n").contains("needs gateway.tls.client_ca_files"));
        assert!(err("client_auth = \"optional\"\n").contains("client_ca_files"));
        assert!(err("client_ca_files = [\"ca.pem\"]\n").contains("client_auth is \"off\""));
        let e = err("client_auth = \"sometimes\"\n");
        assert!(e.contains("sometimes") && e.contains("line 4"), "{e}");
        assert!(err("handshake_timeout_ms = 0\n").contains("handshake_timeout_ms"));
        assert!(err("reload_interval_ms = 5\n").contains("reload_interval_ms"));
        assert!(err("ciphers = [\"RC4\"]\n").contains("ciphers"));
        let missing = parse("[gateway.tls]\ncert_file = \"c.pem\"\n").expect_err("no key");
        assert!(missing.to_string().contains("key_file"), "{missing}");
        let empty = parse("[admin.tls]\ncert_file = \"\"\nkey_file = \"k\"\n").expect_err("empty");
        assert!(empty.to_string().contains("admin.tls.cert_file"), "{empty}");
        let ok = parse(&format!("{TLS}client_auth = \"optional\"\nclient_ca_files = [\"a.pem\", \"b.pem\"]\nreload_interval_ms = 0\n")).expect("ok");
        assert_eq!(ok.gateway.tls.expect("tls").client_ca_files.len(), 2);
    }
}
