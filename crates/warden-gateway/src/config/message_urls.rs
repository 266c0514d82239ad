//! `[message_urls]`: what happens to a call carrying a URL the egress rules
//! refuse (see [`crate::message_urls`]).

use std::time::Duration;

use serde::Deserialize;

/// `[message_urls]` in warden.toml.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct MessageUrlsSection {
    pub action: UrlAction,
    /// Also look names up and check the answers (a public-looking name
    /// that resolves to a private address fails). Off: the checks that
    /// need no lookup only.
    pub resolve: bool,
    /// Longest wait for one lookup; a slower answer fails the URL
    /// (`resolve_timeout_ms`).
    #[serde(rename = "resolve_timeout_ms", with = "super::millis")]
    pub resolve_timeout: Duration,
}

impl Default for MessageUrlsSection {
    fn default() -> Self {
        Self {
            action: UrlAction::Refuse,
            resolve: true,
            resolve_timeout: Duration::from_secs(2),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UrlAction {
    Refuse,
    Strip,
    Off,
}
