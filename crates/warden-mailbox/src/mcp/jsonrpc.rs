//! JSON-RPC 2.0 framing for MCP: one bounded, strict reader for what a
//! client posts, and the error shape every refusal is answered in.
//!
//! Strict where ambiguity is dangerous: duplicate keys, excess depth, an
//! `id` that is neither a string nor an integer, unknown envelope members,
//! a `method` outside a small bounded alphabet. Batches (a JSON array) are
//! refused: every revision this server speaks (2025-06-18 and later)
//! removed them. A client never has a reason to post a *response* here
//! (this server sends no requests), so one is refused too.

use serde_json::{Map, Value, json};
use warden_json::{JsonError, JsonLimits};

/// JSON-RPC and MCP error codes this server answers with.
pub mod code {
    /// The body is not JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// The body is JSON but not a valid request (or is a batch).
    pub const INVALID_REQUEST: i64 = -32600;
    /// No such method (HTTP 404 on Streamable HTTP).
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Bad params: a missing `_meta` field, an unknown tool.
    pub const INVALID_PARAMS: i64 = -32602;
    /// Something failed inside Warden.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// MCP 2026-07-28: an HTTP header disagrees with the body, or a
    /// required one is missing.
    pub const HEADER_MISMATCH: i64 = -32020;
    /// MCP 2026-07-28: the requested protocol version is not served here.
    pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
}

/// Longest method name read (the longest MCP method is far shorter).
const MAX_METHOD_BYTES: usize = 128;
/// Longest string request id echoed back.
const MAX_ID_BYTES: usize = 256;

/// A JSON-RPC error, with the HTTP status the transport answers it with.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
    /// The HTTP status on Streamable HTTP.
    pub status: u16,
}

impl RpcError {
    pub fn new(code: i64, status: u16, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
            status,
        }
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_REQUEST, 400, message)
    }

    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_PARAMS, 400, message)
    }

    pub fn method_not_found(method: &str) -> Self {
        Self::new(
            code::METHOD_NOT_FOUND,
            404,
            format!("Method not found: {method}"),
        )
    }

    pub fn header_mismatch(message: impl Into<String>) -> Self {
        Self::new(
            code::HEADER_MISMATCH,
            400,
            format!("Header mismatch: {}", message.into()),
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(code::INTERNAL_ERROR, 500, message)
    }

    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// The JSON-RPC error response echoing `id` (`null` when the request's
    /// id could not be read, as JSON-RPC requires).
    pub fn response(&self, id: Option<&Id>) -> Value {
        let mut error = json!({"code": self.code, "message": self.message});
        if let (Some(data), Some(o)) = (&self.data, error.as_object_mut()) {
            o.insert("data".into(), data.clone());
        }
        json!({"jsonrpc": "2.0", "id": id.map_or(Value::Null, Id::to_value), "error": error})
    }
}

/// A request id: a string or an integer (JSON-RPC allows numbers; MCP
/// requires strings or integers and never `null`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Id {
    Str(String),
    Int(i64),
}

impl Id {
    pub fn to_value(&self) -> Value {
        match self {
            Id::Str(s) => Value::String(s.clone()),
            Id::Int(n) => Value::from(*n),
        }
    }

    fn read(v: &Value) -> Option<Id> {
        match v {
            Value::String(s) if s.len() <= MAX_ID_BYTES => Some(Id::Str(s.clone())),
            Value::Number(n) => n.as_i64().map(Id::Int),
            _ => None,
        }
    }
}

/// One message a client posted.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Request {
        id: Id,
        method: String,
        params: Map<String, Value>,
    },
    Notification {
        method: String,
        params: Map<String, Value>,
    },
}

impl Message {
    pub fn method(&self) -> &str {
        match self {
            Message::Request { method, .. } | Message::Notification { method, .. } => method,
        }
    }

    pub fn params(&self) -> &Map<String, Value> {
        match self {
            Message::Request { params, .. } | Message::Notification { params, .. } => params,
        }
    }

    pub fn id(&self) -> Option<&Id> {
        match self {
            Message::Request { id, .. } => Some(id),
            Message::Notification { .. } => None,
        }
    }
}

/// Why a body was not one acceptable message: the error, and the request's
/// id when it could be read (so the error answers that request).
#[derive(Debug, Clone, PartialEq)]
pub struct FrameError {
    pub error: RpcError,
    pub id: Option<Id>,
}

impl FrameError {
    fn new(error: RpcError) -> Box<Self> {
        Box::new(Self { error, id: None })
    }
}

/// The bounds a body is read within: the byte cap is the transport's; depth
/// and string sizes are bounded here before any typed parsing.
pub const LIMITS: JsonLimits = JsonLimits {
    max_depth: 32,
    max_string_bytes: 1024 * 1024,
};

/// Reads one posted body as a single JSON-RPC request or notification.
pub fn read(body: &[u8]) -> Result<Message, Box<FrameError>> {
    let value = warden_json::parse_strict(body, LIMITS).map_err(|e| {
        let message = match e {
            JsonError::Syntax(_) => "Parse error: the body is not JSON".to_string(),
            other => format!("Parse error: {other}"),
        };
        FrameError::new(RpcError::new(code::PARSE_ERROR, 400, message))
    })?;
    let mut obj = match value {
        Value::Object(o) => o,
        Value::Array(_) => {
            return Err(FrameError::new(RpcError::invalid_request(
                "JSON-RPC batches are not supported: MCP 2025-06-18 and later send one message per POST",
            )));
        }
        _ => {
            return Err(FrameError::new(RpcError::invalid_request(
                "a JSON-RPC message is a JSON object",
            )));
        }
    };
    // The id first, so every later refusal can answer the request it names.
    let id = match obj.remove("id") {
        None => None,
        Some(v) => match Id::read(&v) {
            Some(id) => Some(id),
            None => {
                return Err(FrameError::new(RpcError::invalid_request(
                    "the request id must be a string (at most 256 bytes) or an integer",
                )));
            }
        },
    };
    let fail = |error: RpcError| {
        Box::new(FrameError {
            error,
            id: id.clone(),
        })
    };
    if obj.remove("jsonrpc") != Some(Value::String("2.0".into())) {
        return Err(fail(RpcError::invalid_request(
            "\"jsonrpc\" must be \"2.0\"",
        )));
    }
    if obj.contains_key("result") || obj.contains_key("error") {
        return Err(fail(RpcError::invalid_request(
            "this server sends no requests, so it takes no responses",
        )));
    }
    let method = match obj.remove("method") {
        Some(Value::String(m)) if valid_method(&m) => m,
        Some(Value::String(_)) => {
            return Err(fail(RpcError::invalid_request(
                "\"method\" must be 1 to 128 characters of [A-Za-z0-9/_.-]",
            )));
        }
        _ => return Err(fail(RpcError::invalid_request("\"method\" is required"))),
    };
    let params = match obj.remove("params") {
        None => Map::new(),
        Some(Value::Object(p)) => p,
        Some(_) => {
            return Err(fail(RpcError::invalid_request(
                "\"params\" must be an object",
            )));
        }
    };
    if let Some(extra) = obj.keys().next() {
        return Err(fail(RpcError::invalid_request(format!(
            "unknown member {extra:?} in the JSON-RPC message"
        ))));
    }
    Ok(match id {
        Some(id) => Message::Request { id, method, params },
        None => Message::Notification { method, params },
    })
}

fn valid_method(m: &str) -> bool {
    !m.is_empty()
        && m.len() <= MAX_METHOD_BYTES
        && m.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_.-".contains(&b))
}

/// A successful response.
pub fn result(id: &Id, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id.to_value(), "result": result})
}
