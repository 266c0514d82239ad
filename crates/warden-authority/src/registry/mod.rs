//! Managing the token authority's registry and API keys: the one
//! implementation behind `warden registry …`, `warden apikey …` and the admin
//! API (`/admin/v1/registry`, `/admin/v1/apikeys`). Every function works on a
//! [`Store`](warden_store::Store) and answers a typed [`RegistryError`]; the callers only choose
//! how to show it (a CLI message, an HTTP status).
//!
//! API key secrets are returned once, by [`create_key`] and [`rotate_key`],
//! and never stored: the store keeps the key id and the SHA-256 of the secret.
//!
//! By concern: [`check`] parses and checks ids, grants and JWKS documents;
//! [`agents`] manages registry entries; [`api_keys`] issues, lists, revokes
//! and rotates API keys.

mod agents;
mod api_keys;
mod check;

use warden_store::StoreError;

pub use agents::{NewAgent, add_agent, get_agent, list_agents, remove_agent};
pub use api_keys::{
    CreatedKey, KeyState, Rotated, create_key, get_key, list_keys, revoke_key, rotate_key,
};
pub(crate) use check::check_name;
pub use check::{check_grants, check_jwks, parse_grants, read_jwks_file};

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

#[cfg(test)]
mod tests;
