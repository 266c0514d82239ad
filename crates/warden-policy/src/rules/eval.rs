//! Running the rules over one request, and what comes out: a verdict, and
//! for `warden policy explain`, what each rule did.

use cel::{Context, Value};
use serde::Serialize;

use super::PolicyRules;
use super::compile::CompiledRule;
use super::config::Effect;
use super::vars;

/// The outcome of the policy rules for one request.
///
/// `reason` is for the operator (audit log, `explain`): an evaluation error
/// in it may quote request values, so do not send it to the caller verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleVerdict {
    pub effect: Effect,
    /// The rule that decided; `None` when the document's `default` did.
    pub rule: Option<String>,
    pub reason: String,
}

impl RuleVerdict {
    /// Whether the call may go on (to the next check: rules are one layer).
    pub fn is_allowed(&self) -> bool {
        self.effect == Effect::Allow
    }
}

/// What one rule did for one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RuleOutcome {
    /// The expression was true.
    Matched,
    /// The expression was false.
    NotMatched,
    /// The expression failed, or was not a bool: the call was denied here.
    Errored { error: String },
    /// The decision was made before this rule was reached.
    NotEvaluated,
}

/// One line of an [`Explanation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleReport {
    pub name: String,
    pub effect: Effect,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Serialised inline: `"outcome": "errored", "error": "…"`.
    #[serde(flatten)]
    pub outcome: RuleOutcome,
}

/// The verdict, and each rule's outcome in document order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub verdict: RuleVerdict,
    /// The document's `default`, which decides when no rule does.
    pub default: Effect,
    pub rules: Vec<RuleReport>,
}

impl PolicyRules {
    /// Decides one request. See the module documentation for the order.
    pub fn evaluate(&self, ctx: &crate::DecisionContext) -> RuleVerdict {
        self.run(ctx, |_, _| {})
    }

    /// Decides one request and reports what each rule did. Evaluates exactly
    /// what [`evaluate`](Self::evaluate) does, so "not evaluated" is true to
    /// the decision.
    pub fn explain(&self, ctx: &crate::DecisionContext) -> Explanation {
        let mut outcomes = vec![RuleOutcome::NotEvaluated; self.rules.len()];
        let verdict = self.run(ctx, |index, outcome| {
            if let Some(slot) = outcomes.get_mut(index) {
                *slot = outcome;
            }
        });
        let rules = self
            .rules
            .iter()
            .zip(outcomes)
            .map(|(rule, outcome)| RuleReport {
                name: rule.name.clone(),
                effect: rule.effect,
                description: rule.description.clone(),
                outcome,
            })
            .collect();
        Explanation {
            verdict,
            default: self.default,
            rules,
        }
    }

    /// Deny rules first, then allow rules, each in document order; the first
    /// that matches or fails decides.
    fn run(
        &self,
        ctx: &crate::DecisionContext,
        mut record: impl FnMut(usize, RuleOutcome),
    ) -> RuleVerdict {
        let activation = vars::activation(&self.root, self.uses, ctx);
        for phase in [Effect::Deny, Effect::Allow] {
            let rules = self.rules.iter().enumerate();
            for (index, rule) in rules.filter(|(_, rule)| rule.effect == phase) {
                match test(rule, &activation) {
                    Ok(false) => record(index, RuleOutcome::NotMatched),
                    Ok(true) => {
                        record(index, RuleOutcome::Matched);
                        return RuleVerdict {
                            effect: phase,
                            rule: Some(rule.name.clone()),
                            reason: format!("{} rule {:?} matched", phase.as_str(), rule.name),
                        };
                    }
                    Err(error) => {
                        let reason = format!("rule {:?} failed: {error}", rule.name);
                        record(index, RuleOutcome::Errored { error });
                        return RuleVerdict {
                            effect: Effect::Deny,
                            rule: Some(rule.name.clone()),
                            reason,
                        };
                    }
                }
            }
        }
        let reason = match self.default {
            Effect::Allow => "no deny rule matched",
            Effect::Deny => "no allow rule matched",
        };
        RuleVerdict {
            effect: self.default,
            rule: None,
            reason: reason.to_owned(),
        }
    }
}

/// At most this many bytes of an evaluation error are kept: CEL quotes
/// values in some errors, and a request value may be large.
const MAX_ERROR_LEN: usize = 256;

/// The rule's expression as a bool; anything else is an error, so that a
/// rule which does not say "true" never counts as having matched.
fn test(rule: &CompiledRule, activation: &Context<'_, '_>) -> Result<bool, String> {
    match activation.resolve(&rule.expr) {
        Ok(Value::Bool(matched)) => Ok(matched),
        Ok(other) => Err(format!("the expression is {}, not a bool", other.type_of())),
        Err(error) => Err(truncate(error.to_string())),
    }
}

fn truncate(mut text: String) -> String {
    if text.len() > MAX_ERROR_LEN {
        let mut end = MAX_ERROR_LEN;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}
