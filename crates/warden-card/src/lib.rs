//! `warden-card`: what Warden reads in an Agent Card's text, as pure
//! functions over parsed JSON.
//!
//! - [`lint`], [`sanitise`]: findings on text aimed at the model that reads
//!   the card, and a copy with hidden characters removed and free text fenced.
//! - [`shadow`]: look-alike agent names and skill ids across the registry.

pub mod lint;
pub mod sanitise;
pub mod shadow;
