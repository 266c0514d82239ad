//! `warden-json`: the one defensive JSON reader every body, token header and
//! card goes through (shared by the protocol and trust crates).
//!
//! `serde_json` on its own keeps the *last* of two duplicate keys and allows 128
//! levels of nesting. An agent behind Warden may read duplicates differently (first
//! wins, or an error), so a body with a duplicate key is ambiguous and refused.
//! Depth and string sizes are bounded here, before any typed parsing happens.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Bounds applied while reading JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonLimits {
    /// Deepest allowed nesting of arrays and objects (the top-level value is depth 1).
    pub max_depth: usize,
    /// Longest allowed string (keys and values), in bytes of UTF-8.
    pub max_string_bytes: usize,
}

impl Default for JsonLimits {
    fn default() -> Self {
        Self {
            max_depth: 64,
            max_string_bytes: 1024 * 1024,
        }
    }
}

/// Why a body is not acceptable JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    #[error("invalid JSON: {0}")]
    Syntax(String),
    #[error("duplicate JSON key {0:?}")]
    DuplicateKey(String),
    #[error("JSON nested deeper than {0} levels")]
    TooDeep(usize),
    #[error("JSON string longer than {0} bytes")]
    StringTooLong(usize),
}

/// Parses `bytes` as one JSON value, refusing duplicate keys, excess depth and
/// oversize strings. Trailing non-whitespace is refused too.
pub fn parse_strict(bytes: &[u8], limits: JsonLimits) -> Result<Value, JsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    // Our own depth bound is lower than serde_json's; disabling its limit would
    // be unsafe only if ours did not exist.
    let value = StrictSeed { depth: 1, limits }
        .deserialize(&mut de)
        .map_err(classify)?;
    de.end().map_err(classify)?;
    Ok(value)
}

/// Our visitor reports its own failures as custom serde errors with a marker
/// prefix, so they can be told apart from syntax errors here.
const MARK_DUP: &str = "\u{0}dup:";
const MARK_DEEP: &str = "\u{0}deep:";
const MARK_LONG: &str = "\u{0}long:";

fn classify(err: serde_json::Error) -> JsonError {
    let text = err.to_string();
    if let Some(rest) = text.strip_prefix(MARK_DUP) {
        let key = rest.rsplit_once(" at line").map_or(rest, |(k, _)| k);
        return JsonError::DuplicateKey(key.to_string());
    }
    if let Some(rest) = text.strip_prefix(MARK_DEEP) {
        let n = rest.split_whitespace().next().unwrap_or("0");
        return JsonError::TooDeep(n.parse().unwrap_or(0));
    }
    if let Some(rest) = text.strip_prefix(MARK_LONG) {
        let n = rest.split_whitespace().next().unwrap_or("0");
        return JsonError::StringTooLong(n.parse().unwrap_or(0));
    }
    if text.starts_with("recursion limit exceeded") {
        return JsonError::TooDeep(128);
    }
    JsonError::Syntax(text)
}

struct StrictSeed {
    depth: usize,
    limits: JsonLimits,
}

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor {
            depth: self.depth,
            limits: self.limits,
        })
    }
}

struct StrictVisitor {
    depth: usize,
    limits: JsonLimits,
}

impl StrictVisitor {
    fn check_str<E: de::Error>(&self, s: &str) -> Result<(), E> {
        if s.len() > self.limits.max_string_bytes {
            return Err(E::custom(format!(
                "{MARK_LONG}{} ",
                self.limits.max_string_bytes
            )));
        }
        Ok(())
    }
    /// Called on entering an array or object at `self.depth`; its members are
    /// one level deeper. The container itself is allowed up to `max_depth`.
    fn nested<E: de::Error>(&self) -> Result<StrictSeed, E> {
        if self.depth > self.limits.max_depth {
            return Err(E::custom(format!("{MARK_DEEP}{} ", self.limits.max_depth)));
        }
        Ok(StrictSeed {
            depth: self.depth + 1,
            limits: self.limits,
        })
    }
}

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.check_str(v)?;
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.check_str(&v)?;
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let seed_limits = self.nested::<A::Error>()?;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictSeed {
            depth: seed_limits.depth,
            limits: seed_limits.limits,
        })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let child = self.nested::<A::Error>()?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            self.check_str::<A::Error>(&key)?;
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("{MARK_DUP}{key}")));
            }
            let v = map.next_value_seed(StrictSeed {
                depth: child.depth,
                limits: child.limits,
            })?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Value, JsonError> {
        parse_strict(s.as_bytes(), JsonLimits::default())
    }

    #[test]
    fn accepts_ordinary_json_and_keeps_key_order() {
        let v = parse(r#"{"b":1,"a":[true,null,"x",1.5]}"#).expect("valid");
        assert_eq!(
            serde_json::to_string(&v).expect("serialise"),
            r#"{"b":1,"a":[true,null,"x",1.5]}"#
        );
    }

    #[test]
    fn refuses_duplicate_keys_at_any_depth() {
        assert_eq!(
            parse(r#"{"a":1,"a":2}"#),
            Err(JsonError::DuplicateKey("a".into()))
        );
        assert_eq!(
            parse(r#"{"x":{"p":{"k":1,"k":1}}}"#),
            Err(JsonError::DuplicateKey("k".into()))
        );
        // An escaped spelling of the same key is the same key.
        assert_eq!(
            parse(r#"{"a":1,"\u0061":2}"#),
            Err(JsonError::DuplicateKey("a".into()))
        );
    }

    #[test]
    fn refuses_nesting_past_the_limit() {
        let ok = "[".repeat(64) + &"]".repeat(64);
        assert!(parse(&ok).is_ok());
        let deep = "[".repeat(65) + &"]".repeat(65);
        assert_eq!(parse(&deep), Err(JsonError::TooDeep(64)));
        let very_deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(matches!(parse(&very_deep), Err(JsonError::TooDeep(_))));
    }

    #[test]
    fn refuses_oversize_strings_and_keys() {
        let limits = JsonLimits {
            max_depth: 64,
            max_string_bytes: 8,
        };
        assert!(parse_strict(br#"{"k":"12345678"}"#, limits).is_ok());
        assert_eq!(
            parse_strict(br#"{"k":"123456789"}"#, limits),
            Err(JsonError::StringTooLong(8))
        );
        assert_eq!(
            parse_strict(br#"{"123456789":1}"#, limits),
            Err(JsonError::StringTooLong(8))
        );
    }

    #[test]
    fn refuses_syntax_errors_and_trailing_data() {
        assert!(matches!(parse("{"), Err(JsonError::Syntax(_))));
        assert!(matches!(parse("{} {}"), Err(JsonError::Syntax(_))));
        assert!(matches!(parse(""), Err(JsonError::Syntax(_))));
    }
}
