//! warden-egress against real sockets: a scripted HTTP server on loopback
//! addresses and a resolver that answers as an attacker would.

mod corpus;
mod live;
mod server;
mod tls;
