//! API keys of registry agents: created and rotated with their secret
//! shown once, stored as a key id and the SHA-256 of the secret.

use warden_store::{ApiKeyRecord, Store};

use super::{MAX_OVERLAP_SECS, RegistryError};

/// A newly created API key: `key` is its only appearance in the clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedKey {
    /// `wdn_<id>_<secret>`, shown once.
    pub key: String,
    pub record: ApiKeyRecord,
}

/// Creates an API key for registry agent `sub`, valid until `expires_at`
/// (Unix seconds) when given.
pub async fn create_key(
    store: &Store,
    sub: &str,
    expires_at: Option<i64>,
) -> Result<CreatedKey, RegistryError> {
    if store.agent(sub).await?.is_none() {
        return Err(RegistryError::NotFound(format!(
            "no registry agent {sub:?}: add it to the registry first"
        )));
    }
    let k = warden_trust::apikey::generate().map_err(RegistryError::Internal)?;
    let record = ApiKeyRecord {
        id: k.id,
        subject: sub.to_string(),
        hash: k.hash,
        created_at: crate::now_rfc3339(),
        expires_at,
        revoked_at: None,
        last_used_at: None,
    };
    store.put_api_key(&record).await?;
    Ok(CreatedKey {
        key: k.display,
        record,
    })
}

/// API keys (never their secrets), optionally of one subject.
pub async fn list_keys(
    store: &Store,
    sub: Option<&str>,
) -> Result<Vec<ApiKeyRecord>, RegistryError> {
    Ok(store.list_api_keys(sub).await?)
}

/// One API key.
pub async fn get_key(store: &Store, id: &str) -> Result<ApiKeyRecord, RegistryError> {
    store
        .api_key(id)
        .await?
        .ok_or_else(|| RegistryError::NotFound(format!("no API key {id:?}")))
}

/// What a key is, at `now` (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Active,
    /// Active until its `expires_at` (a rotation's overlap, or a set expiry).
    Expiring,
    Expired,
    Revoked,
}

impl KeyState {
    pub fn of(k: &ApiKeyRecord, now: u64) -> Self {
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        match (&k.revoked_at, k.expires_at) {
            (Some(_), _) => Self::Revoked,
            (None, Some(e)) if now >= e => Self::Expired,
            (None, Some(_)) => Self::Expiring,
            (None, None) => Self::Active,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Expiring => "expiring",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

/// Revokes a key at once; the gateway refuses it from the next request.
/// Returns the revoked record.
pub async fn revoke_key(store: &Store, id: &str) -> Result<ApiKeyRecord, RegistryError> {
    let key = get_key(store, id).await?;
    if key.revoked_at.is_some() {
        return Err(RegistryError::Conflict(format!(
            "API key {id:?} is already revoked"
        )));
    }
    let at = crate::now_rfc3339();
    if !store.revoke_api_key(id, &at).await? {
        // Revoked (or removed) in between.
        return Err(RegistryError::Conflict(format!(
            "API key {id:?} is already revoked"
        )));
    }
    get_key(store, id).await
}

/// A rotation's result: the new key (shown once) and the old key's record,
/// which now expires after the overlap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    pub new: CreatedKey,
    pub old: ApiKeyRecord,
}

/// Replaces a key: a new key for the same subject; the old one keeps
/// working for `overlap_secs` from `now`, then stops. A revoked or expired
/// key cannot be rotated, and an old key that expires sooner anyway keeps
/// its earlier expiry (a rotation never extends a key's life).
pub async fn rotate_key(
    store: &Store,
    id: &str,
    overlap_secs: u64,
    now: u64,
) -> Result<Rotated, RegistryError> {
    if overlap_secs > MAX_OVERLAP_SECS {
        return Err(RegistryError::Invalid(format!(
            "the overlap may be at most {MAX_OVERLAP_SECS} seconds"
        )));
    }
    let old = get_key(store, id).await?;
    match KeyState::of(&old, now) {
        KeyState::Revoked => {
            return Err(RegistryError::Conflict(format!(
                "API key {id:?} is revoked"
            )));
        }
        KeyState::Expired => {
            return Err(RegistryError::Conflict(format!(
                "API key {id:?} has expired"
            )));
        }
        KeyState::Active | KeyState::Expiring => {}
    }
    let until = i64::try_from(now.saturating_add(overlap_secs)).unwrap_or(i64::MAX);
    let until = old.expires_at.map_or(until, |e| e.min(until));
    let new = create_key(store, &old.subject, None).await?;
    store.expire_api_key(id, until).await?;
    let old = get_key(store, id).await?;
    Ok(Rotated { new, old })
}
