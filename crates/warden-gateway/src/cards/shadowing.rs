//! Shadowing at the gateway: each time an agent's verified card is new or
//! changed, its name, title and skills are compared with every other
//! agent's ([`warden_card::shadow`]: UTS #39 skeletons and edit distance).
//! A look-alike the policy (`[shadowing]`) marks `refuse` refuses the card
//! like one that does not verify; `flag` records it (audit kind `card`,
//! outcome `flagged`) and serves the card.

use serde_json::Value;
use warden_card::shadow::{Identity, Lookalike, ShadowPolicy, Verdict, find_lookalikes, title_of};

/// `agent`'s identity as its card states it.
pub fn identity<'a>(agent: &'a str, card: &'a Value) -> Identity<'a> {
    let s = |v: &'a Value, k: &str| v.get(k).and_then(Value::as_str);
    let skills = card
        .get("skills")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    Identity {
        agent,
        card_name: s(card, "name").unwrap_or(agent),
        title: s(card, "description").and_then(title_of),
        skill_ids: skills.iter().filter_map(|k| s(k, "id")).collect(),
        skill_names: skills.iter().filter_map(|k| s(k, "name")).collect(),
    }
}

/// The look-alikes of `agent`'s `card` among `others` (name, card if known).
pub fn lookalikes(
    agent: &str,
    card: &Value,
    others: &[(String, Option<Value>)],
    policy: &ShadowPolicy,
) -> Vec<Lookalike> {
    let empty = Value::Null;
    let others: Vec<Identity<'_>> = others
        .iter()
        .map(|(name, c)| identity(name, c.as_ref().unwrap_or(&empty)))
        .collect();
    find_lookalikes(&identity(agent, card), &others, policy)
}

/// Whether any finding refuses the card.
pub fn refuses(found: &[Lookalike]) -> bool {
    found.iter().any(|l| l.verdict == Verdict::Refuse)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn card(name: &str, skill: &str) -> Value {
        json!({"name": name, "description": format!("The {skill} service. More text."),
               "skills": [{"id": skill, "name": skill}]})
    }

    #[test]
    fn a_look_alike_of_another_agent_is_refused_and_a_distinct_one_is_not() {
        let policy = ShadowPolicy::default();
        let others = vec![(
            "official-payments".to_string(),
            Some(card("official-payments", "pay")),
        )];
        let found = lookalikes(
            "0fficial-payments",
            &card("0fficial-payments", "pay"),
            &others,
            &policy,
        );
        assert!(refuses(&found), "{found:?}");
        let found = lookalikes("weather", &card("weather", "forecast"), &others, &policy);
        assert!(found.is_empty(), "{found:?}");
        // An agent whose card is not known yet is still compared by name.
        let found = lookalikes(
            "paypa1",
            &card("paypa1", "x"),
            &[("paypal".to_string(), None)],
            &policy,
        );
        assert!(!found.is_empty(), "{found:?}");
    }
}
