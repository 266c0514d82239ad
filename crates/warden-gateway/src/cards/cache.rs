//! The card each agent is served under, kept for the card TTL
//! (`limits.card_cache_ms`), and what happens to a card that is new or
//! changed before it is kept.
//!
//! A believed card ([`super::fetch`]) is first compared with the other
//! agents' cards ([`super::shadowing`]; judged before anything is pinned,
//! so a refused look-alike never gains a pin and the standing that comes
//! with it), then linted ([`super::check`]) and pinned, or held for review
//! ([`super::pin`]). Extended cards, which come with a call, are kept here
//! too, per caller and granted skills.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use tokio::sync::Mutex;
use warden_a2a::A2aError;
use warden_a2a::types::AgentCard;
use warden_card::shadow::ShadowPolicy;
use warden_client::CardTrust;

use super::check::{self, Verdict};
use super::fetch::{CardSource, invalid, unavailable};
use super::interfaces::endpoints;
use super::{pin, shadowing};
use crate::audit::{AuditSink, Outcome};
use crate::config::AgentConfig;

/// A fetched and verified upstream card.
#[derive(Debug)]
pub struct CachedCard {
    /// The verified card: its known fields only, without `signatures`.
    pub card: AgentCard,
    /// `card` as JSON: what Warden serves (checked by
    /// [`super::check`]; the pinned card while a change is held).
    pub raw: Value,
    /// The upstream's verified card as fetched (known fields only).
    pub upstream: Value,
    /// The `kid` whose signature verified (None: accepted unsigned).
    pub signed_by: Option<String>,
    pub fetched_at: Instant,
    /// When this content was first seen (the served `Last-Modified`).
    pub modified: SystemTime,
    pub jsonrpc_url: Option<String>,
    pub rest_url: Option<String>,
}

/// One agent's cards: whose signatures are believed, the card kept, and
/// the extended cards served.
#[derive(Debug)]
pub struct CardSlot {
    trust: CardTrust,
    card: Mutex<Option<Arc<CachedCard>>>,
    /// The extended card as served, per caller and granted skills.
    extended: std::sync::Mutex<HashMap<String, (Instant, Value)>>,
}

/// Most callers' extended cards kept per agent; past it the cache starts
/// over (a bound, not a policy: entries also expire with the card TTL).
const MAX_EXTENDED_ENTRIES: usize = 4096;

/// How long ago `at` (a [`crate::clock::now_instant`] reading) was: cards
/// age on the gateway's clock, so a test can expire them by moving it.
fn age(at: Instant) -> Duration {
    crate::clock::now_instant().saturating_duration_since(at)
}

impl CardSlot {
    /// An empty slot for `agent` (refused when its card keys do not load).
    pub fn new(agent: &AgentConfig) -> Result<Self, String> {
        Ok(Self {
            trust: super::fetch::trust(agent)?,
            card: Mutex::new(None),
            extended: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// The extended card served to `key` less than `ttl` ago.
    pub fn cached_extended(&self, key: &str, ttl: Duration) -> Option<Value> {
        let map = self.extended.lock().ok()?;
        map.get(key)
            .filter(|(at, _)| age(*at) < ttl)
            .map(|(_, card)| card.clone())
    }

    pub fn keep_extended(&self, key: String, card: Value) {
        if let Ok(mut map) = self.extended.lock() {
            if map.len() >= MAX_EXTENDED_ENTRIES {
                map.clear();
            }
            map.insert(key, (crate::clock::now_instant(), card));
        }
    }

    /// The card kept, unless another task is settling it right now (never
    /// waited for: see [`Cards::others`]).
    fn peek(&self) -> Option<Value> {
        self.card
            .try_lock()
            .ok()
            .and_then(|slot| slot.as_ref().map(|c| c.raw.clone()))
    }
}

/// The cards of all agents: where they come from, where they are pinned,
/// and how look-alikes are judged.
#[derive(Debug, Clone)]
pub struct Cards {
    pub source: CardSource,
    /// Every agent's slot, by name (look-alikes are judged against all).
    slots: Arc<HashMap<String, Arc<CardSlot>>>,
    ttl: Duration,
    /// Where cards are pinned and changes held for review (none: no
    /// pinning, as in unit tests).
    pins: Option<(warden_store::Store, AuditSink)>,
    shadowing: ShadowPolicy,
}

impl Cards {
    /// The cards of the agents in `slots`, from `source`, kept for `ttl`;
    /// no pinning, default shadowing.
    pub fn new(source: CardSource, slots: HashMap<String, Arc<CardSlot>>, ttl: Duration) -> Self {
        Self {
            source,
            slots: Arc::new(slots),
            ttl,
            pins: None,
            shadowing: ShadowPolicy::default(),
        }
    }

    /// Pins each agent's first verified card in `store`; see [`super::pin`].
    pub fn with_pins(mut self, store: warden_store::Store, audit: AuditSink) -> Self {
        self.pins = Some((store, audit));
        self
    }

    /// Compares each new or changed card with the other agents'; see
    /// [`super::shadowing`].
    pub fn with_shadowing(mut self, policy: ShadowPolicy) -> Self {
        self.shadowing = policy;
        self
    }

    /// `agent`'s card (`slot` is its own), fetched again once the kept one
    /// is stale.
    pub async fn card(
        &self,
        agent: &AgentConfig,
        slot: &CardSlot,
    ) -> Result<Arc<CachedCard>, A2aError> {
        let name = agent.name.as_str();
        let mut kept = slot.card.lock().await;
        if let Some(c) = kept.as_ref()
            && age(c.fetched_at) < self.ttl
        {
            return Ok(c.clone());
        }
        let believed = self.source.believed(agent, &slot.trust).await?;
        let mut raw = serde_json::to_value(&believed.card)
            .map_err(|e| invalid(name, format!("cannot be re-encoded: {e}")))?;
        // Look-alikes are judged before anything is pinned, so a refused
        // one never gains a pin (and the standing that comes with it).
        if kept.as_ref().is_none_or(|old| old.upstream != raw) {
            self.check_shadowing(name, &raw).await?;
        }
        let upstream = raw.clone();
        if let Some((store, audit)) = &self.pins {
            let keys: Vec<String> = believed
                .signed_by
                .iter()
                .map(|kid| {
                    slot.trust
                        .keys
                        .get(kid)
                        .map(|k| k.thumbprint())
                        .unwrap_or_else(|| format!("kid:{kid}"))
                })
                .collect();
            let base = url::Url::parse(&agent.url).ok();
            let who = pin::Subject {
                agent: name,
                base: base.as_ref(),
                policy: agent.card_lint,
            };
            raw = pin::settle(store, audit, &who, raw, keys).await?;
        } else {
            raw = match check::check(name, &raw, agent.card_lint, false) {
                Verdict::Serve(served) => served,
                Verdict::Hold(findings) => {
                    tracing::warn!(agent = name, findings = ?Verdict::reasons(&findings), "upstream agent card held by its lint");
                    return Err(pin::lint_refused(name));
                }
            };
        }
        let card = serde_json::from_value(raw.clone())
            .map_err(|e| invalid(name, format!("checked card: {e}")))?;
        let modified = match kept.as_ref() {
            Some(old) if old.raw == raw => old.modified,
            _ => SystemTime::now(),
        };
        let (jsonrpc, rest) = endpoints(&raw);
        let fresh = Arc::new(CachedCard {
            card,
            raw,
            upstream,
            signed_by: believed.signed_by,
            fetched_at: crate::clock::now_instant(),
            modified,
            jsonrpc_url: agent.jsonrpc_url.clone().or(jsonrpc),
            rest_url: agent.rest_url.clone().or(rest),
        });
        *kept = Some(fresh.clone());
        Ok(fresh)
    }

    /// The other agents whose card is already known: kept (when its slot
    /// is free — never waiting on another agent's lock while holding ours),
    /// else pinned in the store. The agent known first keeps its standing,
    /// across restarts too; the later look-alike is the one judged.
    async fn others(&self, name: &str) -> Vec<(String, Option<Value>)> {
        let mut out = Vec::new();
        for (n, slot) in self.slots.iter().filter(|(n, _)| n.as_str() != name) {
            let card = match (slot.peek(), &self.pins) {
                (Some(c), _) => Some(c),
                (None, Some((store, _))) => store
                    .card_pin(n)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|p| serde_json::from_str(&p.card).ok()),
                (None, None) => None,
            };
            if let Some(c) = card {
                out.push((n.clone(), Some(c)));
            }
        }
        out
    }

    /// Shadowing check of a new or changed card: refused look-alikes fail
    /// the card, flagged ones are recorded.
    async fn check_shadowing(&self, name: &str, raw: &Value) -> Result<(), A2aError> {
        let others = self.others(name).await;
        let found = shadowing::lookalikes(name, raw, &others, &self.shadowing);
        if found.is_empty() {
            return Ok(());
        }
        let refused = shadowing::refuses(&found);
        tracing::warn!(agent = name, refused, findings = ?found, "agent card looks like another agent's");
        if let Some((_, audit)) = &self.pins {
            let outcome = if refused {
                Outcome::Refused
            } else {
                Outcome::CardFlagged
            };
            audit.emit(&pin::event(
                name,
                outcome,
                "shadowing",
                serde_json::json!({"lookalikes": found}),
            ));
        }
        if refused {
            return Err(
                unavailable(name, "its card looks like another agent's (card_shadowing)")
                    .with("card", "card_shadowing"),
            );
        }
        Ok(())
    }
}
