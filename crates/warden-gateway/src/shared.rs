//! The gateway's use of shared state (`[shared]`, on Redis): single-use
//! ids claimed on every replica, and rate limits whose buckets all replicas
//! share. Without `[shared]` neither exists and each gateway keeps both in
//! memory, as before.
//!
//! Failure is explicit. A single-use id that cannot be claimed on Redis is
//! refused (503): a replay check is never skipped. A rate limit Redis
//! cannot decide is refused too, unless `on_unavailable = "local_limits"`,
//! which falls back to this gateway's own bucket (each replica then allows
//! the whole limit, so the opt-in is logged at start). Either way the
//! metric `warden_shared_unavailable_total{what}` counts it, and a warning
//! is logged at most every ten seconds.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use warden_policy::ratelimit::{
    CheckAllFuture, CheckFuture, LocalRateLimiter, Quota, RateDecision, RateLimitError, RateLimiter,
};
use warden_store::shared::{GcraReply, SharedError, SharedState};

use crate::metrics::WhatLabels;

/// The shortest time between two "Redis unavailable" warnings.
const WARN_EVERY_SECS: u64 = 10;

/// What claiming a single-use id everywhere found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// No replica had seen it.
    First,
    /// A replica (perhaps this one) had.
    Replayed,
    /// Redis could not say: refuse.
    Unavailable,
}

/// Counts and reports Redis failures (at most one warning per ten seconds).
#[derive(Clone)]
struct Failures {
    counter: Family<WhatLabels, Counter>,
    warned_at: Arc<AtomicU64>,
}

impl Failures {
    fn note(&self, what: &'static str, e: &SharedError) {
        self.counter.get_or_create(&WhatLabels { what }).inc();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let last = self.warned_at.load(Ordering::Relaxed);
        if (last == 0 || now >= last + WARN_EVERY_SECS)
            && self
                .warned_at
                .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(error = %e, what, "shared state (Redis) unavailable");
        }
    }
}

/// Single-use ids on every replica.
#[derive(Clone)]
pub struct SharedReplay {
    state: SharedState,
    failures: Failures,
}

impl SharedReplay {
    /// Claims `id` (any length; only its digest goes to Redis) until
    /// `until` (Unix seconds).
    pub async fn claim(&self, id: &str, until: u64) -> Claim {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, id.as_bytes());
        let key: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        match self.state.claim_once(&key, until).await {
            Ok(true) => Claim::First,
            Ok(false) => Claim::Replayed,
            Err(e) => {
                self.failures.note("replay", &e);
                Claim::Unavailable
            }
        }
    }
}

/// Rate limits whose buckets every replica shares (GCRA on Redis's clock).
pub struct SharedRateLimiter {
    state: SharedState,
    /// Used only with `on_unavailable = "local_limits"`.
    fallback: Option<Arc<LocalRateLimiter>>,
    failures: Failures,
}

impl SharedRateLimiter {
    async fn step(
        &self,
        key: &str,
        quota: Quota,
        now: Duration,
        peek: bool,
    ) -> Result<RateDecision, RateLimitError> {
        match self
            .state
            .gcra(key, quota.emission_interval(), quota.tolerance(), peek)
            .await
        {
            Ok(reply) => Ok(decision(reply, quota)),
            Err(e) => {
                self.failures.note("rate_limit", &e);
                match &self.fallback {
                    Some(local) if peek => local.peek(key, quota, now).await,
                    Some(local) => local.check(key, quota, now).await,
                    None => Err(RateLimitError::Unavailable(e.to_string())),
                }
            }
        }
    }
}

impl RateLimiter for SharedRateLimiter {
    fn check<'a>(&'a self, key: &'a str, quota: Quota, now: Duration) -> CheckFuture<'a> {
        Box::pin(self.step(key, quota, now, false))
    }

    fn peek<'a>(&'a self, key: &'a str, quota: Quota, now: Duration) -> CheckFuture<'a> {
        Box::pin(self.step(key, quota, now, true))
    }

    /// All of a call's buckets in one round trip.
    fn check_all<'a>(&'a self, checks: &'a [(String, Quota)], now: Duration) -> CheckAllFuture<'a> {
        Box::pin(async move {
            let buckets: Vec<(&str, Duration, Duration)> = checks
                .iter()
                .map(|(k, q)| (k.as_str(), q.emission_interval(), q.tolerance()))
                .collect();
            match self.state.gcra_all(&buckets, false).await {
                Ok(replies) => Ok(replies
                    .into_iter()
                    .zip(checks)
                    .map(|(r, (_, q))| decision(r, *q))
                    .collect()),
                Err(e) => {
                    self.failures.note("rate_limit", &e);
                    match &self.fallback {
                        Some(local) => local.check_all(checks, now).await,
                        None => Err(RateLimitError::Unavailable(e.to_string())),
                    }
                }
            }
        })
    }
}

fn decision(r: GcraReply, quota: Quota) -> RateDecision {
    if r.allowed {
        RateDecision::Allowed {
            limit: quota.burst(),
            remaining: r.remaining,
            reset_after: r.reset_after,
        }
    } else {
        RateDecision::Limited {
            limit: quota.burst(),
            reset_after: r.reset_after,
            retry_after: r.retry_after,
        }
    }
}

/// New context ids a caller proposes, claimed on every replica at once:
/// each gateway records a context's owner in its own memory first and in
/// the store within milliseconds, so without this two callers proposing
/// the same new id at two gateways in that window could both be let in.
#[derive(Clone)]
pub struct ContextClaims {
    state: SharedState,
    failures: Failures,
}

/// How long a claim holds: far longer than the store write it covers.
const CLAIM_HOLD: Duration = Duration::from_secs(60);

impl ContextClaims {
    /// The owner of context `ctx` at `agent` after claiming it for
    /// `owner`: `owner` when it was free. `None` when Redis cannot say
    /// (refuse: the claim is what keeps the context private).
    pub async fn claim(&self, agent: &str, ctx: &str, owner: &str) -> Option<String> {
        let name = format!("ctx\n{agent}\n{ctx}");
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, name.as_bytes());
        let key: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        match self.state.claim_name(&key, owner, CLAIM_HOLD).await {
            Ok(holder) => Some(holder),
            Err(e) => {
                self.failures.note("context_claim", &e);
                None
            }
        }
    }
}

/// All three over one connection.
pub struct Shared {
    pub replay: SharedReplay,
    pub limiter: Arc<SharedRateLimiter>,
    pub contexts: ContextClaims,
}

impl Shared {
    /// The connection itself, for `/readyz` (which pings it).
    pub fn state(&self) -> SharedState {
        self.contexts.state.clone()
    }

    /// Opens the connection (in the background when Redis is down).
    /// `fallback` is the local limiter to use while Redis cannot answer,
    /// when the configuration allows it.
    pub async fn open(
        config: warden_store::shared::SharedConfig,
        fallback: Option<Arc<LocalRateLimiter>>,
        counter: Family<WhatLabels, Counter>,
    ) -> Result<Self, SharedError> {
        let state = SharedState::open(config).await?;
        let failures = Failures {
            counter,
            warned_at: Arc::new(AtomicU64::new(0)),
        };
        Ok(Self {
            replay: SharedReplay {
                state: state.clone(),
                failures: failures.clone(),
            },
            contexts: ContextClaims {
                state: state.clone(),
                failures: failures.clone(),
            },
            limiter: Arc::new(SharedRateLimiter {
                state,
                fallback,
                failures,
            }),
        })
    }
}
