//! The Streamable HTTP transport's rules, without an HTTP library: an
//! [`Exchange`] (verb, the MCP headers, body, caller) becomes a [`Reply`]
//! (status, JSON body, session header, and what to audit). The gateway only
//! copies headers in and the reply out.
//!
//! Era selection (a dual-era server, MCP 2026-07-28 "Versioning"): a POST
//! of `initialize` opens a handshake-era session; a request carrying
//! `_meta["io.modelcontextprotocol/protocolVersion"]` (or a modern
//! `MCP-Protocol-Version` header) is served statelessly; anything else
//! needs a session.

use serde_json::{Map, Value};

use super::Server;
use super::backend::Backend;
use super::jsonrpc::{self, Id, Message, RpcError};
use super::methods::Shape;
use super::record::Record;
use super::session::{OpenRefusal, Session};
use super::version;

const META: &str = "_meta";
const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";

/// The HTTP method of an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Post,
    Get,
    Delete,
    Other,
}

/// The headers MCP reads, each at most once (the gateway refuses a
/// repeated or unreadable one before this).
#[derive(Debug, Clone, Copy, Default)]
pub struct Headers<'a> {
    pub protocol_version: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub mcp_method: Option<&'a str>,
    pub mcp_name: Option<&'a str>,
    pub accept: Option<&'a str>,
    pub content_type: Option<&'a str>,
}

/// The authenticated caller: its mailbox address, and the principal key
/// sessions are bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub address: String,
    pub owner: String,
}

/// One HTTP exchange at the MCP endpoint.
pub struct Exchange<'a> {
    pub verb: Verb,
    pub headers: Headers<'a>,
    pub body: &'a [u8],
    pub caller: &'a Caller,
    /// Milliseconds since the epoch, from the gateway's clock.
    pub now_ms: u64,
}

/// What to answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    /// A JSON body (`application/json`), if any.
    pub body: Option<Value>,
    /// `Mcp-Session-Id` to set (on `initialize`).
    pub session_id: Option<String>,
    /// `Allow` (on 405).
    pub allow: Option<&'static str>,
    pub record: Record,
}

impl Reply {
    fn json(status: u16, body: Value, record: Record) -> Self {
        Self {
            status,
            body: Some(body),
            session_id: None,
            allow: None,
            record,
        }
    }

    fn empty(status: u16, record: Record) -> Self {
        Self {
            status,
            body: None,
            session_id: None,
            allow: None,
            record,
        }
    }

    /// A JSON-RPC error answering `id` (or `null`).
    pub fn error(error: &RpcError, id: Option<&Id>, mut record: Record) -> Self {
        record.refused(error.code);
        Self::json(error.status, error.response(id), record)
    }
}

impl Server {
    /// Answers one exchange, its tools run by `backend`.
    pub async fn handle(&self, backend: &dyn Backend, ex: Exchange<'_>) -> Reply {
        match ex.verb {
            Verb::Post => self.post(backend, &ex).await,
            // No server-initiated stream: this server sends nothing unasked
            // (allowed by every revision: 405 for GET).
            Verb::Get => Reply {
                allow: Some("POST, DELETE"),
                ..Reply::error(
                    &RpcError::invalid_request("this server opens no stream: POST requests")
                        .with_status(405),
                    None,
                    Record::transport("GET"),
                )
            },
            Verb::Delete => self.delete(&ex),
            Verb::Other => Reply {
                allow: Some("POST, GET, DELETE"),
                ..Reply::error(
                    &RpcError::invalid_request("method not allowed").with_status(405),
                    None,
                    Record::transport("OTHER"),
                )
            },
        }
    }

    fn delete(&self, ex: &Exchange<'_>) -> Reply {
        let record = Record::transport("DELETE");
        let Some(id) = ex.headers.session_id else {
            return Reply::error(&no_session(), None, record);
        };
        match self.sessions.end(id, &ex.caller.owner, ex.now_ms) {
            Ok(()) => Reply::empty(204, record),
            Err(why) => Reply::error(&session_gone(), None, record.with_session_refusal(why)),
        }
    }

    async fn post(&self, backend: &dyn Backend, ex: &Exchange<'_>) -> Reply {
        let record = Record::transport("POST");
        if !is_json(ex.headers.content_type) {
            let e =
                RpcError::invalid_request("Content-Type must be application/json").with_status(415);
            return Reply::error(&e, None, record);
        }
        if !accepts_json(ex.headers.accept) {
            let e = RpcError::invalid_request(
                "Accept must list application/json (and text/event-stream)",
            )
            .with_status(406);
            return Reply::error(&e, None, record);
        }
        let message = match jsonrpc::read(ex.body) {
            Ok(m) => m,
            Err(f) => return Reply::error(&f.error, f.id.as_ref(), record),
        };
        let record = Record::method(message.method());
        if message.method() == "initialize" {
            return self.initialize(ex, &message, record);
        }
        if is_modern(&message, ex.headers) {
            return self.modern(backend, ex, &message, record).await;
        }
        let Some(session_id) = ex.headers.session_id else {
            return Reply::error(&no_session(), message.id(), record);
        };
        let session = match self
            .sessions
            .resume(session_id, &ex.caller.owner, ex.now_ms)
        {
            Ok(s) => s,
            Err(why) => {
                return Reply::error(
                    &session_gone(),
                    message.id(),
                    record.with_session_refusal(why),
                );
            }
        };
        self.in_session(backend, ex, &message, &session, record)
            .await
    }

    fn initialize(&self, ex: &Exchange<'_>, message: &Message, record: Record) -> Reply {
        let Message::Request { id, params, .. } = message else {
            let e = RpcError::invalid_request("initialize is a request (it needs an id)");
            return Reply::error(&e, None, record);
        };
        let Some(Value::String(requested)) = params.get("protocolVersion") else {
            let e = RpcError::invalid_params("initialize needs \"protocolVersion\"");
            return Reply::error(&e, Some(id), record);
        };
        let negotiated = version::negotiate(requested);
        let session = match self.sessions.open(&ex.caller.owner, negotiated, ex.now_ms) {
            Ok(s) => s,
            Err(OpenRefusal::Full) => {
                let e = RpcError::internal("too many open MCP sessions: try again later")
                    .with_status(503);
                return Reply::error(&e, Some(id), record);
            }
            Err(OpenRefusal::Random) => {
                let e = RpcError::internal("cannot mint a session id");
                return Reply::error(&e, Some(id), record);
            }
        };
        let shape = Shape {
            modern: false,
            info: &self.info,
        };
        let mut reply = Reply::json(
            200,
            jsonrpc::result(id, shape.initialize(negotiated)),
            record,
        );
        reply.session_id = Some(session.id);
        reply
    }

    /// A handshake-era message in a live session.
    async fn in_session(
        &self,
        backend: &dyn Backend,
        ex: &Exchange<'_>,
        message: &Message,
        session: &Session,
        record: Record,
    ) -> Reply {
        // The header may be left out (the session knows its version); one
        // given must be the negotiated one.
        if let Some(v) = ex.headers.protocol_version
            && v != session.version
        {
            let e = if version::is_known(v) {
                RpcError::invalid_request(format!(
                    "MCP-Protocol-Version {v} is not this session's ({})",
                    session.version
                ))
            } else {
                version::unsupported(v)
            };
            return Reply::error(&e, message.id(), record);
        }
        let Message::Request { id, method, params } = message else {
            // notifications/initialized, cancelled, …: nothing to do.
            return Reply::empty(202, record);
        };
        let shape = Shape {
            modern: false,
            info: &self.info,
        };
        let answer = match method.as_str() {
            "ping" => Ok(serde_json::json!({})),
            _ => {
                return self
                    .served(backend, ex, id, method, params, &shape, record)
                    .await;
            }
        };
        self.answer(id, answer, record)
    }

    /// A 2026-07-28 message: its envelope checked, then served.
    async fn modern(
        &self,
        backend: &dyn Backend,
        ex: &Exchange<'_>,
        message: &Message,
        record: Record,
    ) -> Reply {
        let Message::Request { id, method, params } = message else {
            // The revision defines no client notifications over HTTP.
            return Reply::empty(202, record);
        };
        if let Err(e) = modern_envelope(ex.headers, method, params) {
            return Reply::error(&e, Some(id), record);
        }
        let shape = Shape {
            modern: true,
            info: &self.info,
        };
        let answer = match method.as_str() {
            "server/discover" => Ok(shape.discover()),
            _ => {
                return self
                    .served(backend, ex, id, method, params, &shape, record)
                    .await;
            }
        };
        self.answer(id, answer, record)
    }

    /// The methods both eras serve.
    #[allow(clippy::too_many_arguments)] // one call's facts, passed through
    async fn served(
        &self,
        backend: &dyn Backend,
        ex: &Exchange<'_>,
        id: &Id,
        method: &str,
        params: &Map<String, Value>,
        shape: &Shape<'_>,
        mut record: Record,
    ) -> Reply {
        let answer = match method {
            "tools/list" => shape.tools_list(params),
            "tools/call" => match shape.tools_call(backend, &ex.caller.address, params).await {
                Ok((tool, result, failure)) => {
                    record.tool(tool, failure.as_ref());
                    Ok(result)
                }
                Err(e) => Err(e),
            },
            other => Err(RpcError::method_not_found(other)),
        };
        self.answer(id, answer, record)
    }

    fn answer(&self, id: &Id, answer: Result<Value, RpcError>, record: Record) -> Reply {
        match answer {
            Ok(result) => Reply::json(200, jsonrpc::result(id, result), record),
            Err(e) => Reply::error(&e, Some(id), record),
        }
    }
}

/// Whether a message is of the stateless revision.
fn is_modern(message: &Message, headers: Headers<'_>) -> bool {
    let in_meta = message
        .params()
        .get(META)
        .and_then(Value::as_object)
        .is_some_and(|m| m.contains_key(META_VERSION));
    in_meta
        || headers
            .protocol_version
            .is_some_and(|v| version::MODERN.contains(&v))
}

/// The 2026-07-28 per-request envelope: `_meta` fields, and the headers
/// that mirror the body (a mismatch would let an intermediary route on one
/// value while this server acts on another).
fn modern_envelope(
    headers: Headers<'_>,
    method: &str,
    params: &Map<String, Value>,
) -> Result<(), RpcError> {
    let meta = params.get(META).and_then(Value::as_object);
    let Some(requested) = meta
        .and_then(|m| m.get(META_VERSION))
        .and_then(Value::as_str)
    else {
        return Err(RpcError::invalid_params(format!(
            "_meta[\"{META_VERSION}\"] is required"
        )));
    };
    match headers.protocol_version {
        None => {
            return Err(RpcError::header_mismatch(
                "MCP-Protocol-Version is required",
            ));
        }
        Some(h) if h != requested => {
            return Err(RpcError::header_mismatch(
                "MCP-Protocol-Version does not match _meta's protocolVersion",
            ));
        }
        Some(_) => {}
    }
    version::modern(requested)?;
    if !meta
        .and_then(|m| m.get(META_CAPABILITIES))
        .is_some_and(Value::is_object)
    {
        return Err(RpcError::invalid_params(format!(
            "_meta[\"{META_CAPABILITIES}\"] is required (an object)"
        )));
    }
    match headers.mcp_method {
        None => return Err(RpcError::header_mismatch("Mcp-Method is required")),
        Some(h) if h != method => {
            return Err(RpcError::header_mismatch(
                "Mcp-Method does not match the body's method",
            ));
        }
        Some(_) => {}
    }
    if method == "tools/call" {
        let body_name = params.get("name").and_then(Value::as_str);
        let header_name = headers.mcp_name.map(super::header_value::decode);
        match (header_name, body_name) {
            (None, _) => return Err(RpcError::header_mismatch("Mcp-Name is required")),
            (Some(Some(h)), Some(b)) if h == b => {}
            _ => {
                return Err(RpcError::header_mismatch(
                    "Mcp-Name does not match the body's tool name",
                ));
            }
        }
    }
    Ok(())
}

fn no_session() -> RpcError {
    RpcError::invalid_request(
        "Mcp-Session-Id is required: send initialize first (or use protocol 2026-07-28, which has no sessions)",
    )
}

/// Unknown, ended, expired and another caller's sessions get this one
/// answer (404 tells a client to initialize again).
fn session_gone() -> RpcError {
    RpcError::invalid_request("Session not found: it ended or expired; initialize a new one")
        .with_status(404)
}

fn is_json(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|c| {
        c.split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    })
}

/// No `Accept` accepts anything (HTTP); one given must take JSON.
fn accepts_json(accept: Option<&str>) -> bool {
    accept.is_none_or(|a| {
        a.split(',').any(|r| {
            let t = r.split(';').next().unwrap_or_default().trim();
            ["application/json", "application/*", "*/*"]
                .iter()
                .any(|ok| t.eq_ignore_ascii_case(ok))
        })
    })
}
