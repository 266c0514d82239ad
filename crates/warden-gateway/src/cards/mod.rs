//! Agent cards at the gateway: everything between an upstream agent's card
//! and the card Warden serves for it.
//!
//! A card is the one document a client trusts to learn where an agent is,
//! what it can do and which credentials it takes, so Warden never relays an
//! upstream's card as it is. The path of a card through this folder:
//!
//! 1. fetched and verified ([`fetch`]): believed only with a signature by a
//!    key trusted for the agent; links the egress rules refuse dropped;
//! 2. compared with the other agents' cards ([`shadowing`]), linted
//!    ([`check`]) and pinned, a change held for review ([`pin`]); kept for
//!    the card TTL ([`cache`]);
//! 3. rewritten for the gateway ([`rewrite`]), given Warden's security
//!    declarations ([`security`]) and signed by Warden ([`signing`]);
//! 4. served with `ETag` and caching headers ([`serve`]), and listed for
//!    discovery ([`discovery`]).
//!
//! The extended card (`GetExtendedAgentCard`) comes with a call, not from
//! here: the proxy filters it and signs it with [`signed_card`].

pub mod check;
pub mod discovery;
pub mod pin;
pub mod rewrite;
pub mod security;
pub mod serve;
pub mod shadowing;
pub mod signing;

pub use rewrite::{proxied_binding, rewrite};
pub use security::Security;
pub use serve::{CARD_PATHS, etag, is_card_path, not_modified, public_base, serve, signed_card};
pub use signing::{ServeError, signed};
