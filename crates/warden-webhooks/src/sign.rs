//! Signing one delivery attempt: the Standard Webhooks headers and the
//! notification JWT.
//!
//! ```
//! use warden_trust::{JwsAlg, SigningKey};
//! use warden_webhooks::{Notification, Signer, SubscriptionSecret, new_id};
//!
//! // In Warden the key comes from the key ring (`KeyRing::webhook_signing_key`).
//! let key = SigningKey::generate(JwsAlg::EdDsa).unwrap();
//! let key = SigningKey::from_pkcs8(JwsAlg::EdDsa, key.pkcs8(), Some("webhook-1")).unwrap();
//! let secret = SubscriptionSecret::generate().unwrap();
//! let id = new_id();
//! let n = Notification {
//!     id: &id,
//!     body: br#"{"statusUpdate":{"taskId":"t-1"}}"#,
//!     url: "https://hooks.example.com/a2a",
//!     task_id: "t-1",
//! };
//! let headers = Signer::new("https://warden.example.com")
//!     .sign(&n, &[secret], &key, 1_700_000_000)
//!     .unwrap();
//! let names: Vec<&str> = headers.iter().map(|(name, _)| *name).collect();
//! assert_eq!(
//!     names,
//!     ["webhook-id", "webhook-timestamp", "webhook-signature", "warden-notification-jwt"]
//! );
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use warden_trust::{JwsAlg, SigningKey};

use crate::notification::{IdError, MAX_TASK_ID_BYTES, Notification, check_id};
use crate::secret::SubscriptionSecret;
use crate::{
    NOTIFICATION_JWT, WEBHOOK_ID, WEBHOOK_KID_PREFIX, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP,
};

/// The JWT lifetime unless set: as long as the receivers' default
/// freshness window.
pub const DEFAULT_JWT_TTL_SECS: u64 = 300;
/// The most HMAC secrets one attempt is signed with (a current one and the
/// ones being rotated out).
pub const MAX_SECRETS: usize = 4;

/// Why an attempt cannot be signed. Each is a bug or a misconfiguration in
/// the caller, never something a receiver did.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("webhook id: {0}")]
    Id(#[from] IdError),
    #[error("the key {0:?} is not an Ed25519 key of the webhook family (kid prefix \"webhook-\")")]
    NotAWebhookKey(String),
    #[error("the task id is empty or longer than {MAX_TASK_ID_BYTES} bytes")]
    TaskId,
    #[error("the webhook URL is empty")]
    Url,
    #[error("at most {MAX_SECRETS} HMAC secrets sign one attempt")]
    TooManySecrets,
}

/// Signs delivery attempts as one Warden (its issuer URL).
#[derive(Debug, Clone)]
pub struct Signer {
    issuer: String,
    jwt_ttl_secs: u64,
}

impl Signer {
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            jwt_ttl_secs: DEFAULT_JWT_TTL_SECS,
        }
    }

    /// The JWT's lifetime (`exp` - `iat`), at least 1 s.
    pub fn with_jwt_ttl(mut self, secs: u64) -> Self {
        self.jwt_ttl_secs = secs.max(1);
        self
    }

    /// The headers of one attempt at `now` (Unix seconds), in order:
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature` (a `v1` per
    /// secret, then one `v1a`), `warden-notification-jwt`. The caller adds
    /// `Content-Type` and the subscriber's own credential
    /// ([`crate::credential`]). An empty `secrets` leaves out `v1`: the
    /// receiver then verifies with Warden's public keys only.
    pub fn sign(
        &self,
        n: &Notification<'_>,
        secrets: &[SubscriptionSecret],
        key: &SigningKey,
        now: u64,
    ) -> Result<Vec<(&'static str, String)>, SignError> {
        check_id(n.id)?;
        if n.task_id.is_empty() || n.task_id.len() > MAX_TASK_ID_BYTES {
            return Err(SignError::TaskId);
        }
        if n.url.is_empty() {
            return Err(SignError::Url);
        }
        if secrets.len() > MAX_SECRETS {
            return Err(SignError::TooManySecrets);
        }
        if key.alg() != JwsAlg::EdDsa || !key.kid().starts_with(WEBHOOK_KID_PREFIX) {
            return Err(SignError::NotAWebhookKey(key.kid().to_string()));
        }
        let content = crate::signed_content(n.id, now, n.body);
        let mut signatures: Vec<String> = secrets
            .iter()
            .map(|s| {
                let tag = aws_lc_rs::hmac::sign(&s.key(), &content);
                format!("v1,{}", STANDARD.encode(tag.as_ref()))
            })
            .collect();
        signatures.push(format!("v1a,{}", STANDARD.encode(key.sign(&content))));
        Ok(vec![
            (WEBHOOK_ID, n.id.to_string()),
            (WEBHOOK_TIMESTAMP, now.to_string()),
            (WEBHOOK_SIGNATURE, signatures.join(" ")),
            (
                NOTIFICATION_JWT,
                crate::claims::mint(key, &self.issuer, n, now, self.jwt_ttl_secs),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str) -> SigningKey {
        let k = SigningKey::generate(JwsAlg::EdDsa).expect("key");
        SigningKey::from_pkcs8(JwsAlg::EdDsa, k.pkcs8(), Some(kid)).expect("key")
    }

    fn n<'a>(id: &'a str) -> Notification<'a> {
        Notification {
            id,
            body: b"{}",
            url: "https://hooks.example.com/a2a",
            task_id: "t-1",
        }
    }

    /// The official libraries' test vector (their Go and Java suites,
    /// `TestWebhookSign` / `validSigned`).
    #[test]
    fn v1_matches_the_official_libraries_test_vector() {
        let secret =
            SubscriptionSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret");
        let n = Notification {
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
            body: br#"{"test": 2432232314}"#,
            url: "https://x.example",
            task_id: "t",
        };
        let headers = Signer::new("https://w.example")
            .sign(&n, &[secret], &key("webhook-1"), 1_614_265_330)
            .expect("sign");
        let sig = &headers[2].1;
        assert!(
            sig.starts_with("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1a,"),
            "{sig}"
        );
    }

    #[test]
    fn only_webhook_ed25519_keys_sign() {
        let s = Signer::new("https://w.example");
        assert_eq!(
            s.sign(&n("m1"), &[], &key("card-x"), 1),
            Err(SignError::NotAWebhookKey("card-x".into()))
        );
        let es = SigningKey::generate(JwsAlg::Es256).expect("key");
        let es =
            SigningKey::from_pkcs8(JwsAlg::Es256, es.pkcs8(), Some("webhook-es")).expect("key");
        assert!(matches!(
            s.sign(&n("m1"), &[], &es, 1),
            Err(SignError::NotAWebhookKey(_))
        ));
    }

    #[test]
    fn bad_notifications_are_not_signed() {
        let (s, k) = (Signer::new("https://w.example"), key("webhook-1"));
        assert_eq!(
            s.sign(&n("a.b"), &[], &k, 1),
            Err(SignError::Id(IdError::Character))
        );
        let mut bad = n("m1");
        bad.task_id = "";
        assert_eq!(s.sign(&bad, &[], &k, 1), Err(SignError::TaskId));
        let mut bad = n("m1");
        bad.url = "";
        assert_eq!(s.sign(&bad, &[], &k, 1), Err(SignError::Url));
        let many: Vec<_> = (0..5)
            .map(|_| SubscriptionSecret::generate().expect("secret"))
            .collect();
        assert_eq!(
            s.sign(&n("m1"), &many, &k, 1),
            Err(SignError::TooManySecrets)
        );
    }

    #[test]
    fn every_secret_signs_and_v1a_comes_last() {
        let secrets = [
            SubscriptionSecret::generate().expect("secret"),
            SubscriptionSecret::generate().expect("secret"),
        ];
        let h = Signer::new("https://w.example")
            .sign(&n("m1"), &secrets, &key("webhook-1"), 7)
            .expect("sign");
        let sigs: Vec<&str> = h[2].1.split(' ').collect();
        assert_eq!(sigs.len(), 3);
        assert!(sigs[0].starts_with("v1,") && sigs[1].starts_with("v1,"));
        assert!(sigs[2].starts_with("v1a,"));
        assert_eq!(h[1].1, "7");
    }
}
