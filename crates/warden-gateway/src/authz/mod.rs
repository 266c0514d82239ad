//! Stage 5 of the pipeline: may *this* caller do *this* operation on *this*
//! skill, task and agent, at *this* rate? The decisions themselves are pure
//! (`warden-policy`); this module looks up their facts (grants and
//! quarantine from an in-memory snapshot, task and context owners from the
//! store), applies policy rules and rate limits, and keeps ownership records
//! as answers come back.

mod denied;
pub mod ownership;
mod snapshot;
pub mod streams;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use warden_a2a::{A2aError, A2aOp, ErrorKind};
use warden_policy::ratelimit::{
    LocalRateLimiter, Quota, RateDecision, RateLimiter, StreamPermit, StreamSlots,
};
use warden_policy::rules::PolicyRules;
use warden_policy::{
    Allowed, Caller, DecisionContext, Denial, Facts, OpClass, PartFact, SkillInputs, SkillSource,
};
use warden_store::Store;

use crate::config::{AuthzSection, LimitSpec, RateLimitSection};
pub use denied::{Denied, Reason};
pub use snapshot::{Snapshot, grant_of};
pub use streams::{OpenStreams, StreamGuard};

use denied::{refusal_for, unavailable};

use crate::config::ConfigError;
use crate::principal::Principal;

/// Most tasks one message may reference (each is an ownership lookup).
pub const MAX_REFERENCED_TASKS: usize = 64;

/// The quotas in force (None: that limit is off).
#[derive(Debug, Clone, Copy)]
struct Quotas {
    source: Option<Quota>,
    principal: Option<Quota>,
    pair: Option<Quota>,
    skill: Option<Quota>,
    max_streams: u32,
}

pub struct Authorizer {
    store: Store,
    /// False when authentication is off: there is no identity to authorise.
    enforce: bool,
    snapshot: RwLock<Arc<Snapshot>>,
    reload: tokio::sync::Mutex<()>,
    rules: RwLock<Arc<PolicyRules>>,
    policy_file: Option<PathBuf>,
    policy_stamp: Mutex<Option<SystemTime>>,
    quotas: Quotas,
    limiter: Arc<dyn RateLimiter>,
    local: Arc<LocalRateLimiter>,
    slots: StreamSlots,
    pub streams: Arc<OpenStreams>,
    epoch: Instant,
    poll: Duration,
    retention: Duration,
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
}

impl Authorizer {
    pub async fn new(
        section: &AuthzSection,
        limits: &RateLimitSection,
        store: Store,
        enforce: bool,
    ) -> Result<Self, ConfigError> {
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
            max_streams: limits.max_streams_per_principal.get(),
        };
        let (rules, stamp) = match &section.policy_file {
            Some(path) => {
                let (rules, stamp) = load_rules(path)?;
                (rules, Some(stamp))
            }
            None => (PolicyRules::empty(), None),
        };
        let generation = store
            .authz_generation()
            .await
            .map_err(|e| invalid("store", e.to_string()))?;
        let snapshot = Snapshot::load(&store, generation)
            .await
            .map_err(|e| invalid("store", e.to_string()))?;
        let max_keys =
            std::num::NonZeroUsize::new(limits.max_keys).unwrap_or(std::num::NonZeroUsize::MIN);
        let local = Arc::new(LocalRateLimiter::new(max_keys));
        Ok(Self {
            store,
            enforce,
            snapshot: RwLock::new(Arc::new(snapshot)),
            reload: tokio::sync::Mutex::new(()),
            rules: RwLock::new(Arc::new(rules)),
            policy_file: section.policy_file.clone(),
            policy_stamp: Mutex::new(stamp),
            quotas,
            limiter: local.clone(),
            local,
            slots: StreamSlots::new(),
            streams: Arc::new(OpenStreams::default()),
            epoch: Instant::now(),
            poll: section.poll_interval,
            retention: Duration::from_secs(section.ownership_retention_days * 86_400),
        })
    }

    /// Watches for changes made elsewhere (quarantine by the CLI, a policy
    /// file edit) and prunes old ownership records.
    pub fn spawn_watcher(self: &Arc<Self>) {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(this.poll);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_prune = Instant::now();
            loop {
                tick.tick().await;
                if let Err(e) = this.refresh().await {
                    tracing::warn!(error = %e, "could not reload grants and quarantine");
                }
                this.reload_policy_if_changed();
                if last_prune.elapsed() > Duration::from_secs(3600) {
                    last_prune = Instant::now();
                    let cutoff = chrono::Utc::now()
                        - chrono::Duration::from_std(this.retention).unwrap_or_default();
                    let cutoff = cutoff.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
                    let _ = this.store.prune_ownership(&cutoff).await;
                }
            }
        });
    }

    /// Reloads the snapshot when the store's generation moved, and closes
    /// the streams of newly quarantined agents.
    pub async fn refresh(&self) -> Result<(), warden_store::StoreError> {
        let generation = self.store.authz_generation().await?;
        if generation == self.current().generation {
            return Ok(());
        }
        let _one = self.reload.lock().await;
        if generation == self.current().generation {
            return Ok(());
        }
        let fresh = Arc::new(Snapshot::load(&self.store, generation).await?);
        let cut = self.streams.cut_off(fresh.quarantined());
        if cut > 0 {
            tracing::warn!(streams = cut, "closed the streams of quarantined agents");
        }
        if let Ok(mut s) = self.snapshot.write() {
            *s = fresh;
        }
        Ok(())
    }

    fn current(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .map(|s| Arc::clone(&s))
            .unwrap_or_else(|poisoned| Arc::clone(&poisoned.into_inner()))
    }

    fn current_rules(&self) -> Arc<PolicyRules> {
        self.rules
            .read()
            .map(|r| Arc::clone(&r))
            .unwrap_or_else(|poisoned| Arc::clone(&poisoned.into_inner()))
    }

    /// Re-reads the policy file when it changed on disk. A file that no
    /// longer parses keeps the rules in force (and says so).
    pub fn reload_policy_if_changed(&self) {
        let Some(path) = &self.policy_file else {
            return;
        };
        let stamp = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let Ok(mut last) = self.policy_stamp.lock() else {
            return;
        };
        if stamp.is_none() || stamp == *last {
            return;
        }
        *last = stamp;
        drop(last);
        if let Err(e) = self.reload_policy() {
            tracing::error!(error = %e, "policy file not reloaded; the previous rules stay in force");
        }
    }

    /// Reloads the policy file now (the admin API's `policy/reload`).
    pub fn reload_policy(&self) -> Result<usize, ConfigError> {
        let Some(path) = &self.policy_file else {
            return Ok(0);
        };
        let (rules, stamp) = load_rules(path)?;
        let n = rules.len();
        if let Ok(mut r) = self.rules.write() {
            *r = Arc::new(rules);
        }
        if let Ok(mut last) = self.policy_stamp.lock() {
            *last = Some(stamp);
        }
        tracing::info!(rules = n, path = %path.display(), "policy rules loaded");
        Ok(n)
    }

    fn now(&self) -> Duration {
        self.epoch.elapsed()
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

    async fn limit(
        &self,
        key: &str,
        quota: Quota,
        what: &'static str,
    ) -> Result<RateDecision, Denied> {
        match self.limiter.check(key, quota, self.now()).await {
            Ok(d) if d.is_allowed() => Ok(d),
            Ok(d) => {
                let mut r = Denied::new(
                    A2aError::new(
                        ErrorKind::RateLimited,
                        format!("rate limit ({what}) exceeded; retry later"),
                    ),
                    Reason::RateLimited(what),
                );
                r.headers = d.headers();
                Err(r)
            }
            Err(e) => Err(Denied::new(
                A2aError::new(
                    ErrorKind::Unavailable,
                    "rate limits cannot be checked right now",
                ),
                Reason::RateLimitUnavailable(e.to_string()),
            )),
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
    ) -> Result<(), Denied> {
        // A change made elsewhere (the CLI revoking a grant) holds from the
        // very next call: one primary-key read decides whether to reload.
        self.refresh().await.map_err(|_| unavailable("store"))?;
        if !self.enforce {
            return Ok(());
        }
        let me = caller_of(principal, own_issuer).key();
        let granted = self
            .current()
            .grants(&me, agent)
            .iter()
            .any(|g| g.active_at(now));
        if granted {
            Ok(())
        } else {
            Err(refusal_for(&Denial::NoGrant, None, agent))
        }
    }

    /// Decides one parsed call (after [`Authorizer::admit`]).
    pub async fn authorise(&self, ask: Ask<'_>) -> Result<Permit, Denied> {
        let snapshot = self.current();
        let caller = caller_of(ask.principal, ask.own_issuer);
        let me = caller.key();
        let op = ask.op;
        let is_message = OpClass::of(op.operation) == OpClass::Send;
        let skill = warden_policy::skill::determine(SkillInputs {
            metadata: if is_message {
                op.skill_metadata.as_ref()
            } else {
                None
            },
            extensions: if is_message {
                &op.message_extensions
            } else {
                &[]
            },
            route: ask.route_skill,
            card_skills: if is_message { ask.card_skills } else { None },
        })
        .map_err(|e| {
            Denied::new(
                A2aError::invalid_params(e.to_string()),
                Reason::SkillInvalid,
            )
        })?;
        let ctx = DecisionContext {
            caller,
            agent: ask.agent.to_string(),
            operation: op.operation,
            binding: op.binding,
            skill: skill.as_ref().map(|s| s.0.clone()),
            tenant: op.tenant.clone(),
            task_id: op.task_id.clone(),
            referenced_task_ids: op.referenced_task_ids.clone(),
            context_id: op.context_id.clone(),
            parts: op
                .parts
                .iter()
                .map(|p| PartFact {
                    kind: p.kind,
                    size: p.size,
                    media_type: p.media_type.clone(),
                })
                .collect(),
            extensions: op.message_extensions.clone(),
            now: ask.now,
        };
        // Owners are looked up only for what the call names.
        let task_owner = match (&ctx.task_id, self.enforce) {
            (Some(id), true) => self
                .store
                .task_owner(ask.agent, id)
                .await
                .map_err(|_| unavailable("store"))?
                .map(|t| t.owner),
            _ => None,
        };
        let context_owner = match (&ctx.context_id, is_message && self.enforce) {
            (Some(id), true) => self
                .store
                .context_owner(ask.agent, id)
                .await
                .map_err(|_| unavailable("store"))?,
            _ => None,
        };
        let referenced_task_owners = self.referenced_owners(ask.agent, &ctx).await?;
        let facts = Facts {
            grants: snapshot.grants(&me, ask.agent),
            caller_quarantined: snapshot.is_quarantined(&me),
            agent_quarantined: snapshot.is_quarantined(ask.agent),
            task_owner: task_owner.as_deref(),
            context_owner: context_owner.as_deref(),
            referenced_task_owners: &referenced_task_owners,
            enforce: self.enforce,
        };
        let allowed = warden_policy::decide(&ctx, &facts)
            .map_err(|d| refusal_for(&d, ctx.task_id.as_deref(), &ctx.agent))?;
        let verdict = self.current_rules().evaluate(&ctx);
        if !verdict.is_allowed() {
            let mut r = Denied::new(
                A2aError::new(ErrorKind::Forbidden, "denied by policy"),
                Reason::Policy(verdict.reason.clone()),
            );
            r.rule = verdict.rule;
            return Err(r);
        }
        let rule = verdict.rule;
        // Rate limits after the decision: refused calls do not spend the
        // caller's quota, and an unknown caller cannot spend anyone's.
        let mut headers = Vec::new();
        let mut tightest: Option<RateDecision> = None;
        let keys = [
            (
                self.quotas.principal,
                format!("principal:{me}"),
                "principal",
            ),
            (self.quotas.pair, format!("pair:{me}>{}", ask.agent), "pair"),
            (
                self.quotas.skill.filter(|_| ctx.skill.is_some()),
                format!(
                    "skill:{}>{}",
                    ask.agent,
                    ctx.skill.as_deref().unwrap_or_default()
                ),
                "skill",
            ),
        ];
        for (quota, key, what) in keys {
            let Some(q) = quota else { continue };
            let d = self.limit(&key, q, what).await?;
            if tightest
                .as_ref()
                .is_none_or(|t| d.remaining() < t.remaining())
            {
                tightest = Some(d);
            }
        }
        if let Some(t) = tightest {
            headers = t.headers();
        }
        let stream = if op.operation.is_streaming() {
            let slot: Option<StreamPermit> = self.slots.try_acquire(&me, self.quotas.max_streams);
            let Some(slot) = slot else {
                let mut r = Denied::new(
                    A2aError::new(
                        ErrorKind::RateLimited,
                        format!(
                            "at most {} open streams per caller",
                            self.quotas.max_streams
                        ),
                    ),
                    Reason::RateLimited("streams"),
                );
                r.headers.push(("retry-after", "1".into()));
                return Err(r);
            };
            Some(self.streams.register(&me, ask.agent, Some(slot)))
        } else {
            None
        };
        // A new context is claimed before the call goes out, so two callers
        // racing for one context id cannot both have it.
        if let (true, true, Some(id)) = (self.enforce, is_message, &ctx.context_id)
            && context_owner.is_none()
        {
            let owner = self
                .store
                .claim_context(ask.agent, id, &allowed.owner)
                .await
                .map_err(|_| unavailable("store"))?;
            if owner != allowed.owner {
                return Err(refusal_for(&Denial::ContextNotJoinable, None, &ctx.agent));
            }
        }
        Ok(Permit {
            allowed,
            skill,
            rule,
            caller: me,
            stream,
            headers,
        })
    }

    /// The owners of the tasks a call references (none looked up when
    /// ownership is not enforced). More than [`MAX_REFERENCED_TASKS`] is
    /// refused before any lookup.
    async fn referenced_owners(
        &self,
        agent: &str,
        ctx: &DecisionContext,
    ) -> Result<Vec<(String, Option<String>)>, Denied> {
        if !self.enforce || ctx.referenced_task_ids.is_empty() {
            return Ok(Vec::new());
        }
        if ctx.referenced_task_ids.len() > MAX_REFERENCED_TASKS {
            return Err(Denied::new(
                A2aError::invalid_params(format!(
                    "a message may reference at most {MAX_REFERENCED_TASKS} tasks"
                )),
                Reason::TooManyReferences,
            ));
        }
        let mut out: Vec<(String, Option<String>)> = Vec::new();
        for id in &ctx.referenced_task_ids {
            if out.iter().any(|(t, _)| t == id) {
                continue;
            }
            let owner = self
                .store
                .task_owner(agent, id)
                .await
                .map_err(|_| unavailable("store"))?
                .map(|t| t.owner);
            out.push((id.clone(), owner));
        }
        Ok(out)
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

    pub fn is_quarantined(&self, name: &str) -> bool {
        self.current().is_quarantined(name)
    }
}

/// The decision context's view of a principal.
pub fn caller_of(p: &Principal, own_issuer: &str) -> Caller {
    Caller {
        subject: p.subject.clone(),
        issuer: p.issuer.clone(),
        local: p.local || p.issuer == own_issuer,
        scopes: p.scopes.clone(),
        method: p.method.as_str(),
        source: p.source,
        peer_uris: p
            .peer
            .as_ref()
            .map(|peer| peer.uris.clone())
            .unwrap_or_default(),
    }
}

/// Reads and compiles a policy file (also for `warden config check`).
pub fn load_rules(path: &std::path::Path) -> Result<(PolicyRules, SystemTime), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let stamp = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let rules = PolicyRules::from_toml(&text).map_err(|e| ConfigError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok((rules, stamp))
}
