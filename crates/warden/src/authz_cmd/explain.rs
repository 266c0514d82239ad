//! What `warden policy explain` prints: the decision of both layers (the
//! built-in model, then the policy rules), the facts they saw, and each
//! rule's outcome.

use std::path::PathBuf;

use serde_json::{Value, json};
use warden_a2a::PartKind;
use warden_authority::grants;
use warden_policy::{Allowed, DecisionContext, Denial, Explanation, OpClass, RuleOutcome};
use warden_store::GrantRecord;

use super::table;

/// Where the caller's scopes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeSource {
    /// `--scope`.
    Given,
    /// Its grants (what a Warden token minted without a scope carries).
    Granted,
    /// Neither: another issuer's token, or no credential.
    Absent,
}

/// What was looked up for the decision.
#[derive(Debug)]
pub struct Lookups {
    /// The caller's unrevoked grants to the agent (in force or not).
    pub grants: Vec<GrantRecord>,
    /// The reason, when quarantined.
    pub caller_quarantined: Option<String>,
    pub agent_quarantined: Option<String>,
    pub task_owner: Option<String>,
    pub context_owner: Option<String>,
    /// The owner on record of each referenced task.
    pub referenced_task_owners: Vec<(String, Option<String>)>,
    /// False when `auth.mode = "insecure-off"`.
    pub enforce: bool,
}

/// One explained decision.
#[derive(Debug)]
pub struct Explained {
    pub ctx: DecisionContext,
    pub scope_source: ScopeSource,
    pub lookups: Lookups,
    /// The built-in model's decision.
    pub decision: Result<Allowed, Denial>,
    /// The policy rules' decision (reached only when the model allowed).
    pub rules: Explanation,
    pub policy_file: Option<PathBuf>,
}

impl Explained {
    /// Allowed by the model and by the rules.
    pub fn allowed(&self) -> bool {
        self.decision.is_ok() && self.rules.verdict.is_allowed()
    }

    fn verdict(&self) -> &'static str {
        if self.allowed() { "allow" } else { "deny" }
    }

    pub fn to_json(&self) -> Value {
        let ctx = &self.ctx;
        let model = match &self.decision {
            Ok(a) => json!({"decision": "allow", "grant": a.grant, "owner": a.owner}),
            Err(d) => json!({
                "decision": "deny",
                "reason": d.reason(),
                "message": self.describe(d),
            }),
        };
        let now = ctx.now;
        let found: Vec<Value> = self
            .lookups
            .grants
            .iter()
            .map(|g| grants::grant_json(g, now))
            .collect();
        let parts: Vec<Value> = ctx
            .parts
            .iter()
            .map(|p| json!({"kind": kind(p.kind), "size": p.size, "mediaType": p.media_type}))
            .collect();
        json!({
            "decision": self.verdict(),
            "model": model,
            "rules": {
                "reached": self.decision.is_ok(),
                "file": self.policy_file.as_ref().map(|p| p.display().to_string()),
                "explanation": self.rules,
            },
            "request": {
                "caller": {
                    "subject": ctx.caller.subject,
                    "issuer": ctx.caller.issuer,
                    "key": ctx.caller.key(),
                    "local": ctx.caller.local,
                    "scopes": ctx.caller.scopes,
                    "scopesFrom": match self.scope_source {
                        ScopeSource::Given => "given",
                        ScopeSource::Granted => "grants",
                        ScopeSource::Absent => "none",
                    },
                    "method": ctx.caller.method,
                    "source": ctx.caller.source.to_string(),
                    "peerUris": ctx.caller.peer_uris,
                },
                "agent": ctx.agent,
                "operation": ctx.operation.name(),
                "operationClass": OpClass::of(ctx.operation).name(),
                "binding": ctx.binding.as_str(),
                "skill": ctx.skill,
                "tenant": ctx.tenant,
                "taskId": ctx.task_id,
                "referenceTaskIds": ctx.referenced_task_ids,
                "contextId": ctx.context_id,
                "parts": parts,
                "extensions": ctx.extensions,
                "now": now,
            },
            "facts": {
                "grants": found,
                "callerQuarantined": self.lookups.caller_quarantined,
                "agentQuarantined": self.lookups.agent_quarantined,
                "taskOwner": self.lookups.task_owner,
                "referencedTaskOwners": self.lookups.referenced_task_owners.iter()
                    .map(|(id, o)| serde_json::json!({"taskId": id, "owner": o}))
                    .collect::<Vec<_>>(),
                "contextOwner": self.lookups.context_owner,
                "enforce": self.lookups.enforce,
            },
        })
    }

    pub fn render(&self) -> String {
        let ctx = &self.ctx;
        let me = ctx.caller.key();
        let mut lines = vec![format!("decision    {}", self.verdict())];
        lines.push(format!("model       {}", self.model_line()));
        let verdict = &self.rules.verdict;
        lines.push(if self.decision.is_ok() {
            format!(
                "rules       {:<5}  {}",
                verdict.effect.as_str(),
                verdict.reason
            )
        } else {
            format!(
                "rules       -      not reached (they would {}: {})",
                verdict.effect.as_str(),
                verdict.reason
            )
        });
        lines.push(String::new());

        let issuer = if ctx.caller.local {
            format!("Warden's own issuer {}", ctx.caller.issuer)
        } else {
            format!("issuer {}; known to grants as {me}", ctx.caller.issuer)
        };
        lines.push(format!(
            "caller      {} ({issuer}; {}; from {})",
            ctx.caller.subject, ctx.caller.method, ctx.caller.source
        ));
        let scopes = if ctx.caller.scopes.is_empty() {
            "none".to_string()
        } else {
            ctx.caller.scopes.join(" ")
        };
        let from = match self.scope_source {
            ScopeSource::Given => "as given",
            ScopeSource::Granted => "from its grants: no --scope given",
            ScopeSource::Absent => "no --scope given",
        };
        lines.push(format!("scopes      {scopes} ({from})"));
        let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        lines.push(format!(
            "request     {} ({}) to {}; skill {}; task {}; context {}",
            ctx.operation.name(),
            OpClass::of(ctx.operation).name(),
            ctx.agent,
            dash(&ctx.skill),
            dash(&ctx.task_id),
            dash(&ctx.context_id),
        ));
        if !ctx.parts.is_empty() {
            let parts: Vec<String> = ctx
                .parts
                .iter()
                .map(|p| match &p.media_type {
                    Some(m) => format!("{}:{}:{m}", kind(p.kind), p.size),
                    None => format!("{}:{}", kind(p.kind), p.size),
                })
                .collect();
            lines.push(format!("parts       {}", parts.join(" ")));
        }
        lines.push(format!(
            "at          {}",
            super::show_time(i64::try_from(ctx.now).unwrap_or(i64::MAX))
        ));
        if self.lookups.grants.is_empty() {
            lines.push(format!("grants      none from {me} to {}", ctx.agent));
        }
        for (i, g) in self.lookups.grants.iter().enumerate() {
            let label = if i == 0 { "grants" } else { "" };
            lines.push(format!("{label:<12}{}", grant_line(g, ctx.now)));
        }
        let q = |what: &str, reason: &Option<String>| match reason {
            Some(r) => format!("{what} quarantined ({r})"),
            None => format!("{what} not quarantined"),
        };
        lines.push(format!(
            "quarantine  {}; {}",
            q("caller", &self.lookups.caller_quarantined),
            q("agent", &self.lookups.agent_quarantined)
        ));
        if let Some(id) = &ctx.task_id {
            lines.push(format!(
                "task        {id}: {}",
                owner(&self.lookups.task_owner, &me)
            ));
        }
        for (id, o) in &self.lookups.referenced_task_owners {
            lines.push(format!("referenced  {id}: {}", owner(o, &me)));
        }
        if let Some(id) = &ctx.context_id {
            lines.push(format!(
                "context     {id}: {}",
                owner(&self.lookups.context_owner, &me)
            ));
        }
        if !self.lookups.enforce {
            lines
                .push("auth        insecure-off: grants, scopes and ownership do not apply".into());
        }

        lines.push(String::new());
        let file = match &self.policy_file {
            Some(p) => format!(
                "{}: {} rules, default {}",
                p.display(),
                self.rules.rules.len(),
                self.rules.default.as_str()
            ),
            None => "none ([authz] policy_file not set, no --policy): every call the model allows"
                .into(),
        };
        lines.push(format!("policy      {file}"));
        if !self.rules.rules.is_empty() {
            if self.decision.is_err() {
                lines.push("            (not reached: shown as they would evaluate)".into());
            }
            let rows: Vec<Vec<String>> = self
                .rules
                .rules
                .iter()
                .map(|r| {
                    let outcome = match &r.outcome {
                        RuleOutcome::Matched => "matched".to_string(),
                        RuleOutcome::NotMatched => "not matched".into(),
                        RuleOutcome::Errored { error } => format!("error (denies): {error}"),
                        RuleOutcome::NotEvaluated => "not evaluated".into(),
                    };
                    vec![r.name.clone(), r.effect.as_str().into(), outcome]
                })
                .collect();
            lines.push(table(&["RULE", "EFFECT", "OUTCOME"], &rows));
        }
        lines.join("\n")
    }

    /// The built-in model's verdict, and why.
    fn model_line(&self) -> String {
        match &self.decision {
            Ok(Allowed {
                grant: Some(g),
                owner,
            }) => format!("allow  grant {g}; new tasks are owned by {owner}"),
            Ok(Allowed { grant: None, .. }) => {
                "allow  authentication is off (auth.mode = \"insecure-off\"): no grants apply"
                    .into()
            }
            Err(d) => format!("deny   {}: {}", d.reason(), self.describe(d)),
        }
    }

    /// A denial in words, for the operator (never shown to callers).
    fn describe(&self, d: &Denial) -> String {
        let ctx = &self.ctx;
        let me = ctx.caller.key();
        let agent = &ctx.agent;
        match d {
            Denial::AgentQuarantined => format!("agent {agent:?} is quarantined"),
            Denial::CallerQuarantined => format!("caller {me:?} is quarantined"),
            Denial::NoGrant => format!(
                "no grant in force from {me:?} to {agent:?} (the caller is told: no such agent)"
            ),
            Denial::OperationNotGranted(c) => format!(
                "no grant in force from {me:?} to {agent:?} allows operation class {:?}",
                c.name()
            ),
            Denial::SkillRequired => "the call names no skill, and not both a grant and the \
                                      credential allow every skill (*): pass --skill"
                .into(),
            Denial::SkillNotGranted(s) => {
                format!("no grant in force from {me:?} to {agent:?} allows skill {s:?}")
            }
            Denial::SkillNotInScope(s) => {
                format!("skill {s:?} is granted but not in the credential's scopes")
            }
            Denial::TaskNotFound => match &self.lookups.task_owner {
                None => {
                    "the task is unknown at this agent (the caller is told: task not found)".into()
                }
                Some(o) => format!(
                    "the task belongs to {o:?} and no grant delegates {o:?}'s tasks \
                     (--tasks-of); the caller is told: task not found"
                ),
            },
            Denial::ReferencedTaskNotFound(id) => format!(
                "referenced task {id:?} is unknown at this agent or belongs to another caller \
                 whose tasks no grant delegates; the caller is told: task {id} not found"
            ),
            Denial::ContextNotJoinable => format!(
                "the context belongs to {:?}",
                self.lookups
                    .context_owner
                    .as_deref()
                    .unwrap_or("another caller")
            ),
        }
    }
}

fn kind(k: PartKind) -> &'static str {
    match k {
        PartKind::Text => "text",
        PartKind::Raw => "raw",
        PartKind::Url => "url",
        PartKind::Data => "data",
    }
}

fn owner(owner: &Option<String>, me: &str) -> String {
    match owner {
        None => "no owner on record".into(),
        Some(o) if o == me => format!("owned by {o} (this caller)"),
        Some(o) => format!("owned by {o}"),
    }
}

fn grant_line(g: &GrantRecord, now: u64) -> String {
    let mut line = format!(
        "{} {}: skills {}; ops {}",
        g.id,
        grants::grant_state(g, now),
        g.skills.join(","),
        g.operations.join(",")
    );
    if let Some(o) = &g.tasks_of {
        line.push_str(&format!("; tasks of {o}"));
    }
    if let Some(nb) = g.not_before {
        line.push_str(&format!("; from {}", super::show_time(nb)));
    }
    if let Some(na) = g.not_after {
        line.push_str(&format!("; until {}", super::show_time(na)));
    }
    line
}
