//! An external issuer's public keys: given inline or in a file (fixed), or
//! fetched from a JWKS URL — cached, refreshed when stale, and refreshed
//! early (at most once per `min_refresh`) when a token names an unknown
//! `kid`, so a key rotation at the issuer is picked up without letting
//! callers make Warden fetch on every request.

use std::sync::RwLock;
use std::time::Duration;

use warden_json::{JsonLimits, parse_strict};
use warden_trust::KeySet;

/// Largest JWKS document accepted.
const MAX_JWKS_BYTES: usize = 256 * 1024;

pub enum IssuerKeys {
    Fixed(KeySet),
    Remote(RemoteJwks),
}

pub struct RemoteJwks {
    url: String,
    client: reqwest::Client,
    max_age_secs: u64,
    min_refresh_secs: u64,
    /// The keys and when they were fetched (0: never).
    state: RwLock<(KeySet, u64)>,
    /// When a fetch was last tried, successful or not.
    last_try: std::sync::atomic::AtomicU64,
}

impl RemoteJwks {
    pub fn new(url: String, max_age_secs: u64, min_refresh_secs: u64) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            url,
            client,
            max_age_secs,
            min_refresh_secs,
            state: RwLock::new((KeySet::default(), 0)),
            last_try: std::sync::atomic::AtomicU64::new(0),
        })
    }

    fn cached(&self) -> (KeySet, u64) {
        self.state
            .read()
            .map(|s| (s.0.clone(), s.1))
            .unwrap_or_default()
    }

    /// The keys, fetched first when never fetched or older than `max_age`.
    pub async fn keys(&self, now: u64) -> KeySet {
        let (keys, fetched) = self.cached();
        if fetched == 0 || now >= fetched.saturating_add(self.max_age_secs) {
            self.refresh(now).await;
            return self.cached().0;
        }
        keys
    }

    /// Fetches again unless a fetch was tried within `min_refresh`.
    /// Returns whether it fetched.
    pub async fn refresh(&self, now: u64) -> bool {
        use std::sync::atomic::Ordering;
        let last = self.last_try.load(Ordering::Relaxed);
        if last != 0 && now < last.saturating_add(self.min_refresh_secs) {
            return false;
        }
        if self
            .last_try
            .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        match self.fetch().await {
            Ok(keys) => {
                if let Ok(mut s) = self.state.write() {
                    *s = (keys, now.max(1));
                }
                true
            }
            Err(e) => {
                // Keep the old keys: an unreachable issuer must not lock out
                // tokens that still verify.
                tracing::warn!(url = %self.url, error = %e, "JWKS fetch failed");
                false
            }
        }
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        let resp = self
            .client
            .get(&self.url)
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("HTTP {}", resp.status()));
        }
        let body = crate::body::read_capped(resp, MAX_JWKS_BYTES)
            .await
            .map_err(|e| e.to_string())?;
        let doc = parse_strict(&body, JsonLimits::default()).map_err(|e| e.to_string())?;
        KeySet::from_jwks(&doc).map_err(|e| e.to_string())
    }
}

/// Whether a JWKS URL is acceptable: HTTPS, or HTTP to a loopback address
/// (local development). Wider outbound rules arrive with the egress issue.
pub fn check_jwks_url(url: &str) -> Result<(), String> {
    let u = url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    let loopback = match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    match u.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!(
            "{url:?} must be https (plain http only to loopback)"
        )),
    }
}
