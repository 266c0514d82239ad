//! `[retries]`: how long a `SendMessage` is remembered so that a retry
//! gets the original answer instead of a second task.

use std::time::Duration;

use serde::Deserialize;

/// `[retries]` in warden.toml.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RetriesSection {
    /// How long an answer is kept for a retry (`window_secs`; 0: off).
    #[serde(rename = "window_secs", with = "secs")]
    pub window: Duration,
    /// Most answers kept at once (the oldest go first).
    pub max_entries: usize,
    /// Most bytes of answers kept at once; a larger answer is not kept.
    pub max_bytes: usize,
}

impl Default for RetriesSection {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(600),
            max_entries: 10_000,
            max_bytes: 64 << 20,
        }
    }
}

mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}
