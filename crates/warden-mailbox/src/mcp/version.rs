//! Which MCP protocol revisions this server speaks, and how a client's
//! request for one is answered.
//!
//! Two eras share the one endpoint (a "dual-era" server in the 2026-07-28
//! versioning page): the *modern* revision, where every request carries its
//! version in `_meta` and no session exists, and the *handshake* revisions,
//! where `initialize` negotiates a version for a session. 2025-03-26 is not
//! served: it allowed JSON-RPC batches and had no `MCP-Protocol-Version`
//! header, and every current client speaks a later revision.

use serde_json::{Value, json};

use super::jsonrpc::{RpcError, code};

/// Per-request-metadata revisions, newest last.
pub const MODERN: &[&str] = &["2026-07-28"];
/// Revisions reached through the `initialize` handshake, newest last.
pub const HANDSHAKE: &[&str] = &["2025-06-18", "2025-11-25"];

/// The newest handshake revision: the counter-offer to an `initialize`
/// asking for one this server does not speak.
pub fn latest_handshake() -> &'static str {
    HANDSHAKE[HANDSHAKE.len() - 1]
}

/// Every revision, newest first (as `server/discover` and the unsupported
/// version error list them).
pub fn supported() -> Vec<&'static str> {
    MODERN
        .iter()
        .rev()
        .chain(HANDSHAKE.iter().rev())
        .copied()
        .collect()
}

/// The modern revision a request named, or the error that names the
/// revisions this server speaks.
pub fn modern(requested: &str) -> Result<&'static str, RpcError> {
    MODERN
        .iter()
        .find(|v| **v == requested)
        .copied()
        .ok_or_else(|| unsupported(requested))
}

/// The handshake revision a session speaks: the one asked for when it is
/// served, else the newest (the client then decides whether it can go on).
pub fn negotiate(requested: &str) -> &'static str {
    HANDSHAKE
        .iter()
        .find(|v| **v == requested)
        .copied()
        .unwrap_or_else(latest_handshake)
}

/// `UnsupportedProtocolVersion` (-32022, HTTP 400) with the revisions this
/// server speaks, so a client can retry with one of them.
pub fn unsupported(requested: &str) -> RpcError {
    // The requested string is the client's: echo a bounded prefix only.
    let requested: String = requested.chars().take(64).collect();
    RpcError::new(
        code::UNSUPPORTED_PROTOCOL_VERSION,
        400,
        "Unsupported protocol version",
    )
    .with_data(json!({"supported": supported(), "requested": requested}))
}

/// Whether `v` is any revision this server speaks.
pub fn is_known(v: &str) -> bool {
    MODERN.contains(&v) || HANDSHAKE.contains(&v)
}

/// The supported list as JSON (for `server/discover`).
pub fn supported_json() -> Value {
    json!(supported())
}
