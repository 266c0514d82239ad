//! The decision for one parsed call: the facts looked up (grants and
//! quarantine from the snapshot, task, context and referenced-task owners
//! from the owner book), the built-in model and the policy rules, then the rate
//! limits and the open-stream cap.

use warden_a2a::{A2aError, ErrorKind};
use warden_policy::ratelimit::{Quota, RateDecision};
use warden_policy::{
    ANY_SKILL, Caller, DecisionContext, Denial, Facts, Grant, OpClass, PartFact, SkillInputs,
};

use super::denied::{Denied, Reason, refusal_for, unavailable};
use super::streams::StreamSlot;
use super::{Ask, Authorizer, MAX_REFERENCED_TASKS, Permit, StreamGuard, rate_subject};
use crate::principal::{AuthMethod, Principal};
use crate::shared::StreamPlace;
use crate::store_health::Need;

impl Authorizer {
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
        // A message's answer names a task whose owner must be written
        // before it is relayed: while the store cannot take it, refuse
        // before the agent does work whose answer would be withheld.
        if self.enforce && is_message && !self.owners.store_reachable() {
            self.registry.health().refused(Need::OwnerWrite);
            return Err(unavailable("store"));
        }
        // Owners are looked up only for what the call names.
        let task_owner = match (&ctx.task_id, self.enforce) {
            (Some(id), true) => self
                .owners
                .task_owner(ask.agent, id)
                .await
                .map_err(|_| unavailable("store"))?
                .map(|t| t.owner),
            _ => None,
        };
        let context_owner = match (&ctx.context_id, is_message && self.enforce) {
            (Some(id), true) => self
                .owners
                .context_owner(ask.agent, id)
                .await
                .map_err(|_| unavailable("store"))?,
            _ => None,
        };
        let referenced_task_owners = self.referenced_owners(ask.agent, &ctx).await?;
        let anonymous = ask.principal.method == AuthMethod::Public;
        let public_grant: Vec<Grant>;
        let grants = if anonymous {
            let Some(ops) = self.public_operations(ask.agent) else {
                return Err(refusal_for(&Denial::NoGrant, None, ask.agent));
            };
            public_grant = vec![public_grant_for(&me, ask.agent, ops)];
            public_grant.as_slice()
        } else {
            snapshot.grants(&me, ask.agent)
        };
        let facts = Facts {
            grants,
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
        let subject = rate_subject(ask.principal, &me);
        let keys = [
            (
                self.quotas.principal,
                format!("principal:{subject}"),
                "principal",
            ),
            (
                self.quotas.pair,
                format!("pair:{subject}>{}", ask.agent),
                "pair",
            ),
            (
                self.quotas.public.filter(|_| anonymous),
                format!("public:{}", ask.agent),
                "public",
            ),
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
        let (checks, names): (Vec<(String, Quota)>, Vec<&'static str>) = keys
            .into_iter()
            .filter_map(|(quota, key, what)| quota.map(|q| ((key, q), what)))
            .unzip();
        let decisions = self
            .limit_call(ask.principal.source, ask.pending, checks, names)
            .await?;
        for d in decisions {
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
        // The call's shared step is done: a refusal from here on leaves
        // nothing pending.
        let stream = self
            .hold(
                &ask,
                &ctx,
                context_owner.is_none(),
                &allowed.owner,
                &subject,
                &me,
            )
            .await
            .map_err(Denied::after_step)?;
        Ok(Permit {
            allowed,
            skill,
            rule,
            caller: me,
            stream,
            headers,
        })
    }

    /// A place among `subject`'s open streams: counted over every gateway
    /// with `[shared]` (Redis unable to say: refused, or this gateway's own
    /// count with `on_unavailable = "local_limits"`), else by this one.
    /// None when the caller holds the most already.
    async fn stream_slot(&self, subject: &str) -> Result<Option<StreamSlot>, Denied> {
        let max = self.quotas.max_streams;
        let Some(shared) = &self.shared_slots else {
            return Ok(self.slots.try_acquire(subject, max).map(StreamSlot::Local));
        };
        match shared.acquire(subject, max).await {
            StreamPlace::Granted(p) => Ok(Some(StreamSlot::Shared(p))),
            StreamPlace::Full => Ok(None),
            StreamPlace::Unavailable if shared.local_fallback() => {
                Ok(self.slots.try_acquire(subject, max).map(StreamSlot::Local))
            }
            StreamPlace::Unavailable => Err(unavailable("shared")),
        }
    }

    /// What an allowed call holds once its limits passed: a stream slot
    /// (streaming calls), and a new context id it proposes, claimed before
    /// the call goes out so two callers racing for one id cannot both have
    /// it.
    async fn hold(
        &self,
        ask: &Ask<'_>,
        ctx: &DecisionContext,
        new_context: bool,
        owner: &str,
        subject: &str,
        me: &str,
    ) -> Result<Option<StreamGuard>, Denied> {
        let stream = if ask.op.operation.is_streaming() {
            let Some(slot) = self.stream_slot(subject).await? else {
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
            Some(self.streams.register(me, ask.agent, Some(slot)))
        } else {
            None
        };
        let is_message = OpClass::of(ask.op.operation) == OpClass::Send;
        if let (true, true, Some(id)) = (self.enforce, is_message, &ctx.context_id)
            && new_context
        {
            // Every replica first: the claim below is this gateway's own.
            if let Some(claims) = &self.contexts {
                let holder = claims
                    .claim(ask.agent, id, owner)
                    .await
                    .ok_or_else(|| unavailable("shared"))?;
                if holder != owner {
                    return Err(refusal_for(&Denial::ContextNotJoinable, None, &ctx.agent));
                }
            }
            let holder = self
                .owners
                .claim_context(ask.agent, id, owner)
                .await
                .map_err(|_| unavailable("store"))?;
            if holder != owner {
                return Err(refusal_for(&Denial::ContextNotJoinable, None, &ctx.agent));
            }
        }
        Ok(stream)
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
                .owners
                .task_owner(agent, id)
                .await
                .map_err(|_| unavailable("store"))?
                .map(|t| t.owner);
            out.push((id.clone(), owner));
        }
        Ok(out)
    }
}

/// What a public agent lets a caller without a credential do: its public
/// operations, any skill, on the caller's own tasks only (the grant names
/// the caller, so ownership decides like for any other caller).
fn public_grant_for(me: &str, agent: &str, ops: &[OpClass]) -> Grant {
    Grant {
        id: "public".into(),
        caller: me.to_string(),
        target: agent.to_string(),
        skills: vec![ANY_SKILL.to_string()],
        operations: ops.to_vec(),
        tasks_of: None,
        not_before: None,
        not_after: None,
    }
}

/// The name grants, limits and ownership know a principal by (what
/// `caller_of(p, own_issuer).key()` gives, without building the `Caller`).
pub fn caller_key(p: &Principal, own_issuer: &str) -> String {
    if p.local || p.issuer == own_issuer {
        p.subject.clone()
    } else {
        format!("{}#{}", p.issuer, p.subject)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::AuthMethod;

    #[test]
    fn the_caller_key_is_the_callers_key() {
        for (issuer, local) in [
            ("https://warden", false),
            ("https://other", false),
            ("https://other", true),
        ] {
            let p = Principal {
                subject: "alice".into(),
                issuer: issuer.into(),
                local,
                scopes: Vec::new(),
                method: AuthMethod::Bearer,
                token_id: None,
                source: std::net::IpAddr::from([127, 0, 0, 1]),
                peer: None,
            };
            assert_eq!(
                caller_key(&p, "https://warden"),
                caller_of(&p, "https://warden").key()
            );
        }
    }
}
