//! `warden-webhooks`: signed push notifications, both ends.
//!
//! Warden delivers each A2A push notification (one `StreamResponse`, POSTed
//! to the URL the caller registered) with three independent proofs of where
//! it comes from, so that every kind of receiver can check it with what it
//! already has:
//!
//! - **Standard Webhooks 1.0** ([`sign`]): `webhook-id`, `webhook-timestamp`
//!   and `webhook-signature`, the signature a space-separated list of
//!   `v1,<base64 HMAC-SHA256>` with the subscription's own secret
//!   ([`SubscriptionSecret`], `whsec_…`) and `v1a,<base64 Ed25519>` with
//!   Warden's webhook key, both over `{id}.{timestamp}.{body}`. The official
//!   `standardwebhooks` libraries verify the `v1` signature unchanged.
//! - **A Warden-signed JWT** ([`claims`]) in `warden-notification-jwt`:
//!   `iss` Warden, `aud` the webhook URL, `iat`, `exp`, `jti` (= the webhook
//!   id), `taskId` and `body_sha256`. It is what binds a notification to the
//!   receiver it was meant for: a receiver that trusts Warden's public key
//!   alone (no shared secret) needs it, or a notification Warden sent to
//!   someone else could be replayed to it.
//! - The caller's own credential, as the A2A specification and the official
//!   SDKs carry it ([`credential`]): `Authorization: {scheme} {credentials}`
//!   and `X-A2A-Notification-Token: {token}`.
//!
//! The receiving side is [`Verifier`]: HMAC secrets and/or Warden's JWKS,
//! the receiver's own URL (must equal `aud`), a freshness window on an
//! injected clock, a bounded replay cache of webhook ids behind
//! [`warden_trust::ReplayCache`], and one typed [`VerifyError`] per reason a
//! notification is refused. Header parsing is strict and bounded
//! ([`headers`]).
//!
//! Keys: Warden signs with the `webhook-` family of its key ring
//! ([`WEBHOOK_KID_PREFIX`]), published in its JWKS next to the token and
//! card keys and rotated with them. A webhook key signs nothing else, and a
//! verifier believes no other key, so a token or card signature can never
//! pass for a notification.
//!
//! Crypto is aws-lc-rs only, through [`warden_trust`].

pub mod claims;
pub mod credential;
pub mod headers;
mod notification;
mod secret;
pub mod sign;
mod verify;

pub use notification::{IdError, Notification, check_id, new_id};
pub use secret::{SecretError, SubscriptionSecret};
pub use sign::{SignError, Signer};
pub use verify::{
    Builder, ConfigError, DEFAULT_REPLAY_CAPACITY, DEFAULT_TOLERANCE_SECS, Verified, Verifier,
    VerifyError,
};

/// The Standard Webhooks id header: stable across retries, the receiver's
/// idempotency key.
pub const WEBHOOK_ID: &str = "webhook-id";
/// The Standard Webhooks timestamp header: the attempt's time, integer Unix
/// seconds.
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
/// The Standard Webhooks signature header: space-separated `version,base64`.
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";
/// The header carrying Warden's notification JWT.
pub const NOTIFICATION_JWT: &str = "warden-notification-jwt";

/// The `kid` prefix of the keys that sign notifications (and nothing else).
pub const WEBHOOK_KID_PREFIX: &str = "webhook-";

/// The bytes every Standard Webhooks signature covers:
/// `{id}.{timestamp}.{body}` (the id is checked to hold no `.`, so the
/// split is unambiguous).
pub fn signed_content(id: &str, timestamp: u64, body: &[u8]) -> Vec<u8> {
    let prefix = format!("{id}.{timestamp}.");
    let mut out = Vec::with_capacity(prefix.len() + body.len());
    out.extend_from_slice(prefix.as_bytes());
    out.extend_from_slice(body);
    out
}

/// The `body_sha256` claim: base64url (no padding) of SHA-256 over the
/// body's exact bytes.
pub fn body_sha256(body: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, body);
    warden_trust::b64url_encode(digest.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_content_is_id_dot_timestamp_dot_body() {
        assert_eq!(
            signed_content("msg_1", 1_674_087_231, b"{\"a\":1}"),
            b"msg_1.1674087231.{\"a\":1}".to_vec()
        );
    }

    #[test]
    fn body_hash_is_base64url_sha256() {
        // SHA-256("") = e3b0c442…b855.
        assert_eq!(
            body_sha256(b""),
            "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
        );
    }
}
