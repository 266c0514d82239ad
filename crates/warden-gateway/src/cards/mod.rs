//! Agent cards at the gateway: everything between an upstream agent's card
//! and the card Warden serves for it.
//!
//! A card is the one document a client trusts to learn where an agent is,
//! what it can do and which credentials it takes, so Warden never relays an
//! upstream's card as it is. The path of a card through this folder:
//!
//! 1. fetched and believed only with a signature by a key trusted for the
//!    agent, links the egress rules refuse dropped ([`fetch`]);
//! 2. compared with the other agents' cards ([`shadowing`]), linted
//!    ([`check`]) and pinned, a change held for review ([`pin`]); kept for
//!    the card TTL with the endpoints it offers ([`cache`], [`interfaces`]);
//! 3. rewritten for the gateway ([`rewrite`]), given Warden's security
//!    declarations ([`security`]) and signed by Warden ([`signing`]);
//! 4. served with `ETag` and caching headers ([`serve`]), and listed for
//!    discovery ([`discovery`]).
//!
//! The extended card (`GetExtendedAgentCard`) comes with a call, not from
//! here: the proxy filters it by the caller's grants, lints it and signs it
//! with [`signed_card`].
//!
//! Nothing here decides who may call an agent; the registry of agents and
//! the endpoint a call goes to are [`crate::upstream`]'s.

pub mod cache;
pub mod check;
pub mod fetch;
pub mod interfaces;
pub mod pin;
pub mod rewrite;
pub mod security;
pub mod serve;
pub mod shadowing;
pub mod signing;

pub use cache::CachedCard;
pub use interfaces::proxied_binding;
pub use rewrite::rewrite;
pub use security::Security;
pub use serve::{CARD_PATHS, answer, etag, is_card_path, not_modified, signed_card};
pub use signing::{ServeError, signed};
