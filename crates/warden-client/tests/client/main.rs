//! warden-client against real sockets: a scripted server on loopback
//! standing for agents, token endpoints and key servers, reached by names
//! the test resolver answers; every other name gets the egress rules as a
//! real deployment would (the hostile corpus's DNS table).

mod calls;
mod corpus;
mod support;
mod tokens;
mod webhooks;
