//! `warden-card`: what Warden reads in an Agent Card's text, as pure
//! functions over parsed JSON.
//!
//! - [`lint`], [`sanitise`]: findings on text aimed at the model that reads
//!   the card, and a copy with hidden characters removed and free text fenced.
//! - [`search`]: discovery queries (skill id, tag, text) over verified cards.
//! - [`shadow`]: look-alike agent names and skill ids across the registry.

pub mod lint;
pub mod sanitise;
pub mod search;
pub mod shadow;
