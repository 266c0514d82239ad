//! Any JSON into the card lint and sanitiser: never a panic, and
//! sanitising is idempotent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_card::lint::{LintLimits, lint};
use warden_card::sanitise::sanitise;

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let _ = lint(&v, &LintLimits::default());
    let once = sanitise(&v);
    assert_eq!(sanitise(&once), once);
});
