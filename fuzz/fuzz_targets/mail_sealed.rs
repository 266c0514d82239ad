//! Any text as a sealed mailbox message (a JWE compact string Warden checks
//! before storing, without a key) and as a published X25519 key: never a
//! panic. A sealed form Warden accepts names the key it is sealed to; a
//! key Warden accepts reads back the same from its own JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_mailbox::seal::{PublicJwk, check_sealed};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(info) = check_sealed(text, 64 * 1024) {
        assert!(!info.kid.is_empty(), "a sealed form without a kid");
    }
    if let Ok(key) = PublicJwk::parse_text(text) {
        let again = PublicJwk::parse(&key.to_json()).expect("a key reads back from its own JSON");
        assert_eq!(again.kid(), key.kid());
    }
});
