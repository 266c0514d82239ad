//! `[auth]` and `[[auth.issuers]]`: who may call, and Warden as a token
//! authority.

use std::num::{NonZeroU64, NonZeroUsize};
use std::path::PathBuf;

use serde::Deserialize;

/// Who may call, and Warden as a token authority.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// `strict` (default): every A2A call needs a verified credential.
    /// `insecure-off` turns authentication off (local experiments only; a
    /// warning is logged at every start). `off-insecure` is its old,
    /// deprecated spelling.
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
    pub replay_cache_entries: NonZeroUsize,
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
    pub key_rotation_hours: NonZeroU64,
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
    /// Authentication off. `off-insecure` is the old, deprecated spelling.
    #[serde(alias = "off-insecure")]
    InsecureOff,
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
    pub jwks_cache_secs: NonZeroU64,
    /// Fetches triggered by unknown `kid`s happen at most this often.
    #[serde(default = "d_jwks_min_refresh")]
    pub jwks_min_refresh_secs: NonZeroU64,
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

fn d_jwks_cache() -> NonZeroU64 {
    NonZeroU64::new(300).expect("300 is not zero")
}
fn d_jwks_min_refresh() -> NonZeroU64 {
    NonZeroU64::new(30).expect("30 is not zero")
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
fn d_replay() -> NonZeroUsize {
    NonZeroUsize::new(1_000_000).expect("1000000 is not zero")
}
fn d_ttl() -> u64 {
    300
}
fn d_rotation() -> NonZeroU64 {
    NonZeroU64::new(24 * 30).expect("720 is not zero")
}
fn d_issuer_lifetime() -> u64 {
    3600
}

impl AuthSection {
    /// Rules serde cannot express; `own_issuer` is the gateway's public
    /// URL, which no other issuer may claim.
    pub fn validate(&self, own_issuer: &str, rules: &warden_egress::Rules) -> Result<(), String> {
        if !(1..=86_400).contains(&self.token_ttl_secs) {
            return Err("auth.token_ttl_secs must be between 1 and 86400".into());
        }
        if self.max_token_bytes < 256 {
            return Err("auth.max_token_bytes must be at least 256".into());
        }
        for (i, iss) in self.issuers.iter().enumerate() {
            if iss.issuer.is_empty() || iss.audiences.is_empty() || iss.algorithms.is_empty() {
                return Err(format!(
                    "auth.issuers[{i}]: issuer, audiences and algorithms must not be empty"
                ));
            }
            if iss.issuer == own_issuer {
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
            if let Some(url) = &iss.jwks_url {
                super::egress::check_configured(rules, url, super::egress::UrlUse::Endpoint)
                    .map_err(|e| {
                        format!(
                            "auth.issuers[{i}].jwks_url: {url:?} is refused: {e} [{}]",
                            e.reason()
                        )
                    })?;
            }
        }
        Ok(())
    }
}
