//! The upstream agents: their cards (fetched, verified and cached) and the
//! endpoints each binding is proxied to.
//!
//! A card is believed only when a signature verifies with a key pinned for
//! the agent (`card_jwks_file`/`card_jwks`) or published at an allow-listed
//! `jku` host (`card_jku_hosts`, fetched through the general egress, purpose
//! `jwks`); otherwise the card, and every call to the agent, is refused
//! (`card_unsigned`/`card_signature` in the log), unless the agent is
//! configured with `allow_unsigned_card`. What is kept of a verified card is
//! its parse as an A2A v1.0 `AgentCard`: members unknown to it are not
//! covered by every verifier's reading of a signature, so none goes further.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use tokio::sync::Mutex;
use warden_a2a::json::parse_strict;
use warden_a2a::types::AgentCard;
use warden_a2a::{A2aError, Binding, ErrorKind, JsonLimits};
use warden_client::CardTrust;

use crate::cards::proxied_binding;
use crate::config::{AgentConfig, Limits};

/// A fetched and verified upstream card.
#[derive(Debug)]
pub struct CachedCard {
    /// The verified card: its known fields only, without `signatures`.
    pub card: AgentCard,
    /// `card` as JSON: what Warden serves (checked by
    /// [`crate::cards::check`]; the pinned card while a change is held).
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

#[derive(Debug)]
pub struct Upstream {
    pub config: AgentConfig,
    /// Whose card signatures are believed.
    trust: CardTrust,
    card: Mutex<Option<Arc<CachedCard>>>,
    /// The extended card as served, per caller and granted skills.
    extended: std::sync::Mutex<HashMap<String, (Instant, Value)>>,
}

/// Most callers' extended cards kept per agent; past it the cache starts
/// over (a bound, not a policy: entries also expire with the card TTL).
const MAX_EXTENDED_ENTRIES: usize = 4096;

impl Upstream {
    /// The extended card served to `key` less than `ttl` ago.
    pub fn cached_extended(&self, key: &str, ttl: Duration) -> Option<Value> {
        let map = self.extended.lock().ok()?;
        map.get(key)
            .filter(|(at, _)| at.elapsed() < ttl)
            .map(|(_, card)| card.clone())
    }

    pub fn keep_extended(&self, key: String, card: Value) {
        if let Ok(mut map) = self.extended.lock() {
            if map.len() >= MAX_EXTENDED_ENTRIES {
                map.clear();
            }
            map.insert(key, (Instant::now(), card));
        }
    }
}

/// All configured upstream agents, by name.
#[derive(Debug, Clone)]
pub struct Upstreams {
    agents: Arc<HashMap<String, Arc<Upstream>>>,
    client: warden_egress::Egress,
    /// The way to allow-listed `jku` JWKS.
    jwks: warden_egress::Egress,
    limits: Limits,
    /// Where cards are pinned and changes held for review (none: no
    /// pinning, as in unit tests).
    pins: Option<(warden_store::Store, crate::audit::AuditSink)>,
    shadowing: warden_card::shadow::ShadowPolicy,
}

fn unavailable(name: &str, why: impl std::fmt::Display) -> A2aError {
    A2aError::new(
        ErrorKind::UpstreamUnavailable,
        format!("agent {name:?} is unavailable: {why}"),
    )
}

fn invalid(name: &str, why: impl std::fmt::Display) -> A2aError {
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

impl Upstreams {
    pub fn new(
        agents: &[AgentConfig],
        client: warden_egress::Egress,
        jwks: warden_egress::Egress,
        limits: Limits,
    ) -> Result<Self, String> {
        let mut map = HashMap::new();
        for a in agents {
            let keys = a
                .card_keys()
                .map_err(|e| format!("agent {:?}: {e}", a.name))?;
            if a.allow_unsigned_card {
                tracing::warn!(
                    agent = %a.name,
                    "allow_unsigned_card = true: this agent's card is served without a verified signature"
                );
            } else if keys.is_empty() && a.card_jku_hosts.is_empty() {
                tracing::warn!(
                    agent = %a.name,
                    "no card keys (card_jwks_file, card_jwks or card_jku_hosts): this agent's card will be refused"
                );
            }
            let trust = CardTrust {
                keys,
                allowed_jku_hosts: a.card_jku_hosts.clone(),
                require_signature: !a.allow_unsigned_card,
                ..CardTrust::default()
            };
            map.insert(
                a.name.clone(),
                Arc::new(Upstream {
                    config: a.clone(),
                    trust,
                    card: Mutex::new(None),
                    extended: std::sync::Mutex::new(HashMap::new()),
                }),
            );
        }
        Ok(Self {
            agents: Arc::new(map),
            client,
            jwks,
            limits,
            pins: None,
            shadowing: warden_card::shadow::ShadowPolicy::default(),
        })
    }

    /// The card's links for readers (`documentationUrl`, `iconUrl`,
    /// `provider.url`) that the egress rules refuse without a lookup
    /// (scheme, userinfo, private or metadata literals, local names) are
    /// dropped from what Warden serves: a client following them would be
    /// sent where Warden itself may not go.
    pub(crate) fn drop_refused_links(&self, agent: &str, card: &mut warden_a2a::types::AgentCard) {
        let rules = self.jwks.rules();
        let refused = |field: &str, url: &str| match crate::egress::check_static(rules, url) {
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

    /// Compares each new or changed card with the other agents'; see
    /// [`crate::cards::shadowing`].
    pub fn with_shadowing(mut self, policy: warden_card::shadow::ShadowPolicy) -> Self {
        self.shadowing = policy;
        self
    }

    /// The other agents whose card is already known: cached (when its slot
    /// is free — never waiting on another agent's lock while holding ours),
    /// else pinned in the store. The agent known first keeps its standing,
    /// across restarts too; the later look-alike is the one judged.
    async fn others(&self, name: &str) -> Vec<(String, Option<Value>)> {
        let mut out = Vec::new();
        for (n, up) in self.agents.iter().filter(|(n, _)| n.as_str() != name) {
            let cached = up
                .card
                .try_lock()
                .ok()
                .and_then(|slot| slot.as_ref().map(|c| c.raw.clone()));
            let card = match (cached, &self.pins) {
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
        let found = crate::cards::shadowing::lookalikes(name, raw, &others, &self.shadowing);
        if found.is_empty() {
            return Ok(());
        }
        let refused = crate::cards::shadowing::refuses(&found);
        tracing::warn!(agent = name, refused, findings = ?found, "agent card looks like another agent's");
        if let Some((_, audit)) = &self.pins {
            let outcome = if refused {
                crate::audit::Outcome::Refused
            } else {
                crate::audit::Outcome::CardFlagged
            };
            audit.emit(&crate::cards::pin::event(
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

    /// Pins each agent's first verified card in `store`; see [`crate::cards::pin`].
    pub fn with_pins(mut self, store: warden_store::Store, audit: crate::audit::AuditSink) -> Self {
        self.pins = Some((store, audit));
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
        let ttl = Duration::from_millis(self.limits.card_cache_ms);
        let mut slot = up.card.lock().await;
        if let Some(c) = slot.as_ref()
            && c.fetched_at.elapsed() < ttl
        {
            return Ok(c.clone());
        }
        let body = self.fetch_card(&up.config).await?;
        let url = format!("agent {:?}", up.config.name);
        let verified = warden_client::card::read_card(&self.jwks, &url, &body, &up.trust)
            .await
            .map_err(|e| untrusted(&up.config.name, &e))?;
        let mut card = verified.card;
        card.signatures.clear();
        self.drop_refused_links(&up.config.name, &mut card);
        let mut raw = serde_json::to_value(&card)
            .map_err(|e| invalid(&up.config.name, format!("cannot be re-encoded: {e}")))?;
        // Look-alikes are judged before anything is pinned, so a refused
        // one never gains a pin (and the standing that comes with it).
        if slot.as_ref().is_none_or(|old| old.upstream != raw) {
            self.check_shadowing(&up.config.name, &raw).await?;
        }
        let upstream = raw.clone();
        if let Some((store, audit)) = &self.pins {
            let keys: Vec<String> = verified
                .signed_by
                .iter()
                .map(|kid| {
                    up.trust
                        .keys
                        .get(kid)
                        .map(|k| k.thumbprint())
                        .unwrap_or_else(|| format!("kid:{kid}"))
                })
                .collect();
            let base = url::Url::parse(&up.config.url).ok();
            let who = crate::cards::pin::Subject {
                agent: &up.config.name,
                base: base.as_ref(),
                policy: up.config.card_lint,
            };
            raw = crate::cards::pin::settle(store, audit, &who, raw, keys).await?;
        } else {
            raw = match crate::cards::check::check(&up.config.name, &raw, up.config.card_lint, false)
            {
                crate::cards::check::Verdict::Serve(served) => served,
                crate::cards::check::Verdict::Hold(findings) => {
                    tracing::warn!(agent = %up.config.name, findings = ?crate::cards::check::Verdict::reasons(&findings), "upstream agent card held by its lint");
                    return Err(crate::cards::pin::lint_refused(&up.config.name));
                }
            };
        }
        card = serde_json::from_value(raw.clone())
            .map_err(|e| invalid(&up.config.name, format!("checked card: {e}")))?;
        let modified = match slot.as_ref() {
            Some(old) if old.raw == raw => old.modified,
            _ => SystemTime::now(),
        };
        let (jsonrpc, rest) = endpoints(&raw);
        let fresh = Arc::new(CachedCard {
            card,
            raw,
            upstream,
            signed_by: verified.signed_by,
            fetched_at: Instant::now(),
            modified,
            jsonrpc_url: up.config.jsonrpc_url.clone().or(jsonrpc),
            rest_url: up.config.rest_url.clone().or(rest),
        });
        *slot = Some(fresh.clone());
        Ok(fresh)
    }

    /// The upstream endpoint for a binding.
    pub async fn endpoint(&self, up: &Upstream, binding: Binding) -> Result<String, A2aError> {
        let (configured, label) = match binding {
            Binding::JsonRpc => (&up.config.jsonrpc_url, "JSON-RPC"),
            Binding::Rest => (&up.config.rest_url, "HTTP+JSON"),
        };
        if let Some(url) = configured
            && up.config.allow_unsigned_card
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

    /// The card's bytes, as received, once they parse as a JSON object.
    async fn fetch_card(&self, agent: &AgentConfig) -> Result<bytes::Bytes, A2aError> {
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
            if e.reason() == "timeout" {
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
        let cap = self.limits.max_response_body_bytes as u64;
        let body = resp.bytes_capped(cap).await.map_err(|e| match e {
            warden_egress::EgressError::TooLarge(_) => invalid(&agent.name, e),
            other => {
                tracing::warn!(agent = %agent.name, error = %other, "agent card read failed");
                unavailable(&agent.name, "its card could not be read")
            }
        })?;
        let limits = JsonLimits {
            max_depth: self.limits.max_json_depth,
            max_string_bytes: self.limits.max_json_string_bytes,
        };
        let raw = parse_strict(&body, limits).map_err(|e| invalid(&agent.name, e))?;
        if !raw.is_object() {
            return Err(invalid(&agent.name, "the card is not a JSON object"));
        }
        Ok(body)
    }
}

/// The first JSON-RPC and HTTP+JSON endpoints a card offers, preferring v1.0
/// interfaces, then the v0.3 `url`/`preferredTransport`/`additionalInterfaces`.
pub fn endpoints(card: &Value) -> (Option<String>, Option<String>) {
    let mut candidates: Vec<(String, String, bool)> = Vec::new();
    if let Some(list) = card.get("supportedInterfaces").and_then(Value::as_array) {
        for i in list {
            let (Some(url), Some(b)) = (
                i.get("url").and_then(Value::as_str),
                i.get("protocolBinding").and_then(Value::as_str),
            ) else {
                continue;
            };
            let v1 = i
                .get("protocolVersion")
                .and_then(Value::as_str)
                .is_some_and(|v| v.starts_with("1."));
            candidates.push((b.to_ascii_uppercase(), url.to_string(), v1));
        }
    }
    if let Some(url) = card.get("url").and_then(Value::as_str) {
        let t = card
            .get("preferredTransport")
            .and_then(Value::as_str)
            .unwrap_or("JSONRPC");
        candidates.push((t.to_ascii_uppercase(), url.to_string(), false));
    }
    if let Some(list) = card.get("additionalInterfaces").and_then(Value::as_array) {
        for i in list {
            if let (Some(url), Some(t)) = (
                i.get("url").and_then(Value::as_str),
                i.get("transport").and_then(Value::as_str),
            ) {
                candidates.push((t.to_ascii_uppercase(), url.to_string(), false));
            }
        }
    }
    let pick = |binding: &str| {
        let of_kind = || {
            candidates
                .iter()
                .filter(move |(b, _, _)| b == binding && proxied_binding(b))
        };
        of_kind()
            .find(|(_, _, v1)| *v1)
            .or_else(|| of_kind().next())
            .map(|(_, u, _)| u.clone())
    };
    (pick("JSONRPC"), pick("HTTP+JSON"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn picks_v1_interfaces_first_then_legacy() {
        let card = json!({
            "url": "http://old/",
            "supportedInterfaces": [
                {"url": "http://a/rpc03", "protocolBinding": "JSONRPC", "protocolVersion": "0.3"},
                {"url": "http://a/rpc", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
                {"url": "http://a/rest", "protocolBinding": "HTTP+JSON", "protocolVersion": "1.0"}
            ]
        });
        assert_eq!(
            endpoints(&card),
            (Some("http://a/rpc".into()), Some("http://a/rest".into()))
        );
        let legacy = json!({"url": "http://old/", "additionalInterfaces": [{"url": "http://old/rest", "transport": "HTTP+JSON"}]});
        assert_eq!(
            endpoints(&legacy),
            (Some("http://old/".into()), Some("http://old/rest".into()))
        );
    }
}
