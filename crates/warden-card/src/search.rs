//! Discovery over cards: which agents offer a skill, carry a tag, or
//! mention some text. Pure: the caller passes only cards it has verified
//! and may show (the gateway: signed by Warden, agent not quarantined).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Longest query value accepted (a query is not a document).
pub const MAX_QUERY_CHARS: usize = 256;

/// What to look for; every given criterion must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Query {
    /// A skill id, exactly.
    pub skill: Option<String>,
    /// A skill tag, ignoring case.
    pub tag: Option<String>,
    /// Words that must all appear (ignoring case) in the card's name,
    /// description, or a skill's id, name, description or tags.
    pub q: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("query parameter {0:?} is empty or longer than {MAX_QUERY_CHARS} characters")]
pub struct QueryError(pub &'static str);

impl Query {
    /// Refuses empty or oversized values.
    pub fn check(&self) -> Result<(), QueryError> {
        for (name, v) in [("skill", &self.skill), ("tag", &self.tag), ("q", &self.q)] {
            if let Some(v) = v
                && (v.trim().is_empty() || v.chars().count() > MAX_QUERY_CHARS)
            {
                return Err(QueryError(name));
            }
        }
        Ok(())
    }

    /// Whether `card` answers the query.
    pub fn matches(&self, card: &Value) -> bool {
        let skills = card
            .get("skills")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if let Some(id) = &self.skill
            && !skills.iter().any(|s| str_at(s, "id") == Some(id.as_str()))
        {
            return false;
        }
        if let Some(tag) = &self.tag {
            let tag = tag.to_lowercase();
            if !skills
                .iter()
                .any(|s| tags(s).any(|t| t.to_lowercase() == tag))
            {
                return false;
            }
        }
        if let Some(q) = &self.q {
            let hay = haystack(card, skills);
            if !q.to_lowercase().split_whitespace().all(|w| hay.contains(w)) {
                return false;
            }
        }
        true
    }
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn tags(skill: &Value) -> impl Iterator<Item = &str> {
    skill
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// Every searchable text of a card, lower-cased, one string.
fn haystack(card: &Value, skills: &[Value]) -> String {
    let mut parts: Vec<&str> = ["name", "description"]
        .iter()
        .filter_map(|k| str_at(card, k))
        .collect();
    for s in skills {
        parts.extend(
            ["id", "name", "description"]
                .iter()
                .filter_map(|k| str_at(s, k)),
        );
        parts.extend(tags(s));
    }
    parts.join("\n").to_lowercase()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn weather() -> Value {
        json!({
            "name": "Weather", "description": "Forecasts for Europe",
            "skills": [{"id": "forecast", "name": "Forecast", "description": "Daily forecast",
                        "tags": ["Weather", "EU"]}]
        })
    }

    fn q(skill: Option<&str>, tag: Option<&str>, text: Option<&str>) -> Query {
        Query {
            skill: skill.map(Into::into),
            tag: tag.map(Into::into),
            q: text.map(Into::into),
        }
    }

    #[test]
    fn every_criterion_must_hold() {
        let c = weather();
        assert!(q(None, None, None).matches(&c));
        assert!(q(Some("forecast"), None, None).matches(&c));
        assert!(
            !q(Some("Forecast"), None, None).matches(&c),
            "ids are exact"
        );
        assert!(q(None, Some("eu"), None).matches(&c));
        assert!(q(None, None, Some("daily EUROPE")).matches(&c));
        assert!(!q(None, None, Some("daily asia")).matches(&c));
        assert!(!q(Some("forecast"), Some("payments"), None).matches(&c));
        assert!(!q(Some("x"), None, None).matches(&json!({"name": "no skills"})));
    }

    #[test]
    fn empty_and_oversized_values_are_refused() {
        assert!(q(Some(" "), None, None).check().is_err());
        assert!(
            q(None, None, Some(&"a".repeat(MAX_QUERY_CHARS + 1)))
                .check()
                .is_err()
        );
        assert!(
            q(Some("forecast"), Some("eu"), Some("daily"))
                .check()
                .is_ok()
        );
    }
}
