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

use super::check::{self, Verdict};
use crate::audit::{AuditEvent, AuditSink, Outcome};
use crate::config::CardLintPolicy;

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

/// Marks, in a pinned card, the origin of the agent's configured `url`:
/// Warden (or the operator) chose that address, so it is not part of what
/// identifies the agent, and moving it (a new port after `warden up` is
/// started again, an edited configuration) is not a card change.
pub const CONFIGURED_ORIGIN: &str = "warden:configured-origin";

/// `card` with every URL at `base`'s origin written under
/// [`CONFIGURED_ORIGIN`] (the form pins and reviews hold).
pub fn relativise(card: &Value, base: &url::Url) -> Value {
    // Only the exact serialisation of the origin, followed by a path, query
    // or nothing: an origin spelt another way (case, default port) stays as
    // it is, and so counts as a change.
    let origin = base.origin().ascii_serialization();
    map_strings(card, &|s| {
        s.strip_prefix(origin.as_str())
            .filter(|rest| rest.is_empty() || rest.starts_with(['/', '?', '#']))
            .map(|rest| format!("{CONFIGURED_ORIGIN}{rest}"))
    })
}

/// The inverse of [`relativise`] for `base`.
pub fn absolutise(card: &Value, base: &url::Url) -> Value {
    let origin = base.origin().ascii_serialization();
    map_strings(card, &|s| {
        s.strip_prefix(CONFIGURED_ORIGIN)
            .map(|rest| format!("{origin}{rest}"))
    })
}

fn map_strings(v: &Value, f: &dyn Fn(&str) -> Option<String>) -> Value {
    match v {
        Value::String(s) => Value::String(f(s).unwrap_or_else(|| s.clone())),
        Value::Array(items) => Value::Array(items.iter().map(|i| map_strings(i, f)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, i)| (k.clone(), map_strings(i, f)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Whom a card belongs to and how it is judged.
pub struct Subject<'a> {
    pub agent: &'a str,
    /// The agent's configured `url` (see [`CONFIGURED_ORIGIN`]).
    pub base: Option<&'a url::Url>,
    pub policy: CardLintPolicy,
}

/// The card a lint holds is refused like an untrusted one.
pub fn lint_refused(agent: &str) -> A2aError {
    A2aError::new(
        ErrorKind::UpstreamUnavailable,
        format!(
            "agent {agent:?} is unavailable: its card failed Warden's checks and is held for review (card_lint)"
        ),
    )
    .with("card", "card_lint")
}

/// The card to serve for `who` given the verified `fresh` one (known
/// fields, no signatures) signed by `keys` (thumbprints, sorted): checked by
/// [`super::check`], pinned, or held for review.
pub async fn settle(
    store: &Store,
    audit: &AuditSink,
    who: &Subject<'_>,
    fresh: Value,
    keys: Vec<String>,
) -> Result<Value, A2aError> {
    let agent = who.agent;
    let to_pin = |card: &Value| match who.base {
        Some(b) => relativise(card, b),
        None => card.clone(),
    };
    let from_pin = |card: &Value| match who.base {
        Some(b) => absolutise(card, b),
        None => card.clone(),
    };
    let form = to_pin(&fresh);
    let digest = digest(&form).ok_or_else(|| unavailable(agent))?;
    let thumbprints = Value::from(keys.clone()).to_string();
    let pin = |card: &Value| CardPin {
        agent: agent.to_string(),
        digest: digest.clone(),
        card: card.to_string(),
        key_thumbprints: thumbprints.clone(),
        pinned_at: now(),
    };
    let approved = |d: &str| {
        let d = d.to_string();
        async move {
            store
                .card_review_status(agent, &d)
                .await
                .map(|s| s.as_deref() == Some("approved"))
                .map_err(|_| unavailable(agent))
        }
    };
    let verdict = check::check(agent, &fresh, who.policy, approved(&digest).await?);
    let pinned = store.card_pin(agent).await.map_err(|e| {
        tracing::error!(agent, error = %e, "card pin lookup failed");
        unavailable(agent)
    })?;
    let review = |changes: Vec<String>| CardReview {
        id: uuid::Uuid::new_v4().to_string(),
        agent: agent.to_string(),
        digest: digest.clone(),
        card: form.to_string(),
        key_thumbprints: thumbprints.clone(),
        changes: Value::from(changes).to_string(),
        status: "pending".into(),
        raised_at: now(),
        decided_at: None,
    };
    let Some(pinned) = pinned else {
        return match verdict {
            Verdict::Serve(served) => {
                store
                    .put_card_pin(&pin(&form))
                    .await
                    .map_err(|_| unavailable(agent))?;
                tracing::info!(agent, digest, "pinned the agent's card");
                Ok(served)
            }
            Verdict::Hold(findings) => {
                hold(
                    store,
                    audit,
                    agent,
                    &review(Verdict::reasons(&findings)),
                    "card_lint",
                )
                .await;
                Err(lint_refused(agent))
            }
        };
    };
    let pinned_keys: Vec<String> =
        serde_json::from_str(&pinned.key_thumbprints).unwrap_or_default();
    let same = pinned.digest == digest && pinned_keys == keys;
    let old: Value = serde_json::from_str(&pinned.card).map_err(|_| unavailable(agent))?;
    let changed = changes(&old, &form, &pinned_keys, &keys);
    match verdict {
        Verdict::Serve(served) if same => return Ok(served),
        Verdict::Serve(served) if changed == ["version"] => {
            store
                .put_card_pin(&pin(&form))
                .await
                .map_err(|_| unavailable(agent))?;
            audit.emit(&event(
                agent,
                Outcome::CardRepinned,
                "version",
                serde_json::json!({"from": old.get("version"), "to": fresh.get("version"), "digest": digest}),
            ));
            return Ok(served);
        }
        Verdict::Serve(_) => {
            hold(store, audit, agent, &review(changed), "card_changed").await;
        }
        Verdict::Hold(findings) => {
            let mut reasons = if same { Vec::new() } else { changed };
            reasons.extend(Verdict::reasons(&findings));
            hold(store, audit, agent, &review(reasons), "card_lint").await;
            if same {
                // Pinned before it was linted (an earlier Warden), never
                // approved: not served until an operator approves it.
                return Err(lint_refused(agent));
            }
        }
    }
    // The pinned card is served meanwhile, if it passes the checks itself.
    let old_abs = from_pin(&old);
    match check::check(agent, &old_abs, who.policy, approved(&pinned.digest).await?) {
        Verdict::Serve(served) => Ok(served),
        Verdict::Hold(_) => Err(lint_refused(agent)),
    }
}

/// Raises review `r` (once per digest) and records why.
async fn hold(store: &Store, audit: &AuditSink, agent: &str, r: &CardReview, reason: &str) {
    match store.raise_card_review(r).await {
        Ok(true) => {
            tracing::warn!(agent, review = %r.id, reason, changes = %r.changes, "the agent's card is held for review");
            let changes: Value = serde_json::from_str(&r.changes).unwrap_or_default();
            audit.emit(&event(
                agent,
                Outcome::CardHeld,
                reason,
                serde_json::json!({"review": r.id, "changes": changes, "digest": r.digest}),
            ));
        }
        Ok(false) => {}
        Err(e) => tracing::error!(agent, error = %e, "cannot record a card review"),
    }
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

    #[test]
    fn the_configured_origin_is_not_part_of_the_pin() {
        let card = |port: u16| {
            json!({"name": "echo", "supportedInterfaces": [
                {"url": format!("http://127.0.0.1:{port}/"), "protocolBinding": "JSONRPC"},
                {"url": format!("http://127.0.0.1:{port}/rest?x=1"), "protocolBinding": "HTTP+JSON"},
                {"url": "http://127.0.0.1:40001/", "protocolBinding": "JSONRPC"},
                {"url": "http://other.example/", "protocolBinding": "JSONRPC"}
            ], "iconUrl": format!("http://127.0.0.1:{port}/icon.png")})
        };
        let base = |port: u16| url::Url::parse(&format!("http://127.0.0.1:{port}")).expect("url");
        let (a, b) = (
            relativise(&card(4000), &base(4000)),
            relativise(&card(5000), &base(5000)),
        );
        assert_eq!(digest(&a), digest(&b), "a new port of the configured url");
        assert_eq!(
            a["supportedInterfaces"][0]["url"],
            "warden:configured-origin/"
        );
        assert_eq!(
            a["supportedInterfaces"][1]["url"],
            "warden:configured-origin/rest?x=1"
        );
        assert_eq!(
            a["supportedInterfaces"][2]["url"], "http://127.0.0.1:40001/",
            "another port"
        );
        assert_eq!(a["supportedInterfaces"][3]["url"], "http://other.example/");
        assert_eq!(
            absolutise(&a, &base(5000)),
            card(5000),
            "restored at the new origin"
        );
        // An interface moved to a host the operator did not configure is a change.
        let moved = relativise(&card(4000), &base(5000));
        assert_ne!(digest(&moved), digest(&a));
    }
}
