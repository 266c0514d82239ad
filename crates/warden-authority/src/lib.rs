//! `warden-authority`: Warden as a token authority, without the HTTP.
//!
//! - [`registry`]: the agents Warden issues tokens to and their API keys;
//!   checks on ids, grants and JWKS documents.
//! - [`grants`]: per-pair grants and quarantine, managed.
//! - [`keys`]: the signing-key ring (token, card and webhook keys), sealed at rest
//!   under the key-encryption key and rotated on a schedule.
//! - [`mint`]: the access tokens Warden signs.
//! - [`Authority`]: the above composed: issuing a client's token within its
//!   grants, and the token Warden presents upstream on a caller's behalf.
//!
//! The gateway serves the token endpoint and JWKS over this crate, and the
//! CLI (`warden registry`, `warden grant`, `warden token mint`) works on a
//! data directory through the same functions. Every operation answers a
//! typed error; only the callers decide how to show it (an HTTP status, an
//! OAuth error code, a CLI message).

mod authority;
pub mod grants;
pub mod keys;
pub mod mint;
pub mod registry;

use std::collections::BTreeMap;

pub use authority::{Actor, Authority, IssueError, Lifetimes};
pub use keys::{KeyError, KeyRing};
pub use mint::{Minted, TokenSpec, mint};

/// The store setting holding the issuer URL (so `warden token mint` signs
/// as the running gateway does).
pub const ISSUER_SETTING: &str = "authority.issuer";

/// The subject of the tokens Warden presents to upstream agents (reserved:
/// no registry agent may take it).
pub const GATEWAY_SUBJECT: &str = "warden";
/// Their lifetime: one call, with room for clock skew.
pub const UPSTREAM_TOKEN_TTL_SECS: u64 = 60;

/// The audience of tokens for the mailbox (`warden_mailbox::AUDIENCE`):
/// issued to any registry agent without a call grant, since the mailbox
/// keeps its own grants; no skill scopes. Reserved: no registry agent or
/// gateway agent may take the name, so such a token never opens a call.
pub const MAILBOX_AUDIENCE: &str = "warden-mailbox";

/// A registry entry's grants: target agent → skill ids it may be granted.
pub type Grants = BTreeMap<String, Vec<String>>;

/// The time recorded on registry, key and grant changes (the format of the
/// gateway's audit log).
fn now_rfc3339() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}
