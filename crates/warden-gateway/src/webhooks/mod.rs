//! Warden as the receiver of signed push notifications for its local
//! agents (issue 15; docs/webhooks.md, "Warden as the receiver"):
//! `POST /webhooks/{agent}` for an agent with `[agents.webhooks]`.
//!
//! - this module: the receivers, one per configured agent, built at
//!   start (secrets and a JWKS file read then), each holding its
//!   `warden_webhooks` verifier and its accepted ids;
//! - [`keys`]: the sender's JWKS, from a file or fetched and kept;
//! - [`seen`]: the accepted ids, in memory per gateway (one more check on
//!   Redis when `[shared]` is on: `crate::webhook_routes`).
//!
//! A feature: it takes no `GatewayState`. The entry point, composed of
//! the shared stages, is `crate::webhook_routes`.

pub mod keys;
pub mod seen;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use warden_trust::KeySet;
use warden_webhooks::{SubscriptionSecret, Verified, Verifier, VerifyError};

use crate::config::Config;
use keys::KeySource;
use seen::Seen;

/// The receivers of every agent with `[agents.webhooks]`, by agent name.
#[derive(Default)]
pub struct Receivers {
    by_agent: HashMap<String, Arc<Receiver>>,
}

impl Receivers {
    /// Every configured receiver: secrets and JWKS files are read here
    /// (errors name the file or variable, never a secret). `public_url` is
    /// the gateway's, for the default `aud`; `egress` fetches JWKS URLs.
    pub fn open(
        config: &Config,
        public_url: &str,
        egress: &warden_egress::Egress,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let mut by_agent = HashMap::new();
        for a in &config.agents {
            let Some(w) = &a.webhooks else { continue };
            let fail = |e: String| format!("agents {:?}: webhooks.{e}", a.name);
            let keys = match (&w.jwks_file, &w.jwks_url) {
                (Some(path), _) => Some(KeySource::Fixed(Arc::new(
                    warden_client::CardTrust::read_jwks_file(path)
                        .map_err(|e| fail(format!("jwks_file: {e}")))?,
                ))),
                (None, Some(url)) => Some(KeySource::fetched(
                    url.clone(),
                    egress.clone(),
                    w.jwks_refresh_secs,
                )),
                (None, None) => None,
            };
            let receiver = Receiver {
                agent: a.name.clone(),
                deliver_to: w.delivery_url(&a.url).map_err(fail)?,
                secrets: w.secrets(env).map_err(fail)?,
                receiver_url: w.has_keys().then(|| w.receiver_url(public_url, &a.name)),
                issuer: w.issuer.clone(),
                tolerance_secs: w.tolerance_secs,
                keys,
                seen: Arc::new(Seen::new(warden_webhooks::DEFAULT_REPLAY_CAPACITY)),
                no_keys: Arc::new(KeySet::default()),
                built: Mutex::new(None),
            };
            // A JWKS file without webhook keys is a mistake to report now.
            if let Some(KeySource::Fixed(k)) = &receiver.keys {
                receiver
                    .verifier(k)
                    .map_err(|e| fail(format!("jwks_file: {e}")))?;
            } else if receiver.keys.is_none() {
                receiver
                    .verifier(&receiver.no_keys)
                    .map_err(|e| fail(e.to_string()))?;
            }
            tracing::info!(
                agent = %a.name,
                deliver_to = %receiver.deliver_to,
                secrets = receiver.secrets.len(),
                jwks = w.jwks_url.as_deref().unwrap_or(if w.jwks_file.is_some() { "file" } else { "none" }),
                receiver_url = receiver.receiver_url.as_deref().unwrap_or("-"),
                "webhook receiver on"
            );
            by_agent.insert(a.name.clone(), Arc::new(receiver));
        }
        Ok(Self { by_agent })
    }

    pub fn get(&self, agent: &str) -> Option<Arc<Receiver>> {
        self.by_agent.get(agent).cloned()
    }
}

/// One agent's receiver.
pub struct Receiver {
    pub agent: String,
    /// Where verified notifications are posted (on the agent's origin).
    pub deliver_to: String,
    secrets: Vec<SubscriptionSecret>,
    /// The JWT's expected `aud` (only with keys).
    receiver_url: Option<String>,
    issuer: Option<String>,
    pub tolerance_secs: u64,
    keys: Option<KeySource>,
    pub seen: Arc<Seen>,
    /// The key set of a receiver with secrets only.
    no_keys: Arc<KeySet>,
    /// The verifier of the key set last used (rebuilt when it changes;
    /// every verifier shares `seen`).
    built: Mutex<Option<(Arc<KeySet>, Verifier)>>,
}

/// Why a receiver could not decide.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Refused(#[from] VerifyError),
    /// No keys to verify with now (the sender's JWKS cannot be had, or
    /// holds no webhook key): the sender should retry.
    #[error("{0}")]
    Unavailable(String),
}

impl Receiver {
    /// Verifies one notification at `now` (its id is recorded on success).
    pub async fn verify(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
        now: u64,
    ) -> Result<Verified, CheckError> {
        let Some(source) = &self.keys else {
            let v = self.verifier(&self.no_keys)?;
            return Ok(v.verify_header_map(headers, body, now)?);
        };
        let keys = source
            .current(now)
            .await
            .map_err(|e| CheckError::Unavailable(e.to_string()))?;
        let first = self.verifier(&keys)?.verify_header_map(headers, body, now);
        match first {
            // Perhaps a rotation: the keys once more, if allowed now.
            Err(VerifyError::UnknownKey) => match source.after_unknown_key(now).await {
                Some(newer) => Ok(self
                    .verifier(&newer)?
                    .verify_header_map(headers, body, now)?),
                None => Err(VerifyError::UnknownKey.into()),
            },
            other => Ok(other?),
        }
    }

    /// The verifier for `keys` (the empty set: secrets only).
    fn verifier(&self, keys: &Arc<KeySet>) -> Result<Verifier, CheckError> {
        let mut built = self.built.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((k, v)) = built.as_ref()
            && Arc::ptr_eq(k, keys)
        {
            return Ok(v.clone());
        }
        let mut b = Verifier::builder()
            .tolerance_secs(self.tolerance_secs)
            .replay_cache(Arc::clone(&self.seen) as Arc<dyn warden_trust::ReplayCache>);
        for s in &self.secrets {
            b = b.secret(s.clone());
        }
        if self.keys.is_some() {
            b = b.keys((**keys).clone());
            if let Some(u) = &self.receiver_url {
                b = b.receiver_url(u.clone());
            }
            if let Some(i) = &self.issuer {
                b = b.issuer(i.clone());
            }
        }
        let v = b
            .build()
            .map_err(|e| CheckError::Unavailable(format!("the sender's keys: {e}")))?;
        *built = Some((Arc::clone(keys), v.clone()));
        Ok(v)
    }
}
