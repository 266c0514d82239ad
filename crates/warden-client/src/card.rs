//! Fetching an Agent Card and deciding whether to believe it.
//!
//! The card is the peer's word. It is read within a size cap and strictly
//! (duplicate keys refused), its signature is verified against keys the
//! caller chose ([`CardTrust`]), and the URL the client will use from it is
//! checked by the egress rules before anything is sent there
//! ([`Interface::from_card`]): a card naming `http://169.254.169.254/` as
//! its endpoint is refused, with the egress reason.
//!
//! # Which keys
//!
//! Keys come from the caller: a pinned [`KeySet`] (a JWKS file or inline),
//! and, only for hosts on [`CardTrust::allowed_jku_hosts`], the JWKS a
//! signature's protected `jku` header names, fetched through the same
//! egress (purpose `jwks`). A signer-chosen `jku` on any other host is not
//! followed: anyone can publish a key.
//!
//! # Unsigned cards
//!
//! With [`CardTrust::require_signature`] (the default), a card without a
//! verifying signature is refused. Without it, a card with no signatures
//! is accepted, and so is one whose signatures name only keys the caller
//! does not know (it proves no more and no less than an unsigned card);
//! a signature by a known key that does not verify, or any malformed
//! signature, still refuses the card: that is a tampered card.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use warden_a2a::Binding;
use warden_a2a::types::{AgentCard, AgentInterface, BINDING_HTTP_JSON, BINDING_JSONRPC};
use warden_egress::{Admitted, Egress, Outbound};
use warden_trust::card_signature::{
    CardVerifyError, CardVerifyPolicy, KeyRequest, SignatureRejection, signature_headers,
    verify_card,
};
use warden_trust::jwk::PublicJwk;
use warden_trust::{JwsAlg, KeySet};

use crate::error::ClientError;

/// Where a card is published under an agent's base URL.
pub const AGENT_CARD_PATH: &str = "/.well-known/agent-card.json";
/// Largest card read.
pub const MAX_CARD_BYTES: u64 = 1024 * 1024;
/// Largest JWKS read from a `jku`.
pub const MAX_JWKS_BYTES: u64 = 256 * 1024;

/// Which card signatures to believe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardTrust {
    /// Pinned verification keys, by `kid`.
    pub keys: KeySet,
    /// Hosts whose `jku` JWKS may be fetched (exact names, compared after
    /// the egress URL normalisation). Empty: no `jku` is followed.
    pub allowed_jku_hosts: Vec<String>,
    /// Refuse a card that carries no verifying signature (default true).
    pub require_signature: bool,
    /// Signature algorithms accepted (default: all Warden supports).
    pub algorithms: Vec<JwsAlg>,
}

impl Default for CardTrust {
    fn default() -> Self {
        Self {
            keys: KeySet::default(),
            allowed_jku_hosts: Vec::new(),
            require_signature: true,
            algorithms: warden_trust::alg::ALL_ALGS.to_vec(),
        }
    }
}

impl CardTrust {
    /// Signatures required, by one of `keys`.
    pub fn pinned(keys: KeySet) -> Self {
        Self {
            keys,
            ..Self::default()
        }
    }

    /// Keys from JWKS text.
    pub fn read_jwks(text: &str) -> Result<KeySet, ClientError> {
        let doc = warden_json::parse_strict(text.as_bytes(), warden_json::JsonLimits::default())
            .map_err(|e| ClientError::Config(format!("JWKS is not acceptable JSON: {e}")))?;
        KeySet::from_jwks(&doc).map_err(|e| ClientError::Config(format!("JWKS: {e}")))
    }

    /// Keys from a JWKS file.
    pub fn read_jwks_file(path: &Path) -> Result<KeySet, ClientError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ClientError::Config(format!("{}: {e}", path.display())))?;
        Self::read_jwks(&text).map_err(|e| ClientError::Config(format!("{}: {e}", path.display())))
    }

    /// One set holding every key of `sets` (a `kid` in two sets refuses).
    pub fn merge(sets: impl IntoIterator<Item = KeySet>) -> Result<KeySet, ClientError> {
        let mut all = Vec::new();
        for set in sets {
            if let Some(keys) = set.to_jwks().get("keys").and_then(Value::as_array) {
                all.extend(keys.iter().cloned());
            }
        }
        KeySet::from_jwks(&serde_json::json!({ "keys": all }))
            .map_err(|e| ClientError::Config(format!("JWKS: {e}")))
    }

    fn jku_allowed(&self, jku: &str) -> bool {
        jku_on_hosts(jku, &self.allowed_jku_hosts)
    }
}

/// Whether `jku` names one of `hosts` exactly, compared after the egress
/// URL normalisation (case, IDNA, trailing dot).
pub fn jku_on_hosts(jku: &str, hosts: &[String]) -> bool {
    let Ok(target) = warden_egress::target::parse(jku) else {
        return false;
    };
    let host = target.host.to_string();
    hosts
        .iter()
        .filter_map(|h| warden_egress::target::parse(&format!("https://{h}/")).ok())
        .any(|allowed| allowed.host.to_string() == host)
}

/// The keys a card's signatures are checked with — the one rule for every
/// verifier (the gateway, `warden call`, `warden card verify`): a key named
/// by an allow-listed `jku` comes from that JWKS, any other from the
/// `pinned` keys by `kid`. The caller fetches the JWKS of each URL
/// [`SignatureKeys::wanted`] lists and [`SignatureKeys::add`]s it.
pub struct SignatureKeys<'a> {
    fetched: BTreeMap<String, KeySet>,
    pinned: &'a KeySet,
}

impl<'a> SignatureKeys<'a> {
    pub fn new(pinned: &'a KeySet) -> Self {
        Self {
            fetched: BTreeMap::new(),
            pinned,
        }
    }

    /// The `jku`s among `jkus` that `allowed` lets be fetched, each once.
    pub fn wanted<'j>(
        jkus: impl IntoIterator<Item = &'j str>,
        allowed: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for jku in jkus {
            if allowed(jku) && !out.iter().any(|j| j == jku) {
                out.push(jku.to_string());
            }
        }
        out
    }

    /// The JWKS fetched from `jku`.
    pub fn add(&mut self, jku: String, keys: KeySet) {
        self.fetched.insert(jku, keys);
    }

    /// The key for one signature.
    pub fn get(&self, req: &KeyRequest<'_>) -> Option<PublicJwk> {
        req.jku
            .and_then(|u| self.fetched.get(u))
            .and_then(|set| set.get(req.kid))
            .or_else(|| self.pinned.get(req.kid))
            .cloned()
    }
}

/// A card that was read and whose signature was checked under a
/// [`CardTrust`].
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedCard {
    pub card: AgentCard,
    /// The card as received (strictly parsed).
    pub raw: Value,
    /// The `kid` whose signature verified; `None` when the card was
    /// accepted unsigned (only without `require_signature`).
    pub signed_by: Option<String>,
}

impl VerifiedCard {
    /// The first interface in `binding`, unchecked.
    pub fn interface(&self, binding: Binding) -> Option<&AgentInterface> {
        let wanted = binding_name(binding);
        self.card
            .supported_interfaces
            .iter()
            .find(|i| i.protocol_binding.eq_ignore_ascii_case(wanted))
    }

    /// Whether the card carries any signature entries.
    pub fn has_signatures(&self) -> bool {
        self.raw
            .get("signatures")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
    }
}

/// The card's name for a binding.
pub fn binding_name(binding: Binding) -> &'static str {
    match binding {
        Binding::JsonRpc => BINDING_JSONRPC,
        Binding::Rest => BINDING_HTTP_JSON,
    }
}

/// An interface whose URL the egress rules admitted. The only way to make
/// one is to check it, so a call cannot go to an unchecked card URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    url: String,
    binding: Binding,
    tenant: Option<String>,
    admitted: Admitted,
}

impl Interface {
    /// The first `binding` interface of `card`, its URL checked.
    pub async fn from_card(
        egress: &Egress,
        card: &VerifiedCard,
        binding: Binding,
    ) -> Result<Self, ClientError> {
        let iface = card
            .interface(binding)
            .ok_or_else(|| ClientError::NoInterface {
                agent: card.card.name.clone(),
                binding: binding_name(binding),
            })?;
        let admitted =
            egress
                .check(&iface.url)
                .await
                .map_err(|source| ClientError::InterfaceRefused {
                    binding: binding_name(binding),
                    url: iface.url.clone(),
                    source,
                })?;
        Ok(Self {
            url: iface.url.clone(),
            binding,
            tenant: iface.tenant.clone(),
            admitted,
        })
    }

    /// An interface known without a card (`url` checked like a card's).
    pub async fn check(
        egress: &Egress,
        url: &str,
        binding: Binding,
        tenant: Option<String>,
    ) -> Result<Self, ClientError> {
        let admitted = egress.check(url).await?;
        Ok(Self {
            url: url.to_string(),
            binding,
            tenant,
            admitted,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn binding(&self) -> Binding {
        self.binding
    }

    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    /// What the check found: the normalised target and its addresses.
    pub fn admitted(&self) -> &Admitted {
        &self.admitted
    }
}

/// `{base}/.well-known/agent-card.json`, built on the parsed `base`
/// ([`warden_egress::target::join_path`]): a base with a query or a
/// fragment (`http://127.0.0.1:1#@example.com/`), which the card path would
/// land after, is refused (reason `bad_url`).
pub fn card_url(base: &str) -> Result<String, warden_egress::EgressError> {
    warden_egress::target::join_path(base, AGENT_CARD_PATH)
}

/// Fetches the card of the agent at `base` and verifies it under `trust`.
pub async fn fetch_card(
    egress: &Egress,
    base: &str,
    trust: &CardTrust,
) -> Result<VerifiedCard, ClientError> {
    let url = card_url(base)?;
    let mut req = Outbound::get(&url, "card");
    req.headers.insert(
        "a2a-version",
        http::HeaderValue::from_static(crate::A2A_VERSION),
    );
    req.headers.insert(
        http::header::ACCEPT,
        http::HeaderValue::from_static("application/json"),
    );
    let resp = egress.send(req).await?;
    let status = resp.status();
    if !status.is_success() {
        return Err(ClientError::CardStatus {
            url,
            status: status.as_u16(),
        });
    }
    let body = resp.bytes_capped(MAX_CARD_BYTES).await?;
    read_card(egress, &url, &body, trust).await
}

/// Reads and verifies card bytes received from `url`.
pub async fn read_card(
    egress: &Egress,
    url: &str,
    body: &[u8],
    trust: &CardTrust,
) -> Result<VerifiedCard, ClientError> {
    let raw = warden_json::parse_strict(body, warden_json::JsonLimits::default()).map_err(|e| {
        ClientError::CardJson {
            url: url.to_string(),
            why: e.to_string(),
        }
    })?;
    let card: AgentCard =
        serde_json::from_value(raw.clone()).map_err(|e| ClientError::CardInvalid {
            url: url.to_string(),
            why: e.to_string(),
        })?;
    let signed_by = verify(egress, url, body, trust).await?;
    Ok(VerifiedCard {
        card,
        raw,
        signed_by,
    })
}

/// The verifying `kid`, or `None` for a card accepted unsigned.
async fn verify(
    egress: &Egress,
    url: &str,
    body: &[u8],
    trust: &CardTrust,
) -> Result<Option<String>, ClientError> {
    let policy = CardVerifyPolicy::new(trust.algorithms.clone());
    let refused = |source| ClientError::CardSignature {
        url: url.to_string(),
        source,
    };
    let headers = match signature_headers(body, &policy) {
        Ok(h) => h,
        Err(CardVerifyError::NoSignatures) if !trust.require_signature => return Ok(None),
        Err(CardVerifyError::NoSignatures) => return Err(ClientError::CardUnsigned(url.into())),
        Err(e) => return Err(refused(e)),
    };
    let mut found = SignatureKeys::new(&trust.keys);
    let mut jwks_failure = None;
    let jkus = headers.iter().flatten().filter_map(|h| h.jku.as_deref());
    for jku in SignatureKeys::wanted(jkus, |j| trust.jku_allowed(j)) {
        match fetch_jwks(egress, &jku).await {
            Ok(keys) => found.add(jku, keys),
            Err(e) => jwks_failure = Some(e),
        }
    }
    let keys = |req: &KeyRequest<'_>| found.get(req);
    match verify_card(body, &policy, &keys) {
        Ok(v) => Ok(Some(v.kid)),
        Err(e) => {
            if let Some(failure) = jwks_failure {
                return Err(failure);
            }
            if !trust.require_signature && only_unknown_keys(&e) {
                return Ok(None);
            }
            Err(refused(e))
        }
    }
}

/// Every signature names a key the caller does not know: the card proves
/// nothing either way.
fn only_unknown_keys(e: &CardVerifyError) -> bool {
    match e {
        CardVerifyError::NoValidSignature(r) => r
            .iter()
            .all(|r| matches!(r, SignatureRejection::UnknownKey(_))),
        _ => false,
    }
}

async fn fetch_jwks(egress: &Egress, url: &str) -> Result<KeySet, ClientError> {
    let fail = |why: String| ClientError::Jwks {
        url: url.to_string(),
        why,
    };
    let mut req = Outbound::get(url, "jwks");
    req.headers.insert(
        http::header::ACCEPT,
        http::HeaderValue::from_static("application/json"),
    );
    let resp = egress.send(req).await.map_err(|e| fail(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(fail(format!("HTTP {}", resp.status().as_u16())));
    }
    let body = resp
        .bytes_capped(MAX_JWKS_BYTES)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let text = std::str::from_utf8(&body).map_err(|_| fail("not UTF-8".into()))?;
    CardTrust::read_jwks(text).map_err(|e| fail(e.to_string()))
}

#[cfg(test)]
mod tests;
