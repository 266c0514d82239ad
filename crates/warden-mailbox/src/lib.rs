//! `warden-mailbox`: an asynchronous inbox between the agents of Warden's
//! registry (issue 16).
//!
//! An agent leaves a message for another; it waits in the recipient's
//! inbox until the recipient looks, across sessions and restarts. Sending
//! needs a messaging grant from the recipient (separate from call grants);
//! asking for one is itself a message the recipient accepts or refuses.
//! Every stored message is signed by Warden and names its authenticated
//! sender. The gateway serves the mailbox over REST and MCP; this crate
//! knows nothing of HTTP.
//!
//! - [`Mailbox`]: the operations, each taking the caller's address first
//!   (`whoami`, `send`, `inbox`, `read`, `ack`, `delete`,
//!   `request_access`, `grant`, `revoke`, `grants`, `publish_key`,
//!   `key_of`), answering the serde types of [`types`] or a [`MailError`].
//! - [`Signer`]: how Warden signs a stored message (the gateway implements
//!   it with the authority's key); [`verify_message`] checks one.
//! - [`Limits`]: sizes, quotas, rates and lifetimes (`[mailbox]`).
//! - [`Clock`]: injected time.

pub mod address;
mod clock;
mod cursor;
mod delivery;
mod error;
mod grants;
mod inbox;
mod keys;
mod limits;
mod mailbox;
pub mod mcp;
mod parts;
pub mod seal;
mod send;
mod signing;
pub mod types;
mod view;

pub use clock::{Clock, ManualClock, SystemClock};
pub use delivery::{BoxFuture, Delivery};
pub use error::MailError;
pub use inbox::{DEFAULT_PAGE, MAX_PAGE};
pub use limits::Limits;
pub use mailbox::Mailbox;
pub use send::ACCESS_TOPIC;
pub use signing::{KeySigner, Signer, VerifyError, detach, signed_payload, verify_message};
pub use types::*;

/// The audience of Warden tokens for the mailbox (REST and MCP).
pub const AUDIENCE: &str = "warden-mailbox";

/// The audit event kinds of mailbox operations, one per operation, so the
/// REST and MCP faces record the same names.
pub mod audit {
    pub const SEND: &str = "mail_send";
    pub const INBOX: &str = "mail_inbox";
    pub const READ: &str = "mail_read";
    pub const ACK: &str = "mail_ack";
    pub const DELETE: &str = "mail_delete";
    pub const REQUEST: &str = "mail_request";
    pub const GRANT: &str = "mail_grant";
    pub const REVOKE: &str = "mail_revoke";
    pub const GRANTS: &str = "mail_grants";
    pub const WHOAMI: &str = "mail_whoami";
    pub const PUBLISH_KEY: &str = "mail_publish_key";
    pub const KEY_OF: &str = "mail_key_of";
}

#[cfg(test)]
mod test_store;
#[cfg(test)]
mod tests;
