//! `warden-client`: a small A2A v1.0 client for Rust agents, built on
//! [`warden_egress`] so that an agent calling another agent gets the same
//! protection the gateway has.
//!
//! - Every request (card, JWKS, token, call) goes through one
//!   [`Egress`](warden_egress::Egress): strict URL reading, the address
//!   deny table, resolve-once, redirect and size caps. This crate has no
//!   HTTP client of its own.
//! - The Agent Card is read strictly and its signature verified
//!   ([`card`], [`CardTrust`]): pinned keys, and a `jku` only on hosts you
//!   allow. By default an unsigned card is refused.
//! - The card is the peer's word: the interface URL the client will call
//!   is checked by the egress rules first ([`Interface`]), so a card
//!   pointing at `http://169.254.169.254/` is refused with the egress
//!   reason, not called.
//! - Credentials ([`TokenSource`]): a static token or API key, or client
//!   credentials at an OAuth 2.0 token endpoint (Warden's `/oauth2/token`),
//!   cached until shortly before expiry, optionally DPoP-bound
//!   ([`DpopKey`], RFC 9449) with a fresh proof per request and the
//!   `DPoP-Nonce` retry. Credentials are sent to their origin only.
//! - Errors: one [`ClientError`] with a stable [`ClientError::reason`];
//!   an egress refusal keeps its egress reason.
//! - Receiving Warden's push notifications ([`webhooks`]): the verifier of
//!   `warden-webhooks` (signatures, freshness, `aud`, replay), with
//!   Warden's JWKS fetched through the egress rules.
//!
//! # Example: one agent calling another
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use warden_a2a::Binding;
//! use warden_client::{A2aClient, Answer, CardTrust, DpopKey, TokenSource};
//! use warden_egress::{Egress, EgressPolicy};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! // The only hosts this agent may call, https only (the default).
//! let egress = Egress::new(EgressPolicy {
//!     allowed_hosts: vec!["*.agents.example.com".into()],
//!     ..EgressPolicy::default()
//! })?;
//! // A DPoP-bound token for the agent "weather", from Warden's token
//! // endpoint, with this agent's API key as its client secret.
//! let tokens = TokenSource::ClientCredentials {
//!     token_url: "https://gateway.agents.example.com/oauth2/token".into(),
//!     client_id: None,
//!     client_secret: std::env::var("WARDEN_API_KEY")?,
//!     audience: "weather".into(),
//!     scope: None,
//!     dpop: Some(DpopKey::ephemeral()?),
//! };
//! let client = A2aClient::new(egress, tokens);
//!
//! // The card must carry a signature by one of these keys.
//! let trust = CardTrust::pinned(CardTrust::read_jwks_file("weather-jwks.json".as_ref())?);
//! let card = client
//!     .fetch_card("https://gateway.agents.example.com/agents/weather", &trust)
//!     .await?;
//! let iface = client.interface(&card, Binding::JsonRpc).await?;
//!
//! let message = serde_json::json!({
//!     "role": "ROLE_USER",
//!     "messageId": "m-1",
//!     "parts": [{"text": "Weather in Lisbon tomorrow?"}],
//! });
//! match client.send_message(&iface, message, true).await? {
//!     Answer::Result(result) => println!("{result}"),
//!     Answer::Stream(mut events) => {
//!         while let Some(event) = events.next().await {
//!             println!("{}", event?);
//!         }
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod call;
pub mod card;
mod dpop;
mod error;
pub mod token;
pub mod webhooks;

pub use call::{A2aClient, Answer, Events};
pub use card::{CardTrust, Interface, VerifiedCard, fetch_card};
pub use dpop::DpopKey;
pub use error::ClientError;
pub use token::{Clock, Credentials, SystemClock, TokenSource};

/// The protocol version sent in `A2A-Version`.
pub const A2A_VERSION: &str = "1.0";
