//! RFC 8785 JSON Canonicalization Scheme (JCS): the exact bytes a signature
//! over a JSON document covers.
//!
//! The input is the raw received JSON, not a `serde_json::Value`: a value
//! has already dropped one of two duplicate keys (so the signer and the
//! verifier could be looking at different documents) and may have rounded a
//! number differently from the signer. The reader (`parse`) is strict and
//! bounded; the writer follows RFC 8785 §3.2:
//!
//! - no whitespace; object members sorted by the UTF-16 code units of their
//!   keys (not by code point: the two orders differ once a key holds a
//!   character above U+FFFF and another one at or above U+E000);
//! - strings as literal UTF-8, escaping only `"` and `\`, using `\b \f \n \r
//!   \t` where they exist and `\u00xx` (lower-case hex) for the other C0
//!   controls;
//! - numbers as IEEE-754 doubles written by ECMAScript's `Number::toString`
//!   ([`ecmascript_number`]); text that does not fit a double (overflow to
//!   infinity) is refused.
//!
//! Written here rather than taken from a crate so that the parser and the
//! limits are Warden's own, and so that the second, Python-compatible form
//! used for Agent Cards can share the same reader
//! ([`crate::card_signature`]).

mod number;
pub(crate) mod parse;
#[cfg(test)]
mod tests;

pub use number::ecmascript as ecmascript_number;
pub(crate) use number::python_repr as python_number;
pub(crate) use parse::Json;

/// Bounds applied while reading the JSON to canonicalise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JcsLimits {
    /// Largest accepted input, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of arrays and objects (the top-level value is 1).
    pub max_depth: usize,
    /// Longest string, key or number text, in bytes of UTF-8.
    pub max_string_bytes: usize,
}

impl Default for JcsLimits {
    /// Sized for Agent Cards: generous for any real card, small enough that
    /// canonicalising a hostile one stays cheap.
    fn default() -> Self {
        Self {
            max_bytes: 1024 * 1024,
            max_depth: 64,
            max_string_bytes: 256 * 1024,
        }
    }
}

/// Why a document has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JcsError {
    #[error("JSON larger than {0} bytes")]
    TooLarge(usize),
    #[error("JSON is not valid UTF-8")]
    InvalidUtf8,
    #[error("invalid JSON at byte {offset}: {what}")]
    Syntax { offset: usize, what: &'static str },
    #[error("duplicate JSON key {0:?}")]
    DuplicateKey(String),
    #[error("JSON nested deeper than {0} levels")]
    TooDeep(usize),
    #[error("JSON string or number longer than {0} bytes")]
    StringTooLong(usize),
    #[error("lone UTF-16 surrogate escape at byte {offset}")]
    LoneSurrogate { offset: usize },
    #[error("number at byte {offset} does not fit an IEEE-754 double")]
    NumberOutOfRange { offset: usize },
}

/// Canonicalises the JSON text `bytes` per RFC 8785.
pub fn canonicalize(bytes: &[u8], limits: JcsLimits) -> Result<Vec<u8>, JcsError> {
    let value = parse::parse(bytes, limits)?;
    Ok(to_canonical(&value))
}

/// The RFC 8785 serialisation of an already parsed value.
pub(crate) fn to_canonical(value: &Json) -> Vec<u8> {
    let mut out = String::new();
    write_value(value, &mut out);
    out.into_bytes()
}

fn write_value(value: &Json, out: &mut String) {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(true) => out.push_str("true"),
        Json::Bool(false) => out.push_str("false"),
        // Parsed numbers are finite, so there is always a form.
        Json::Number(x) => out.push_str(&ecmascript_number(*x).unwrap_or_default()),
        Json::String(s) => write_string(s, out),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Json::Object(members) => {
            let mut sorted: Vec<&(String, Json)> = members.iter().collect();
            sorted.sort_by(|(a, _), (b, _)| utf16_order(a, b));
            out.push('{');
            for (i, (key, member)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_value(member, out);
            }
            out.push('}');
        }
    }
}

/// RFC 8785 §3.2.3: keys compare as arrays of UTF-16 code units.
pub(crate) fn utf16_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// RFC 8785 §3.2.2.2 string form.
fn write_string(s: &str, out: &mut String) {
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
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}
