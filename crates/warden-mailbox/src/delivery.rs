//! Push delivery of stored messages: the gateway's webhooks and A2A bridge
//! (`mail_delivery` in warden-gateway) implement [`Delivery`]; the mailbox
//! calls it once per newly stored message — not for an idempotent retry,
//! and not for an access request that went nowhere (unknown recipient or
//! full inbox), which must look to its sender exactly like one that
//! arrived.
//!
//! Because the call happens only for real recipients, an implementation
//! must not make the sender wait on it (queue and return): the time a
//! `request_access` takes must not tell whether its recipient exists.

use std::future::Future;
use std::pin::Pin;

use crate::Message;

/// A boxed future (object-safe trait without a macro crate).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Hands stored messages to push delivery.
pub trait Delivery: Send + Sync + 'static {
    /// `message` was stored in its recipient's inbox. Failures are the
    /// implementation's to log: the message is stored either way and the
    /// recipient can pull it.
    fn stored<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, ()>;
}
