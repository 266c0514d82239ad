//! The payload a card signature covers, in each reading Warden knows.

use serde_json::Value;

use crate::jcs::{self, JcsError, JcsLimits, Json};

/// How a card's JSON becomes the bytes its signatures cover. All three
/// start from the same received bytes and remove the top-level
/// `signatures` member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CanonicalForm {
    /// The specification's form (§8.4.1 rule 2-3): the card as received,
    /// RFC 8785. What Warden signs.
    Rfc8785,
    /// What `a2a-sdk` (Python) 1.3 signs and checks: every `""`, `[]`, `{}`
    /// and `null` dropped, recursively and repeatedly (an object left empty
    /// goes too; `false` and `0` stay), then RFC 8785.
    PythonSdk,
    /// What `a2a-sdk` (Python) 1.0 to 1.2 signed: the same dropping, then
    /// `json.dumps(sort_keys=True, separators=(',', ':'))`: keys by code
    /// point, non-ASCII (and DEL) as `\uxxxx` (surrogate pairs above the
    /// BMP), numbers as Python float `repr` (a card's only numbers are in
    /// `google.protobuf.Struct` values, which Python reads as floats).
    PythonSdkJsonDumps,
}

impl CanonicalForm {
    /// Every form, in the order a verifier tries them: the specification's
    /// first, then the current Python SDK's, then the older one.
    pub const ALL: [Self; 3] = [Self::Rfc8785, Self::PythonSdk, Self::PythonSdkJsonDumps];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rfc8785 => "rfc8785",
            Self::PythonSdk => "python-sdk",
            Self::PythonSdkJsonDumps => "python-sdk-json-dumps",
        }
    }
}

impl std::fmt::Display for CanonicalForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a card has no payload to sign or verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("card is not acceptable JSON: {0}")]
    Json(#[from] JcsError),
    #[error("card is not a JSON object")]
    NotAnObject,
}

/// The bytes a signature over `card_json` covers in `form`.
pub fn canonical_payload(
    card_json: &[u8],
    form: CanonicalForm,
    limits: JcsLimits,
) -> Result<Vec<u8>, PayloadError> {
    let (card, _) = split_signatures(jcs::parse::parse(card_json, limits)?)?;
    Ok(payload(&card, form))
}

/// Separates the top-level `signatures` member from the rest of the card.
pub(crate) fn split_signatures(card: Json) -> Result<(Json, Option<Json>), PayloadError> {
    let Json::Object(mut members) = card else {
        return Err(PayloadError::NotAnObject);
    };
    let signatures = members
        .iter()
        .position(|(k, _)| k == "signatures")
        .map(|i| members.remove(i).1);
    Ok((Json::Object(members), signatures))
}

/// The payload of a card whose `signatures` member is already removed.
pub(crate) fn payload(card: &Json, form: CanonicalForm) -> Vec<u8> {
    match form {
        CanonicalForm::Rfc8785 => jcs::to_canonical(card),
        // Python 1.3 cleans the top level like any other dict: a card with
        // nothing left becomes `None`, canonicalised as `null`.
        CanonicalForm::PythonSdk => {
            jcs::to_canonical(&without_empty(card.clone()).unwrap_or(Json::Null))
        }
        // The older cleaner always returned a dict for the top level.
        CanonicalForm::PythonSdkJsonDumps => {
            let cleaned = without_empty(card.clone()).unwrap_or(Json::Object(Vec::new()));
            let mut out = String::new();
            write_json_dumps(&cleaned, &mut out);
            out.into_bytes()
        }
    }
}

/// Python's `_clean_empty`: `None` when the value is, or becomes, empty.
fn without_empty(value: Json) -> Option<Json> {
    match value {
        Json::Null => None,
        Json::String(s) if s.is_empty() => None,
        Json::Array(items) => {
            let kept: Vec<Json> = items.into_iter().filter_map(without_empty).collect();
            (!kept.is_empty()).then_some(Json::Array(kept))
        }
        Json::Object(members) => {
            let kept: Vec<(String, Json)> = members
                .into_iter()
                .filter_map(|(k, v)| without_empty(v).map(|v| (k, v)))
                .collect();
            (!kept.is_empty()).then_some(Json::Object(kept))
        }
        other => Some(other),
    }
}

/// Removes every `""`, `[]`, `{}` and `null` from `value`, recursively and
/// repeatedly, as the Python SDK does before signing. A card that has been
/// through this reads the same under [`CanonicalForm::Rfc8785`] and
/// [`CanonicalForm::PythonSdk`], so both kinds of verifier accept Warden's
/// signature on it. (A top-level value that ends up empty is left as `{}`.)
pub fn strip_empty_values(value: &mut Value) {
    fn is_empty(v: &Value) -> bool {
        match v {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            Value::Bool(_) | Value::Number(_) => false,
        }
    }
    match value {
        Value::Array(items) => {
            items.iter_mut().for_each(strip_empty_values);
            items.retain(|v| !is_empty(v));
        }
        Value::Object(members) => {
            members.values_mut().for_each(strip_empty_values);
            members.retain(|_, v| !is_empty(v));
        }
        _ => {}
    }
}

/// `json.dumps(v, sort_keys=True, separators=(',', ':'))` with Python's
/// default `ensure_ascii=True`.
fn write_json_dumps(value: &Json, out: &mut String) {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(true) => out.push_str("true"),
        Json::Bool(false) => out.push_str("false"),
        Json::Number(x) => out.push_str(&jcs::python_number(*x).unwrap_or_default()),
        Json::String(s) => write_ascii_string(s, out),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_dumps(item, out);
            }
            out.push(']');
        }
        Json::Object(members) => {
            // Python compares str by code point, which is UTF-8 byte order.
            let mut sorted: Vec<&(String, Json)> = members.iter().collect();
            sorted.sort_by(|(a, _), (b, _)| a.cmp(b));
            out.push('{');
            for (i, (key, member)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_ascii_string(key, out);
                out.push(':');
                write_json_dumps(member, out);
            }
            out.push('}');
        }
    }
}

/// CPython's `encode_basestring_ascii`: only printable ASCII stays literal.
fn write_ascii_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ' '..='~' => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}
