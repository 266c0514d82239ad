//! Stage 5 of the pipeline: may *this* caller do *this* operation on *this*
//! skill, task and agent, at *this* rate? The decisions themselves are pure
//! (`warden-policy`); this module looks up their facts (grants and
//! quarantine from an in-memory snapshot, task and context owners from the
//! store), applies policy rules and rate limits, and keeps ownership records
//! as answers come back.

mod decide;
mod denied;
mod limits;
pub mod ownership;
mod policy_file;
pub mod streams;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use warden_a2a::A2aOp;
use warden_policy::ratelimit::{LocalRateLimiter, Quota, RateDecision, RateLimiter, StreamSlots};
use warden_policy::rules::PolicyRules;
use warden_policy::{Allowed, Denial, OpClass, SkillSource};
use warden_store::Store;

use crate::config::{Config, LimitSpec, RateLimitSection};
pub use crate::registry_view::{Snapshot, grant_of};
pub use denied::{Denied, Reason, UseState};
pub use streams::{OpenStreams, StreamGuard};

pub use decide::caller_of;
pub use policy_file::load_rules;

use denied::{refusal_for, unavailable};
use limits::limits_unavailable;
pub(crate) use limits::rate_subject;

use crate::clock::Clock;
use crate::config::ConfigError;
use crate::principal::{AuthMethod, Principal};
use crate::registry_view::{RegistryView, ViewError};
use crate::store_health::Need;

/// How long the watcher waits for the store to answer its poll before
/// taking it for unreachable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Where the rate limits are decided: this gateway's own buckets, or
/// shared ones (`[shared]`), in which case `local` is only the fallback
/// `on_unavailable = "local_limits"` uses (its figures are the metrics').
pub struct Limiter {
    pub local: Arc<LocalRateLimiter>,
    pub decides: Arc<dyn RateLimiter>,
    /// The shared limits (`[shared]`), whose step also records a call's
    /// single-use id; `decides` is then the same limiter.
    pub shared: Option<Arc<crate::shared::SharedRateLimiter>>,
    /// New context ids claimed on every replica (`[shared]`), else none.
    pub contexts: Option<crate::shared::ContextClaims>,
    /// Open streams per caller counted on every replica (`[shared]`).
    pub streams: Option<crate::shared::SharedStreams>,
}

impl Limiter {
    /// This gateway's own buckets, at most `max_keys` of them.
    pub fn local(limits: &RateLimitSection) -> Self {
        let local = Arc::new(LocalRateLimiter::new(Self::max_keys(limits)));
        Self {
            decides: local.clone(),
            local,
            shared: None,
            contexts: None,
            streams: None,
        }
    }

    pub fn max_keys(limits: &RateLimitSection) -> std::num::NonZeroUsize {
        std::num::NonZeroUsize::new(limits.max_keys).unwrap_or(std::num::NonZeroUsize::MIN)
    }
}

/// Most tasks one message may reference (each is an ownership lookup).
pub const MAX_REFERENCED_TASKS: usize = 64;

/// The quotas in force (None: that limit is off).
#[derive(Debug, Clone, Copy)]
struct Quotas {
    source: Option<Quota>,
    principal: Option<Quota>,
    pair: Option<Quota>,
    skill: Option<Quota>,
    /// Per public agent, over all its callers without a credential.
    public: Option<Quota>,
    max_streams: u32,
}

pub struct Authorizer {
    store: Store,
    /// False when authentication is off: there is no identity to authorise.
    enforce: bool,
    /// Grants and quarantine (with the rest of the registry), in memory.
    registry: Arc<RegistryView>,
    /// The generation whose quarantine list the open streams were last
    /// checked against.
    streams_checked_at: AtomicI64,
    /// Task and context owners: memory in front of the store, one writer.
    owners: Arc<ownership::OwnerBook>,
    rules: RwLock<Arc<PolicyRules>>,
    policy_file: Option<PathBuf>,
    policy_stamp: Mutex<Option<SystemTime>>,
    quotas: Quotas,
    limiter: Arc<dyn RateLimiter>,
    local: Arc<LocalRateLimiter>,
    /// `[shared]`: the call's one round trip (its single-use id and every
    /// limit, the per-address one included).
    shared: Option<Arc<crate::shared::SharedRateLimiter>>,
    slots: StreamSlots,
    /// `[shared]`: the stream count of every replica, which then decides.
    shared_slots: Option<crate::shared::SharedStreams>,
    pub streams: Arc<OpenStreams>,
    /// Public agents and what callers without a credential may do there.
    public: HashMap<String, Vec<OpClass>>,
    /// New context ids claimed on every replica (`[shared]`).
    contexts: Option<crate::shared::ContextClaims>,
    /// Where rate-limit time comes from (the gateway's clock), and its
    /// reading at the start: the limiter counts from there.
    clock: Arc<dyn Clock>,
    epoch: Instant,
    poll: Duration,
}

impl std::fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorizer")
            .field("enforce", &self.enforce)
            .finish_non_exhaustive()
    }
}

/// An allowed call and what it carries along.
#[derive(Debug)]
pub struct Permit {
    pub allowed: Allowed,
    pub skill: Option<(String, SkillSource)>,
    /// The policy rule that allowed it, when one did.
    pub rule: Option<String>,
    /// The caller's key (what ownership is recorded against).
    pub caller: String,
    /// For streaming calls: the registration that lets a quarantine close it.
    pub stream: Option<StreamGuard>,
    /// `RateLimit-*` headers for the answer (the tightest limit).
    pub headers: Vec<(&'static str, String)>,
}

impl Permit {
    /// The decision for the audit trail.
    pub fn detail(&self) -> serde_json::Value {
        serde_json::json!({
            "decision": "allow",
            "grant": self.allowed.grant,
            "rule": self.rule,
            "skill": self.skill.as_ref().map(|s| &s.0),
            "skill_source": self.skill.as_ref().map(|s| s.1.as_str()),
        })
    }
}

/// What the pipeline knows when it asks.
pub struct Ask<'a> {
    pub principal: &'a Principal,
    /// Warden's own issuer (grants name its callers by bare subject).
    pub own_issuer: &'a str,
    pub agent: &'a str,
    pub op: &'a A2aOp,
    /// The `{skill}` of a per-skill route.
    pub route_skill: Option<&'a str>,
    /// The agent card's skill ids, when the card is known.
    pub card_skills: Option<&'a [String]>,
    pub now: u64,
    /// The credential's single-use id, left pending by authentication for
    /// the call's shared step (only where [`Authorizer::folds_single_use`]).
    pub pending: Option<&'a crate::shared::PendingUse>,
}

impl Authorizer {
    /// The authoriser of `config` (`[authz]`, `[rate_limits]`, and the
    /// public `[[agents]]`).
    pub async fn new(
        config: &Config,
        store: Store,
        registry: Arc<RegistryView>,
        enforce: bool,
        clock: Arc<dyn Clock>,
        limiter: Limiter,
    ) -> Result<Self, ConfigError> {
        let (section, limits, agents) = (&config.authz, &config.rate_limits, &config.agents);
        let invalid = |path: &str, message: String| ConfigError::Invalid {
            path: path.into(),
            message,
        };
        let quota = |key: &str, spec: &LimitSpec| {
            spec.quota()
                .map_err(|e| invalid(&format!("rate_limits.{key}"), e))
        };
        let quotas = Quotas {
            source: quota("source", &limits.source)?,
            principal: quota("principal", &limits.principal)?,
            pair: quota("pair", &limits.pair)?,
            skill: quota("skill", &limits.skill)?,
            public: quota("public", &limits.public)?,
            max_streams: limits.max_streams_per_principal.get(),
        };
        let mut public = HashMap::new();
        for (i, a) in agents.iter().enumerate() {
            let ops = a
                .public_operations()
                .map_err(|e| invalid(&format!("agents[{i}]"), e))?;
            if a.access == crate::config::AgentAccess::Public {
                public.insert(a.name.clone(), ops);
            }
        }
        let (rules, stamp) = match &section.policy_file {
            Some(path) => {
                let (rules, stamp) = load_rules(path)?;
                (rules, Some(stamp))
            }
            None => (PolicyRules::empty(), None),
        };
        let Limiter {
            local,
            decides,
            shared,
            contexts,
            streams: shared_slots,
        } = limiter;
        let owners = ownership::OwnerBook::start(
            store.clone(),
            Arc::clone(registry.health()),
            section.ownership_cache_entries.get(),
            section.ownership_queue.get(),
        );
        Ok(Self {
            store,
            enforce,
            streams_checked_at: AtomicI64::new(registry.current().generation),
            registry,
            owners,
            rules: RwLock::new(Arc::new(rules)),
            policy_file: section.policy_file.clone(),
            policy_stamp: Mutex::new(stamp),
            quotas,
            limiter: decides,
            local,
            shared,
            slots: StreamSlots::new(),
            shared_slots,
            streams: Arc::new(OpenStreams::default()),
            public,
            contexts,
            epoch: clock.now_instant(),
            clock,
            poll: section.poll_interval,
        })
    }

    /// Watches for changes made elsewhere (quarantine by the CLI, a policy
    /// file edit). Old ownership records are removed by the retention run
    /// (`crate::retention`).
    pub fn spawn_watcher(self: &Arc<Self>) {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(this.poll);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                // Also the store's health probe: an answer confirms the
                // snapshot, and one that does not come in time starts an
                // outage (a query would wait seconds for a connection).
                match tokio::time::timeout(PROBE_TIMEOUT, this.refresh()).await {
                    Ok(Ok(())) => {}
                    // An outage is logged by the health, once.
                    Ok(Err(e)) if e.is_unreachable() => {}
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "could not reload grants and quarantine")
                    }
                    Err(_) => this.registry.health().unreachable(format!(
                        "no answer to a read of the generation within {PROBE_TIMEOUT:?}"
                    )),
                }
                this.reload_policy_if_changed();
            }
        });
    }

    /// Reloads the snapshot when the store's generation moved (asking the
    /// store: the watcher's and the admin API's check), and closes the
    /// streams of newly quarantined agents.
    pub async fn refresh(&self) -> Result<(), warden_store::StoreError> {
        self.registry.poll().await?;
        self.check_streams(&self.registry.current());
        Ok(())
    }

    /// The snapshot for a call: reloaded first when the change signal
    /// moved; refused (503) when the store cannot confirm it.
    async fn fresh(&self) -> Result<Arc<Snapshot>, Denied> {
        let snapshot = self.registry.fresh().await.map_err(|e| match e {
            ViewError::Stale(_) => {
                self.registry.health().refused(Need::FreshSnapshot);
                unavailable("stale_snapshot")
            }
            ViewError::Store(_) => unavailable("store"),
        })?;
        self.check_streams(&snapshot);
        Ok(snapshot)
    }

    /// Closes the open streams of agents quarantined since the last check.
    fn check_streams(&self, snapshot: &Snapshot) {
        let seen = self.streams_checked_at.load(Ordering::Acquire);
        if seen == snapshot.generation
            || self
                .streams_checked_at
                .compare_exchange(
                    seen,
                    snapshot.generation,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_err()
        {
            return;
        }
        // Quarantine (of the caller or the agent) and a grant no longer in
        // force both end a stream; a caller without a credential at a
        // public agent holds no grant and is not cut for want of one.
        let now = self.clock.now_unix();
        let cut = self.streams.cut_off_where(|caller, agent| {
            snapshot.is_quarantined(caller)
                || snapshot.is_quarantined(agent)
                || (self.enforce
                    && !(self.public.contains_key(agent) && caller.starts_with("anonymous:"))
                    && !snapshot
                        .grants(caller, agent)
                        .iter()
                        .any(|g| g.active_at(now)))
        });
        if cut > 0 {
            tracing::warn!(
                streams = cut,
                "closed streams whose caller or agent was quarantined, or whose grant was revoked"
            );
        }
    }

    fn current(&self) -> Arc<Snapshot> {
        self.registry.current()
    }

    fn current_rules(&self) -> Arc<PolicyRules> {
        self.rules
            .read()
            .map(|r| Arc::clone(&r))
            .unwrap_or_else(|poisoned| Arc::clone(&poisoned.into_inner()))
    }

    /// Time since the epoch, on the gateway's clock (which a debug build's
    /// end-to-end tests move forward).
    fn now(&self) -> Duration {
        self.clock
            .now_instant()
            .saturating_duration_since(self.epoch)
    }

    /// Before authentication: the per-address limit.
    pub async fn check_source(&self, source: IpAddr) -> Result<(), Denied> {
        let Some(q) = self.quotas.source else {
            return Ok(());
        };
        self.limit(&format!("source:{source}"), q, "source")
            .await
            .map(|_| ())
    }

    /// The per-address limit at the accept stage of a call that, if it
    /// gets that far, is decided by [`Self::authorise`]. With `[shared]`
    /// this gateway's own bucket screens it here, without a round trip (so
    /// a flood from one address costs each gateway little, authenticated
    /// or not), and the shared bucket is stepped in the call's one round
    /// trip with its other limits. Without `[shared]`, [`Self::check_source`].
    pub async fn screen_source(&self, source: IpAddr) -> Result<(), Denied> {
        if self.shared.is_none() {
            return self.check_source(source).await;
        }
        let Some(q) = self.quotas.source else {
            return Ok(());
        };
        let d = self
            .local
            .check_now(&format!("source:{source}"), q, self.now());
        if d.is_allowed() {
            Ok(())
        } else {
            Err(limits::limited(&d, "source"))
        }
    }

    /// Whether [`Self::authorise`] records a pending single-use id with the
    /// call's limits (`[shared]`); if not, it must be recorded before.
    pub fn folds_single_use(&self) -> bool {
        self.shared.is_some()
    }

    async fn limit(
        &self,
        key: &str,
        quota: Quota,
        what: &'static str,
    ) -> Result<RateDecision, Denied> {
        match self.limiter.check(key, quota, self.now()).await {
            Ok(d) if d.is_allowed() => Ok(d),
            Ok(d) => Err(limits::limited(&d, what)),
            Err(e) => Err(limits_unavailable(&e)),
        }
    }

    /// Admission, right after authentication and before the body is read:
    /// a caller without a grant in force for this agent gets the answer an
    /// unknown agent gets, whatever its body holds, so neither parse errors
    /// nor skill checks tell it which agents exist. (Quarantine is decided
    /// with the rest, once the request id can be echoed.)
    pub async fn admit(
        &self,
        principal: &Principal,
        own_issuer: &str,
        agent: &str,
        now: u64,
        seen: Option<Arc<Snapshot>>,
    ) -> Result<(), Denied> {
        // A change made elsewhere (the CLI revoking a grant) holds from the
        // very next call: the change signal decides whether to reload, read
        // once per call (`seen`: the snapshot the call's authentication
        // read it for, see [`crate::registry_view::Seen`]).
        let snapshot = match seen {
            Some(s) => {
                self.check_streams(&s);
                s
            }
            None => self.fresh().await?,
        };
        let me = decide::caller_key(principal, own_issuer);
        if principal.method == AuthMethod::Public {
            // A caller without a credential reaches public agents only;
            // any other answers like an unknown agent.
            if !self.public.contains_key(agent) {
                return Err(refusal_for(&Denial::NoGrant, None, agent));
            }
        } else if self.enforce && !snapshot.grants(&me, agent).iter().any(|g| g.active_at(now)) {
            return Err(refusal_for(&Denial::NoGrant, None, agent));
        }
        self.refuse_if_spent(&rate_subject(principal, &me)).await
    }

    /// The operations callers without a credential may use at `agent`
    /// (None: it is not public).
    fn public_operations(&self, agent: &str) -> Option<&[OpClass]> {
        self.public.get(agent).map(Vec::as_slice)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn enforcing(&self) -> bool {
        self.enforce
    }

    /// Keys held by the local rate limiter, and how many were evicted.
    pub fn limiter_stats(&self) -> (usize, u64) {
        (self.local.len(), self.local.evictions())
    }

    pub fn owners(&self) -> &Arc<ownership::OwnerBook> {
        &self.owners
    }

    pub fn registry(&self) -> &Arc<RegistryView> {
        &self.registry
    }

    pub fn is_quarantined(&self, name: &str) -> bool {
        self.current().is_quarantined(name)
    }
}
