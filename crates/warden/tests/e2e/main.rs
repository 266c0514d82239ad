//! End-to-end tests: real `warden` processes on ephemeral loopback ports,
//! driven over HTTP, and the official A2A SDKs as peers.

mod support;

mod admin_api;
mod auth;
mod authz;
mod authz_admin;
mod cards_and_admin;
mod interop_js;
mod interop_python;
mod interop_refusals;
mod malformed;
mod quickstart;
mod streaming;
mod tls;
