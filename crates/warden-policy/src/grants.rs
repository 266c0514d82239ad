//! Per-pair grants: caller → target agent, limited to skills, operation
//! classes and a time window. Default deny: no active grant, no call.

use warden_a2a::Operation;

/// What a grant may allow, coarser than the eleven operations: the
/// questions an operator actually asks ("may it cancel?").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpClass {
    /// SendMessage and SendStreamingMessage.
    Send,
    /// GetTask.
    Get,
    /// ListTasks (only ever the caller's own tasks).
    List,
    /// CancelTask.
    Cancel,
    /// SubscribeToTask.
    Subscribe,
    /// The four push notification config operations (they make the agent
    /// call a URL: off unless granted).
    Push,
    /// GetExtendedAgentCard (more than the public card tells: off unless
    /// granted).
    ExtendedCard,
}

impl OpClass {
    pub const ALL: [OpClass; 7] = [
        Self::Send,
        Self::Get,
        Self::List,
        Self::Cancel,
        Self::Subscribe,
        Self::Push,
        Self::ExtendedCard,
    ];

    /// What a grant allows when it names no operations: working with one's
    /// own tasks, but neither webhooks nor the extended card.
    pub const DEFAULT: [OpClass; 5] = [
        Self::Send,
        Self::Get,
        Self::List,
        Self::Cancel,
        Self::Subscribe,
    ];

    pub fn of(op: Operation) -> Self {
        match op {
            Operation::SendMessage | Operation::SendStreamingMessage => Self::Send,
            Operation::GetTask => Self::Get,
            Operation::ListTasks => Self::List,
            Operation::CancelTask => Self::Cancel,
            Operation::SubscribeToTask => Self::Subscribe,
            Operation::CreatePushConfig
            | Operation::GetPushConfig
            | Operation::ListPushConfigs
            | Operation::DeletePushConfig => Self::Push,
            Operation::GetExtendedAgentCard => Self::ExtendedCard,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Send => "send",
            Self::Get => "get",
            Self::List => "list",
            Self::Cancel => "cancel",
            Self::Subscribe => "subscribe",
            Self::Push => "push",
            Self::ExtendedCard => "extended-card",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Parses a comma-separated list; `all` means every class, an empty
    /// list the [`OpClass::DEFAULT`] set.
    pub fn parse_list(list: &str) -> Result<Vec<Self>, String> {
        let names: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if names.is_empty() {
            return Ok(Self::DEFAULT.to_vec());
        }
        if names == ["all"] {
            return Ok(Self::ALL.to_vec());
        }
        let mut out = Vec::new();
        for n in names {
            let c = Self::parse(n).ok_or_else(|| {
                format!(
                    "unknown operation {n:?} (use {} or all)",
                    Self::ALL.map(Self::name).join(", ")
                )
            })?;
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out.sort();
        Ok(out)
    }
}

/// The skill wildcard: every skill of the target.
pub const ANY_SKILL: &str = "*";

/// One grant, as decisions see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: String,
    /// The caller's key (see [`crate::Caller::key`]).
    pub caller: String,
    /// The target agent.
    pub target: String,
    /// Skill ids, or [`ANY_SKILL`].
    pub skills: Vec<String>,
    pub operations: Vec<OpClass>,
    /// A delegation: the caller may also act on this owner's tasks.
    pub tasks_of: Option<String>,
    pub not_before: Option<u64>,
    pub not_after: Option<u64>,
}

impl Grant {
    /// Whether the grant is in force at `now` (revoked grants never reach
    /// a decision).
    pub fn active_at(&self, now: u64) -> bool {
        self.not_before.is_none_or(|nb| nb <= now) && self.not_after.is_none_or(|na| now < na)
    }

    pub fn all_skills(&self) -> bool {
        self.skills.iter().any(|s| s == ANY_SKILL)
    }

    pub fn allows_skill(&self, skill: &str) -> bool {
        self.all_skills() || self.skills.iter().any(|s| s == skill)
    }

    pub fn allows(&self, class: OpClass) -> bool {
        self.operations.contains(&class)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> Grant {
        Grant {
            id: "g1".into(),
            caller: "alice".into(),
            target: "echo".into(),
            skills: vec!["echo".into()],
            operations: OpClass::DEFAULT.to_vec(),
            tasks_of: None,
            not_before: Some(100),
            not_after: Some(200),
        }
    }

    #[test]
    fn window_is_half_open() {
        let g = grant();
        assert!(!g.active_at(99));
        assert!(g.active_at(100));
        assert!(g.active_at(199));
        assert!(!g.active_at(200));
    }

    #[test]
    fn skills_and_wildcard() {
        let mut g = grant();
        assert!(g.allows_skill("echo"));
        assert!(!g.allows_skill("pay"));
        g.skills = vec![ANY_SKILL.into()];
        assert!(g.allows_skill("pay"));
    }

    #[test]
    fn operation_lists() {
        assert_eq!(OpClass::parse_list("").expect("default"), OpClass::DEFAULT);
        assert_eq!(OpClass::parse_list("all").expect("all"), OpClass::ALL);
        assert_eq!(
            OpClass::parse_list("push, send,send").expect("two"),
            vec![OpClass::Send, OpClass::Push]
        );
        assert!(OpClass::parse_list("delete").is_err());
        for op in warden_a2a::op::ALL_OPERATIONS {
            let c = OpClass::of(op);
            assert_eq!(OpClass::parse(c.name()), Some(c));
        }
    }
}
