//! How a call names its skill. A2A messages do not, so Warden defines three
//! ways, checked in this order and required to agree:
//!
//! 1. the Warden skill extension: `message.metadata["urn:warden:a2a:skill:v1"]`
//!    holds the skill id, and the URI is listed in `message.extensions`;
//! 2. the per-skill route `/agents/{name}/skills/{skill}/…`;
//! 3. an agent whose card lists exactly one skill implies it.
//!
//! A named skill is not checked against the card: an agent may have skills
//! its public card does not show (its extended card), and the grant and the
//! scope decide what a caller may use anyway.

use serde_json::Value;
use warden_a2a::SKILL_EXTENSION;

/// Where the skill came from (for the audit trail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkillSource {
    Extension,
    Route,
    OnlySkill,
}

impl SkillSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Extension => "extension",
            Self::Route => "route",
            Self::OnlySkill => "only-skill",
        }
    }
}

/// A skill named in a way Warden cannot accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkillError {
    #[error("metadata[{SKILL_EXTENSION:?}] must be a skill id (a non-empty string)")]
    NotAString,
    #[error("metadata names a skill, so message.extensions must list {SKILL_EXTENSION:?}")]
    NotListed,
    #[error("message.extensions lists {SKILL_EXTENSION:?} but metadata names no skill")]
    Missing,
    #[error("the message names skill {named:?} but the route names {route:?}")]
    Conflict { named: String, route: String },
}

/// What is known when the skill is determined.
#[derive(Debug, Clone, Copy, Default)]
pub struct SkillInputs<'a> {
    /// `message.metadata[SKILL_EXTENSION]`, as sent (message calls only).
    pub metadata: Option<&'a Value>,
    /// `message.extensions`.
    pub extensions: &'a [String],
    /// The `{skill}` of a per-skill route.
    pub route: Option<&'a str>,
    /// The skill ids of the agent's public card, when it is known (only to
    /// imply a single skill).
    pub card_skills: Option<&'a [String]>,
}

/// The skill a call names, if any.
pub fn determine(input: SkillInputs<'_>) -> Result<Option<(String, SkillSource)>, SkillError> {
    let listed = input.extensions.iter().any(|e| e == SKILL_EXTENSION);
    let named = match input.metadata {
        Some(Value::String(s)) if !s.is_empty() => {
            if !listed {
                return Err(SkillError::NotListed);
            }
            Some(s.clone())
        }
        Some(_) => return Err(SkillError::NotAString),
        None if listed => return Err(SkillError::Missing),
        None => None,
    };
    Ok(match (named, input.route) {
        (Some(n), Some(r)) if n != r => {
            return Err(SkillError::Conflict {
                named: n,
                route: r.to_string(),
            });
        }
        (Some(n), _) => Some((n, SkillSource::Extension)),
        (None, Some(r)) => Some((r.to_string(), SkillSource::Route)),
        (None, None) => match input.card_skills {
            Some([only]) => Some((only.clone(), SkillSource::OnlySkill)),
            _ => None,
        },
    })
}

#[cfg(test)]
mod tests;
