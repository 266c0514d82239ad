//! An external issuer's public keys: given inline or in a file (fixed), or
//! fetched from a JWKS URL — cached, refreshed when stale, and refreshed
//! early (at most once per `min_refresh`) when a token names an unknown
//! `kid`, so a key rotation at the issuer is picked up without letting
//! callers make Warden fetch on every request.

use std::sync::RwLock;

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
    egress: warden_egress::Egress,
    max_age_secs: u64,
    min_refresh_secs: u64,
    /// The keys and when they were fetched (0: never).
    state: RwLock<(KeySet, u64)>,
    /// When a fetch was last tried, successful or not.
    last_try: std::sync::atomic::AtomicU64,
}

impl RemoteJwks {
    pub fn new(
        url: String,
        egress: warden_egress::Egress,
        max_age_secs: u64,
        min_refresh_secs: u64,
    ) -> Self {
        Self {
            url,
            egress,
            max_age_secs,
            min_refresh_secs,
            state: RwLock::new((KeySet::default(), 0)),
            last_try: std::sync::atomic::AtomicU64::new(0),
        }
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

    async fn fetch(&self) -> Result<KeySet, JwksFetchError> {
        let mut req = warden_egress::Outbound::get(&self.url, "jwks");
        req.headers.insert(
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/json"),
        );
        let resp = self.egress.send(req).await?;
        if !resp.status().is_success() {
            return Err(JwksFetchError::Status(resp.status().as_u16()));
        }
        let body = resp.bytes_capped(MAX_JWKS_BYTES as u64).await?;
        let doc = parse_strict(&body, JsonLimits::default())
            .map_err(|e| JwksFetchError::Invalid(e.to_string()))?;
        KeySet::from_jwks(&doc).map_err(|e| JwksFetchError::Invalid(e.to_string()))
    }
}

/// Why a JWKS could not be fetched.
#[derive(Debug, thiserror::Error)]
enum JwksFetchError {
    #[error(transparent)]
    Egress(#[from] warden_egress::EgressError),
    #[error("HTTP {0}")]
    Status(u16),
    #[error("not a usable JWKS: {0}")]
    Invalid(String),
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use warden_egress::{Egress, EgressPolicy, Rules, StaticResolver, corpus};

    use super::*;

    /// Every hostile URL, configured as an issuer's JWKS URL, is refused by
    /// the configuration check or, failing that, by the fetch, for the
    /// reason the corpus expects.
    #[tokio::test]
    async fn hostile_jwks_urls_are_refused_for_their_reason() {
        let rules = Rules::new(EgressPolicy::default()).expect("rules");
        let egress = Egress::with(
            rules.clone(),
            Arc::new(StaticResolver::new(corpus::answers())),
            None,
        )
        .expect("egress");
        let mut wrong = Vec::new();
        for (url, reason) in corpus::hostile_urls() {
            if let Err(e) = crate::config::egress::check_static(&rules, url) {
                if e.reason() != reason {
                    wrong.push(format!("{url:?}: config check said {}", e.reason()));
                }
                continue;
            }
            let jwks = RemoteJwks::new(url.to_string(), egress.clone(), 60, 1);
            match jwks.fetch().await {
                Err(JwksFetchError::Egress(e)) if e.reason() == reason => {}
                other => wrong.push(format!("{url:?}: fetch gave {other:?}, expected {reason}")),
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
