//! End-to-end tests: real `warden` processes on ephemeral loopback ports,
//! driven over HTTP, and the official A2A SDKs as peers.
#![allow(clippy::disallowed_methods)] // test clients and peers, not Warden going out

mod support;

mod admin_api;
mod agent_answers;
mod auth;
mod authz;
mod authz_admin;
mod call_egress;
mod card_lint;
mod cards_and_admin;
mod cards_cli;
mod clean;
mod config_check;
mod egress_proxy;
mod fidelity;
mod field_names;
mod gateway_lock;
mod interop_js;
mod interop_python;
mod interop_refusals;
mod mail_delivery;
mod mail_mcp;
mod mail_rest;
mod mail_seal;
mod malformed;
mod message_urls;
mod ownership_writes;
mod public_agents;
mod push_durable;
mod push_follow;
mod push_interop;
mod push_pages;
mod push_relay;
mod quickstart;
mod replicas;
mod replicas_once;
mod replicas_outage;
mod replicas_store;
mod replicas_streams;
mod retries;
mod signed_cards;
mod store_move;
mod store_postgres;
mod streaming;
mod tls;
mod webhook_cli;
mod webhook_receiver;
