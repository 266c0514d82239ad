//! `[auth]` and `[[auth.issuers]]`: who may call, and Warden as a token
//! authority.

use std::num::{NonZeroU64, NonZeroUsize};
use std::path::PathBuf;

use serde::Deserialize;

/// The longest lifetime (`exp - iat`) of a Warden token the gateway
/// accepts, whoever minted it; `token_ttl_secs` may not exceed it.
pub const OWN_TOKEN_MAX_LIFETIME_SECS: u64 = 86_400;
/// The longest lifetime of a client assertion (`private_key_jwt`) at the
/// token endpoint.
pub const CLIENT_ASSERTION_MAX_LIFETIME_SECS: u64 = 600;
/// The largest replay cache sized from `replay_rate` (an explicit
/// `replay_cache_entries` may go beyond it): 16,777,216 ids.
pub const REPLAY_SIZED_MAX_BYTES: usize = 256 << 20;

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
    /// Single-use ids a second the replay cache is sized to hold (each
    /// bearer token use, DPoP proof and client assertion is one), each for
    /// the longest it can be held under this configuration
    /// ([`AuthSection::replay_hold_secs`]). `N/s`, `N/m` or `N/h`.
    #[serde(default = "d_replay_rate")]
    pub replay_rate: ReplayRate,
    /// How many used ids the replay cache holds, instead of sizing it from
    /// `replay_rate`. When full, new ones are refused rather than an
    /// unexpired id forgotten.
    #[serde(default)]
    pub replay_cache_entries: Option<NonZeroUsize>,
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
            replay_rate: d_replay_rate(),
            replay_cache_entries: None,
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
fn d_replay_rate() -> ReplayRate {
    ReplayRate::parse("2000/s").expect("2000/s is a rate")
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
        if !(1..=OWN_TOKEN_MAX_LIFETIME_SECS).contains(&self.token_ttl_secs) {
            return Err(format!(
                "auth.token_ttl_secs must be between 1 and {OWN_TOKEN_MAX_LIFETIME_SECS}"
            ));
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

/// `[auth] replay_rate`: single-use ids per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct ReplayRate {
    count: u32,
    period_secs: u64,
}

impl ReplayRate {
    /// `N/s`, `N/m` or `N/h`, as the rate limits are written.
    pub fn parse(rate: &str) -> Result<Self, String> {
        let quota =
            warden_policy::Quota::parse(rate, 1).map_err(|e| format!("auth.replay_rate: {e}"))?;
        Ok(Self {
            count: quota.count(),
            period_secs: quota.period().as_secs().max(1),
        })
    }

    /// How many ids arrive in `secs` seconds at this rate (rounded up).
    pub fn ids_in(self, secs: u64) -> u64 {
        u64::from(self.count)
            .saturating_mul(secs)
            .div_ceil(self.period_secs)
    }
}

impl TryFrom<String> for ReplayRate {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl std::fmt::Display for ReplayRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = match self.period_secs {
            1 => "s",
            60 => "m",
            _ => "h",
        };
        write!(f, "{}/{unit}", self.count)
    }
}

/// How the replay cache is sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplaySizing {
    /// Ids held at once.
    pub capacity: usize,
    /// The longest an id can be held past the call recording it: expiries
    /// up to here are stored (rounded up to `horizon / 16384` seconds).
    pub horizon_secs: u64,
    /// Where the capacity came from, for the startup log.
    pub source: ReplaySource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplaySource {
    /// `replay_cache_entries`.
    Entries,
    /// `replay_rate` × `hold_secs`.
    Rate { hold_secs: u64 },
    /// `replay_rate` × `hold_secs` would take more than
    /// [`REPLAY_SIZED_MAX_BYTES`]; capped there.
    Capped { hold_secs: u64, wanted: u64 },
}

impl AuthSection {
    /// The longest a single-use id can stay in the replay cache under this
    /// configuration, for sizing it: a Warden bearer token (unless
    /// `dpop = "required"`) or an issuer's (unless that issuer requires
    /// DPoP) for its lifetime plus the leeway twice (its `iat` may be that
    /// far ahead, and the id is kept that long past `exp`), a client
    /// assertion likewise, a DPoP proof for its `iat` window.
    pub fn replay_hold_secs(&self) -> u64 {
        let leeway = self.leeway_secs.saturating_mul(2);
        let dpop = warden_trust::DpopPolicy::default();
        let proofs = dpop.iat_window_secs + dpop.max_future_secs;
        let own = (self.dpop != DpopMode::Required).then_some(self.token_ttl_secs);
        let issuers = self
            .issuers
            .iter()
            .filter(|i| i.dpop != DpopMode::Required)
            .map(|i| i.max_lifetime_secs);
        own.into_iter()
            .chain(issuers)
            .chain([CLIENT_ASSERTION_MAX_LIFETIME_SECS])
            .map(|l| l.saturating_add(leeway))
            .chain([proofs])
            .max()
            .unwrap_or(proofs)
    }

    /// The longest any id the gateway accepts can be held, however the
    /// token was minted: the longest lifetime of a Warden token or an
    /// issuer's, plus the leeway twice.
    pub fn replay_horizon_secs(&self) -> u64 {
        self.issuers
            .iter()
            .map(|i| i.max_lifetime_secs)
            .chain([
                OWN_TOKEN_MAX_LIFETIME_SECS,
                CLIENT_ASSERTION_MAX_LIFETIME_SECS,
            ])
            .max()
            .unwrap_or(OWN_TOKEN_MAX_LIFETIME_SECS)
            .saturating_add(self.leeway_secs.saturating_mul(2))
            .max(self.replay_hold_secs())
    }

    /// The replay cache's size: `replay_cache_entries` when set, otherwise
    /// `replay_rate` × [`Self::replay_hold_secs`], at most
    /// [`REPLAY_SIZED_MAX_BYTES`].
    pub fn replay_sizing(&self) -> ReplaySizing {
        let horizon_secs = self.replay_horizon_secs();
        if let Some(entries) = self.replay_cache_entries {
            return ReplaySizing {
                capacity: entries.get(),
                horizon_secs,
                source: ReplaySource::Entries,
            };
        }
        let hold_secs = self.replay_hold_secs();
        let wanted = self.replay_rate.ids_in(hold_secs);
        let most = REPLAY_SIZED_MAX_BYTES / warden_trust::replay::BYTES_PER_ID;
        let capacity = usize::try_from(wanted).unwrap_or(usize::MAX).min(most);
        let source = if capacity == most && wanted > most as u64 {
            ReplaySource::Capped { hold_secs, wanted }
        } else {
            ReplaySource::Rate { hold_secs }
        };
        ReplaySizing {
            capacity,
            horizon_secs,
            source,
        }
    }
}
