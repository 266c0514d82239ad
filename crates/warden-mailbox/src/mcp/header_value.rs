//! The 2026-07-28 header value encoding: a value that is not plain visible
//! ASCII travels as `=?base64?{standard base64 of its UTF-8}?=`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

const OPEN: &str = "=?base64?";
const CLOSE: &str = "?=";

/// The value a header carries: decoded when in the sentinel form; `None`
/// when the sentinel is malformed (bad or non-canonical base64, not UTF-8),
/// so a corrupt header never matches a body value.
pub fn decode(value: &str) -> Option<String> {
    let Some(payload) = value
        .strip_prefix(OPEN)
        .and_then(|rest| rest.strip_suffix(CLOSE))
    else {
        return Some(value.to_string());
    };
    let bytes = STANDARD.decode(payload).ok()?;
    // Only the canonical encoding (what a client emits) is accepted.
    if STANDARD.encode(&bytes) != payload {
        return None;
    }
    String::from_utf8(bytes).ok()
}
