//! The gateway's use of shared state (`[shared]`, on Redis): single-use
//! ids claimed on every replica, and rate limits whose buckets all replicas
//! share. Without `[shared]` neither exists and each gateway keeps both in
//! memory, as before.
//!
//! A call's single-use id and its rate limits are decided together, in one
//! round trip ([`SharedRateLimiter::step_call`]): authentication checks the
//! token and leaves its id pending ([`PendingUse`]), and the call's shared
//! step records it with the limits (see `warden_store::shared::StepOutcome`
//! for the order). The early refusal at admission is answered from the
//! refusals this gateway last saw ([`spent`]), without a round trip.
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
use warden_store::shared::{GcraReply, SharedError, SharedState, StepOutcome};

use crate::metrics::WhatLabels;

mod spent;
mod streams;

pub use streams::{SharedStreamPermit, SharedStreams, StreamPlace};

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

/// A single-use id authentication checked and left for the call's shared
/// step to record with its rate limits (one round trip for both), or for
/// [`SharedReplay::claim_pending`] when the call ends before that step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingUse {
    /// The id's SHA-256, in hex: all Redis is given.
    digest: String,
    /// Until when it is held (Unix seconds).
    until: u64,
    /// A DPoP proof's `jti` (else a token's or an assertion's): a replay
    /// is answered as a replayed proof.
    pub proof: bool,
}

impl PendingUse {
    /// `id` (any length; only its digest goes to Redis), held until
    /// `until` (Unix seconds).
    pub fn new(id: &str, until: u64, proof: bool) -> Self {
        Self {
            digest: hex_digest(id),
            until,
            proof,
        }
    }
}

fn hex_digest(s: &str) -> String {
    use std::fmt::Write as _;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, s.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest.as_ref() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

impl SharedReplay {
    /// Claims `id` (any length; only its digest goes to Redis) until
    /// `until` (Unix seconds).
    pub async fn claim(&self, id: &str, until: u64) -> Claim {
        self.claim_pending(&PendingUse::new(id, until, false)).await
    }

    /// Records a pending id on its own (one round trip).
    pub async fn claim_pending(&self, pending: &PendingUse) -> Claim {
        match self.state.claim_once(&pending.digest, pending.until).await {
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
    /// Buckets last seen refused, for the early refusal at admission.
    spent: spent::Spent,
}

/// What a call's shared step decided ([`SharedRateLimiter::step_call`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallStep {
    /// The pending single-use id was used before (at any replica): no
    /// cell was taken.
    Replayed,
    /// The limits' decisions, in order, up to the first refusal; the id,
    /// if any, is recorded when every limit allowed and left unused when
    /// one refused.
    Decided(Vec<RateDecision>),
    /// Redis could not answer a call that carries a single-use id: it is
    /// refused whatever the limits' fallback (a replay check is never
    /// skipped).
    ClaimUnavailable,
}

impl SharedRateLimiter {
    /// One call's shared step, in one round trip: its pending single-use
    /// id, then `checks` in order; decisions come back in the order of
    /// `checks`. The first `screened` checks were already applied by this
    /// gateway's own buckets (the per-address screen at accept), so the
    /// local fallback, when Redis cannot answer and `on_unavailable =
    /// "local_limits"`, does not step them again (they answer as allowed).
    pub async fn step_call(
        &self,
        once: Option<&PendingUse>,
        checks: &[(String, Quota)],
        screened: usize,
        now: Duration,
    ) -> Result<CallStep, RateLimitError> {
        let buckets = buckets(checks);
        let claim = once.map(|p| (p.digest.as_str(), p.until));
        match self.state.step(claim, &buckets, false).await {
            Ok(StepOutcome::Replayed) => Ok(CallStep::Replayed),
            Ok(StepOutcome::Allowed(replies) | StepOutcome::Refused(replies)) => {
                Ok(CallStep::Decided(self.decisions(replies, checks, now)))
            }
            Err(e) if once.is_some() => {
                self.failures.note("replay", &e);
                Ok(CallStep::ClaimUnavailable)
            }
            Err(e) => {
                self.failures.note("rate_limit", &e);
                match &self.fallback {
                    Some(local) => {
                        let (done, rest) = checks.split_at(screened.min(checks.len()));
                        // The screened ones passed at accept: their place
                        // is kept (the caller names a refusal by its index)
                        // with what their own bucket holds now.
                        let mut decisions: Vec<RateDecision> = done
                            .iter()
                            .map(|(key, q)| {
                                let now_held = local.peek_now(key, *q, now);
                                RateDecision::Allowed {
                                    limit: q.burst(),
                                    remaining: now_held.remaining(),
                                    reset_after: now_held.reset_after(),
                                }
                            })
                            .collect();
                        decisions.extend(local.check_all(rest, now).await?);
                        Ok(decisions)
                    }
                    None => Err(RateLimitError::Unavailable(e.to_string())),
                }
                .map(CallStep::Decided)
            }
        }
    }

    /// The decisions of `replies` (for the first checks), each noted for
    /// the early refusal; `now` is when the step was asked.
    fn decisions(
        &self,
        replies: Vec<GcraReply>,
        checks: &[(String, Quota)],
        now: Duration,
    ) -> Vec<RateDecision> {
        replies
            .into_iter()
            .zip(checks)
            .map(|(r, (key, q))| {
                let d = decision(r, *q);
                self.spent.note(key, &d, now);
                d
            })
            .collect()
    }

    async fn one(
        &self,
        key: &str,
        quota: Quota,
        now: Duration,
    ) -> Result<RateDecision, RateLimitError> {
        let check = [(key.to_string(), quota)];
        match self.step_call(None, &check, 0, now).await? {
            CallStep::Decided(mut d) if d.len() == 1 => Ok(d.remove(0)),
            other => Err(RateLimitError::Unavailable(format!(
                "the shared step answered {other:?} for one bucket"
            ))),
        }
    }
}

fn buckets(checks: &[(String, Quota)]) -> Vec<(&str, Duration, Duration)> {
    checks
        .iter()
        .map(|(k, q)| (k.as_str(), q.emission_interval(), q.tolerance()))
        .collect()
}

impl RateLimiter for SharedRateLimiter {
    fn check<'a>(&'a self, key: &'a str, quota: Quota, now: Duration) -> CheckFuture<'a> {
        Box::pin(self.one(key, quota, now))
    }

    /// Without a round trip: a bucket this gateway last saw refused, until
    /// its next cell ([`spent`]). Anything else is "allowed" (figures
    /// unknown): the call's own step decides.
    fn peek<'a>(&'a self, key: &'a str, quota: Quota, now: Duration) -> CheckFuture<'a> {
        Box::pin(async move {
            Ok(self
                .spent
                .refusal(key, now)
                .unwrap_or(RateDecision::Allowed {
                    limit: quota.burst(),
                    remaining: quota.burst(),
                    reset_after: Duration::ZERO,
                }))
        })
    }

    /// All of a call's buckets in one round trip.
    fn check_all<'a>(&'a self, checks: &'a [(String, Quota)], now: Duration) -> CheckAllFuture<'a> {
        Box::pin(async move {
            match self.step_call(None, checks, 0, now).await? {
                CallStep::Decided(d) => Ok(d),
                other => Err(RateLimitError::Unavailable(format!(
                    "the shared step answered {other:?} without an id"
                ))),
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

/// All of them over one connection.
pub struct Shared {
    pub replay: SharedReplay,
    pub limiter: Arc<SharedRateLimiter>,
    pub contexts: ContextClaims,
    pub streams: SharedStreams,
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
        let streams = SharedStreams::start(state.clone(), failures.clone(), fallback.is_some());
        Ok(Self {
            streams,
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
                spent: spent::Spent::default(),
            }),
        })
    }
}

#[cfg(test)]
mod tests;
