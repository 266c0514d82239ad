//! The built-in model: quarantine, per-pair grants, skill scopes and task
//! ownership, decided as one pure function over facts the gateway looked up.
//! Policy rules ([`crate::rules`]) run after it and can only say no.

use crate::context::DecisionContext;
use crate::grants::{ANY_SKILL, Grant, OpClass};

/// What the gateway looked up for one decision.
#[derive(Debug, Clone, Copy, Default)]
pub struct Facts<'a> {
    /// The caller's unrevoked grants to the target agent (their time window
    /// is checked here).
    pub grants: &'a [Grant],
    pub caller_quarantined: bool,
    pub agent_quarantined: bool,
    /// The owner on record for `task_id` at this agent (None: unknown).
    pub task_owner: Option<&'a str>,
    /// The owner on record for `context_id` at this agent (None: unknown).
    pub context_owner: Option<&'a str>,
    /// The owner on record for each of `referenced_task_ids` (an id missing
    /// here, or with `None`, is unknown).
    pub referenced_task_owners: &'a [(String, Option<String>)],
    /// False only when authentication is off (`auth.mode = "insecure-off"`):
    /// with no identity, grants, scopes and ownership cannot apply.
    pub enforce: bool,
}

/// Why a call is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    AgentQuarantined,
    CallerQuarantined,
    /// No grant in force from the caller to the agent: answered like an
    /// unknown agent, so callers cannot map agents they may not call.
    NoGrant,
    OperationNotGranted(OpClass),
    /// A message must name its skill (see [`crate::skill`]).
    SkillRequired,
    SkillNotGranted(String),
    SkillNotInScope(String),
    /// The task is unknown or someone else's: one answer for both.
    TaskNotFound,
    /// A task the call references (not the one it addresses) is unknown or
    /// someone else's: answered like [`Denial::TaskNotFound`] for that id.
    ReferencedTaskNotFound(String),
    /// The context belongs to another caller.
    ContextNotJoinable,
}

impl Denial {
    /// A short, stable reason for the audit trail and metrics.
    pub fn reason(&self) -> String {
        match self {
            Self::AgentQuarantined => "agent_quarantined".into(),
            Self::CallerQuarantined => "caller_quarantined".into(),
            Self::NoGrant => "no_grant".into(),
            Self::OperationNotGranted(c) => format!("operation_not_granted:{}", c.name()),
            Self::SkillRequired => "skill_required".into(),
            Self::SkillNotGranted(s) => format!("skill_not_granted:{s}"),
            Self::SkillNotInScope(s) => format!("skill_not_in_scope:{s}"),
            Self::TaskNotFound => "task_not_visible".into(),
            Self::ReferencedTaskNotFound(_) => "referenced_task_not_visible".into(),
            Self::ContextNotJoinable => "context_not_joinable".into(),
        }
    }
}

/// An allowed call, and what allowed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    /// The grant that allowed it (None when enforcement is off).
    pub grant: Option<String>,
    /// The owner new tasks and contexts of this call are recorded under:
    /// the caller, or, when a delegation grant let the caller act on a
    /// task, that task's owner.
    pub owner: String,
}

/// Decides a call by the built-in model.
pub fn decide(ctx: &DecisionContext, facts: &Facts<'_>) -> Result<Allowed, Denial> {
    if facts.agent_quarantined {
        return Err(Denial::AgentQuarantined);
    }
    if facts.caller_quarantined {
        return Err(Denial::CallerQuarantined);
    }
    let me = ctx.caller.key();
    if !facts.enforce {
        return Ok(Allowed {
            grant: None,
            owner: me,
        });
    }
    let class = OpClass::of(ctx.operation);
    let active: Vec<&Grant> = facts
        .grants
        .iter()
        .filter(|g| g.caller == me && g.target == ctx.agent && g.active_at(ctx.now))
        .collect();
    if active.is_empty() {
        return Err(Denial::NoGrant);
    }
    let allowing: Vec<&Grant> = active.iter().copied().filter(|g| g.allows(class)).collect();
    let Some(first) = allowing.first() else {
        return Err(Denial::OperationNotGranted(class));
    };
    let mut by = (*first).clone();
    if class == OpClass::Send {
        by = check_skill(ctx, &allowing)?.clone();
    }
    let mut owner = me.clone();
    // Task operations always name a task; one that does not reaches no task.
    let needs_task = matches!(
        class,
        OpClass::Get | OpClass::Cancel | OpClass::Subscribe | OpClass::Push
    );
    if needs_task && ctx.task_id.is_none() {
        return Err(Denial::TaskNotFound);
    }
    if ctx.task_id.is_some() {
        let task_owner = facts.task_owner.ok_or(Denial::TaskNotFound)?;
        if task_owner != me {
            by = delegation(&allowing, task_owner)
                .ok_or(Denial::TaskNotFound)?
                .clone();
            owner = task_owner.to_string();
        }
    }
    // A referenced task is as private as the addressed one: an agent that
    // follows references would otherwise read or act on it for the caller.
    for id in &ctx.referenced_task_ids {
        let on_record = facts
            .referenced_task_owners
            .iter()
            .find(|(t, _)| t == id)
            .and_then(|(_, o)| o.as_deref());
        let visible =
            on_record.is_some_and(|o| o == me || o == owner || delegation(&allowing, o).is_some());
        if !visible {
            return Err(Denial::ReferencedTaskNotFound(id.clone()));
        }
    }
    if class == OpClass::Send
        && ctx.context_id.is_some()
        && let Some(ctx_owner) = facts.context_owner
        && ctx_owner != owner
    {
        return Err(Denial::ContextNotJoinable);
    }
    Ok(Allowed {
        grant: Some(by.id),
        owner,
    })
}

/// A message's skill must be granted and in the credential's scope; it may
/// go unnamed only when both allow every skill.
fn check_skill<'g>(ctx: &DecisionContext, allowing: &[&'g Grant]) -> Result<&'g Grant, Denial> {
    let scoped_all = ctx.caller.scopes.iter().any(|s| s == ANY_SKILL);
    let Some(skill) = &ctx.skill else {
        return match allowing.iter().find(|g| g.all_skills()) {
            Some(g) if scoped_all => Ok(g),
            _ => Err(Denial::SkillRequired),
        };
    };
    let grant = allowing
        .iter()
        .find(|g| g.allows_skill(skill))
        .ok_or_else(|| Denial::SkillNotGranted(skill.clone()))?;
    if !scoped_all && !ctx.caller.scopes.iter().any(|s| s == skill) {
        return Err(Denial::SkillNotInScope(skill.clone()));
    }
    Ok(grant)
}

/// A grant letting the caller act on `owner`'s tasks.
fn delegation<'g>(allowing: &[&'g Grant], owner: &str) -> Option<&'g Grant> {
    allowing
        .iter()
        .copied()
        .find(|g| g.tasks_of.as_deref() == Some(owner))
}

#[cfg(test)]
mod tests;
