//! An upstream agent's card, fetched and believed only when it verifies.
//!
//! A card is believed only when a signature verifies with a key pinned for
//! the agent (`card_jwks_file`/`card_jwks`) or published at an allow-listed
//! `jku` host (`card_jku_hosts`, fetched through the general egress, purpose
//! `jwks`); otherwise the card, and every call to the agent, is refused
//! (`card_unsigned`/`card_signature` in the log), unless the agent is
//! configured with `insecure_unsigned_card`. What is kept of a verified card is
//! its parse as an A2A v1.0 `AgentCard`: members unknown to it are not
//! covered by every verifier's reading of a signature, so none goes further.
//! Links for readers that the egress rules refuse are dropped
//! ([`CardSource::drop_refused_links`]).
//!
//! Errors name the agent, never the upstream address: the reason goes to the
//! log.

use warden_a2a::json::parse_strict;
use warden_a2a::types::AgentCard;
use warden_a2a::{A2aError, ErrorKind};
use warden_client::CardTrust;

use crate::config::{AgentConfig, Limits};

/// A card that verified: its known fields, without `signatures`.
pub struct Believed {
    pub card: AgentCard,
    /// The `kid` whose signature verified (None: accepted unsigned).
    pub signed_by: Option<String>,
}

/// Where cards come from and how they are checked, for every agent.
#[derive(Debug, Clone)]
pub struct CardSource {
    /// The way to the agents.
    client: warden_egress::Egress,
    /// The way to allow-listed `jku` JWKS (the general egress, whose rules
    /// also judge a card's links).
    jwks: warden_egress::Egress,
    limits: Limits,
}

/// Whose card signatures are believed for `agent` (warned about when none
/// could be).
pub fn trust(agent: &AgentConfig) -> Result<CardTrust, String> {
    let keys = agent
        .card_keys()
        .map_err(|e| format!("agent {:?}: {e}", agent.name))?;
    if agent.insecure_unsigned_card {
        tracing::warn!(
            agent = %agent.name,
            "insecure_unsigned_card = true: this agent's card is served without a verified signature"
        );
    } else if keys.is_empty() && agent.card_jku_hosts.is_empty() {
        tracing::warn!(
            agent = %agent.name,
            "no card keys (card_jwks_file, card_jwks or card_jku_hosts): this agent's card will be refused"
        );
    }
    Ok(CardTrust {
        keys,
        allowed_jku_hosts: agent.card_jku_hosts.clone(),
        require_signature: !agent.insecure_unsigned_card,
        ..CardTrust::default()
    })
}

pub(crate) fn unavailable(name: &str, why: impl std::fmt::Display) -> A2aError {
    A2aError::new(
        ErrorKind::UpstreamUnavailable,
        format!("agent {name:?} is unavailable: {why}"),
    )
}

pub(crate) fn invalid(name: &str, why: impl std::fmt::Display) -> A2aError {
    A2aError::new(
        ErrorKind::InvalidAgentResponse,
        format!("agent {name:?} sent an invalid agent card: {why}"),
    )
}

/// A card refused by its signature check: the reason code goes to the log
/// and the audit, the caller learns only that the card is not trusted.
fn untrusted(name: &str, e: &warden_client::ClientError) -> A2aError {
    let reason = match e.reason() {
        "card_unsigned" => "card_unsigned",
        "card_json" | "card_invalid" => "card_invalid",
        "jwks" => "card_jwks",
        _ => "card_signature",
    };
    tracing::warn!(agent = %name, reason, error = %e, "upstream agent card refused");
    let why = match reason {
        "card_unsigned" => "its card carries no signature by a trusted key",
        "card_invalid" => "its card is not a valid A2A v1.0 agent card",
        "card_jwks" => "the keys its card signature names could not be fetched",
        _ => "its card signature does not verify",
    };
    unavailable(name, format!("{why} ({reason})")).with("card", reason)
}

impl CardSource {
    /// `client` reaches the agents, `jwks` the allow-listed key sets.
    pub fn new(client: warden_egress::Egress, jwks: warden_egress::Egress, limits: Limits) -> Self {
        Self {
            client,
            jwks,
            limits,
        }
    }

    /// The agent's card, fetched and verified with `trust`, with the links
    /// the egress rules refuse dropped.
    pub async fn believed(
        &self,
        agent: &AgentConfig,
        trust: &CardTrust,
    ) -> Result<Believed, A2aError> {
        let body = self.fetch(agent).await?;
        let url = format!("agent {:?}", agent.name);
        let verified = warden_client::card::read_card(&self.jwks, &url, &body, trust)
            .await
            .map_err(|e| untrusted(&agent.name, &e))?;
        let mut card = verified.card;
        card.signatures.clear();
        self.drop_refused_links(&agent.name, &mut card);
        Ok(Believed {
            card,
            signed_by: verified.signed_by,
        })
    }

    /// The card's links for readers (`documentationUrl`, `iconUrl`,
    /// `provider.url`) that the egress rules refuse without a lookup
    /// (scheme, userinfo, private or metadata literals, local names) are
    /// dropped from what Warden serves: a client following them would be
    /// sent where Warden itself may not go.
    pub(crate) fn drop_refused_links(&self, agent: &str, card: &mut AgentCard) {
        let rules = self.jwks.rules();
        let refused = |field: &str, url: &str| match crate::config::egress::check_static(rules, url)
        {
            Ok(()) => false,
            Err(e) => {
                tracing::warn!(
                    agent,
                    field,
                    reason = e.reason(),
                    "dropped a card link the egress rules refuse"
                );
                true
            }
        };
        if card
            .documentation_url
            .as_deref()
            .is_some_and(|u| refused("documentationUrl", u))
        {
            card.documentation_url = None;
        }
        if card
            .icon_url
            .as_deref()
            .is_some_and(|u| refused("iconUrl", u))
        {
            card.icon_url = None;
        }
        if card
            .provider
            .as_ref()
            .is_some_and(|p| refused("provider.url", &p.url))
        {
            card.provider = None;
        }
    }

    /// The card's bytes, as received, once they parse as a JSON object.
    async fn fetch(&self, agent: &AgentConfig) -> Result<bytes::Bytes, A2aError> {
        // Joined on the parsed URL, never pasted (a `#` or `?` in the base
        // would move the path).
        let url = warden_client::card::card_url(&agent.url).map_err(|e| {
            tracing::warn!(agent = %agent.name, reason = e.reason(), "agent url cannot take the card path");
            unavailable(&agent.name, "its card could not be fetched")
        })?;
        let mut req = warden_egress::Outbound::get(&url, "card");
        req.headers
            .insert("a2a-version", http::HeaderValue::from_static("1.0"));
        req.headers.insert(
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/json"),
        );
        let resp = self.client.send(req).await.map_err(|e| {
            // The reason goes to the log; callers never see upstream URLs.
            tracing::warn!(agent = %agent.name, error = %e, reason = e.reason(), "agent card fetch failed");
            if e.is_timeout() {
                A2aError::new(
                    ErrorKind::UpstreamTimeout,
                    format!("agent {:?} did not answer in time", agent.name),
                )
            } else {
                unavailable(&agent.name, "its card could not be fetched")
            }
        })?;
        if !resp.status().is_success() {
            return Err(unavailable(
                &agent.name,
                format!("its card answered HTTP {}", resp.status()),
            ));
        }
        if resp
            .headers()
            .get("content-encoding")
            .is_some_and(|v| v != "identity")
        {
            // Never rewrite what could not be read exactly.
            return Err(invalid(&agent.name, "the card is compressed"));
        }
        let cap = self.limits.max_response_body_bytes.get() as u64;
        let body = resp.bytes_capped(cap).await.map_err(|e| match e {
            warden_egress::EgressError::TooLarge(_) => invalid(&agent.name, e),
            other => {
                tracing::warn!(agent = %agent.name, error = %other, "agent card read failed");
                unavailable(&agent.name, "its card could not be read")
            }
        })?;
        let limits = self.limits.json();
        let raw = parse_strict(&body, limits).map_err(|e| invalid(&agent.name, e))?;
        if !raw.is_object() {
            return Err(invalid(&agent.name, "the card is not a JSON object"));
        }
        Ok(body)
    }
}
