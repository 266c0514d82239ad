//! The policy document as written: TOML, unknown keys refused.

use serde::{Deserialize, Serialize};

use super::PolicyError;

/// At most this many rules: every rule may run on every call, so the cap
/// bounds the per-call cost as much as it catches generated documents gone
/// wrong.
pub const MAX_RULES: usize = 256;

/// At most this many bytes of expression per rule.
pub const MAX_EXPRESSION_LEN: usize = 4096;

/// At most this many bytes of rule name: names go into audit records and
/// metrics labels.
pub const MAX_NAME_LEN: usize = 64;

/// What a rule does when its expression is true, and what happens when no
/// rule decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    Allow,
    Deny,
}

impl Effect {
    /// `allow` or `deny`, as written in the document.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Document {
    /// Rules only restrict by default: an operator adding a first deny rule
    /// should not have to write an allow-everything rule too.
    #[serde(default = "default_effect")]
    pub default: Effect,
    #[serde(default)]
    pub rule: Vec<RuleConfig>,
}

fn default_effect() -> Effect {
    Effect::Allow
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleConfig {
    pub name: String,
    pub effect: Effect,
    pub when: String,
    #[serde(default)]
    pub description: Option<String>,
}

impl Document {
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let doc: Document = toml::from_str(text)?;
        if doc.rule.len() > MAX_RULES {
            return Err(PolicyError::TooManyRules {
                count: doc.rule.len(),
                max: MAX_RULES,
            });
        }
        let mut seen = std::collections::HashSet::new();
        for (index, rule) in doc.rule.iter().enumerate() {
            if !is_valid_name(&rule.name) {
                return Err(PolicyError::InvalidName {
                    index: index + 1,
                    name: rule.name.clone(),
                });
            }
            if !seen.insert(rule.name.as_str()) {
                return Err(PolicyError::DuplicateName {
                    name: rule.name.clone(),
                });
            }
            if rule.when.len() > MAX_EXPRESSION_LEN {
                return Err(PolicyError::ExpressionTooLong {
                    rule: rule.name.clone(),
                    len: rule.when.len(),
                    max: MAX_EXPRESSION_LEN,
                });
            }
        }
        Ok(doc)
    }
}

/// Id-like: safe to print unquoted in logs, tables and metric labels.
fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    starts_with_letter
        && name.len() <= MAX_NAME_LEN
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}
