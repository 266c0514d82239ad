//! The gateway's [`Mailbox`]: built at start from `[mailbox]`, on the
//! gateway's store, signing with Warden's current token-signing key (so a
//! message's signature verifies against `/.well-known/jwks.json`).

use std::sync::Arc;

use serde_json::Map;
use warden_authority::KeyRing;
use warden_mailbox::{Limits, Mailbox, Signer};
use warden_store::Store;

use crate::config::{Config, LimitSpec, MailboxSection};

/// Signs with the authority's current token-signing key, whichever it is
/// after a rotation (the ring is reloaded by the gateway every minute).
struct AuthoritySigner(Arc<KeyRing>);

impl Signer for AuthoritySigner {
    fn sign_detached(&self, payload: &[u8]) -> Result<String, String> {
        let key = self
            .0
            .signing_key()
            .ok_or_else(|| "no current token-signing key".to_string())?;
        Ok(warden_mailbox::detach(&warden_trust::jws::sign_compact(
            &key,
            &Map::new(),
            payload,
        )))
    }
}

/// The mailbox `config` asks for (none with `[mailbox] enabled = false`).
pub fn open(config: &Config, store: Store, keys: Arc<KeyRing>) -> Result<Option<Mailbox>, String> {
    let section = &config.mailbox;
    if !section.enabled {
        tracing::info!("[mailbox] enabled = false: /mail/v1 and the mailbox tools are not served");
        return Ok(None);
    }
    Ok(Some(
        Mailbox::new(
            store,
            Arc::new(AuthoritySigner(keys)),
            limits(section, config.limits.max_request_body_bytes.get())?,
        )
        // Bridged gateway agents are addresses too (mail_delivery).
        .with_local_addresses(crate::mail_delivery::bridge::bridged(config)),
    ))
}

/// `[mailbox]` as the mailbox's limits (validated when the file was read).
pub fn limits(s: &MailboxSection, max_request_body_bytes: usize) -> Result<Limits, String> {
    let quota = |key: &str, spec: &LimitSpec| {
        spec.quota()
            .map_err(|e| format!("mailbox.{key}: {e}"))?
            .ok_or_else(|| format!("mailbox.{key}: cannot be \"off\""))
    };
    Ok(Limits {
        max_message_bytes: s.message_bytes(max_request_body_bytes) as usize,
        max_parts: s.max_parts as usize,
        inbox_max_messages: u64::from(s.inbox_max_messages),
        inbox_max_bytes: s.inbox_max_bytes,
        sender_rate: quota("sender_rate", &s.sender_rate)?,
        pair_rate: quota("pair_rate", &s.pair_rate)?,
        request_rate: quota("request_rate", &s.request_rate)?,
        grant_ttl_days: s.grant_ttl_days,
        max_grant_ttl_days: crate::config::MAX_GRANT_TTL_DAYS,
        idempotency_hours: s.idempotency_hours,
        ..Limits::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_s_defaults_are_the_mailbox_s_and_every_key_reaches_it() {
        let d = limits(&MailboxSection::default(), 4 << 20).expect("defaults");
        assert_eq!(d, Limits::default());
        let s: MailboxSection = toml::from_str(
            "max_message_bytes = 2048\nmax_parts = 3\ninbox_max_messages = 9\n\
             inbox_max_bytes = 8192\ngrant_ttl_days = 7\nidempotency_hours = 2\n\
             sender_rate = { rate = \"10/s\", burst = 4 }",
        )
        .expect("toml");
        let l = limits(&s, 4 << 20).expect("limits");
        assert_eq!((l.max_message_bytes, l.max_parts), (2048, 3));
        assert_eq!((l.inbox_max_messages, l.inbox_max_bytes), (9, 8192));
        assert_eq!((l.grant_ttl_days, l.idempotency_hours), (7, 2));
        assert_eq!(
            l.sender_rate,
            warden_policy::ratelimit::Quota::parse("10/s", 4).expect("quota")
        );
        assert_eq!(l.max_grant_ttl_days, 365);
    }

    #[test]
    fn the_audience_is_the_one_the_authority_issues_for() {
        assert_eq!(warden_mailbox::AUDIENCE, warden_authority::MAILBOX_AUDIENCE);
    }
}
