//! `[authz]` and `[rate_limits]` in `warden.toml`.

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use warden_policy::ratelimit::Quota;

/// Authorisation beyond the built-in model (grants, scopes, ownership are
/// always on in strict mode).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthzSection {
    /// Policy rules (CEL expressions, see docs/security-model.md), checked
    /// after grants; reloaded without a restart when the file changes.
    #[serde(default)]
    pub policy_file: Option<PathBuf>,
    /// How often the policy file and the grant and quarantine tables are
    /// looked at for changes made elsewhere (the CLI, another gateway)
    /// (`poll_interval_ms`).
    #[serde(
        rename = "poll_interval_ms",
        with = "super::millis",
        default = "d_poll"
    )]
    pub poll_interval: Duration,
    /// How long task and context ownership is remembered (days; removed by
    /// the retention run, `[retention]`, and by `warden clean`).
    #[serde(default = "d_retention")]
    pub ownership_retention_days: u64,
    /// Task and context owners held in memory in front of the store (least
    /// recently used out; a miss is one read). About 150 bytes each.
    #[serde(default = "d_owner_cache")]
    pub ownership_cache_entries: std::num::NonZeroUsize,
    /// Ownership records waiting for the writer; when full, answers naming
    /// a new task are refused (503) rather than relayed unrecorded.
    #[serde(default = "d_owner_queue")]
    pub ownership_queue: std::num::NonZeroUsize,
}

fn d_owner_cache() -> std::num::NonZeroUsize {
    std::num::NonZeroUsize::new(100_000).unwrap_or(std::num::NonZeroUsize::MIN)
}

fn d_owner_queue() -> std::num::NonZeroUsize {
    std::num::NonZeroUsize::new(65_536).unwrap_or(std::num::NonZeroUsize::MIN)
}

impl Default for AuthzSection {
    fn default() -> Self {
        Self {
            policy_file: None,
            poll_interval: d_poll(),
            ownership_retention_days: d_retention(),
            ownership_cache_entries: d_owner_cache(),
            ownership_queue: d_owner_queue(),
        }
    }
}

/// One GCRA limit: `rate` is `N/s`, `N/m` or `N/h` (or `off`), `burst` the
/// most calls allowed at once (required unless the limit is `off`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LimitSpec {
    pub rate: String,
    #[serde(default)]
    pub burst: u32,
}

impl LimitSpec {
    fn new(rate: &str, burst: u32) -> Self {
        Self {
            rate: rate.into(),
            burst,
        }
    }

    /// The quota, or `None` when the limit is `off`.
    pub fn quota(&self) -> Result<Option<Quota>, String> {
        if self.rate == "off" {
            return Ok(None);
        }
        if self.burst == 0 {
            return Err(format!("rate {:?} needs a burst of at least 1", self.rate));
        }
        Quota::parse(&self.rate, self.burst)
            .map(Some)
            .map_err(|e| e.to_string())
    }
}

/// Rate limits (GCRA) and stream caps. On by default with room for normal
/// use; a refused call gets HTTP 429 with `Retry-After` and `RateLimit-*`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSection {
    /// Per client address, before authentication.
    #[serde(default = "d_source")]
    pub source: LimitSpec,
    /// Per authenticated caller, over all agents.
    #[serde(default = "d_principal")]
    pub principal: LimitSpec,
    /// Per caller and target agent.
    #[serde(default = "d_pair")]
    pub pair: LimitSpec,
    /// Per agent and skill, over all callers.
    #[serde(default = "d_skill")]
    pub skill: LimitSpec,
    /// Per public agent, over all callers without a credential (each
    /// anonymous caller is also held to `principal` and `pair`, keyed by
    /// its address: a fresh capability per call does not buy a fresh
    /// bucket).
    #[serde(default = "d_public")]
    pub public: LimitSpec,
    /// Open SSE streams one caller may hold at once.
    #[serde(default = "d_streams")]
    pub max_streams_per_principal: NonZeroU32,
    /// Most keys the rate limiter remembers, all four kinds together; past
    /// it, keys whose bucket is full again are dropped first, then those
    /// closest to full (which start afresh).
    #[serde(default = "d_keys")]
    pub max_keys: usize,
}

impl Default for RateLimitSection {
    fn default() -> Self {
        Self {
            source: d_source(),
            principal: d_principal(),
            pair: d_pair(),
            skill: d_skill(),
            public: d_public(),
            max_streams_per_principal: d_streams(),
            max_keys: d_keys(),
        }
    }
}

impl AuthzSection {
    /// Rules serde cannot express.
    pub fn validate(&self) -> Result<(), String> {
        if self.poll_interval < Duration::from_millis(10) {
            return Err("authz.poll_interval_ms must be at least 10".into());
        }
        // 0 would forget every owner at each run: every task unreachable.
        if self.ownership_retention_days == 0 {
            return Err("authz.ownership_retention_days must be at least 1".into());
        }
        Ok(())
    }
}

impl RateLimitSection {
    /// Rules serde cannot express.
    pub fn validate(&self) -> Result<(), String> {
        for (key, spec) in [
            ("source", &self.source),
            ("principal", &self.principal),
            ("pair", &self.pair),
            ("skill", &self.skill),
        ] {
            spec.quota()
                .map_err(|e| format!("rate_limits.{key}: {e}"))?;
        }
        if self.max_keys < 64 {
            return Err("rate_limits.max_keys must be at least 64".into());
        }
        Ok(())
    }
}

fn d_poll() -> Duration {
    Duration::from_millis(250)
}
fn d_retention() -> u64 {
    30
}
fn d_source() -> LimitSpec {
    LimitSpec::new("200/s", 400)
}
fn d_principal() -> LimitSpec {
    LimitSpec::new("100/s", 200)
}
fn d_pair() -> LimitSpec {
    LimitSpec::new("50/s", 100)
}
fn d_public() -> LimitSpec {
    LimitSpec::new("20/s", 40)
}
fn d_skill() -> LimitSpec {
    LimitSpec::new("200/s", 400)
}
fn d_streams() -> NonZeroU32 {
    NonZeroU32::new(32).expect("32 is not zero")
}
fn d_keys() -> usize {
    100_000
}
