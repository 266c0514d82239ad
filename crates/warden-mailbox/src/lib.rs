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

pub mod seal;
pub mod mcp;
