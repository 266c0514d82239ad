//! What a call presents: nothing, a static token or API key, or an access
//! token from an OAuth 2.0 token endpoint (client credentials), cached
//! until shortly before it expires and optionally DPoP-bound.
//!
//! Token requests go through the same [`Egress`] as every other request
//! (purpose `token`). Credentials are always put in
//! [`Outbound::credentials`], so they are dropped if a redirect leaves the
//! origin they were meant for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::Value;
use warden_egress::{Egress, Outbound};

use crate::dpop::DpopKey;
use crate::error::ClientError;

/// `X-API-Key`, the header Warden reads API keys from.
pub const API_KEY_HEADER: HeaderName = HeaderName::from_static("x-api-key");
/// `DPoP`, the proof header (RFC 9449 §4.1).
pub const DPOP_HEADER: HeaderName = HeaderName::from_static("dpop");
/// `DPoP-Nonce`, the server's nonce (RFC 9449 §8).
pub const DPOP_NONCE_HEADER: HeaderName = HeaderName::from_static("dpop-nonce");

/// Largest token endpoint answer read.
const MAX_TOKEN_ANSWER_BYTES: u64 = 64 * 1024;
/// A cached token is replaced this long before it expires (or at a quarter
/// of its lifetime, for short-lived tokens).
const REFRESH_MARGIN_SECS: u64 = 30;

/// Where a call's credential comes from.
pub enum TokenSource {
    /// No credential.
    None,
    /// A static token, sent as `Authorization: Bearer`.
    Bearer(String),
    /// An API key, sent as `X-API-Key`.
    ApiKey(String),
    /// The client credentials grant (RFC 6749 §4.4) at `token_url`, e.g.
    /// Warden's `/oauth2/token`.
    ///
    /// Client authentication: with a `client_id`, `client_secret` is sent
    /// in the form (`client_secret_post`); without one, it is taken for a
    /// Warden API key and sent as an `X-API-Key` header, which, unlike a
    /// form field, is never repeated to another origin.
    ClientCredentials {
        token_url: String,
        client_id: Option<String>,
        /// The client secret (or Warden API key).
        client_secret: String,
        /// The target (`audience`; Warden also reads `resource`).
        audience: String,
        /// Space-separated scopes (Warden: skill ids).
        scope: Option<String>,
        /// Bind the token to this key (RFC 9449): the token request and
        /// every call then carry a fresh proof.
        dpop: Option<DpopKey>,
    },
}

impl std::fmt::Debug for TokenSource {
    // Never print a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Bearer(_) => f.write_str("Bearer(…)"),
            Self::ApiKey(_) => f.write_str("ApiKey(…)"),
            Self::ClientCredentials {
                token_url,
                client_id,
                audience,
                scope,
                dpop,
                ..
            } => f
                .debug_struct("ClientCredentials")
                .field("token_url", token_url)
                .field("client_id", client_id)
                .field("audience", audience)
                .field("scope", scope)
                .field("dpop", &dpop.as_ref().map(DpopKey::thumbprint))
                .finish_non_exhaustive(),
        }
    }
}

/// The time, injected so that token expiry can be tested.
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the Unix epoch.
    fn now_unix(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// An access token from the token endpoint.
#[derive(Clone)]
struct Cached {
    token: String,
    /// Sent with the `DPoP` scheme and a proof.
    dpop: bool,
    /// When it stops being used (`None`: used once, never cached).
    refresh_at: Option<u64>,
}

/// A [`TokenSource`] in use: the cached token and the servers' DPoP nonces.
pub struct Credentials {
    source: TokenSource,
    clock: Arc<dyn Clock>,
    cached: tokio::sync::Mutex<Option<Cached>>,
    /// The last `DPoP-Nonce` per origin.
    nonces: Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    pub fn new(source: TokenSource) -> Self {
        Self::with_clock(source, Arc::new(SystemClock))
    }

    pub fn with_clock(source: TokenSource, clock: Arc<dyn Clock>) -> Self {
        Self {
            source,
            clock,
            cached: tokio::sync::Mutex::new(None),
            nonces: Mutex::new(HashMap::new()),
        }
    }

    pub fn source(&self) -> &TokenSource {
        &self.source
    }

    /// The credential headers for `method url`: a static credential, or a
    /// cached or freshly fetched token (with a DPoP proof when bound).
    pub async fn headers_for(
        &self,
        egress: &Egress,
        method: &Method,
        url: &str,
    ) -> Result<HeaderMap, ClientError> {
        let mut h = HeaderMap::new();
        match &self.source {
            TokenSource::None => {}
            TokenSource::Bearer(t) => {
                h.insert(AUTHORIZATION, header_value(&format!("Bearer {t}"))?);
            }
            TokenSource::ApiKey(k) => {
                h.insert(API_KEY_HEADER, header_value(k)?);
            }
            TokenSource::ClientCredentials { dpop, .. } => {
                let token = self.token(egress).await?;
                match (token.dpop, dpop) {
                    (true, Some(key)) => {
                        let nonce = self.nonce_for(url);
                        let proof = key.proof(
                            method.as_str(),
                            url,
                            Some(&token.token),
                            nonce.as_deref(),
                            self.clock.now_unix(),
                        )?;
                        h.insert(
                            AUTHORIZATION,
                            header_value(&format!("DPoP {}", token.token))?,
                        );
                        h.insert(DPOP_HEADER, header_value(&proof)?);
                    }
                    _ => {
                        h.insert(
                            AUTHORIZATION,
                            header_value(&format!("Bearer {}", token.token))?,
                        );
                    }
                }
            }
        }
        Ok(h)
    }

    /// Whether a refused call is worth one retry with a new token: the
    /// credential is a token from the endpoint (it may have been used up,
    /// e.g. a Warden bearer token is single-use, or revoked).
    pub fn refetchable(&self) -> bool {
        matches!(self.source, TokenSource::ClientCredentials { .. })
    }

    /// Whether calls carry DPoP proofs.
    pub fn uses_dpop(&self) -> bool {
        matches!(
            self.source,
            TokenSource::ClientCredentials { dpop: Some(_), .. }
        )
    }

    /// After a 401 from `url`, with the answer's headers: whether one more
    /// try may succeed, having prepared it — the server asked for a DPoP
    /// nonce (remembered), or refused a token from the endpoint (dropped, a
    /// new one is fetched). Anything else is final.
    pub async fn recover_from_401(&self, url: &str, headers: &HeaderMap) -> bool {
        let challenge = headers
            .get_all(http::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ");
        let nonce = headers.get(DPOP_NONCE_HEADER).and_then(|v| v.to_str().ok());
        if self.uses_dpop()
            && challenge.contains("use_dpop_nonce")
            && let Some(n) = nonce
        {
            self.remember_nonce(url, n);
            return true;
        }
        if self.refetchable() && challenge.contains("invalid_token") {
            self.forget_token().await;
            return true;
        }
        false
    }

    /// Drops the cached token: the next call fetches a new one.
    pub async fn forget_token(&self) {
        *self.cached.lock().await = None;
    }

    /// Records the `DPoP-Nonce` a server at `url`'s origin asked for.
    pub fn remember_nonce(&self, url: &str, nonce: &str) {
        if let Some(origin) = origin_of(url)
            && let Ok(mut n) = self.nonces.lock()
        {
            n.insert(origin, nonce.to_string());
        }
    }

    fn nonce_for(&self, url: &str) -> Option<String> {
        let origin = origin_of(url)?;
        self.nonces.lock().ok()?.get(&origin).cloned()
    }

    /// The cached token, or a new one (one fetch at a time).
    async fn token(&self, egress: &Egress) -> Result<Cached, ClientError> {
        let mut cached = self.cached.lock().await;
        let now = self.clock.now_unix();
        if let Some(c) = cached.as_ref()
            && c.refresh_at.is_some_and(|at| now < at)
        {
            return Ok(c.clone());
        }
        let fresh = self.fetch(egress, now).await?;
        // A token without a lifetime is used once.
        *cached = fresh.refresh_at.is_some().then(|| fresh.clone());
        Ok(fresh)
    }

    /// `POST token_url` with `grant_type=client_credentials`, retried once
    /// with the server's nonce if it answers `use_dpop_nonce`.
    async fn fetch(&self, egress: &Egress, now: u64) -> Result<Cached, ClientError> {
        let TokenSource::ClientCredentials {
            token_url,
            client_id,
            client_secret,
            audience,
            scope,
            dpop,
        } = &self.source
        else {
            return Err(ClientError::Config("no token endpoint configured".into()));
        };
        // The serializer is not `Send`: build the form in a block so it is
        // gone before the first await (callers run this inside servers).
        let (body, credentials) = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials");
            form.append_pair("audience", audience);
            if let Some(s) = scope.as_deref().filter(|s| !s.is_empty()) {
                form.append_pair("scope", s);
            }
            let mut credentials = HeaderMap::new();
            match client_id {
                Some(id) => {
                    form.append_pair("client_id", id);
                    form.append_pair("client_secret", client_secret);
                }
                None => {
                    credentials.insert(API_KEY_HEADER, header_value(client_secret)?);
                }
            }
            (bytes::Bytes::from(form.finish()), credentials)
        };
        for attempt in 0..2 {
            let mut req = Outbound::new(Method::POST, token_url.clone(), "token");
            req.headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
            req.headers.insert(
                http::header::ACCEPT,
                HeaderValue::from_static("application/json"),
            );
            req.credentials = credentials.clone();
            if let Some(key) = dpop {
                let nonce = self.nonce_for(token_url);
                let proof = key.proof("POST", token_url, None, nonce.as_deref(), now)?;
                req.credentials.insert(DPOP_HEADER, header_value(&proof)?);
            }
            req.body = body.clone();
            let resp = egress.send(req).await?;
            let status = resp.status().as_u16();
            let nonce = resp
                .headers()
                .get(DPOP_NONCE_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let answer = resp.bytes_capped(MAX_TOKEN_ANSWER_BYTES).await?;
            let json = warden_json::parse_strict(&answer, warden_json::JsonLimits::default())
                .map_err(|e| {
                    ClientError::TokenAnswer(format!("HTTP {status}, not acceptable JSON: {e}"))
                })?;
            if (200..300).contains(&status) {
                return read_token(&json, dpop.is_some(), now);
            }
            let error = json
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("unknown_error")
                .to_string();
            if let (0, "use_dpop_nonce", Some(n), Some(_)) = (attempt, error.as_str(), &nonce, dpop)
            {
                self.remember_nonce(token_url, n);
                continue;
            }
            return Err(ClientError::TokenEndpoint {
                status,
                error,
                description: json
                    .get("error_description")
                    .and_then(Value::as_str)
                    .map(|d| d.chars().take(300).collect()),
            });
        }
        Err(ClientError::Dpop(
            "the token endpoint asked for a DPoP nonce twice".into(),
        ))
    }
}

/// Reads a token answer (RFC 6749 §5.1).
fn read_token(json: &Value, dpop: bool, now: u64) -> Result<Cached, ClientError> {
    let token = json
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ClientError::TokenAnswer("no access_token".into()))?;
    let kind = json
        .get("token_type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let bound = kind.eq_ignore_ascii_case("dpop");
    if !bound && !kind.eq_ignore_ascii_case("bearer") {
        return Err(ClientError::TokenAnswer(format!(
            "token_type {kind:?} is neither Bearer nor DPoP"
        )));
    }
    if dpop && !bound {
        // Sending it as a bearer token would quietly give up what DPoP was
        // asked for.
        return Err(ClientError::Dpop(
            "the token endpoint did not bind the token to the DPoP key (token_type Bearer)".into(),
        ));
    }
    if bound && !dpop {
        return Err(ClientError::TokenAnswer(
            "a DPoP-bound token came back for a request without a proof".into(),
        ));
    }
    let refresh_at = json
        .get("expires_in")
        .and_then(Value::as_u64)
        .filter(|&s| s > 0)
        .map(|lifetime| now.saturating_add(lifetime - REFRESH_MARGIN_SECS.min(lifetime / 4)));
    Ok(Cached {
        token: token.to_string(),
        dpop: bound,
        refresh_at,
    })
}

fn header_value(s: &str) -> Result<HeaderValue, ClientError> {
    let mut v = HeaderValue::from_str(s)
        .map_err(|_| ClientError::Config("a credential holds characters a header cannot".into()))?;
    v.set_sensitive(true);
    Ok(v)
}

/// `scheme://host:port` of `url`.
fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    Some(u.origin().ascii_serialization())
}

#[cfg(test)]
mod tests;
