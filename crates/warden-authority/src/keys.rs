//! Warden's signing keys: generated on first start, sealed at rest under the
//! key-encryption key, rotated on a schedule, and published (JWKS) until the
//! last token they signed has expired.
//!
//! Three families share the ring: token keys; card keys (`kid` prefixed
//! [`CARD_KID_PREFIX`]) that sign the agent cards Warden serves; and webhook
//! keys (`kid` prefixed [`WEBHOOK_KID_PREFIX`]) that sign push notifications
//! (the `v1a` signature and the notification JWT of `warden-webhooks`). Each
//! rotates on the same schedule; all are published in the one JWKS, so a
//! client verifies a served card, and a receiver a notification, with the
//! keys it already fetches. Only a token key verifies a token
//! ([`KeyRing::token_keys`]), and a webhook key signs nothing but
//! notifications.

use std::path::Path;
use std::sync::{Arc, RwLock};

use warden_store::{SigningKeyRecord, Store, StoreError};
use warden_trust::seal::Kek;
use warden_trust::{JwsAlg, KeySet, SigningKey};

/// Why the key ring (or the key-encryption key) could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key-encryption key: {0}")]
    Kek(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key: {0}")]
    Signing(#[from] warden_trust::signing::SigningError),
    /// Said in full because the usual cause is operational (a store moved
    /// or restored without its KEK), not corruption.
    #[error(
        "sealed key: {0}: the store's signing keys do not open with this key-encryption key \
         (WARDEN_KEK or auth.kek_file); start with the KEK the store was created with \
         (docs/operations.md, \"What to keep, and what goes with what\")"
    )]
    Seal(#[from] warden_trust::seal::SealError),
}

/// The environment variable that, when set, holds the key-encryption key.
pub const KEK_ENV: &str = "WARDEN_KEK";

/// Reads the key-encryption key from `WARDEN_KEK`, else from `path`,
/// creating that file (mode 0600) with a fresh key when it does not exist.
pub fn load_kek(path: &Path) -> Result<Kek, KeyError> {
    if let Ok(text) = std::env::var(KEK_ENV)
        && !text.trim().is_empty()
    {
        return Kek::from_text(&text).map_err(|e| KeyError::Kek(format!("{KEK_ENV}: {e}")));
    }
    match std::fs::read_to_string(path) {
        Ok(text) => {
            Kek::from_text(&text).map_err(|e| KeyError::Kek(format!("{}: {e}", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let text = Kek::generate_text().map_err(|e| KeyError::Kek(e.to_string()))?;
            write_private(path, &text)?;
            tracing::info!(path = %path.display(), "generated a new key-encryption key");
            Kek::from_text(&text).map_err(|e| KeyError::Kek(e.to_string()))
        }
        Err(e) => Err(KeyError::Kek(format!("{}: {e}", path.display()))),
    }
}

fn write_private(path: &Path, text: &str) -> Result<(), KeyError> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| KeyError::Kek(e.to_string()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .map_err(|e| KeyError::Kek(format!("{}: {e}", path.display())))?;
    f.write_all(text.as_bytes())
        .map_err(|e| KeyError::Kek(e.to_string()))
}

/// The `kid` prefix of the keys that sign served agent cards.
pub const CARD_KID_PREFIX: &str = "card-";
/// The `kid` prefix of the keys that sign push notifications.
pub use warden_webhooks::WEBHOOK_KID_PREFIX;

/// The families of keys in the ring, told apart by their `kid` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Token,
    Card,
    Webhook,
}

impl Family {
    const ALL: [Self; 3] = [Self::Token, Self::Card, Self::Webhook];

    fn of(kid: &str) -> Self {
        if kid.starts_with(CARD_KID_PREFIX) {
            Self::Card
        } else if kid.starts_with(WEBHOOK_KID_PREFIX) {
            Self::Webhook
        } else {
            Self::Token
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Self::Token => "",
            Self::Card => CARD_KID_PREFIX,
            Self::Webhook => WEBHOOK_KID_PREFIX,
        }
    }
}

/// The current signing keys and the published public keys.
pub struct KeyRing {
    store: Store,
    kek: Kek,
    rotation_secs: u64,
    /// How long a retired key's public half stays published.
    publish_after_retire_secs: u64,
    state: RwLock<RingState>,
}

struct RingState {
    current: Arc<SigningKey>,
    card: Arc<SigningKey>,
    webhook: Arc<SigningKey>,
    published: KeySet,
    tokens: KeySet,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Loads the keys, generating the first one (or a successor for an
    /// expired one) as needed.
    pub async fn open(
        store: Store,
        kek: Kek,
        rotation_secs: u64,
        publish_after_retire_secs: u64,
        now: u64,
    ) -> Result<Self, KeyError> {
        let state = Self::load(&store, &kek, rotation_secs, publish_after_retire_secs, now).await?;
        Ok(Self {
            store,
            kek,
            rotation_secs,
            publish_after_retire_secs,
            state: RwLock::new(state),
        })
    }

    async fn load(
        store: &Store,
        kek: &Kek,
        rotation_secs: u64,
        publish_after_retire_secs: u64,
        now: u64,
    ) -> Result<RingState, KeyError> {
        let now_i = i64::try_from(now).unwrap_or(i64::MAX);
        store.delete_expired_signing_keys(now_i).await?;
        let mut records = store.signing_keys().await?;
        for family in Family::ALL {
            if records
                .iter()
                .any(|r| Family::of(&r.kid) == family && r.retire_at > now_i)
            {
                continue;
            }
            let key = SigningKey::generate(JwsAlg::EdDsa)?;
            let key = if family == Family::Token {
                key
            } else {
                let kid = format!("{}{}", family.prefix(), key.kid());
                SigningKey::from_pkcs8(key.alg(), key.pkcs8(), Some(&kid))?
            };
            let sealed = kek.seal(key.kid().as_bytes(), key.pkcs8())?;
            let retire_at = now_i.saturating_add(i64::try_from(rotation_secs).unwrap_or(i64::MAX));
            let record = SigningKeyRecord {
                kid: key.kid().to_string(),
                alg: key.alg().as_str().to_string(),
                sealed,
                created_at: now_i,
                retire_at,
                expires_at: retire_at
                    .saturating_add(i64::try_from(publish_after_retire_secs).unwrap_or(i64::MAX)),
            };
            store.put_signing_key(&record).await?;
            tracing::info!(kid = %record.kid, family = ?family, "generated a new signing key");
            records.insert(0, record);
        }
        let (mut all, mut tokens) = (Vec::new(), Vec::new());
        let (mut current, mut card, mut webhook) = (None, None, None);
        for r in &records {
            let alg = JwsAlg::parse(&r.alg)
                .ok_or_else(|| KeyError::Kek(format!("key {} has unknown alg", r.kid)))?;
            let pkcs8 = kek.open(r.kid.as_bytes(), &r.sealed)?;
            let key = SigningKey::from_pkcs8(alg, &pkcs8, Some(&r.kid))?;
            all.push(key.public_jwk());
            let slot = match Family::of(&r.kid) {
                Family::Card => &mut card,
                Family::Webhook => &mut webhook,
                Family::Token => {
                    tokens.push(key.public_jwk());
                    &mut current
                }
            };
            // Records come newest first: the first still active one signs.
            if slot.is_none() && r.retire_at > now_i {
                *slot = Some(Arc::new(key));
            }
        }
        Ok(RingState {
            current: current.ok_or_else(|| KeyError::Kek("no active signing key".into()))?,
            card: card.ok_or_else(|| KeyError::Kek("no active card signing key".into()))?,
            webhook: webhook
                .ok_or_else(|| KeyError::Kek("no active webhook signing key".into()))?,
            published: KeySet::from_keys(all),
            tokens: KeySet::from_keys(tokens),
        })
    }

    /// Generates a successor when the current key is due, and drops keys
    /// nobody can need any more.
    pub async fn refresh(&self, now: u64) -> Result<(), KeyError> {
        let fresh = Self::load(
            &self.store,
            &self.kek,
            self.rotation_secs,
            self.publish_after_retire_secs,
            now,
        )
        .await?;
        if let Ok(mut s) = self.state.write() {
            *s = fresh;
        }
        Ok(())
    }

    pub fn signing_key(&self) -> Option<Arc<SigningKey>> {
        self.state.read().ok().map(|s| s.current.clone())
    }

    /// The key that signs served agent cards.
    pub fn card_signing_key(&self) -> Option<Arc<SigningKey>> {
        self.state.read().ok().map(|s| s.card.clone())
    }

    /// The key that signs push notifications (`warden_webhooks::Signer`).
    pub fn webhook_signing_key(&self) -> Option<Arc<SigningKey>> {
        self.state.read().ok().map(|s| s.webhook.clone())
    }

    /// The keys that may have signed a Warden token (card and webhook keys
    /// left out).
    pub fn token_keys(&self) -> KeySet {
        self.state
            .read()
            .map(|s| s.tokens.clone())
            .unwrap_or_default()
    }

    /// Every public key, token, card and webhook keys alike (the JWKS).
    pub fn published(&self) -> KeySet {
        self.state
            .read()
            .map(|s| s.published.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kek() -> Kek {
        Kek::from_text(&Kek::generate_text().expect("kek")).expect("kek")
    }

    /// A store opened with another KEK than the one that sealed its keys
    /// is refused, and the message says what to do about it.
    #[tokio::test]
    async fn another_kek_is_refused_with_a_message_naming_the_kek() {
        let store = Store::open_in_memory().await.expect("store");
        KeyRing::open(store.clone(), kek(), 100, 50, 1_000)
            .await
            .expect("ring");
        let Err(refused) = KeyRing::open(store, kek(), 100, 50, 1_000).await else {
            panic!("a ring opened under another KEK");
        };
        assert!(matches!(refused, KeyError::Seal(_)), "{refused:?}");
        let message = refused.to_string();
        assert!(
            message.contains("WARDEN_KEK or auth.kek_file")
                && message.contains("the KEK the store was created with"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn keys_rotate_on_schedule_and_stay_published_until_their_tokens_expire() {
        let store = Store::open_in_memory().await.expect("store");
        // Sign for 100 s; publish for 50 s more after retiring.
        let ring = KeyRing::open(store.clone(), kek(), 100, 50, 1_000)
            .await
            .expect("ring");
        let first = ring.signing_key().expect("key").kid().to_string();
        assert_eq!(
            ring.published().len(),
            3,
            "a token key, a card key and a webhook key"
        );
        assert_eq!(ring.token_keys().len(), 1);
        let card = ring.card_signing_key().expect("card key").kid().to_string();
        assert!(card.starts_with(CARD_KID_PREFIX), "{card}");
        assert!(
            ring.token_keys().get(&card).is_none(),
            "a card key never verifies a token"
        );
        let webhook = ring.webhook_signing_key().expect("webhook key");
        assert!(webhook.kid().starts_with(WEBHOOK_KID_PREFIX), "{webhook:?}");
        assert_eq!(webhook.alg(), JwsAlg::EdDsa);
        assert!(
            ring.token_keys().get(webhook.kid()).is_none(),
            "a webhook key never verifies a token"
        );
        assert!(ring.published().get(webhook.kid()).is_some());
        let first_webhook = webhook.kid().to_string();

        ring.refresh(1_050).await.expect("refresh");
        assert_eq!(ring.signing_key().expect("key").kid(), first, "not due yet");

        ring.refresh(1_100).await.expect("refresh");
        let second = ring.signing_key().expect("key").kid().to_string();
        assert_ne!(second, first, "a successor signs once the key is due");
        let second_webhook = ring.webhook_signing_key().expect("key").kid().to_string();
        assert_ne!(second_webhook, first_webhook, "webhook keys rotate too");
        assert!(ring.published().get(&first_webhook).is_some());
        assert!(
            ring.published().get(&first).is_some(),
            "the old key is still published"
        );
        assert!(ring.published().get(&second).is_some());

        ring.refresh(1_151).await.expect("refresh");
        assert!(
            ring.published().get(&first).is_none(),
            "dropped once its tokens expired"
        );
        assert_eq!(ring.signing_key().expect("key").kid(), second);
    }

    #[tokio::test]
    async fn the_webhook_key_signs_notifications_that_verify_with_the_jwks() {
        use warden_webhooks::{Notification, Signer, Verifier};
        let store = Store::open_in_memory().await.expect("store");
        let ring = KeyRing::open(store, kek(), 100, 50, 1_000)
            .await
            .expect("ring");
        let url = "https://hooks.example.com/a2a";
        let n = Notification {
            id: "msg_1",
            body: b"{}",
            url,
            task_id: "t-1",
        };
        let key = ring.webhook_signing_key().expect("webhook key");
        let headers = Signer::new("https://warden.example.com")
            .sign(&n, &[], &key, 1_000)
            .expect("sign");
        let verifier = Verifier::builder()
            .keys(ring.published())
            .receiver_url(url)
            .build()
            .expect("the published JWKS has a webhook key");
        let verified = verifier
            .verify(
                headers.iter().map(|(k, v)| (*k, v.as_bytes())),
                b"{}",
                1_001,
            )
            .expect("verifies");
        assert_eq!(verified.jwt_kid.as_deref(), Some(key.kid()));
        // The token key is refused by the signer.
        let token_key = ring.signing_key().expect("token key");
        assert!(Signer::new("i").sign(&n, &[], &token_key, 1_000).is_err());
    }

    #[tokio::test]
    async fn keys_are_sealed_at_rest_and_need_the_kek() {
        let store = Store::open_in_memory().await.expect("store");
        let ring = KeyRing::open(store.clone(), kek(), 100, 50, 1_000)
            .await
            .expect("ring");
        let kid = ring.signing_key().expect("key").kid().to_string();
        let records = store.signing_keys().await.expect("records");
        let key = ring.signing_key().expect("key");
        assert!(
            !records
                .iter()
                .find(|r| r.kid == kid)
                .expect("the token key's record")
                .sealed
                .windows(16)
                .any(|w| key.pkcs8().windows(16).any(|p| p == w)),
            "no run of the private key appears in the stored record"
        );
        // Another KEK cannot open the stored key.
        let err = KeyRing::open(store, kek(), 100, 50, 1_001).await;
        assert!(err.is_err(), "opening {kid} with the wrong KEK must fail");
    }
}
