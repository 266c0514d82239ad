//! Sealing keys: a recipient publishes one X25519 public key (a JWK); a
//! sender holding the recipient's grant fetches it to seal messages to it.
//! Anyone else gets the one answer for unknown and ungranted recipients.
//!
//! Rotation: publishing a new key replaces the old one at once; senders
//! fetch the key before sealing (the sealed message names its `kid`), and
//! the recipient keeps its old private keys to open what was sealed to
//! them before.

use serde_json::Value;
use warden_store::MailKey;

use crate::address::check_address;
use crate::clock::rfc3339;
use crate::{MailError, Mailbox, PublishKeyRequest, PublishedKey};

impl Mailbox {
    /// Publishes the caller's sealing key (replacing the one before).
    pub async fn publish_key(
        &self,
        me: &str,
        req: PublishKeyRequest,
    ) -> Result<PublishedKey, MailError> {
        let me = self.me(me)?;
        let (kid, jwk) = check_jwk(&req.jwk)?;
        let k = MailKey {
            address: me.to_string(),
            kid,
            jwk: jwk.to_string(),
            published_ms: self.now_ms(),
        };
        self.inner.store.mail_key_put(&k).await?;
        published(k)
    }

    /// `address`'s sealing key, for a caller that address has granted.
    pub async fn key_of(&self, me: &str, address: &str) -> Result<PublishedKey, MailError> {
        let me = self.me(me)?;
        check_address("address", address)?;
        let store = &self.inner.store;
        let now = self.now_ms();
        let granted = store
            .mail_grant(address, me)
            .await?
            .is_some_and(|g| g.revoked_ms.is_none() && g.expires_ms > now);
        // Both lookups run either way, so a grant's absence does not show
        // in the time taken.
        let key = store.mail_key(address).await?;
        match key {
            Some(k) if granted => published(k),
            _ => Err(MailError::NotFound),
        }
    }
}

fn published(k: MailKey) -> Result<PublishedKey, MailError> {
    let jwk = serde_json::from_str(&k.jwk)
        .map_err(|e| MailError::Store(warden_store::StoreError::Mail(e.to_string())))?;
    Ok(PublishedKey {
        address: k.address,
        kid: k.kid,
        jwk,
        published: rfc3339(k.published_ms),
    })
}

/// An X25519 public JWK, checked by the sealing module (no private part,
/// no unknown member, a point agreement accepts, `kid` its thumbprint):
/// the kid and the key as stored.
fn check_jwk(v: &Value) -> Result<(String, Value), MailError> {
    let key =
        crate::seal::PublicJwk::parse(v).map_err(|e| MailError::invalid(format!("jwk: {e}")))?;
    Ok((key.kid().to_string(), key.to_json()))
}
