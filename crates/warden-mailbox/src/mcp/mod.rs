//! The mailbox as an MCP server (Model Context Protocol), independent of
//! any HTTP library: the gateway serves it at `/mcp` on Streamable HTTP.
//!
//! | module | job |
//! |---|---|
//! | [`jsonrpc`] | the strict, bounded reader of one posted message; the error shape |
//! | [`version`] | the revisions served (2026-07-28 stateless; 2025-11-25 and 2025-06-18 by handshake) |
//! | [`session`] | handshake-era sessions: ids, owner binding, bounds, expiry |
//! | [`transport`] | Streamable HTTP's rules: verbs, headers, eras, status codes |
//! | [`methods`] | discover, initialize, `tools/list`, `tools/call` |
//! | [`tools`] | the tools: names, descriptions, input schemas |
//! | [`backend`] | what the tools call: the mailbox (`mailbox.rs`), or a fake in tests |
//! | [`record`] | the audit facts of an exchange (names and outcomes, never content) |
//!
//! Tool failures (unknown recipient, bad arguments, limits) are tool
//! results with `isError: true`, so the model reads them; malformed
//! requests are JSON-RPC errors.

pub mod backend;
mod header_value;
pub mod jsonrpc;
mod mailbox;
pub mod methods;
pub mod record;
pub mod session;
pub mod tools;
pub mod transport;
pub mod version;

#[cfg(test)]
mod arbitrary_tests;
#[cfg(test)]
mod mailbox_tests;
#[cfg(test)]
mod tests;

pub use backend::{Backend, FailureKind, ToolFailure};
pub use mailbox::failure as mailbox_failure;
pub use methods::ServerInfo;
pub use record::Record;
pub use session::SessionLimits;
pub use tools::Tool;
pub use transport::{Caller, Exchange, Headers, Reply, Verb};

/// The MCP server: the protocol and the session table. The tools' backend
/// is given per exchange ([`Server::handle`]), so a transport can add what
/// only it can serve (the gateway's webhooks) without the server holding it.
pub struct Server {
    sessions: session::Sessions,
    info: ServerInfo,
}

impl Server {
    /// A server; `version` is Warden's, shown to clients as the server's
    /// version.
    pub fn new(limits: SessionLimits, version: &str) -> Self {
        Self {
            sessions: session::Sessions::new(limits),
            info: ServerInfo {
                name: "warden-mailbox",
                version: version.to_string(),
            },
        }
    }

    /// Open sessions (for metrics and tests).
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }
}
