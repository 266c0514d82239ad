//! `warden-egress`: the one way out of Warden.
//!
//! Every outbound HTTP request (JWKS and card fetches, calls to remote
//! agents, the egress proxy, the gateway's own upstreams) goes through an
//! [`Egress`], which:
//!
//! 1. reads the URL strictly ([`target`]): userinfo, whitespace,
//!    backslashes and percent-encoded hosts refused; odd IPv4 spellings,
//!    IDNA and trailing dots normalised before anything is decided; a URL
//!    under a base is built on the parsed base ([`target::join_path`]),
//!    never by pasting text;
//! 2. applies the operator's rules ([`policy`]): https only unless
//!    allowed, host and port allow-lists (ports and ranges: [`ports`]);
//!    a caller may name narrow exceptions for one destination
//!    ([`allowance`], for URLs a gateway's callers hand its agents);
//! 3. resolves a name once and refuses it if any answer is in the deny
//!    table ([`ranges`]), then connects only to those checked addresses
//!    ([`resolve`]); a failed lookup refuses;
//! 4. refuses redirects, or follows at most `max_redirects` with every hop
//!    checked from step 1 and credentials kept to the first origin;
//! 5. caps the response size while reading and bounds the time (connect,
//!    total, idle); TLS is always verified;
//! 6. reports every call to an [`audit::Observer`].
//!
//! A Rust agent can use it directly:
//!
//! ```no_run
//! use warden_egress::{Egress, EgressPolicy, Outbound};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let egress = Egress::new(EgressPolicy {
//!     allowed_hosts: vec!["*.agents.example.com".into()],
//!     ..EgressPolicy::default()
//! })?;
//! let card = egress
//!     .send(Outbound::get(
//!         "https://weather.agents.example.com/.well-known/agent-card.json",
//!         "card",
//!     ))
//!     .await?
//!     .bytes()
//!     .await?;
//! println!("{} bytes of card", card.len());
//! # Ok(())
//! # }
//! ```

pub mod allowance;
pub mod audit;
mod client;
#[cfg(feature = "corpus")]
pub mod corpus;
pub mod error;
pub mod policy;
pub mod ports;
pub mod ranges;
pub mod resolve;
mod response;
pub mod target;

pub use allowance::{Allowance, AllowanceError, Dest};
pub use client::{Admitted, BuildError, Egress, Outbound};
pub use error::EgressError;
pub use policy::{EgressPolicy, PolicyError, Rules};
pub use ports::{PortError, PortRange};
pub use resolve::{Resolver, StaticResolver, SystemResolver};
pub use response::Inbound;
pub use target::{Host, Target};
