//! A call the authoriser refused: the error the caller is told, and the
//! [`Reason`] the audit trail and the metrics record, each with one string
//! form.

use warden_a2a::{A2aError, ErrorKind};
use warden_policy::Denial;

/// Why authorisation refused a call: a closed set, each with one audit
/// string ([`Reason::as_audit`]) and one metrics class ([`Reason::class`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The built-in model said no (quarantine, grant, skill, ownership).
    Denial(Denial),
    /// A policy rule denied the call; its reason as the rule gives it.
    Policy(String),
    /// A rate limit is exhausted: `source`, `principal`, `pair`, `skill`
    /// or `streams`.
    RateLimited(&'static str),
    /// The rate limiter could not answer: fail closed.
    RateLimitUnavailable(String),
    /// The message names its skill in a malformed way.
    SkillInvalid,
    /// More referenced tasks than one message may carry.
    TooManyReferences,
    /// A lookup authorisation needs failed (`store`): fail closed.
    Unavailable(&'static str),
}

impl Reason {
    /// The audit reason, e.g. `skill_not_granted:refund`, `policy:…`,
    /// `rate_limited:pair`.
    pub fn as_audit(&self) -> String {
        match self {
            Self::Denial(d) => d.reason(),
            Self::Policy(r) => format!("policy:{r}"),
            Self::RateLimited(what) => format!("rate_limited:{what}"),
            Self::RateLimitUnavailable(e) => format!("rate_limit_unavailable:{e}"),
            Self::SkillInvalid => "skill_invalid".into(),
            Self::TooManyReferences => "too_many_references".into(),
            Self::Unavailable(what) => format!("authz_unavailable:{what}"),
        }
    }

    /// The `reason` label of `warden_authz_refusals`: a closed set (no
    /// skill ids or rule texts), rate limits by the name of the limit.
    pub fn class(&self) -> String {
        match self {
            Self::RateLimited(_) => self.as_audit(),
            other => {
                let audit = other.as_audit();
                audit
                    .split_once(':')
                    .map_or(audit.clone(), |(c, _)| c.to_string())
            }
        }
    }
}

/// A call authorisation refused: the error to answer, the reason, the
/// deciding rule, and headers (`Retry-After`, `RateLimit-*`) to add.
#[derive(Debug)]
pub struct Denied {
    pub error: A2aError,
    pub reason: Reason,
    pub rule: Option<String>,
    pub headers: Vec<(&'static str, String)>,
    /// Answer with JSON-RPC id null (a refusal that must look like an
    /// unknown agent, which is answered before the body is read).
    pub anonymous_id: bool,
    /// What became of the call's pending single-use id (`[shared]`).
    pub single_use: UseState,
}

/// What became of a call's pending single-use id (`[shared]`: see
/// `crate::shared::PendingUse`) when authorisation refused the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UseState {
    /// Not looked at: refused before the call's shared step. It is still
    /// to be recorded (the refusal's answer does it).
    #[default]
    Pending,
    /// Recorded (the call was refused after its shared step), or left
    /// unused on purpose (refused for its rate, or Redis could not
    /// answer): nothing more to do.
    Done,
    /// Used before: the call is a replay, whatever else it is.
    Replayed,
    /// Redis could not answer a call that carries one: refused as
    /// authentication that cannot be completed.
    Unavailable,
}

impl Denied {
    pub(super) fn new(error: A2aError, reason: Reason) -> Self {
        Self {
            error,
            reason,
            rule: None,
            headers: Vec::new(),
            anonymous_id: false,
            single_use: UseState::Pending,
        }
    }

    /// The same refusal, decided after the call's shared step.
    pub(super) fn after_step(mut self) -> Self {
        if self.single_use == UseState::Pending {
            self.single_use = UseState::Done;
        }
        self
    }
}

/// A lookup failed: authorisation cannot be decided, so the call is refused.
pub(super) fn unavailable(what: &'static str) -> Denied {
    let mut d = Denied::new(
        A2aError::new(
            ErrorKind::Unavailable,
            "authorisation cannot be decided right now",
        ),
        Reason::Unavailable(what),
    );
    d.headers.push(("retry-after", "1".into()));
    d
}

/// The answer for a denial. Unknown and foreign tasks get the very same
/// bytes; a missing grant looks like an unknown agent.
pub(super) fn refusal_for(d: &Denial, task_id: Option<&str>, agent: &str) -> Denied {
    let error = match d {
        Denial::NoGrant => {
            let mut r = Denied::new(
                A2aError::not_found("no such agent or route"),
                Reason::Denial(d.clone()),
            );
            r.anonymous_id = true;
            return r;
        }
        Denial::TaskNotFound => {
            A2aError::task_not_found(format!("task {} not found", task_id.unwrap_or_default()))
        }
        Denial::ReferencedTaskNotFound(id) => {
            A2aError::task_not_found(format!("task {id} not found"))
        }
        Denial::AgentQuarantined => A2aError::new(
            ErrorKind::Forbidden,
            format!("agent {agent:?} is quarantined"),
        ),
        Denial::CallerQuarantined => {
            A2aError::new(ErrorKind::Forbidden, "the calling agent is quarantined")
        }
        Denial::OperationNotGranted(c) => A2aError::new(
            ErrorKind::Forbidden,
            format!(
                "operation class {:?} is not granted for this agent",
                c.name()
            ),
        ),
        Denial::SkillRequired => A2aError::new(
            ErrorKind::Forbidden,
            format!(
                "name the skill: metadata[{:?}] with the URI in message.extensions, or the route /agents/{}/skills/{{skill}}",
                warden_a2a::SKILL_EXTENSION,
                agent
            ),
        ),
        Denial::SkillNotGranted(s) | Denial::SkillNotInScope(s) => A2aError::new(
            ErrorKind::Forbidden,
            format!("skill {s:?} is not allowed for this caller"),
        ),
        Denial::ContextNotJoinable => A2aError::new(
            ErrorKind::Forbidden,
            "the context is not available to this caller",
        ),
    };
    Denied::new(error, Reason::Denial(d.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reason_has_one_audit_string_and_a_closed_metrics_class() {
        let cases = [
            (
                Reason::Denial(Denial::SkillNotGranted("refund".into())),
                "skill_not_granted:refund",
                "skill_not_granted",
            ),
            (
                Reason::Policy("after hours".into()),
                "policy:after hours",
                "policy",
            ),
            (
                Reason::RateLimited("pair"),
                "rate_limited:pair",
                "rate_limited:pair",
            ),
            (
                Reason::TooManyReferences,
                "too_many_references",
                "too_many_references",
            ),
            (
                Reason::Unavailable("store"),
                "authz_unavailable:store",
                "authz_unavailable",
            ),
        ];
        for (reason, audit, class) in cases {
            assert_eq!(reason.as_audit(), audit);
            assert_eq!(reason.class(), class);
        }
    }
}
