//! Push notifications through Warden (issue 15; `docs/push.md`): agents
//! never dial a caller's URL, and receivers can verify every notification.
//!
//! - [`register`]: the push-config calls of the ingress pipeline — the
//!   caller's config kept as a subscription (credentials sealed), the agent
//!   given a relay URL on Warden and a relay token instead; Get and List
//!   answered by Warden ([`answer`]); the wire shapes in [`wire`].
//! - [`relay`]: `POST /push/{subscription}`, where agents post, each
//!   notification checked and written to the outbox before the agent is
//!   answered.
//! - [`deliver`]: one signed attempt at an outbox entry, the destination
//!   judged again by the egress rules.
//! - [`destination`]: where Warden may deliver (the egress rules, or a
//!   push allowance of `[message_urls]`), judged at registration and at
//!   every delivery.
//! - [`secrets`]: what is sealed, and the relay token's hash.
//! - [`follow`]: push for agents whose card offers none — Warden follows
//!   the subscribed tasks (a stream or polls) and queues the notifications.
//! - [`page`]: pages of a caller's configs (List's `pageSize`, `pageToken`).
//! - [`outbox`]: the delivery worker — claims, retries, order per task,
//!   per-destination caps and circuit breakers, dead letters.

pub mod answer;
pub mod deliver;
pub mod destination;
pub mod follow;
pub mod outbox;
pub mod page;
pub mod register;
pub mod relay;
pub mod secrets;
pub mod wire;
