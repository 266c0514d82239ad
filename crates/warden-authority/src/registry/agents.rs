//! Registry entries: the agents Warden issues tokens to.

use serde_json::Value;
use warden_store::{RegisteredAgent, Store};

use super::check::{check_grants, check_jwks, check_name};
use super::{MAX_NAME_BYTES, RegistryError};
use crate::Grants;

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
            .map_or_else(crate::now_rfc3339, |a| a.created_at.clone()),
        id: new.id,
        display_name,
        jwks,
        jwks_url: None,
        // Grants live in their own table now; the column is legacy.
        grants: "{}".into(),
        tls_subject: new.tls_subject,
    };
    store.put_agent(&agent).await?;
    crate::grants::ensure_grants(store, &agent.id, &grants).await?;
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
        crate::grants::revoke_all_of(store, id).await?;
        Ok(())
    } else {
        Err(RegistryError::NotFound(format!("no registry agent {id:?}")))
    }
}
