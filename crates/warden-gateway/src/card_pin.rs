//! Card pinning: the first verified card of an agent is pinned; a later one
//! that changes only its `version` is pinned in its place (audited); any
//! other change (another signing key, skills, interfaces, schemes, a
//! signature gone, …) raises a review, once per card digest (audit kind
//! `card`, outcome `held`), and the pinned card keeps being served until an
//! operator approves (`warden registry approve ID`).

use std::net::{IpAddr, Ipv4Addr};

use serde_json::Value;
use warden_a2a::{A2aError, ErrorKind};
use warden_store::{CardPin, CardReview, Store};
use warden_trust::card_signature::{CanonicalForm, canonical_payload};
use warden_trust::jcs::JcsLimits;

use crate::audit::{AuditEvent, AuditSink, Outcome};

/// SHA-256 hex of the card's RFC 8785 form, without signatures.
pub fn digest(card: &Value) -> Option<String> {
    let canonical = canonical_payload(
        card.to_string().as_bytes(),
        CanonicalForm::Rfc8785,
        JcsLimits::default(),
    )
    .ok()?;
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &canonical);
    Some(d.as_ref().iter().map(|b| format!("{b:02x}")).collect())
}

/// What differs between the pinned card and a new one: top-level members by
/// name, and `signing key` when the keys differ.
pub fn changes(
    pinned: &Value,
    fresh: &Value,
    pinned_keys: &[String],
    keys: &[String],
) -> Vec<String> {
    let empty = serde_json::Map::new();
    let (a, b) = (
        pinned.as_object().unwrap_or(&empty),
        fresh.as_object().unwrap_or(&empty),
    );
    let mut names: Vec<&String> = a.keys().chain(b.keys()).collect();
    names.sort();
    names.dedup();
    let mut out: Vec<String> = names
        .into_iter()
        .filter(|n| n.as_str() != "signatures" && a.get(*n) != b.get(*n))
        .cloned()
        .collect();
    if pinned_keys != keys {
        out.push(if keys.is_empty() {
            "signature gone".into()
        } else {
            "signing key".into()
        });
    }
    out
}

fn unavailable(agent: &str) -> A2aError {
    A2aError::new(
        ErrorKind::Unavailable,
        format!("the card pin of agent {agent:?} could not be read"),
    )
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(crate) fn event(agent: &str, outcome: Outcome, reason: &str, detail: Value) -> AuditEvent {
    let mut e = AuditEvent::new(Some(agent), IpAddr::V4(Ipv4Addr::UNSPECIFIED), outcome)
        .with_reason(reason);
    e.kind = "card";
    e.detail = Some(detail);
    e
}

/// The card to serve for `agent` given the verified `fresh` one (known
/// fields, no signatures) signed by `keys` (thumbprints, sorted).
pub async fn settle(
    store: &Store,
    audit: &AuditSink,
    agent: &str,
    fresh: Value,
    keys: Vec<String>,
) -> Result<Value, A2aError> {
    let digest = digest(&fresh).ok_or_else(|| unavailable(agent))?;
    let thumbprints = Value::from(keys.clone()).to_string();
    let pin = |card: &Value| CardPin {
        agent: agent.to_string(),
        digest: digest.clone(),
        card: card.to_string(),
        key_thumbprints: thumbprints.clone(),
        pinned_at: now(),
    };
    let pinned = store.card_pin(agent).await.map_err(|e| {
        tracing::error!(agent, error = %e, "card pin lookup failed");
        unavailable(agent)
    })?;
    let Some(pinned) = pinned else {
        store
            .put_card_pin(&pin(&fresh))
            .await
            .map_err(|_| unavailable(agent))?;
        tracing::info!(agent, digest, "pinned the agent's card");
        return Ok(fresh);
    };
    let pinned_keys: Vec<String> =
        serde_json::from_str(&pinned.key_thumbprints).unwrap_or_default();
    if pinned.digest == digest && pinned_keys == keys {
        return Ok(fresh);
    }
    let old: Value = serde_json::from_str(&pinned.card).map_err(|_| unavailable(agent))?;
    let changed = changes(&old, &fresh, &pinned_keys, &keys);
    if changed == ["version"] {
        store
            .put_card_pin(&pin(&fresh))
            .await
            .map_err(|_| unavailable(agent))?;
        audit.emit(&event(
            agent,
            Outcome::CardRepinned,
            "version",
            serde_json::json!({"from": old.get("version"), "to": fresh.get("version"), "digest": digest}),
        ));
        return Ok(fresh);
    }
    let review = CardReview {
        id: uuid::Uuid::new_v4().to_string(),
        agent: agent.to_string(),
        digest: digest.clone(),
        card: fresh.to_string(),
        key_thumbprints: thumbprints.clone(),
        changes: Value::from(changed.clone()).to_string(),
        status: "pending".into(),
        raised_at: now(),
        decided_at: None,
    };
    match store.raise_card_review(&review).await {
        Ok(true) => {
            tracing::warn!(agent, review = %review.id, changes = ?changed, "the agent's card changed: held for review, the pinned card is served");
            audit.emit(&event(
                agent,
                Outcome::CardHeld,
                "card_changed",
                serde_json::json!({"review": review.id, "changes": changed, "digest": digest}),
            ));
        }
        Ok(false) => {}
        Err(e) => tracing::error!(agent, error = %e, "cannot record a card review"),
    }
    Ok(old)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changes_name_members_and_keys() {
        let a = json!({"name": "a", "version": "1", "skills": [{"id": "x"}]});
        let b = json!({"name": "a", "version": "2", "skills": [{"id": "x"}]});
        let k = vec!["k1".to_string()];
        assert_eq!(changes(&a, &b, &k, &k), ["version"]);
        let c = json!({"name": "a", "version": "2", "skills": []});
        assert_eq!(
            changes(&a, &c, &k, &["k2".into()]),
            ["skills", "version", "signing key"]
        );
        assert_eq!(changes(&a, &a, &k, &[]), ["signature gone"]);
        assert_eq!(
            digest(&a),
            digest(&json!({"version": "1", "skills": [{"id": "x"}], "name": "a"}))
        );
        assert_ne!(digest(&a), digest(&b));
    }
}
