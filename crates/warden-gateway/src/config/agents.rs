//! `[[agents]]`: the upstream agents behind the gateway, and how their
//! cards are trusted.

use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// The path segment: the agent is served at `/agents/{name}`.
    pub name: String,
    /// The upstream agent's base URL; its card is at
    /// `{url}/.well-known/agent-card.json`.
    pub url: String,
    /// Overrides the JSON-RPC endpoint found in the upstream card.
    #[serde(default)]
    pub jsonrpc_url: Option<String>,
    /// Overrides the HTTP+JSON endpoint found in the upstream card.
    #[serde(default)]
    pub rest_url: Option<String>,
    /// A JWKS file holding the keys pinned for this agent's card signature.
    #[serde(default)]
    pub card_jwks_file: Option<PathBuf>,
    /// The same keys as inline JWKS text (not with `card_jwks_file`).
    #[serde(default)]
    pub card_jwks: Option<String>,
    /// Hosts whose JWKS a card signature's `jku` may name and Warden then
    /// fetches (through the egress rules, purpose `jwks`). Empty: no `jku`
    /// is ever followed.
    #[serde(default)]
    pub card_jku_hosts: Vec<String>,
    /// Serve and proxy this agent even when its card carries no signature
    /// by a trusted key (a warning is logged at start). A signature by a
    /// trusted key that does not verify still refuses the card.
    /// `allow_unsigned_card` is the old, deprecated spelling.
    #[serde(default, alias = "allow_unsigned_card")]
    pub insecure_unsigned_card: bool,
    /// What happens to a card whose lint reports an error (hidden
    /// instructions, exfiltration links, markup, unsafe URLs…): see
    /// [`CardLintPolicy`].
    #[serde(default)]
    pub card_lint: CardLintPolicy,
    /// Overrides `[protocol] unknown_fields` for calls to this agent.
    #[serde(default)]
    pub unknown_fields: Option<super::UnknownFieldsRule>,
    /// Who may call this agent without a credential (see [`AgentAccess`]).
    #[serde(default)]
    pub access: AgentAccess,
    /// What callers without a credential may do at a public agent
    /// (operation names as in grants; default: send, get, list, cancel,
    /// subscribe). Only with `access = "public"`.
    #[serde(default)]
    pub public_operations: Option<Vec<String>>,
    /// Whether Warden offers push notifications for this agent when its
    /// card offers none, following the tasks callers subscribe to itself
    /// (see [`PushFollow`]; off by default). See docs/push.md.
    #[serde(default)]
    pub push_follow: PushFollow,
    /// Between two looks at a followed task in `poll` mode, and the first
    /// wait before a failed stream or poll is tried again (doubling up to a
    /// minute): `push_poll_interval_ms`, 2000 by default, at least 100.
    #[serde(
        default = "default_poll_interval",
        rename = "push_poll_interval_ms",
        with = "super::millis"
    )]
    pub push_poll_interval: std::time::Duration,
    /// `[agents.webhooks]`: Warden receives signed push notifications for
    /// this agent at `/webhooks/{name}` and passes verified ones on (off
    /// when absent). See docs/webhooks.md.
    #[serde(default)]
    pub webhooks: Option<super::AgentWebhooks>,
    /// `mailbox = "bridge"`: the agent is a mailbox address, and each
    /// message to it is delivered to it as an A2A `SendMessage` naming the
    /// sender (see [`AgentMailbox`]; off by default). See docs/mailbox.md.
    #[serde(default)]
    pub mailbox: AgentMailbox,
}

/// `mailbox`: whether the agent receives mailbox messages.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AgentMailbox {
    /// Not a mailbox address through the gateway (the default).
    #[default]
    Off,
    /// Messages to the agent's name are delivered to it, durably, as
    /// `SendMessage` calls with Warden's upstream token naming the sender.
    Bridge,
}

/// `push_follow`: how Warden follows a task for an agent whose card offers
/// no push notifications, so that callers can subscribe all the same.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PushFollow {
    /// Push configs go to the agent, which refuses them (the default: a
    /// follow costs a stream or a poll per task, an operator's choice).
    #[default]
    Off,
    /// `SubscribeToTask` when the card offers streaming, else as `poll`.
    Subscribe,
    /// `GetTask` every `push_poll_interval_ms`.
    Poll,
}

fn default_poll_interval() -> std::time::Duration {
    std::time::Duration::from_secs(2)
}

/// `access`: whether a caller needs a credential to reach the agent.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AgentAccess {
    /// Every call carries a credential and needs a grant (the default).
    #[default]
    Authenticated,
    /// Callers without a credential reach this agent (only), each under an
    /// anonymous identity tied to a capability Warden hands out; callers
    /// with one keep their identity, grants and tasks.
    Public,
}

/// What the gateway does with an upstream card (or extended card) whose
/// lint reports an error-level finding. Every card is linted when fetched;
/// hidden characters are always removed and refused links always dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardLintPolicy {
    /// Hold the card for review (`warden registry review`), like a changed
    /// card: the pinned card is served meanwhile, or none at all.
    #[default]
    Refuse,
    /// Serve a sanitised copy: strings with error findings withheld, free
    /// text fenced; refused still if errors remain.
    Sanitise,
    /// Serve the card with its findings stated, logging a warning.
    Allow,
}

impl CardLintPolicy {
    /// The configuration value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Refuse => "refuse",
            Self::Sanitise => "sanitise",
            Self::Allow => "allow",
        }
    }
}

impl AgentConfig {
    /// The operations callers without a credential may use here (none
    /// unless the agent is public).
    pub fn public_operations(&self) -> Result<Vec<warden_policy::OpClass>, String> {
        use warden_policy::OpClass;
        if self.access != AgentAccess::Public {
            return match self.public_operations {
                Some(_) => Err("public_operations needs access = \"public\"".into()),
                None => Ok(Vec::new()),
            };
        }
        let Some(names) = &self.public_operations else {
            return Ok(OpClass::DEFAULT.to_vec());
        };
        names
            .iter()
            .map(|n| {
                OpClass::parse(n).ok_or_else(|| {
                    format!(
                        "public_operations: unknown operation {n:?} (use {})",
                        OpClass::ALL.map(OpClass::name).join(", ")
                    )
                })
            })
            .collect()
    }

    /// The keys pinned for this agent's card signature (empty when none are
    /// configured).
    pub fn card_keys(&self) -> Result<warden_trust::KeySet, String> {
        use warden_client::CardTrust;
        match (&self.card_jwks_file, &self.card_jwks) {
            (Some(_), Some(_)) => Err("set card_jwks_file or card_jwks, not both".into()),
            (Some(path), None) => {
                CardTrust::read_jwks_file(path).map_err(|e| format!("card_jwks_file: {e}"))
            }
            (None, Some(text)) => CardTrust::read_jwks(text).map_err(|e| format!("card_jwks: {e}")),
            (None, None) => Ok(warden_trust::KeySet::default()),
        }
    }
}

/// Rules serde cannot express for `[[agents]]`: names, pinned keys, `jku`
/// hosts, and URLs judged by `rules` (the upstream rules, see
/// [`super::egress::upstream_rules`]).
pub fn validate(agents: &[AgentConfig], rules: &warden_egress::Rules) -> Result<(), String> {
    use super::egress::UrlUse;
    let mut seen = std::collections::HashSet::new();
    for (i, a) in agents.iter().enumerate() {
        if !valid_name(&a.name) {
            return Err(format!(
                "agents[{i}].name {:?} must be 1-64 characters of A-Z, a-z, 0-9, '-' or '_'",
                a.name
            ));
        }
        if !seen.insert(a.name.as_str()) {
            return Err(format!("agents[{i}].name {:?} is used twice", a.name));
        }
        // Tokens for the mailbox are issued without a call grant: an agent
        // by that name would be reachable with one.
        if a.name == warden_authority::MAILBOX_AUDIENCE {
            return Err(format!(
                "agents[{i}].name {:?} is reserved for the mailbox",
                a.name
            ));
        }
        a.card_keys().map_err(|e| format!("agents[{i}].{e}"))?;
        a.public_operations()
            .map_err(|e| format!("agents[{i}].{e}"))?;
        if a.push_poll_interval < std::time::Duration::from_millis(100) {
            return Err(format!("agents[{i}].push_poll_interval_ms: at least 100"));
        }
        for host in &a.card_jku_hosts {
            warden_egress::target::parse(&format!("https://{host}/"))
                .ok()
                .filter(|_| !host.is_empty() && !host.contains(['/', '@', '?', '#']))
                .ok_or_else(|| {
                    format!("agents[{i}].card_jku_hosts: {host:?} is not a host name")
                })?;
        }
    }
    for (i, a) in agents.iter().enumerate() {
        for (key, value, how) in [
            ("url", Some(&a.url), UrlUse::Base),
            ("jsonrpc_url", a.jsonrpc_url.as_ref(), UrlUse::Endpoint),
            ("rest_url", a.rest_url.as_ref(), UrlUse::Base),
        ] {
            if let Some(v) = value {
                super::egress::check_configured(rules, v, how).map_err(|e| {
                    format!("agents[{i}].{key}: {v:?} is refused: {e} [{}]", e.reason())
                })?;
            }
        }
    }
    Ok(())
}

/// An agent's name (a path segment and a grant target): 1-64 characters of
/// A-Z, a-z, 0-9, '-' or '_'. `[[remote_agents]]` names follow it too.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
