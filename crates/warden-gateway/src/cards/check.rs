//! Every card Warden signs has been linted by Warden (threat T7): the
//! upstream's public card when it is fetched, and its extended card when it
//! is answered.
//!
//! What a reader of the served card can see of the upstream's card is linted
//! ([`served_view`]: the parts Warden replaces — interfaces, security
//! schemes and requirements, signatures — are left out). Hidden and control
//! characters are always removed. Error-level findings then follow the
//! agent's [`CardLintPolicy`]:
//!
//! - `refuse` (default): the card is held (for the public card, a review
//!   like a changed card: `warden registry review`); an operator's approval
//!   of that exact card lets it through as `approved`.
//! - `sanitise`: each string with an error finding is withheld (a link field
//!   is dropped, text is replaced by a `[withheld by Warden: CODE]` marker),
//!   all free text is fenced ([`warden_card::sanitise`]), and the result is
//!   linted again: any error left holds the card.
//! - `allow`: served with its findings stated, and a warning logged.
//!
//! The served card says what happened in the extension [`CHECK_EXTENSION`]:
//! `params.result` is `clean`, `sanitised`, `allowed` or `approved`, and
//! `params.findings` lists the warnings and errors (code, severity, path).

use serde_json::{Map, Value, json};
use warden_card::lint::{Finding, FindingCode, LintLimits, Severity, lint};

use crate::config::CardLintPolicy;

/// The extension under which a served card states Warden's lint result.
pub const CHECK_EXTENSION: &str = "urn:warden:a2a:card-check:v1";

/// Most findings a served card lists (the audit keeps them all).
const MAX_LISTED: usize = 32;

/// What to do with one card.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Serve this card (checked, with the check extension declared).
    Serve(Value),
    /// Do not serve it: the error findings that hold it.
    Hold(Vec<Finding>),
}

impl Verdict {
    /// The findings as review "changes" and audit detail: `lint: CODE at PATH`.
    pub fn reasons(findings: &[Finding]) -> Vec<String> {
        findings
            .iter()
            .map(|f| format!("lint: {} at {}", f.code, display_path(&f.path)))
            .collect()
    }
}

fn display_path(path: &str) -> &str {
    if path.is_empty() { "/" } else { path }
}

/// Checks `agent`'s `card` (a parsed v1.0 card, known fields only, no
/// signatures) for serving under `policy`; `approved` when an operator
/// approved this exact card.
pub fn check(agent: &str, card: &Value, policy: CardLintPolicy, approved: bool) -> Verdict {
    // Judged as received: hidden instructions are removed from what is
    // served, but an upstream that smuggled them is still held.
    let findings = findings_of(card);
    let clean = strip_hidden(card);
    let errors: Vec<Finding> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .cloned()
        .collect();
    if errors.is_empty() {
        return Verdict::Serve(declare(clean, "clean", &findings));
    }
    if approved {
        return Verdict::Serve(declare(clean, "approved", &findings));
    }
    match policy {
        CardLintPolicy::Refuse => Verdict::Hold(errors),
        CardLintPolicy::Allow => {
            tracing::warn!(
                agent,
                findings = ?Verdict::reasons(&errors),
                "card_lint = \"allow\": serving a card with lint errors"
            );
            Verdict::Serve(declare(clean, "allowed", &findings))
        }
        CardLintPolicy::Sanitise => {
            let Some(withheld) = withhold(&clean, &errors) else {
                return Verdict::Hold(errors);
            };
            let fenced = warden_card::sanitise::sanitise(&withheld);
            let left: Vec<Finding> = findings_of(&fenced)
                .into_iter()
                .filter(|f| f.severity == Severity::Error)
                .collect();
            let parses =
                serde_json::from_value::<warden_a2a::types::AgentCard>(fenced.clone()).is_ok();
            if !left.is_empty() || !parses {
                return Verdict::Hold(if left.is_empty() { errors } else { left });
            }
            Verdict::Serve(declare(fenced, "sanitised", &findings))
        }
    }
}

/// The lint findings on what a reader of the served card sees of `card`.
/// Codes about parts Warden replaces are left out.
fn findings_of(card: &Value) -> Vec<Finding> {
    lint(&served_view(card), &LintLimits::default())
        .findings
        .into_iter()
        .filter(|f| {
            !matches!(
                f.code,
                FindingCode::NoSecurityScheme
                    | FindingCode::UnknownSecurityScheme
                    | FindingCode::InsecureInterface
            )
        })
        .collect()
}

/// `card` as far as the upstream's words reach a reader of the served card:
/// without the interfaces (rewritten to the gateway), security schemes and
/// requirements (replaced by Warden's) and signatures (replaced by Warden's).
pub fn served_view(card: &Value) -> Value {
    let mut view = card.clone();
    if let Some(obj) = view.as_object_mut() {
        for k in [
            "supportedInterfaces",
            "additionalInterfaces",
            "url",
            "preferredTransport",
            "securitySchemes",
            "securityRequirements",
            "security",
            "signatures",
        ] {
            obj.remove(k);
        }
        if let Some(Value::Array(skills)) = obj.get_mut("skills") {
            for s in skills.iter_mut().filter_map(Value::as_object_mut) {
                s.remove("securityRequirements");
                s.remove("security");
            }
        }
    }
    view
}

/// Every string and key without hidden or control characters (a key that
/// cleans to one already present is dropped: the first one stays).
fn strip_hidden(v: &Value) -> Value {
    use warden_card::sanitise::strip_hidden as clean;
    match v {
        Value::String(s) => Value::String(clean(s)),
        Value::Array(items) => Value::Array(items.iter().map(strip_hidden).collect()),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, item) in map {
                let k = clean(k);
                if !out.contains_key(&k) {
                    out.insert(k, strip_hidden(item));
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// `card` with each string that has an error finding withheld: link fields
/// removed, text replaced by a marker naming the finding. None when a
/// finding is about something else than one string (the whole card, an
/// array, a key): that cannot be sanitised, only held.
fn withhold(card: &Value, errors: &[Finding]) -> Option<Value> {
    let mut out = card.clone();
    // Hidden and control characters are gone from `card` already.
    let fixed = |f: &&Finding| {
        matches!(
            f.code,
            FindingCode::HiddenUnicode | FindingCode::ControlChars
        )
    };
    for f in errors.iter().filter(|f| !fixed(f)) {
        if f.path.is_empty() || f.message.contains("in the key") {
            return None;
        }
        let (parent, last) = f.path.rsplit_once('/')?;
        let last = last.replace("~1", "/").replace("~0", "~");
        let Some(target) = out.pointer_mut(&f.path) else {
            // Gone with an earlier finding's member.
            continue;
        };
        if !target.is_string() {
            return None;
        }
        let is_link = {
            let l = last.to_ascii_lowercase();
            l.ends_with("url") || l.ends_with("uri")
        };
        if is_link {
            match out.pointer_mut(parent).and_then(Value::as_object_mut) {
                Some(obj) => {
                    obj.remove(&last);
                }
                None => return None,
            }
        } else {
            *target = Value::String(format!("[withheld by Warden: {}]", f.code));
        }
    }
    Some(out)
}

/// `card` with Warden's check extension declared, stating `result` and the
/// warning- and error-level `findings`.
fn declare(mut card: Value, result: &str, findings: &[Finding]) -> Value {
    let listed: Vec<Value> = findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
        .take(MAX_LISTED)
        .map(|f| json!({"code": f.code.as_str(), "severity": f.severity.as_str(), "path": display_path(&f.path)}))
        .collect();
    let mut params = Map::new();
    params.insert("result".into(), Value::String(result.into()));
    if !listed.is_empty() {
        params.insert("findings".into(), Value::Array(listed));
    }
    let extension = json!({
        "uri": CHECK_EXTENSION,
        "description": "Warden linted this card's text before signing it; params.result says what it did.",
        "params": params,
    });
    let Some(obj) = card.as_object_mut() else {
        return card;
    };
    let caps = obj
        .entry("capabilities")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(caps) = caps.as_object_mut() {
        let exts = caps
            .entry("extensions")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Some(list) = exts.as_array_mut() {
            // The upstream may not speak for Warden.
            list.retain(|e| e.get("uri").and_then(Value::as_str) != Some(CHECK_EXTENSION));
            list.push(extension);
        }
    }
    card
}

#[cfg(test)]
mod tests;
