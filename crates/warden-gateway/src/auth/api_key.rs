//! API keys: a registered agent's reusable credential, checked against the
//! in-memory registry view (no store query on the request path).

use std::sync::Arc;

use super::{AuthError, AuthRequest, Authenticator};
use crate::principal::{AuthMethod, Principal};
use warden_trust::jwt::TokenError;

impl Authenticator {
    /// Records that a key was used, to the minute, off the request path
    /// (`last used` in listings; a failed write is only logged).
    fn note_key_use(&self, key_id: &str) {
        let at = crate::clock::now_rfc3339();
        let minute = at[..16.min(at.len())].to_string();
        {
            let Ok(mut seen) = self.key_use.lock() else {
                return;
            };
            if seen.get(key_id) == Some(&minute) {
                return;
            }
            seen.insert(key_id.to_string(), minute);
        }
        let store = self.store.clone();
        let key_id = key_id.to_string();
        tokio::spawn(async move {
            if let Err(e) = store.touch_api_key(&key_id, &at).await {
                tracing::debug!(error = %e, "could not record when an API key was used");
            }
        });
    }

    pub(super) async fn api_key(
        &self,
        presented: &str,
        req: &AuthRequest<'_>,
    ) -> Result<Principal, AuthError> {
        let (agent, source, now) = (req.agent, req.source, req.now);
        let bad = || AuthError::InvalidToken(TokenError::Malformed);
        let (id, secret) = warden_trust::apikey::split(presented).ok_or_else(bad)?;
        // From memory: the view is reloaded first if the store changed, and
        // refused once the store has not confirmed it for too long.
        let view = self.registry.fresh().await.map_err(|e| {
            if let crate::registry_view::ViewError::Stale(_) = e {
                let need = crate::store_health::Need::FreshSnapshot;
                self.registry.health().refused(need);
            }
            AuthError::Unavailable
        })?;
        if let Some(seen) = req.seen {
            let _ = seen.set(Arc::clone(&view));
        }
        let Some(record) = view.api_key(id) else {
            return Err(bad());
        };
        let expired = record
            .expires_at
            .is_some_and(|e| i64::try_from(now).unwrap_or(i64::MAX) >= e);
        // The hash is compared even for revoked keys, so timing says nothing.
        let matches = warden_trust::apikey::matches(secret, &record.hash);
        if !matches || record.revoked_at.is_some() || expired {
            return Err(bad());
        }
        self.note_key_use(&record.id);
        // An API key carries its subject's grants: no grant for this agent,
        // no call (the answer a token for another audience gets).
        if !view.is_registered(&record.subject) {
            return Err(bad());
        }
        // The mailbox keeps its own grants: any registered agent's key
        // opens its mailbox (no skill scopes), as a token for it would.
        let scopes = if agent == warden_authority::MAILBOX_AUDIENCE {
            Vec::new()
        } else {
            view.skills_granted(&record.subject, agent, now)
                .ok_or(AuthError::InvalidToken(TokenError::WrongAudience))?
        };
        let record = record.clone();
        // Warden's own issuer: grants and task ownership know an agent by
        // one name whether it presents a token or an API key.
        Ok(Principal {
            subject: record.subject,
            issuer: self.authority.issuer.clone(),
            local: true,
            scopes,
            method: AuthMethod::ApiKey,
            token_id: Some(record.id),
            source,
            peer: None,
        })
    }
}
