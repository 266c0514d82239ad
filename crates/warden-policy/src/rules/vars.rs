//! The variables an expression sees, and how one request becomes them.
//!
//! Values borrow from the [`DecisionContext`] wherever CEL allows (strings
//! are not copied), and only the variables some rule references are bound:
//! a policy that never looks at `parts` never builds the parts list.

use std::collections::HashMap;

use cel::Context;
use cel::common::types::{
    CelBool, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, CelTimestamp,
};
use cel::common::value::Val;
use warden_a2a::PartKind;

use crate::context::{DecisionContext, PartFact};

/// One top-level variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Var {
    Caller,
    Agent,
    Operation,
    Binding,
    Skill,
    Tenant,
    TaskId,
    ContextId,
    Parts,
    Extensions,
    Now,
    NowUnix,
}

impl Var {
    const ALL: [Var; 12] = [
        Var::Caller,
        Var::Agent,
        Var::Operation,
        Var::Binding,
        Var::Skill,
        Var::Tenant,
        Var::TaskId,
        Var::ContextId,
        Var::Parts,
        Var::Extensions,
        Var::Now,
        Var::NowUnix,
    ];

    /// For error messages.
    pub fn names() -> String {
        Var::ALL.map(Var::name).join(", ")
    }

    pub fn name(self) -> &'static str {
        match self {
            Var::Caller => "caller",
            Var::Agent => "agent",
            Var::Operation => "operation",
            Var::Binding => "binding",
            Var::Skill => "skill",
            Var::Tenant => "tenant",
            Var::TaskId => "task_id",
            Var::ContextId => "context_id",
            Var::Parts => "parts",
            Var::Extensions => "extensions",
            Var::Now => "now",
            Var::NowUnix => "now_unix",
        }
    }

    pub fn from_name(name: &str) -> Option<Var> {
        Var::ALL.into_iter().find(|var| var.name() == name)
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// The fields of `caller`, for the load-time check of `caller.x`.
pub(super) const CALLER_FIELDS: &[&str] = &[
    "subject",
    "issuer",
    "key",
    "local",
    "scopes",
    "method",
    "source",
    "peer_uris",
];

/// The fields of an element of `parts`.
pub(super) const PART_FIELDS: &[&str] = &["kind", "size", "media_type"];

/// A set of variables, as a bit set: built once per policy, read per call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct VarSet(u16);

impl VarSet {
    pub fn insert(&mut self, var: Var) {
        self.0 |= var.bit();
    }

    pub fn union(self, other: VarSet) -> VarSet {
        VarSet(self.0 | other.0)
    }

    fn contains(self, var: Var) -> bool {
        self.0 & var.bit() != 0
    }
}

type Boxed<'v> = Box<dyn Val + 'v>;

/// The CEL context for one request: a scope under `root` (which holds the
/// document's functions) with the variables in `used` bound.
pub(super) fn activation<'p, 'v>(
    root: &'p Context<'static, 'static>,
    used: VarSet,
    ctx: &'v DecisionContext,
) -> Context<'p, 'v> {
    let root: &'p Context<'p, 'v> = root;
    let mut activation = root.new_inner_scope();
    for var in Var::ALL {
        if used.contains(var) {
            activation.add_variable_as_val(var.name(), value(var, ctx));
        }
    }
    activation
}

fn value<'v>(var: Var, ctx: &'v DecisionContext) -> Boxed<'v> {
    match var {
        Var::Caller => caller(ctx),
        Var::Agent => string(&ctx.agent),
        Var::Operation => string(ctx.operation.name()),
        Var::Binding => string(ctx.binding.as_str()),
        Var::Skill => optional(ctx.skill.as_deref()),
        Var::Tenant => optional(ctx.tenant.as_deref()),
        Var::TaskId => optional(ctx.task_id.as_deref()),
        Var::ContextId => optional(ctx.context_id.as_deref()),
        Var::Parts => Box::new(CelList::from(
            ctx.parts.iter().map(part).collect::<Vec<_>>(),
        )),
        Var::Extensions => strings(&ctx.extensions),
        Var::Now => now(ctx.now),
        // `now` is u64 seconds; past i64::MAX (year 292 billion) it cannot be
        // an int, and null makes any rule using it fail, hence deny.
        Var::NowUnix => match i64::try_from(ctx.now) {
            Ok(secs) => Box::new(CelInt::from(secs)),
            Err(_) => Box::new(CelNull),
        },
    }
}

fn caller<'v>(ctx: &'v DecisionContext) -> Boxed<'v> {
    let caller = &ctx.caller;
    map([
        ("subject", string(&caller.subject)),
        ("issuer", string(&caller.issuer)),
        ("key", Box::new(CelString::from(caller.key()))),
        ("local", Box::new(CelBool::from(caller.local))),
        ("scopes", strings(&caller.scopes)),
        ("method", string(caller.method)),
        (
            "source",
            Box::new(CelString::from(caller.source.to_string())),
        ),
        ("peer_uris", strings(&caller.peer_uris)),
    ])
}

fn part(part: &PartFact) -> Boxed<'_> {
    let kind = match part.kind {
        PartKind::Text => "text",
        PartKind::Raw => "raw",
        PartKind::Url => "url",
        PartKind::Data => "data",
    };
    // Sizes are bounded by the request size cap; saturate rather than wrap.
    let size = i64::try_from(part.size).unwrap_or(i64::MAX);
    map([
        ("kind", string(kind)),
        ("size", Box::new(CelInt::from(size))),
        ("media_type", optional(part.media_type.as_deref())),
    ])
}

fn now(secs: u64) -> Boxed<'static> {
    let time = i64::try_from(secs)
        .ok()
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0));
    match time {
        Some(time) => Box::new(CelTimestamp::from(time.fixed_offset())),
        None => Box::new(CelNull),
    }
}

fn map<'v, const N: usize>(fields: [(&'static str, Boxed<'v>); N]) -> Boxed<'v> {
    let fields: HashMap<CelMapKey<'v>, Boxed<'v>> = fields
        .into_iter()
        .map(|(key, value)| (CelMapKey::from(key), value))
        .collect();
    Box::new(CelMap::from(fields))
}

fn string(s: &str) -> Boxed<'_> {
    Box::new(CelString::from(s))
}

fn optional(s: Option<&str>) -> Boxed<'_> {
    match s {
        Some(s) => string(s),
        None => Box::new(CelNull),
    }
}

fn strings(list: &[String]) -> Boxed<'_> {
    Box::new(CelList::from(
        list.iter().map(|s| string(s)).collect::<Vec<_>>(),
    ))
}
