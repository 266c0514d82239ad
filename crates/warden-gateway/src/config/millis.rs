//! A [`Duration`] written on the wire in whole milliseconds: the key keeps
//! its `_ms` suffix (`upstream_timeout_ms = 60000`), the code reads a
//! `Duration`. Use as `#[serde(rename = "…_ms", with = "super::millis")]`.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_millis)
}
