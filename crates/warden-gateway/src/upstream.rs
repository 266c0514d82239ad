//! The upstream agents behind the gateway, by name, and the endpoint each
//! binding of a call is proxied to.
//!
//! An agent is called only once its card verifies (see [`crate::cards`]):
//! at the endpoint the operator configured (`jsonrpc_url`, `rest_url`), or
//! else at the interface its own verified card names.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use warden_a2a::types::AgentCard;
use warden_a2a::{A2aError, Binding};
use warden_egress::EgressError;
use warden_egress::target::{self, Target};

use crate::cards::cache::{CachedCard, CardSlot, Cards};
use crate::cards::fetch::CardSource;
use crate::config::{AgentConfig, Limits};

/// An endpoint's text read as a URL, or why it cannot be one.
type Read = Result<Target, EgressError>;

#[derive(Debug)]
pub struct Upstream {
    pub config: AgentConfig,
    /// Its card, and the extended cards served for it.
    cards: Arc<CardSlot>,
    /// The last endpoint of each binding as read (JSON-RPC, REST): the
    /// text and what reading it gave, so that calls do not read the same
    /// text (and map its host through IDNA) every time.
    read: [Mutex<Option<(String, Read)>>; 2],
}

impl Upstream {
    /// The extended card served to `key` less than `ttl` ago.
    pub fn cached_extended(&self, key: &str, ttl: Duration) -> Option<Value> {
        self.cards.cached_extended(key, ttl)
    }

    pub fn keep_extended(&self, key: String, card: Value) {
        self.cards.keep_extended(key, card);
    }

    /// `endpoint` (from [`Upstreams::endpoint`]) read as the binding reads
    /// it: a JSON-RPC endpoint is the URL called, read by
    /// [`target::parse`]; a REST endpoint is a base, read by
    /// [`target::parse_base`]. The same text gives the same answer, so the
    /// last one is kept and a changed endpoint (a new card) read anew.
    pub fn read_endpoint(&self, binding: Binding, endpoint: &str) -> Result<Target, EgressError> {
        let (slot, read): (_, fn(&str) -> Read) = match binding {
            Binding::JsonRpc => (&self.read[0], target::parse),
            Binding::Rest => (&self.read[1], target::parse_base),
        };
        let mut kept = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((text, read)) = kept.as_ref()
            && text == endpoint
        {
            return read.clone();
        }
        let fresh = read(endpoint);
        *kept = Some((endpoint.to_owned(), fresh.clone()));
        fresh
    }
}

/// All configured upstream agents, by name.
#[derive(Debug, Clone)]
pub struct Upstreams {
    agents: Arc<HashMap<String, Arc<Upstream>>>,
    client: warden_egress::Egress,
    cards: Cards,
}

impl Upstreams {
    /// The agents of `agents`, called through `client`; `jwks` is the way to
    /// allow-listed card key sets.
    pub fn new(
        agents: &[AgentConfig],
        client: warden_egress::Egress,
        jwks: warden_egress::Egress,
        limits: Limits,
    ) -> Result<Self, String> {
        let mut map = HashMap::new();
        let mut slots = HashMap::new();
        for a in agents {
            let slot = Arc::new(CardSlot::new(a)?);
            slots.insert(a.name.clone(), Arc::clone(&slot));
            map.insert(
                a.name.clone(),
                Arc::new(Upstream {
                    config: a.clone(),
                    cards: slot,
                    read: Default::default(),
                }),
            );
        }
        let source = CardSource::new(client.clone(), jwks, limits);
        let ttl = limits.card_cache;
        Ok(Self {
            agents: Arc::new(map),
            client,
            cards: Cards::new(source, slots, ttl),
        })
    }

    /// See [`CardSource::drop_refused_links`].
    pub(crate) fn drop_refused_links(&self, agent: &str, card: &mut AgentCard) {
        self.cards.source.drop_refused_links(agent, card);
    }

    /// Compares each new or changed card with the other agents'; see
    /// [`crate::cards::shadowing`].
    pub fn with_shadowing(mut self, policy: warden_card::shadow::ShadowPolicy) -> Self {
        self.cards = self.cards.with_shadowing(policy);
        self
    }

    /// Pins each agent's first verified card in `store`; see [`crate::cards::pin`].
    pub fn with_pins(mut self, store: warden_store::Store, audit: crate::audit::AuditSink) -> Self {
        self.cards = self.cards.with_pins(store, audit);
        self
    }

    pub fn get(&self, name: &str) -> Option<Arc<Upstream>> {
        self.agents.get(name).cloned()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.agents.keys().map(String::as_str)
    }

    pub fn client(&self) -> &warden_egress::Egress {
        &self.client
    }

    /// The upstream card, fetched again once the cached one is stale.
    pub async fn card(&self, up: &Upstream) -> Result<Arc<CachedCard>, A2aError> {
        self.cards.card(&up.config, &up.cards).await
    }

    /// The upstream endpoint for a binding.
    pub async fn endpoint(&self, up: &Upstream, binding: Binding) -> Result<String, A2aError> {
        let (configured, label) = match binding {
            Binding::JsonRpc => (&up.config.jsonrpc_url, "JSON-RPC"),
            Binding::Rest => (&up.config.rest_url, "HTTP+JSON"),
        };
        if let Some(url) = configured
            && up.config.insecure_unsigned_card
        {
            return Ok(url.clone());
        }
        // An agent whose card does not verify is not called at all.
        let card = self.card(up).await?;
        if let Some(url) = configured {
            return Ok(url.clone());
        }
        let found = match binding {
            Binding::JsonRpc => card.jsonrpc_url.clone(),
            Binding::Rest => card.rest_url.clone(),
        };
        found.ok_or_else(|| {
            A2aError::unsupported_operation(format!(
                "agent {:?} offers no {label} interface",
                up.config.name
            ))
        })
    }
}
