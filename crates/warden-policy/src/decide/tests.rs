use std::net::{IpAddr, Ipv4Addr};

use warden_a2a::{Binding, Operation};

use super::*;
use crate::context::Caller;

fn caller(scopes: &[&str]) -> Caller {
    Caller {
        subject: "alice".into(),
        issuer: "https://warden.local".into(),
        local: true,
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        method: "bearer",
        source: IpAddr::V4(Ipv4Addr::LOCALHOST),
        peer_uris: Vec::new(),
    }
}

fn ctx(op: Operation, skill: Option<&str>) -> DecisionContext {
    DecisionContext {
        caller: caller(&["echo"]),
        agent: "echo".into(),
        operation: op,
        binding: Binding::JsonRpc,
        skill: skill.map(str::to_owned),
        tenant: None,
        task_id: None,
        referenced_task_ids: Vec::new(),
        context_id: None,
        parts: Vec::new(),
        extensions: Vec::new(),
        now: 1_000,
    }
}

fn grant(id: &str, skills: &[&str]) -> Grant {
    Grant {
        id: id.into(),
        caller: "alice".into(),
        target: "echo".into(),
        skills: skills.iter().map(|s| s.to_string()).collect(),
        operations: OpClass::DEFAULT.to_vec(),
        tasks_of: None,
        not_before: None,
        not_after: None,
    }
}

fn facts(grants: &[Grant]) -> Facts<'_> {
    Facts {
        grants,
        enforce: true,
        ..Facts::default()
    }
}

#[test]
fn a_granted_skill_in_scope_is_allowed() {
    let g = [grant("g1", &["echo"])];
    let got = decide(&ctx(Operation::SendMessage, Some("echo")), &facts(&g));
    assert_eq!(
        got,
        Ok(Allowed {
            grant: Some("g1".into()),
            owner: "alice".into()
        })
    );
}

#[test]
fn default_deny_without_a_grant() {
    let c = ctx(Operation::SendMessage, Some("echo"));
    assert_eq!(decide(&c, &facts(&[])), Err(Denial::NoGrant));
    // A grant to another agent, from another caller, or out of its window.
    let mut other = grant("g1", &["echo"]);
    other.target = "pay".into();
    let mut someone = grant("g2", &["echo"]);
    someone.caller = "bob".into();
    let mut later = grant("g3", &["echo"]);
    later.not_before = Some(2_000);
    let mut over = grant("g4", &["echo"]);
    over.not_after = Some(1_000);
    assert_eq!(
        decide(&c, &facts(&[other, someone, later, over])),
        Err(Denial::NoGrant)
    );
}

#[test]
fn skill_outside_the_grant_or_the_scope_is_refused() {
    let g = [grant("g1", &["echo"])];
    assert_eq!(
        decide(&ctx(Operation::SendMessage, Some("shout")), &facts(&g)),
        Err(Denial::SkillNotGranted("shout".into()))
    );
    let wide = [grant("g1", &["*"])];
    assert_eq!(
        decide(&ctx(Operation::SendMessage, Some("shout")), &facts(&wide)),
        Err(Denial::SkillNotInScope("shout".into()))
    );
}

#[test]
fn a_message_must_name_a_skill_unless_everything_is_allowed() {
    let g = [grant("g1", &["echo"])];
    assert_eq!(
        decide(&ctx(Operation::SendMessage, None), &facts(&g)),
        Err(Denial::SkillRequired)
    );
    let wide = [grant("g1", &["*"])];
    let mut c = ctx(Operation::SendStreamingMessage, None);
    assert_eq!(decide(&c, &facts(&wide)), Err(Denial::SkillRequired));
    c.caller.scopes = vec!["*".into()];
    assert!(decide(&c, &facts(&wide)).is_ok());
}

#[test]
fn operations_need_their_class() {
    let g = [grant("g1", &["echo"])];
    for op in [Operation::CreatePushConfig, Operation::GetExtendedAgentCard] {
        let mut c = ctx(op, None);
        c.task_id = Some("t1".into());
        let f = Facts {
            task_owner: Some("alice"),
            ..facts(&g)
        };
        assert_eq!(
            decide(&c, &f),
            Err(Denial::OperationNotGranted(OpClass::of(op)))
        );
    }
    let mut push = grant("g2", &["echo"]);
    push.operations = vec![OpClass::Push];
    let both = [g[0].clone(), push];
    let mut c = ctx(Operation::CreatePushConfig, None);
    c.task_id = Some("t1".into());
    let f = Facts {
        task_owner: Some("alice"),
        ..facts(&both)
    };
    assert_eq!(decide(&c, &f).map(|a| a.grant), Ok(Some("g2".into())));
}

#[test]
fn foreign_and_missing_tasks_look_the_same() {
    let g = [grant("g1", &["echo"])];
    for op in [
        Operation::GetTask,
        Operation::CancelTask,
        Operation::SubscribeToTask,
        Operation::SendMessage,
    ] {
        let mut c = ctx(op, Some("echo"));
        c.task_id = Some("t1".into());
        let missing = decide(&c, &facts(&g));
        let foreign = decide(
            &c,
            &Facts {
                task_owner: Some("bob"),
                ..facts(&g)
            },
        );
        assert_eq!(missing, Err(Denial::TaskNotFound), "{op:?}");
        assert_eq!(missing, foreign, "{op:?}");
        let own = decide(
            &c,
            &Facts {
                task_owner: Some("alice"),
                ..facts(&g)
            },
        );
        assert!(own.is_ok(), "{op:?}");
    }
}

#[test]
fn a_delegation_grant_reaches_the_owners_tasks() {
    let mut d = grant("g2", &["echo"]);
    d.tasks_of = Some("bob".into());
    let g = [grant("g1", &["echo"]), d];
    let mut c = ctx(Operation::GetTask, None);
    c.task_id = Some("t1".into());
    let f = Facts {
        task_owner: Some("bob"),
        ..facts(&g)
    };
    assert_eq!(
        decide(&c, &f),
        Ok(Allowed {
            grant: Some("g2".into()),
            owner: "bob".into()
        })
    );
    let f = Facts {
        task_owner: Some("carol"),
        ..facts(&g)
    };
    assert_eq!(decide(&c, &f), Err(Denial::TaskNotFound));
}

#[test]
fn another_callers_context_cannot_be_joined() {
    let g = [grant("g1", &["echo"])];
    let mut c = ctx(Operation::SendMessage, Some("echo"));
    c.context_id = Some("c1".into());
    assert!(decide(&c, &facts(&g)).is_ok(), "a new context is fine");
    let mine = Facts {
        context_owner: Some("alice"),
        ..facts(&g)
    };
    assert!(decide(&c, &mine).is_ok());
    let theirs = Facts {
        context_owner: Some("bob"),
        ..facts(&g)
    };
    assert_eq!(decide(&c, &theirs), Err(Denial::ContextNotJoinable));
}

#[test]
fn quarantine_wins_over_everything() {
    let g = [grant("g1", &["*"])];
    let c = ctx(Operation::SendMessage, Some("echo"));
    let f = Facts {
        agent_quarantined: true,
        ..facts(&g)
    };
    assert_eq!(decide(&c, &f), Err(Denial::AgentQuarantined));
    let f = Facts {
        caller_quarantined: true,
        enforce: false,
        ..facts(&g)
    };
    assert_eq!(decide(&c, &f), Err(Denial::CallerQuarantined));
}

#[test]
fn external_callers_are_named_with_their_issuer() {
    let mut c = ctx(Operation::SendMessage, Some("echo"));
    c.caller.local = false;
    c.caller.issuer = "https://idp.example".into();
    let g = [grant("g1", &["echo"])];
    assert_eq!(decide(&c, &facts(&g)), Err(Denial::NoGrant));
    let mut ext = grant("g2", &["echo"]);
    ext.caller = "https://idp.example#alice".into();
    assert!(decide(&c, &facts(&[ext])).is_ok());
}

#[test]
fn referenced_tasks_must_be_visible_like_the_addressed_one() {
    let mut d = grant("g2", &["echo"]);
    d.tasks_of = Some("bob".into());
    let g = [grant("g1", &["echo"]), d];
    let mut c = ctx(Operation::SendMessage, Some("echo"));
    c.referenced_task_ids = vec!["mine".into(), "other".into()];
    let owners = |other: Option<&str>| {
        vec![
            ("mine".to_string(), Some("alice".to_string())),
            ("other".to_string(), other.map(str::to_owned)),
        ]
    };
    let visible = owners(Some("bob"));
    let f = Facts {
        referenced_task_owners: &visible,
        ..facts(&g)
    };
    assert!(decide(&c, &f).is_ok(), "own and delegated tasks");
    // Someone else's task and a missing one get the very same denial.
    let foreign = owners(Some("carol"));
    let missing = owners(None);
    for o in [&foreign, &missing] {
        let f = Facts {
            referenced_task_owners: o,
            ..facts(&g)
        };
        assert_eq!(
            decide(&c, &f),
            Err(Denial::ReferencedTaskNotFound("other".into()))
        );
    }
    // An id never looked up is unknown, not allowed.
    let f = Facts {
        referenced_task_owners: &[],
        ..facts(&g)
    };
    assert_eq!(
        decide(&c, &f),
        Err(Denial::ReferencedTaskNotFound("mine".into()))
    );
}
