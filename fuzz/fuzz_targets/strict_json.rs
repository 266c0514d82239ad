//! Any bytes into the strict JSON reader, with limits taken from the first two
//! bytes. Whatever it accepts, serde_json accepts with the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_a2a::JsonLimits;
use warden_a2a::json::parse_strict;

fuzz_target!(|data: &[u8]| {
    let (limits, body) = match data {
        [d, s, body @ ..] => (
            JsonLimits {
                max_depth: usize::from(*d),
                max_string_bytes: usize::from(*s) * 16,
            },
            body,
        ),
        _ => (JsonLimits::default(), data),
    };
    if let Ok(v) = parse_strict(body, limits) {
        let plain: serde_json::Value = serde_json::from_slice(body)
            .expect("serde_json accepts what the strict reader accepts");
        assert_eq!(v, plain);
    }
    let _ = parse_strict(data, JsonLimits::default());
});
