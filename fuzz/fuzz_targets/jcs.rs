//! Any bytes into the RFC 8785 canonicaliser: never a panic; its output is
//! canonical already (idempotent) and means the same JSON value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_trust::jcs::{JcsLimits, canonicalize};

fuzz_target!(|data: &[u8]| {
    let Ok(out) = canonicalize(data, JcsLimits::default()) else {
        return;
    };
    let again = canonicalize(&out, JcsLimits::default()).expect("canonical output is valid");
    assert_eq!(again, out);
    let a: serde_json::Value = serde_json::from_slice(&out).expect("canonical output is JSON");
    let b: serde_json::Value = serde_json::from_slice(data).expect("accepted input is JSON");
    // Numbers may change spelling (1.0 -> 1), so compare as f64 where needed.
    assert_eq!(normalise(a), normalise(b));
});

fn normalise(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Value::Array(a) => Value::Array(a.into_iter().map(normalise).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, normalise(v))).collect()),
        other => other,
    }
}
