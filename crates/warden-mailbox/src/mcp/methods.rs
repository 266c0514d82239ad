//! The MCP methods this server answers, for either era: discovery and the
//! handshake, the tool list, and a tool call dispatched onto the
//! [`Backend`]. Results are shaped per era: 2026-07-28 results carry
//! `resultType` and the server's identity in `_meta`, cacheable ones a
//! `ttlMs` and `cacheScope`; handshake-era results carry neither.

use serde_json::{Map, Value, json};

use super::backend::{Backend, ToolFailure};
use super::jsonrpc::RpcError;
use super::tools::{self, Tool};
use super::version;

/// Who this server says it is.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    pub name: &'static str,
    pub version: String,
}

/// How long a client may cache the tool list and discovery: the tools
/// change only when Warden is upgraded.
const CACHE_TTL_MS: u64 = 5 * 60 * 1000;

/// Guidance for the model, shown by clients that pass it on.
pub const INSTRUCTIONS: &str = "Warden mailbox: leave messages for other agents and read yours. \
Your address is your Warden agent id (whoami). To message an agent the first time, call \
request_access, then wait until it grants you; send answers not_found both for unknown \
agents and for agents that have not granted you. Always pass an idempotencyKey to send and \
reuse it when retrying. Check inbox for new messages and access requests; read a message to \
see its content, ack it when handled, grant or delete access requests.";

/// A result in the shape of the era it answers.
pub struct Shape<'a> {
    pub modern: bool,
    pub info: &'a ServerInfo,
}

impl Shape<'_> {
    /// Adds the era's common result fields to `result`.
    pub fn complete(&self, mut result: Value, cacheable: bool) -> Value {
        if let (true, Some(o)) = (self.modern, result.as_object_mut()) {
            o.insert("resultType".into(), json!("complete"));
            o.insert(
                "_meta".into(),
                json!({"io.modelcontextprotocol/serverInfo": self.server_info()}),
            );
            if cacheable {
                o.insert("ttlMs".into(), json!(CACHE_TTL_MS));
                // The same list for every caller: any cache may keep it.
                o.insert("cacheScope".into(), json!("public"));
            }
        }
        result
    }

    fn server_info(&self) -> Value {
        json!({"name": self.info.name, "version": self.info.version})
    }

    /// `server/discover` (2026-07-28).
    pub fn discover(&self) -> Value {
        self.complete(
            json!({
                "supportedVersions": version::supported_json(),
                "capabilities": capabilities(),
                "instructions": INSTRUCTIONS,
            }),
            true,
        )
    }

    /// The `initialize` result of a handshake-era session.
    pub fn initialize(&self, negotiated: &str) -> Value {
        json!({
            "protocolVersion": negotiated,
            "capabilities": capabilities(),
            "serverInfo": self.server_info(),
            "instructions": INSTRUCTIONS,
        })
    }

    /// `tools/list`: every tool in one page (a cursor is never issued, so
    /// one given is invalid).
    pub fn tools_list(&self, params: &Map<String, Value>) -> Result<Value, RpcError> {
        if params.contains_key("cursor") {
            return Err(RpcError::invalid_params(
                "invalid cursor: the tool list has one page",
            ));
        }
        Ok(self.complete(json!({"tools": tools::list()}), true))
    }

    /// `tools/call`: the tool named in `params` run for `caller`. A failure
    /// of the tool is a result with `isError: true`; a call that names no
    /// known tool or has malformed params is a protocol error.
    pub async fn tools_call(
        &self,
        backend: &dyn Backend,
        caller: &str,
        params: &Map<String, Value>,
    ) -> Result<(Tool, Value, Option<ToolFailure>), RpcError> {
        let tool = tool_of(params)?;
        let arguments = match params.get("arguments") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(a)) => a.clone(),
            Some(_) => {
                return Err(RpcError::invalid_params(format!(
                    "Invalid arguments for tool {}: arguments must be an object",
                    tool.name()
                )));
            }
        };
        let (result, failure) = match backend.call(caller, tool, arguments).await {
            Ok(answer) => {
                // Structured content is an object in the handshake
                // revisions; every answer of the mailbox is one, and any
                // other value is wrapped rather than sent in a shape an
                // older client would refuse.
                let structured = match answer {
                    Value::Object(_) => answer,
                    other => json!({"result": other}),
                };
                let text = serde_json::to_string_pretty(&structured)
                    .unwrap_or_else(|_| structured.to_string());
                (
                    json!({
                        "content": [{"type": "text", "text": text}],
                        "structuredContent": structured,
                        "isError": false,
                    }),
                    None,
                )
            }
            Err(f) => (
                json!({
                    "content": [{"type": "text", "text": f.text()}],
                    "structuredContent": f.structured(),
                    "isError": true,
                }),
                Some(f),
            ),
        };
        Ok((tool, self.complete(result, false), failure))
    }
}

/// The tool a `tools/call` names.
pub fn tool_of(params: &Map<String, Value>) -> Result<Tool, RpcError> {
    match params.get("name") {
        Some(Value::String(name)) => Tool::from_name(name).ok_or_else(|| {
            let shown: String = name.chars().take(64).collect();
            RpcError::invalid_params(format!("Unknown tool: {shown}"))
        }),
        _ => Err(RpcError::invalid_params(
            "tools/call needs the tool's \"name\"",
        )),
    }
}

fn capabilities() -> Value {
    json!({"tools": {"listChanged": false}})
}
