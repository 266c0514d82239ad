//! `[message_urls]`: what happens to a call carrying a URL the egress rules
//! refuse (see [`crate::message_urls`]).

use std::time::Duration;

use serde::Deserialize;

use super::agents::AgentConfig;
use super::url_allowances::{self, UrlAllowance, UrlKind};

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
    /// `[[message_urls.allow]]`: destinations URLs may name although the
    /// egress rules would refuse them (see [`super::url_allowances`]).
    pub allow: Vec<UrlAllowance>,
}

impl MessageUrlsSection {
    /// The entries that apply to a `kind` URL in a call from `caller` to
    /// `agent`.
    pub fn allowances(
        &self,
        kind: UrlKind,
        agent: &str,
        caller: Option<&str>,
    ) -> Vec<&UrlAllowance> {
        self.allow
            .iter()
            .filter(|a| a.applies(kind, agent, caller))
            .collect()
    }

    /// Checks what needs the rest of the file: the agents entries name.
    pub(super) fn validate(&self, agents: &[AgentConfig]) -> Result<(), String> {
        url_allowances::validate(&self.allow, agents)
    }

    /// One line per loosening, logged at every start.
    pub fn warnings(&self) -> Vec<String> {
        self.allow
            .iter()
            .map(|a| {
                format!(
                    "message_urls.allow: {}: such URLs are let past the egress deny table and port rule",
                    a.describe()
                )
            })
            .collect()
    }
}

impl Default for MessageUrlsSection {
    fn default() -> Self {
        Self {
            action: UrlAction::Refuse,
            resolve: true,
            resolve_timeout: Duration::from_secs(2),
            allow: Vec::new(),
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
