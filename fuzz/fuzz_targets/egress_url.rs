//! Any text into the egress URL reader and the default rules: never a
//! panic, and whatever is accepted reads back to the same target (the text
//! that was checked is the text that is sent).
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_egress::{EgressPolicy, Rules, target};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let rules = Rules::new(EgressPolicy::default()).expect("default rules");
    if let Ok(t) = target::parse(text) {
        let _ = rules.check_target(&t);
        let again = target::parse(t.url.as_str()).expect("a normalised URL parses again");
        assert_eq!(again, t);
    }
});
