//! Verifying the push notifications Warden delivers, for a Rust receiver:
//! [`warden_webhooks`]'s verifier, plus Warden's JWKS fetched through the
//! same egress rules as every other request of this crate.
//!
//! ```no_run
//! use warden_client::webhooks::{self, SubscriptionSecret};
//! use warden_egress::{Egress, EgressPolicy};
//!
//! # async fn demo(headers: &http::HeaderMap, body: &[u8], now: u64)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! let egress = Egress::new(EgressPolicy::default())?;
//! // Warden's keys, and this receiver's own URL as registered (the JWT's aud).
//! let verifier = webhooks::builder_from_jwks_url(
//!     &egress,
//!     "https://warden.example.com/.well-known/jwks.json",
//!     "https://hooks.example.com/a2a",
//! )
//! .await?
//! // Optionally also the subscription's secret, shown once at registration.
//! .secret(SubscriptionSecret::parse(&std::env::var("WEBHOOK_SECRET")?)?)
//! .issuer("https://warden.example.com")
//! .build()?;
//! // For each POST: the raw body, the headers, the time.
//! let verified = verifier.verify_header_map(headers, body, now)?;
//! println!("task {:?}, webhook id {}", verified.task_id, verified.id);
//! # Ok(())
//! # }
//! ```
//!
//! Keep one verifier for the receiver's life: it remembers the webhook ids
//! it has accepted (a repeat is [`VerifyError::Replayed`]). Re-fetch the
//! JWKS when Warden rotates its keys (a notification by a new key is
//! [`VerifyError::UnknownKey`] until then).

use warden_egress::{Egress, Outbound};
use warden_trust::KeySet;
pub use warden_webhooks::{
    Builder, ConfigError, SubscriptionSecret, Verified, Verifier, VerifyError,
};

use crate::ClientError;
use crate::card::MAX_JWKS_BYTES;

/// Fetches Warden's JWKS through `egress` (purpose `jwks`; a refusal keeps
/// its egress reason).
pub async fn fetch_jwks(egress: &Egress, url: &str) -> Result<KeySet, ClientError> {
    let fail = |why: String| ClientError::Jwks {
        url: url.to_string(),
        why,
    };
    let mut req = Outbound::get(url, "jwks");
    req.headers.insert(
        http::header::ACCEPT,
        http::HeaderValue::from_static("application/json"),
    );
    let resp = egress.send(req).await?;
    if !resp.status().is_success() {
        return Err(fail(format!("HTTP {}", resp.status().as_u16())));
    }
    let body = resp.bytes_capped(MAX_JWKS_BYTES).await?;
    let text = std::str::from_utf8(&body).map_err(|_| fail("not UTF-8".into()))?;
    crate::CardTrust::read_jwks(text).map_err(|e| fail(e.to_string()))
}

/// A verifier builder holding Warden's keys from `jwks_url` and the
/// receiver's own URL; add a secret, an issuer or a replay cache, then
/// `build()`.
pub async fn builder_from_jwks_url(
    egress: &Egress,
    jwks_url: &str,
    receiver_url: &str,
) -> Result<Builder, ClientError> {
    let keys = fetch_jwks(egress, jwks_url).await?;
    Ok(Verifier::builder().keys(keys).receiver_url(receiver_url))
}
