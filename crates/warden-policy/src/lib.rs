//! `warden-policy`: whether *this* caller may do *this* operation on *this*
//! skill, task and agent, at *this* rate. No I/O: the gateway looks up the
//! facts (grants, task owners, quarantine) and passes them in, so every
//! decision is a pure function testable without a network.
//!
//! - [`context`]: the typed decision context (caller, operation, agent,
//!   skill, tenant, task, time).
//! - [`skill`]: how a call names its skill (extension, route, single skill).
//! - [`grants`]: per-pair grants and the operation classes they allow.
//! - [`mod@decide`]: the built-in model (quarantine, grants, scopes, ownership).
//! - [`rules`]: policy rules (CEL expressions) for what the model cannot say.
//! - [`ratelimit`]: GCRA limits and stream caps behind a trait.

pub mod context;
pub mod decide;
pub mod grants;
pub mod ratelimit;
pub mod rules;
pub mod skill;

pub use context::{Caller, DecisionContext, PartFact};
pub use decide::{Allowed, Denial, Facts, decide};
pub use grants::{ANY_SKILL, Grant, OpClass};
pub use ratelimit::{
    LocalRateLimiter, Quota, QuotaError, RateDecision, RateLimitError, RateLimiter, StreamPermit,
    StreamSlots,
};
pub use rules::{
    Effect, Explanation, PolicyError, PolicyRules, RuleOutcome, RuleReport, RuleVerdict,
};
pub use skill::{SkillError, SkillInputs, SkillSource};
