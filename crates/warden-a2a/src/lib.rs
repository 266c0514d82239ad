//! `warden-a2a`: the A2A protocol as Warden reads it. No I/O.
//!
//! - [`json`]: the one strict JSON reader (duplicate keys, depth, string caps).
//! - [`types`]: v1.0 ProtoJSON objects, read strictly.
//! - [`jsonrpc`] and [`rest`]: the two HTTP bindings, parsed into an [`A2aOp`]
//!   plus a typed [`A2aRequest`], or refused with an [`A2aError`].
//! - [`fields`]: proto field names and unknown fields, to the canonical form.
//! - [`v03`]: the v0.3 dialect, understood and converted to v1.0 types.
//! - [`call`]: one HTTP request read as a call (binding, version, content
//!   type, extension headers, body), the same at every entry point.
//! - [`version`]: `A2A-Version` negotiation.
//! - [`error`]: error kinds and their wire shapes, mapped in one table.
//! - [`sse`]: a bounded Server-Sent Events codec.

pub mod call;
pub mod error;
pub mod fields;
/// The strict JSON reader (from `warden-json`).
pub use warden_json as json;
pub mod jsonrpc;
pub mod op;
pub mod rest;
pub mod sse;
pub mod types;
pub mod v03;
pub mod version;

pub use error::{A2aError, ErrorKind};
pub use fields::{ReadRules, Rewrite, UnknownFields};
pub use json::JsonLimits;
pub use jsonrpc::{ParsedCall, Refusal, parse_jsonrpc};
pub use op::{A2aOp, A2aRequest, Binding, Operation, PartKind, PartSummary, SKILL_EXTENSION};
pub use rest::{RestRequest, parse_rest};
pub use version::{ProtocolVersion, requested_version};

/// Media types accepted for A2A JSON bodies.
pub const JSON_MEDIA_TYPES: [&str; 2] = ["application/json", "application/a2a+json"];

/// Whether a `Content-Type` value names an A2A JSON body (parameters such as
/// `charset=utf-8` are allowed).
pub fn is_json_content_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or("").trim();
    JSON_MEDIA_TYPES
        .iter()
        .any(|m| essence.eq_ignore_ascii_case(m))
}
