//! The receiving side: is this notification Warden's, fresh, meant for me,
//! and new?
//!
//! The checks, in order (the first failure is the answer):
//!
//! 1. the headers are read strictly ([`crate::headers`]): `malformed`;
//! 2. `webhook-timestamp` is within the window around `now` (default ±5
//!    min): `stale` or `future`;
//! 3. with Warden's keys: the JWT must be there and verify against a
//!    `webhook-` key (`unknown_key`, `bad_signature`), with `aud` equal to
//!    the receiver's own URL (`wrong_audience`), `iss` the pinned issuer if
//!    one is set (`wrong_issuer`), `jti` = `webhook-id`, `iat` =
//!    `webhook-timestamp`, and `body_sha256` the body's hash
//!    (`body_swapped`);
//! 4. at least one `webhook-signature` entry verifies: `v1` with one of the
//!    secrets (HMAC compared in constant time) or `v1a` with one of the
//!    `webhook-` keys: `bad_signature` otherwise;
//! 5. the webhook id has not been seen within the window (`replayed`); it
//!    is recorded only now, so a forged notification cannot burn an id. A
//!    full or failing replay cache refuses (`replay_cache`): failing closed.
//!
//! Which proofs are needed follows from what the receiver holds. An HMAC
//! secret is one subscription's own, so a `v1` signature also says which
//! subscription the notification is for. Warden's public keys sign for
//! every receiver, so with keys the JWT's `aud` must name this receiver:
//! a verifier with keys needs the receiver's URL, or it is not built.

use std::sync::Arc;

use warden_trust::{JwsAlg, KeySet, MemoryReplayCache, PublicJwk, ReplayCache, ReplayError};

use crate::WEBHOOK_KID_PREFIX;
use crate::claims::{Expect, JwtFacts};
use crate::headers::{Signature, WebhookHeaders};
use crate::secret::SubscriptionSecret;

/// The freshness window unless set: ±5 minutes, the Standard Webhooks
/// libraries' tolerance.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;
/// Ids the default in-memory replay cache holds (then it refuses).
pub const DEFAULT_REPLAY_CAPACITY: usize = 100_000;

/// Why a notification is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("malformed notification: {0}")]
    Malformed(String),
    #[error("no signature verifies with a trusted secret or key")]
    BadSignature,
    #[error("signed by a key that is not one of Warden's webhook keys")]
    UnknownKey,
    #[error("the notification is older than the freshness window")]
    Stale,
    #[error("the notification is dated in the future beyond the freshness window")]
    Future,
    #[error("this webhook id was already received")]
    Replayed,
    #[error("the notification was sent to another URL (the JWT's aud is not this receiver)")]
    WrongAudience,
    #[error("the JWT was issued by another issuer")]
    WrongIssuer,
    #[error("the body is not the one that was signed")]
    BodySwapped,
    #[error("the replay cache cannot take this id: {0}")]
    ReplayCache(ReplayError),
}

impl VerifyError {
    /// A stable code for logs, scripts and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::BadSignature => "bad_signature",
            Self::UnknownKey => "unknown_key",
            Self::Stale => "stale",
            Self::Future => "future",
            Self::Replayed => "replayed",
            Self::WrongAudience => "wrong_audience",
            Self::WrongIssuer => "wrong_issuer",
            Self::BodySwapped => "body_swapped",
            Self::ReplayCache(_) => "replay_cache",
        }
    }
}

/// Why a verifier cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("nothing to verify with: give an HMAC secret or Warden's JWKS")]
    NoKeys,
    #[error(
        "the JWKS has no Ed25519 key whose kid starts with \"webhook-\" (is it Warden's JWKS?)"
    )]
    NoWebhookKey,
    #[error(
        "verifying with Warden's public keys needs the receiver's own URL: the JWT's aud must equal it"
    )]
    NeedsReceiverUrl,
    #[error("the receiver's URL is checked against the JWT, which needs Warden's JWKS")]
    UrlWithoutKeys,
}

/// What a verified notification is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// `webhook-id`: dedupe on it.
    pub id: String,
    /// `webhook-timestamp`: when this attempt was signed.
    pub timestamp: u64,
    /// The JWT's `taskId`, when the JWT was checked (a receiver MUST check
    /// it is a task it expects).
    pub task_id: Option<String>,
    /// The JWT's `iss` and `kid`, when it was checked.
    pub issuer: Option<String>,
    pub jwt_kid: Option<String>,
    /// Which `webhook-signature` entry verified: `v1` or `v1a`.
    pub signature: &'static str,
    /// The `webhook-` key that made the `v1a` signature, if that verified.
    pub v1a_kid: Option<String>,
}

/// Checks notifications for one receiver. A clone shares the replay cache.
#[derive(Clone)]
pub struct Verifier {
    secrets: Vec<SubscriptionSecret>,
    keys: Vec<PublicJwk>,
    key_set: KeySet,
    receiver_url: Option<String>,
    issuer: Option<String>,
    tolerance_secs: u64,
    replay: Arc<dyn ReplayCache>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("secrets", &self.secrets.len())
            .field(
                "keys",
                &self.keys.iter().map(|k| &k.kid).collect::<Vec<_>>(),
            )
            .field("receiver_url", &self.receiver_url)
            .field("issuer", &self.issuer)
            .field("tolerance_secs", &self.tolerance_secs)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Verifier`].
#[derive(Default)]
pub struct Builder {
    secrets: Vec<SubscriptionSecret>,
    keys: Option<KeySet>,
    receiver_url: Option<String>,
    issuer: Option<String>,
    tolerance_secs: Option<u64>,
    replay: Option<Arc<dyn ReplayCache>>,
}

impl Builder {
    /// An HMAC secret (repeat while one is rotated out).
    pub fn secret(mut self, secret: SubscriptionSecret) -> Self {
        self.secrets.push(secret);
        self
    }

    /// Warden's published keys (its JWKS). Only Ed25519 keys of the
    /// `webhook-` family are used; the rest (token and card keys) are not
    /// believed for notifications.
    pub fn keys(mut self, keys: KeySet) -> Self {
        self.keys = Some(keys);
        self
    }

    /// The receiver's own URL, exactly as registered: the JWT's `aud` must
    /// equal it.
    pub fn receiver_url(mut self, url: impl Into<String>) -> Self {
        self.receiver_url = Some(url.into());
        self
    }

    /// Pin the JWT's `iss` (Warden's public URL). Without it any `iss` is
    /// accepted from a JWT that Warden's webhook keys signed.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The freshness window, in seconds either side of `now`.
    pub fn tolerance_secs(mut self, secs: u64) -> Self {
        self.tolerance_secs = Some(secs);
        self
    }

    /// Where seen webhook ids are kept (default: in memory, at most
    /// [`DEFAULT_REPLAY_CAPACITY`]; a shared store when several receivers
    /// share the load).
    pub fn replay_cache(mut self, cache: Arc<dyn ReplayCache>) -> Self {
        self.replay = Some(cache);
        self
    }

    pub fn build(self) -> Result<Verifier, ConfigError> {
        let keys: Vec<PublicJwk> = match &self.keys {
            None => Vec::new(),
            Some(set) => {
                let webhook = webhook_keys(set);
                if webhook.is_empty() {
                    return Err(ConfigError::NoWebhookKey);
                }
                webhook
            }
        };
        if keys.is_empty() && self.secrets.is_empty() {
            return Err(ConfigError::NoKeys);
        }
        match (keys.is_empty(), &self.receiver_url) {
            (false, None) => return Err(ConfigError::NeedsReceiverUrl),
            (true, Some(_)) => return Err(ConfigError::UrlWithoutKeys),
            _ => {}
        }
        Ok(Verifier {
            secrets: self.secrets,
            key_set: KeySet::from_keys(keys.clone()),
            keys,
            receiver_url: self.receiver_url,
            issuer: self.issuer,
            tolerance_secs: self.tolerance_secs.unwrap_or(DEFAULT_TOLERANCE_SECS),
            replay: self
                .replay
                .unwrap_or_else(|| Arc::new(MemoryReplayCache::new(DEFAULT_REPLAY_CAPACITY))),
        })
    }
}

/// The Ed25519 keys of the webhook family in `set`.
fn webhook_keys(set: &KeySet) -> Vec<PublicJwk> {
    let doc = set.to_jwks();
    doc.get("keys")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|k| PublicJwk::from_json(k).ok())
        .filter(|k| {
            k.kid
                .as_deref()
                .is_some_and(|kid| kid.starts_with(WEBHOOK_KID_PREFIX))
                && k.fits(JwsAlg::EdDsa)
        })
        .collect()
}

impl Verifier {
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Verifies one received notification: its headers (name, raw value;
    /// other headers are ignored), its body exactly as received, at `now`
    /// (Unix seconds). On success the webhook id is recorded as seen.
    pub fn verify<'a, I>(&self, headers: I, body: &[u8], now: u64) -> Result<Verified, VerifyError>
    where
        I: IntoIterator<Item = (&'a str, &'a [u8])>,
    {
        let h = WebhookHeaders::parse(headers)?;
        self.verify_parsed(&h, body, now)
    }

    /// [`Verifier::verify`] for an [`http::HeaderMap`].
    pub fn verify_header_map(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
        now: u64,
    ) -> Result<Verified, VerifyError> {
        self.verify_parsed(&WebhookHeaders::from_header_map(headers)?, body, now)
    }

    fn verify_parsed(
        &self,
        h: &WebhookHeaders,
        body: &[u8],
        now: u64,
    ) -> Result<Verified, VerifyError> {
        if h.timestamp.saturating_add(self.tolerance_secs) < now {
            return Err(VerifyError::Stale);
        }
        if h.timestamp > now.saturating_add(self.tolerance_secs) {
            return Err(VerifyError::Future);
        }
        let jwt = match &self.receiver_url {
            Some(url) => Some(self.check_jwt(h, url, body, now)?),
            None => None,
        };
        let content = crate::signed_content(&h.id, h.timestamp, body);
        let (signature, v1a_kid) = self
            .first_valid_signature(&h.signatures, &content)
            .ok_or(VerifyError::BadSignature)?;
        // Remembered for as long as the timestamp is fresh: after that the
        // window refuses the id anyway.
        let until = h.timestamp.saturating_add(self.tolerance_secs);
        let replay_key = format!("webhook:{}", h.id);
        self.replay
            .check_and_insert(&replay_key, until, now)
            .map_err(|e| match e {
                ReplayError::Replayed => VerifyError::Replayed,
                other => VerifyError::ReplayCache(other),
            })?;
        Ok(Verified {
            id: h.id.clone(),
            timestamp: h.timestamp,
            task_id: jwt.as_ref().map(|j| j.task_id.clone()),
            issuer: jwt.as_ref().map(|j| j.iss.clone()),
            jwt_kid: jwt.map(|j| j.kid),
            signature,
            v1a_kid,
        })
    }

    fn check_jwt(
        &self,
        h: &WebhookHeaders,
        url: &str,
        body: &[u8],
        now: u64,
    ) -> Result<JwtFacts, VerifyError> {
        let token = h.jwt.as_deref().ok_or_else(|| {
            VerifyError::Malformed(format!("header {} is missing", crate::NOTIFICATION_JWT))
        })?;
        let want = Expect {
            keys: &self.key_set,
            issuer: self.issuer.as_deref(),
            audience: url,
            id: &h.id,
            timestamp: h.timestamp,
            body,
            leeway_secs: self.tolerance_secs,
        };
        crate::claims::check(token, &want, now)
    }

    /// The first entry that verifies: (`"v1"`, None) or (`"v1a"`, kid).
    fn first_valid_signature(
        &self,
        signatures: &[Signature],
        content: &[u8],
    ) -> Option<(&'static str, Option<String>)> {
        for sig in signatures {
            match sig {
                Signature::V1(tag) => {
                    // hmac::verify compares in constant time.
                    if self
                        .secrets
                        .iter()
                        .any(|s| aws_lc_rs::hmac::verify(&s.key(), content, tag).is_ok())
                    {
                        return Some(("v1", None));
                    }
                }
                Signature::V1a(sig) => {
                    if let Some(key) = self
                        .keys
                        .iter()
                        .find(|k| k.verify(JwsAlg::EdDsa, content, sig))
                    {
                        return Some(("v1a", key.kid.clone()));
                    }
                }
                Signature::Other(_) => {}
            }
        }
        None
    }
}
