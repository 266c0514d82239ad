//! Policy rules: operator-written [CEL] expressions over the decision
//! context, for what the built-in model (grants, scopes, ownership) cannot
//! say.
//!
//! # The document
//!
//! ```toml
//! # When no rule decides: "allow" (rules only restrict; the default) or
//! # "deny" (some allow rule must match).
//! default = "allow"
//!
//! [[rule]]
//! name = "no-raw-files-to-payments"   # unique; a letter, then [A-Za-z0-9._-], ≤ 64
//! effect = "deny"                     # or "allow"
//! when = 'agent == "payments" && parts.exists(p, p.kind == "raw")'
//! description = "optional free text"
//! ```
//!
//! Loading is all or nothing. It refuses unknown keys, more than 256 rules,
//! an expression over 4096 bytes or nested more than 32 levels deep
//! ([`MAX_DEPTH`], which keeps evaluation within a small thread stack), a
//! syntax error (with line and column within the expression), an unknown
//! variable (`agnet`), an unknown field of `caller` or of a part
//! (`caller.subjet`, `p.knd`) and an invalid literal regular expression in
//! `matches()`. Misspelt *functions* are not caught at load (the `cel` crate
//! has no checker for them): such a rule fails when evaluated, which denies.
//!
//! # Evaluation
//!
//! 1. Deny rules, in document order: the first that is true denies.
//! 2. Allow rules, in document order: the first that is true allows.
//! 3. Otherwise the document's `default` decides (rule `None`).
//!
//! A rule whose evaluation fails, or whose result is not a bool, denies at
//! once, naming the rule: deny overrides allow, and any evaluation error
//! denies. Allow rules are evaluated under `default = "allow"` too, so the
//! verdict names the matching one for the audit log, and a broken allow rule
//! shows up whatever the default. CEL's `&&` and `||` absorb errors as in
//! other CEL implementations: `error || true` is `true`.
//!
//! # Variables
//!
//! | variable | CEL type | value |
//! |---|---|---|
//! | `caller.subject` | string | the verified `sub` (or API key subject, or `anonymous`) |
//! | `caller.issuer` | string | the token issuer |
//! | `caller.key` | string | the subject for Warden's own issuer, else `ISSUER#SUBJECT` |
//! | `caller.local` | bool | whether the issuer is Warden's own |
//! | `caller.scopes` | list(string) | the credential's scopes |
//! | `caller.method` | string | `bearer`, `dpop`, `api_key` or `anonymous` |
//! | `caller.source` | string | the client IP address, e.g. `192.0.2.7` or `2001:db8::1` |
//! | `caller.peer_uris` | list(string) | SAN URIs of the verified client certificate |
//! | `agent` | string | the target agent (route name) |
//! | `operation` | string | the A2A v1.0 operation name, e.g. `SendMessage` |
//! | `binding` | string | `jsonrpc` or `rest` |
//! | `skill` | string or null | the skill the call names |
//! | `tenant` | string or null | |
//! | `task_id` | string or null | the task addressed or continued |
//! | `context_id` | string or null | the context addressed or joined |
//! | `parts` | list(map) | the message's parts: `kind` (`text`, `raw`, `url`, `data`), `size` (int, bytes), `media_type` (string or null) |
//! | `extensions` | list(string) | `message.extensions` |
//! | `now` | timestamp | the decision time (UTC), e.g. `now.getHours() < 6` |
//! | `now_unix` | int | the same, in seconds since the Unix epoch |
//!
//! Null fields compare with `== null`; calling a function on one (`size(skill)`
//! when there is no skill) fails, which denies: guard with `skill != null &&`.
//! The standard CEL library is available, with `matches()` (RE2-like syntax
//! of the `regex` crate) and timestamps and durations.
//!
//! [CEL]: https://cel.dev

mod compile;
mod config;
mod error;
mod eval;
mod patterns;
mod vars;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

use cel::{Context, Env};

pub use config::{Effect, MAX_EXPRESSION_LEN, MAX_NAME_LEN, MAX_RULES};
pub use error::PolicyError;
pub use eval::{Explanation, RuleOutcome, RuleReport, RuleVerdict};

use compile::CompiledRule;
pub use compile::MAX_DEPTH;
use patterns::Patterns;
use vars::VarSet;

/// The loader thread's stack. In a debug build, 95 nested lists (the parser
/// refuses 96) overflowed 16 MiB and parsed in 32 MiB. Only the pages used
/// are committed.
const LOADER_STACK: usize = 64 << 20;

/// A loaded policy document: every expression parsed and checked. Cheap to
/// share (`Arc<PolicyRules>`) and to evaluate from many tasks at once.
pub struct PolicyRules {
    default: Effect,
    rules: Vec<CompiledRule>,
    /// Every variable some rule reads: each call binds these and no others.
    uses: VarSet,
    /// The CEL environment and the document's precompiled patterns; each
    /// call evaluates in a scope of its own under it.
    root: Context<'static, 'static>,
}

impl PolicyRules {
    /// No rules, default allow: the rules layer lets everything through to
    /// the other checks.
    pub fn empty() -> Self {
        Self {
            default: Effect::Allow,
            rules: Vec::new(),
            uses: VarSet::default(),
            root: Context::with_env(Arc::new(Env::stdlib())),
        }
    }

    /// Parses and checks a policy document; see the module documentation for
    /// what is refused.
    ///
    /// Runs on a short-lived thread of its own: the CEL parser (generated by
    /// ANTLR) needs up to ~30 MiB of stack for a deeply nested expression in
    /// a debug build (20 nested parentheses overflowed a 2 MiB stack), more
    /// than a caller's thread may have.
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        std::thread::scope(|scope| {
            let loader = std::thread::Builder::new()
                .name("policy-load".into())
                .stack_size(LOADER_STACK)
                .spawn_scoped(scope, || Self::load(text))
                .map_err(PolicyError::Thread)?;
            loader
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    fn load(text: &str) -> Result<Self, PolicyError> {
        let document = config::Document::parse(text)?;
        let env = Arc::new(Env::stdlib());
        let mut patterns = Patterns::default();
        let rules = document
            .rule
            .into_iter()
            .map(|rule| compile::compile(&env, &mut patterns, rule))
            .collect::<Result<Vec<_>, _>>()?;
        let mut root = Context::with_env(env);
        patterns.install(&mut root)?;
        let uses = rules
            .iter()
            .fold(VarSet::default(), |uses, rule| uses.union(rule.uses));
        Ok(Self {
            default: document.default,
            rules,
            uses,
            root,
        })
    }

    /// What happens when no rule decides.
    pub fn default_effect(&self) -> Effect {
        self.default
    }

    /// The number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules (the default then decides every call).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rule names, in document order.
    pub fn rule_names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|rule| rule.name.as_str())
    }
}

impl Default for PolicyRules {
    fn default() -> Self {
        Self::empty()
    }
}

// `cel::Context` is not `Debug`; the rules are what matters.
impl fmt::Debug for PolicyRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rules: Vec<_> = self
            .rules
            .iter()
            .map(|rule| (rule.name.as_str(), rule.effect, rule.when.as_str()))
            .collect();
        f.debug_struct("PolicyRules")
            .field("default", &self.default)
            .field("rules", &rules)
            .finish()
    }
}
