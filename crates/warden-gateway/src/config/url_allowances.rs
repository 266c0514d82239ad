//! `[[message_urls.allow]]`: narrow exceptions for the URLs inside calls
//! (push-notification webhooks and `url` parts), each for one destination
//! and, if the entry says so, only some agents, some callers and one kind
//! of URL. What an exception lifts, and what it never does, is
//! [`warden_egress::allowance`]'s to say; which exceptions apply to a call
//! is decided here.
//!
//! Every entry is checked as the file is read, and an error names the
//! entry (`message_urls.allow (host "hooks.example"): …`): a bad block, a
//! bad or reversed port range, port 0, no ports at all.

use serde::Deserialize;
use warden_egress::ports::{PortError, PortItem, PortRange};
use warden_egress::{Allowance, AllowanceError, Dest};

use super::agents::{AgentConfig, valid_name};

/// Where in a call a URL sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UrlKind {
    /// A push-notification webhook (a push config, or one sent with a
    /// message).
    Push,
    /// A `url` part of a message (a v0.3 file part's `uri` too).
    Part,
}

/// One `[[message_urls.allow]]` entry, checked.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawAllow")]
pub struct UrlAllowance {
    /// The destination, its ports and schemes.
    pub rule: Allowance,
    /// The target agents this applies to; empty: every agent.
    pub agents: Vec<String>,
    /// The callers this applies to, named as grants name them (a registry
    /// id or API-key subject, `ISSUER#SUBJECT` for another issuer's
    /// tokens); empty: every caller.
    pub callers: Vec<String>,
    pub kinds: Vec<UrlKind>,
}

impl UrlAllowance {
    /// Whether this entry applies to a `kind` URL in a call from `caller`
    /// (none: the caller is not known) to `agent`.
    pub fn applies(&self, kind: UrlKind, agent: &str, caller: Option<&str>) -> bool {
        let named = |list: &[String], who: &str| list.iter().any(|x| x == who);
        self.kinds.contains(&kind)
            && (self.agents.is_empty() || named(&self.agents, agent))
            && (self.callers.is_empty() || caller.is_some_and(|c| named(&self.callers, c)))
    }

    /// The entry in one line, for the start-up warning.
    pub fn describe(&self) -> String {
        let all = |list: &[String], what: &str| {
            if list.is_empty() {
                format!("every {what}")
            } else {
                list.join(", ")
            }
        };
        let kinds: Vec<&str> = self
            .kinds
            .iter()
            .map(|k| match k {
                UrlKind::Push => "push",
                UrlKind::Part => "part",
            })
            .collect();
        format!(
            "{}, {} URLs, agents: {}, callers: {}",
            self.rule,
            kinds.join(" and "),
            all(&self.agents, "agent"),
            all(&self.callers, "caller")
        )
    }
}

/// Why a `[[message_urls.allow]]` entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllowError {
    #[error("message_urls.allow: each entry names exactly one of host or cidr (one names {0})")]
    Dest(&'static str),
    #[error("message_urls.allow ({at}): {why}")]
    Entry { at: String, why: EntryError },
}

/// What is wrong inside an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error(transparent)]
    Allowance(#[from] AllowanceError),
    #[error("ports: {0}")]
    Port(#[from] PortError),
    #[error("ports is required: list the receiver's ports (there is no \"any port\")")]
    NoPorts,
    #[error("kinds must name \"push\", \"part\" or both")]
    NoKinds,
    #[error("agents: {0:?} is not an agent name")]
    AgentName(String),
    #[error("agents: {0:?} is not one of the [[agents]]")]
    UnknownAgent(String),
    #[error("callers: an empty name matches no caller")]
    EmptyCaller,
}

/// An entry as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllow {
    host: Option<String>,
    cidr: Option<String>,
    /// Optional here only so that its absence is reported naming the entry.
    ports: Option<Vec<PortItem>>,
    #[serde(default = "https_only")]
    schemes: Vec<String>,
    #[serde(default)]
    agents: Vec<String>,
    #[serde(default)]
    callers: Vec<String>,
    #[serde(default = "both_kinds")]
    kinds: Vec<UrlKind>,
}

fn https_only() -> Vec<String> {
    vec!["https".into()]
}

fn both_kinds() -> Vec<UrlKind> {
    vec![UrlKind::Push, UrlKind::Part]
}

impl TryFrom<RawAllow> for UrlAllowance {
    type Error = AllowError;

    fn try_from(raw: RawAllow) -> Result<Self, AllowError> {
        let (at, dest) = match (&raw.host, &raw.cidr) {
            (Some(h), None) => (format!("host {h:?}"), Dest::host(h)),
            (None, Some(c)) => (format!("cidr {c:?}"), Dest::cidr(c)),
            (None, None) => return Err(AllowError::Dest("neither")),
            (Some(_), Some(_)) => return Err(AllowError::Dest("both")),
        };
        entry(raw, dest).map_err(|why| AllowError::Entry { at, why })
    }
}

fn entry(raw: RawAllow, dest: Result<Dest, AllowanceError>) -> Result<UrlAllowance, EntryError> {
    let ports = raw
        .ports
        .ok_or(EntryError::NoPorts)?
        .into_iter()
        .map(PortRange::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    if ports.is_empty() {
        return Err(EntryError::NoPorts);
    }
    let rule = Allowance::new(dest?, ports, &raw.schemes)?;
    if raw.kinds.is_empty() {
        return Err(EntryError::NoKinds);
    }
    if let Some(a) = raw.agents.iter().find(|a| !valid_name(a)) {
        return Err(EntryError::AgentName(a.clone()));
    }
    if raw.callers.iter().any(String::is_empty) {
        return Err(EntryError::EmptyCaller);
    }
    Ok(UrlAllowance {
        rule,
        agents: raw.agents,
        callers: raw.callers,
        kinds: raw.kinds,
    })
}

/// Every agent an entry names is configured: an entry for a misspelt
/// agent would silently never apply.
pub(super) fn validate(list: &[UrlAllowance], agents: &[AgentConfig]) -> Result<(), String> {
    for a in list {
        if let Some(name) = a
            .agents
            .iter()
            .find(|n| !agents.iter().any(|c| &c.name == *n))
        {
            let e = AllowError::Entry {
                at: a.rule.dest().to_string(),
                why: EntryError::UnknownAgent(name.clone()),
            };
            return Err(e.to_string());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
