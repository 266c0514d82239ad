//! Field readers that make ProtoJSON strict.
//!
//! ProtoJSON lets `null` stand for "unset". A gateway that accepted
//! `{"text": null, "url": "…"}` would have to guess what the agent reads, so an
//! explicit `null` is refused wherever a field is optional (`Option<T>` would
//! otherwise silently turn it into `None`).

use serde::{Deserialize, Deserializer, de::Error};
use serde_json::Value;

/// Reads an optional field that, when present, must not be `null`.
pub fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let v = Value::deserialize(d)?;
    if v.is_null() {
        return Err(D::Error::custom(
            "null is not allowed here; omit the field instead",
        ));
    }
    T::deserialize(v).map(Some).map_err(D::Error::custom)
}

/// Reads a `google.protobuf.Value` field, where `null` is a real value
/// (`NullValue`), not "unset".
pub fn any_value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Reads a timestamp (RFC 3339, as ProtoJSON `Timestamp`).
pub fn timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s: Option<String> = present(d)?;
    if let Some(s) = &s {
        chrono::DateTime::parse_from_rfc3339(s)
            .map_err(|e| D::Error::custom(format!("invalid RFC 3339 timestamp {s:?}: {e}")))?;
    }
    Ok(s)
}

/// Reads an int32 that must be a JSON number (not a numeric string, which
/// ProtoJSON also allows) and not negative.
pub fn non_negative<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    let v: Option<i64> = present(d)?;
    match v {
        Some(n) if !(0..=i64::from(i32::MAX)).contains(&n) => {
            Err(D::Error::custom(format!("{n} is out of range")))
        }
        Some(n) => Ok(i32::try_from(n).ok()),
        None => Ok(None),
    }
}
