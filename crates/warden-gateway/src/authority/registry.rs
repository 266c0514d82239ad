//! Managing the token authority's registry and API keys: the one
//! implementation behind `warden registry …`, `warden apikey …` and the admin
//! API (`/admin/v1/registry`, `/admin/v1/apikeys`). Every function works on a
//! [`Store`] and answers a typed [`RegistryError`]; the callers only choose
//! how to show it (a CLI message, an HTTP status).
//!
//! API key secrets are returned once, by [`create_key`] and [`rotate_key`],
//! and never stored: the store keeps the key id and the SHA-256 of the secret.

use std::path::Path;

use serde_json::Value;
use warden_store::{ApiKeyRecord, RegisteredAgent, Store, StoreError};

use super::Grants;

/// Why a registry or API key operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The input is not acceptable (a bad id, grant or JWKS).
    #[error("{0}")]
    Invalid(String),
    /// No such registry agent or API key.
    #[error("{0}")]
    NotFound(String),
    /// The operation conflicts with the current state (an agent that already
    /// exists, a key already revoked or expired).
    #[error("{0}")]
    Conflict(String),
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),
    /// Warden's own trouble (the random generator failed).
    #[error("{0}")]
    Internal(String),
}

/// Longest registry agent id, display name, grant target or skill id.
pub const MAX_NAME_BYTES: usize = 256;
/// Most grant targets per agent, and skills per target.
pub const MAX_GRANTS: usize = 256;
/// Largest JWKS document accepted for an agent.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// The longest overlap a rotation may give the old key (a year).
pub const MAX_OVERLAP_SECS: u64 = 365 * 86_400;

/// An id-like string: not empty, at most [`MAX_NAME_BYTES`], no whitespace
/// or control characters (ids travel in token claims, URLs and logs).
pub(crate) fn check_name(what: &str, s: &str) -> Result<(), RegistryError> {
    if s.is_empty() {
        return Err(RegistryError::Invalid(format!("{what} must not be empty")));
    }
    if s.len() > MAX_NAME_BYTES {
        return Err(RegistryError::Invalid(format!(
            "{what} {s:?} is longer than {MAX_NAME_BYTES} bytes"
        )));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(RegistryError::Invalid(format!(
            "{what} {s:?} must not contain whitespace or control characters"
        )));
    }
    // `warden` is the subject of Warden's own upstream tokens.
    if what == "agent id" && s == crate::authority::GATEWAY_SUBJECT {
        return Err(RegistryError::Invalid(format!(
            "agent id {s:?} is reserved for Warden itself"
        )));
    }
    Ok(())
}

/// Parses `TARGET=SKILL[,SKILL…]` grants (the CLI's `--grant`), merging
/// repeated targets.
pub fn parse_grants(list: &[String]) -> Result<Grants, RegistryError> {
    let mut out = Grants::new();
    for g in list {
        let bad = || RegistryError::Invalid(format!("grant {g:?} must be TARGET=SKILL[,SKILL…]"));
        let (target, skills) = g.split_once('=').ok_or_else(bad)?;
        let skills: Vec<String> = skills
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let target = target.trim();
        if target.is_empty() || skills.is_empty() {
            return Err(bad());
        }
        out.entry(target.to_string()).or_default().extend(skills);
    }
    check_grants(out)
}

/// Checks grants (from the CLI or the admin API): every target and skill a
/// valid name, every target with at least one skill; duplicate skills are
/// merged. Returns them normalised (skills sorted).
pub fn check_grants(grants: Grants) -> Result<Grants, RegistryError> {
    if grants.len() > MAX_GRANTS {
        return Err(RegistryError::Invalid(format!(
            "at most {MAX_GRANTS} grant targets"
        )));
    }
    let mut out = Grants::new();
    for (target, mut skills) in grants {
        check_name("grant target", &target)?;
        if skills.is_empty() {
            return Err(RegistryError::Invalid(format!(
                "grant for {target:?} names no skill"
            )));
        }
        if skills.len() > MAX_GRANTS {
            return Err(RegistryError::Invalid(format!(
                "grant for {target:?}: at most {MAX_GRANTS} skills"
            )));
        }
        for s in &skills {
            check_name("skill id", s)?;
        }
        skills.sort();
        skills.dedup();
        out.insert(target, skills);
    }
    Ok(out)
}

/// Checks a JWKS document for `private_key_jwt`: an object with a `keys`
/// array, no private key anywhere, no duplicate `kid`, and at least one key
/// Warden can use (with a `kid`, for signatures, of a supported type).
/// Returns the document as stored (compact JSON).
pub fn check_jwks(doc: &Value) -> Result<String, RegistryError> {
    let keys = warden_trust::KeySet::from_jwks(doc)
        .map_err(|e| RegistryError::Invalid(format!("JWKS: {e}")))?;
    if keys.is_empty() {
        return Err(RegistryError::Invalid(
            "JWKS: no usable signing key (each needs a kid)".into(),
        ));
    }
    let text = doc.to_string();
    if text.len() > MAX_JWKS_BYTES {
        return Err(RegistryError::Invalid(format!(
            "JWKS: larger than {MAX_JWKS_BYTES} bytes"
        )));
    }
    Ok(text)
}

/// Reads and checks a JWKS file (strict JSON: no duplicate keys). Errors
/// name the file.
pub fn read_jwks_file(path: &Path) -> Result<Value, RegistryError> {
    let at = |e: &dyn std::fmt::Display| RegistryError::Invalid(format!("{}: {e}", path.display()));
    let text = std::fs::read(path).map_err(|e| at(&e))?;
    if text.len() > MAX_JWKS_BYTES {
        return Err(at(&format!("larger than {MAX_JWKS_BYTES} bytes")));
    }
    let doc =
        warden_json::parse_strict(&text, warden_json::JsonLimits::default()).map_err(|e| at(&e))?;
    check_jwks(&doc).map_err(|e| at(&e))?;
    Ok(doc)
}

/// A registry entry to add.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewAgent {
    /// The agent id (the `sub` of its tokens).
    pub id: String,
    /// Defaults to the id.
    pub display_name: Option<String>,
    /// Its public keys, for `private_key_jwt`.
    pub jwks: Option<Value>,
    /// Target agent → skill ids it may be granted.
    pub grants: Grants,
    /// The SAN (URI or DNS name) of its client certificate, for mTLS
    /// client authentication at the token endpoint.
    pub tls_subject: Option<String>,
}

/// Adds a registry agent. An existing entry with the same id is replaced
/// when `replace` is set (its creation time kept), and otherwise refused
/// with [`RegistryError::Conflict`]. Returns the entry and whether it is new.
pub async fn add_agent(
    store: &Store,
    new: NewAgent,
    replace: bool,
) -> Result<(RegisteredAgent, bool), RegistryError> {
    check_name("agent id", &new.id)?;
    let display_name = new.display_name.unwrap_or_else(|| new.id.clone());
    if display_name.trim().is_empty() || display_name.len() > MAX_NAME_BYTES {
        return Err(RegistryError::Invalid(format!(
            "display name must be 1 to {MAX_NAME_BYTES} bytes"
        )));
    }
    if display_name.chars().any(char::is_control) {
        return Err(RegistryError::Invalid(
            "display name must not contain control characters".into(),
        ));
    }
    let jwks = new.jwks.as_ref().map(check_jwks).transpose()?;
    if let Some(t) = &new.tls_subject {
        check_name("TLS subject", t)?;
    }
    let grants = check_grants(new.grants)?;
    let existing = store.agent(&new.id).await?;
    if existing.is_some() && !replace {
        return Err(RegistryError::Conflict(format!(
            "registry agent {:?} already exists",
            new.id
        )));
    }
    let agent = RegisteredAgent {
        created_at: existing
            .as_ref()
            .map_or_else(crate::audit::now_rfc3339, |a| a.created_at.clone()),
        id: new.id,
        display_name,
        jwks,
        jwks_url: None,
        // Grants live in their own table now; the column is legacy.
        grants: "{}".into(),
        tls_subject: new.tls_subject,
    };
    store.put_agent(&agent).await?;
    super::grants::ensure_grants(store, &agent.id, &grants).await?;
    Ok((agent, existing.is_none()))
}

/// All registry agents, by id.
pub async fn list_agents(store: &Store) -> Result<Vec<RegisteredAgent>, RegistryError> {
    Ok(store.list_agents().await?)
}

/// One registry agent.
pub async fn get_agent(store: &Store, id: &str) -> Result<RegisteredAgent, RegistryError> {
    store
        .agent(id)
        .await?
        .ok_or_else(|| RegistryError::NotFound(format!("no registry agent {id:?}")))
}

/// Removes a registry agent and its API keys.
pub async fn remove_agent(store: &Store, id: &str) -> Result<(), RegistryError> {
    if store.remove_agent(id).await? {
        super::grants::revoke_all_of(store, id).await?;
        Ok(())
    } else {
        Err(RegistryError::NotFound(format!("no registry agent {id:?}")))
    }
}

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
        created_at: crate::audit::now_rfc3339(),
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
    let at = crate::audit::now_rfc3339();
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    async fn store() -> Store {
        Store::open_in_memory().await.expect("store")
    }

    fn grants(pairs: &[(&str, &[&str])]) -> Grants {
        pairs
            .iter()
            .map(|(t, s)| {
                (
                    (*t).to_string(),
                    s.iter().map(|s| (*s).to_string()).collect(),
                )
            })
            .collect()
    }

    fn agent(id: &str) -> NewAgent {
        NewAgent {
            id: id.into(),
            grants: grants(&[("echo", &["echo"])]),
            ..NewAgent::default()
        }
    }

    /// A public EC key (P-256) as a JWK, from a fresh key pair.
    fn public_jwk(kid: &str) -> Value {
        let key = warden_trust::SigningKey::generate(warden_trust::JwsAlg::Es256).expect("key");
        let mut jwk = key.public_jwk().to_json();
        jwk["kid"] = json!(kid);
        jwk
    }

    #[test]
    fn grants_parse_merge_and_refuse_bad_shapes() {
        let g = parse_grants(&[
            "echo=echo, echo-upper".into(),
            "slow=slow".into(),
            "echo=echo,extra".into(),
        ])
        .expect("grants");
        assert_eq!(
            g,
            grants(&[
                ("echo", &["echo", "echo-upper", "extra"]),
                ("slow", &["slow"])
            ])
        );
        for bad in ["echo", "=echo", "echo=", "echo=,", "ec ho=x", "echo=a b"] {
            assert!(
                matches!(parse_grants(&[bad.into()]), Err(RegistryError::Invalid(_))),
                "{bad}"
            );
        }
        assert!(parse_grants(&[]).expect("none").is_empty());
        assert!(matches!(
            check_grants(grants(&[("echo", &[])])),
            Err(RegistryError::Invalid(_))
        ));
    }

    #[test]
    fn jwks_must_hold_a_usable_public_key() {
        let good = json!({"keys": [public_jwk("k1")]});
        assert!(check_jwks(&good).is_ok());
        let mut no_kid = public_jwk("k1");
        no_kid.as_object_mut().expect("object").remove("kid");
        let mut private = public_jwk("k1");
        private["d"] = json!("c2VjcmV0");
        for (bad, what) in [
            (json!({}), "no keys array"),
            (json!({"keys": []}), "empty"),
            (json!({"keys": [no_kid]}), "no kid"),
            (
                json!({"keys": [{"kty": "oct", "kid": "s", "k": "c2VjcmV0"}]}),
                "symmetric",
            ),
            (json!({"keys": [private]}), "private member"),
            (
                json!({"keys": [public_jwk("a"), public_jwk("a")]}),
                "duplicate kid",
            ),
        ] {
            assert!(
                matches!(check_jwks(&bad), Err(RegistryError::Invalid(_))),
                "{what}"
            );
        }
    }

    #[test]
    fn jwks_files_are_read_strictly_and_named_in_errors() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("k.json");
        std::fs::write(&path, json!({"keys": [public_jwk("k1")]}).to_string()).expect("write");
        assert!(read_jwks_file(&path).is_ok());
        std::fs::write(&path, r#"{"keys": [], "keys": []}"#).expect("write");
        let e = read_jwks_file(&path).expect_err("duplicate key");
        assert!(e.to_string().contains("k.json"), "{e}");
        let e = read_jwks_file(&dir.path().join("missing.json")).expect_err("missing");
        assert!(e.to_string().contains("missing.json"), "{e}");
    }

    #[tokio::test]
    async fn agents_are_added_replaced_only_when_asked_listed_and_removed() {
        let s = store().await;
        let (a, created) = add_agent(&s, agent("planner"), false).await.expect("add");
        assert!(created);
        assert_eq!(a.display_name, "planner");
        let granted = super::super::grants::summary(&s, "planner", 0)
            .await
            .expect("grants");
        assert_eq!(granted.get("echo"), Some(&vec!["echo".to_string()]));
        let again = add_agent(&s, agent("planner"), false).await;
        assert!(
            matches!(again, Err(RegistryError::Conflict(_))),
            "{again:?}"
        );
        let mut renamed = agent("planner");
        renamed.display_name = Some("Trip planner".into());
        renamed.jwks = Some(json!({"keys": [public_jwk("k1")]}));
        let (b, created) = add_agent(&s, renamed, true).await.expect("replace");
        assert!(!created);
        assert_eq!(b.display_name, "Trip planner");
        assert_eq!(b.created_at, a.created_at, "creation time kept");
        assert!(b.jwks.is_some());
        assert_eq!(get_agent(&s, "planner").await.expect("get"), b);
        assert_eq!(list_agents(&s).await.expect("list").len(), 1);
        for bad in [
            "",
            "has space",
            "tab\there",
            &"x".repeat(MAX_NAME_BYTES + 1),
        ] {
            assert!(
                matches!(
                    add_agent(&s, agent(bad), true).await,
                    Err(RegistryError::Invalid(_))
                ),
                "{bad:?}"
            );
        }
        let mut bad_jwks = agent("other");
        bad_jwks.jwks = Some(json!({"keys": []}));
        assert!(matches!(
            add_agent(&s, bad_jwks, false).await,
            Err(RegistryError::Invalid(_))
        ));
        assert!(
            s.agent("other").await.expect("get").is_none(),
            "nothing stored"
        );
        let k = create_key(&s, "planner", None).await.expect("key");
        remove_agent(&s, "planner").await.expect("remove");
        assert!(matches!(
            get_agent(&s, "planner").await,
            Err(RegistryError::NotFound(_))
        ));
        assert!(
            matches!(
                get_key(&s, &k.record.id).await,
                Err(RegistryError::NotFound(_))
            ),
            "keys go with their agent"
        );
        assert!(matches!(
            remove_agent(&s, "planner").await,
            Err(RegistryError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn keys_are_created_once_revoked_once_and_never_stored_in_the_clear() {
        let s = store().await;
        assert!(matches!(
            create_key(&s, "nobody", None).await,
            Err(RegistryError::NotFound(_))
        ));
        add_agent(&s, agent("planner"), false).await.expect("add");
        let k = create_key(&s, "planner", None).await.expect("key");
        let (id, secret) = warden_trust::apikey::split(&k.key).expect("shape");
        assert_eq!(id, k.record.id);
        let stored = get_key(&s, id).await.expect("stored");
        assert!(warden_trust::apikey::matches(secret, &stored.hash));
        assert!(
            !stored
                .hash
                .windows(secret.len())
                .any(|w| w == secret.as_bytes())
        );
        assert_eq!(KeyState::of(&stored, 0), KeyState::Active);
        assert_eq!(list_keys(&s, Some("planner")).await.expect("list").len(), 1);
        assert!(list_keys(&s, Some("other")).await.expect("list").is_empty());

        let revoked = revoke_key(&s, id).await.expect("revoke");
        assert!(revoked.revoked_at.is_some());
        assert_eq!(KeyState::of(&revoked, 0), KeyState::Revoked);
        assert!(matches!(
            revoke_key(&s, id).await,
            Err(RegistryError::Conflict(_))
        ));
        assert!(matches!(
            revoke_key(&s, "0000000000000000").await,
            Err(RegistryError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn rotation_overlaps_and_never_revives_or_extends_a_key() {
        let s = store().await;
        add_agent(&s, agent("planner"), false).await.expect("add");
        let now = 1_000_000;
        let old = create_key(&s, "planner", None).await.expect("key");
        let r = rotate_key(&s, &old.record.id, 3600, now)
            .await
            .expect("rotate");
        assert_eq!(r.new.record.subject, "planner");
        assert_ne!(r.new.record.id, old.record.id);
        assert_eq!(r.old.expires_at, Some(1_003_600));
        assert_eq!(KeyState::of(&r.old, now), KeyState::Expiring);
        assert_eq!(KeyState::of(&r.old, 1_003_600), KeyState::Expired);
        // Rotated again with a longer overlap: the earlier expiry stands.
        let r2 = rotate_key(&s, &old.record.id, 86_400, now)
            .await
            .expect("again");
        assert_eq!(r2.old.expires_at, Some(1_003_600));
        // Expired and revoked keys are not rotated (that would revive them).
        assert!(matches!(
            rotate_key(&s, &old.record.id, 60, 1_003_600).await,
            Err(RegistryError::Conflict(_))
        ));
        revoke_key(&s, &r.new.record.id).await.expect("revoke");
        assert!(matches!(
            rotate_key(&s, &r.new.record.id, 60, now).await,
            Err(RegistryError::Conflict(_))
        ));
        assert!(matches!(
            rotate_key(&s, "0000000000000000", 60, now).await,
            Err(RegistryError::NotFound(_))
        ));
        assert!(matches!(
            rotate_key(&s, &r2.new.record.id, MAX_OVERLAP_SECS + 1, now).await,
            Err(RegistryError::Invalid(_))
        ));
    }
}

#[cfg(test)]
mod reserved_tests {
    use super::*;

    #[test]
    fn the_gateway_subject_is_reserved() {
        assert!(check_name("agent id", "warden").is_err());
        assert!(check_name("agent id", "warden-client").is_ok());
        assert!(check_name("grant target", "warden").is_ok());
    }
}
