//! The JSON-RPC 2.0 binding: envelope, method table and params, read strictly.
//!
//! Choices (each refused with the JSON-RPC code in brackets):
//! - body that is not acceptable JSON — syntax, duplicate key, too deep, string
//!   too long — [-32700]; the `ErrorInfo.metadata.cause` says which;
//! - a batch (top-level array) [-32600], with a message saying batches are not
//!   part of A2A — a clear refusal rather than a parse error;
//! - `jsonrpc` other than `"2.0"`, a missing, `null`, fractional or non-scalar
//!   `id` (A2A has no notifications), unknown envelope members [-32600];
//! - an unknown method [-32601];
//! - params that are not exactly one A2A request message, with strict ProtoJSON
//!   rules (see [`crate::types`]) [-32602].

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::A2aError;
use crate::fields::{ReadRules, Rewrite, canonicalise};
use crate::json::{JsonError, parse_strict};
use crate::op::{A2aOp, A2aRequest, Binding, Operation};
use crate::types::*;
use crate::v03;
use crate::version::ProtocolVersion;

/// A call that was fully understood.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedCall {
    pub op: A2aOp,
    pub request: A2aRequest,
    /// What reading changed to reach the canonical form (forward that).
    pub rewrite: Rewrite,
}

/// A call that was refused, with what is needed to answer it in the right shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub error: A2aError,
    /// The JSON-RPC id to echo (`null` when it could not be read).
    pub jsonrpc_id: Value,
}

impl Refusal {
    fn new(error: A2aError, jsonrpc_id: Value) -> Self {
        Self { error, jsonrpc_id }
    }
}

/// Turns a strict-reader failure into the binding's parse error.
pub fn json_error(e: JsonError) -> A2aError {
    let cause = match &e {
        JsonError::Syntax(_) => "syntax",
        JsonError::DuplicateKey(_) => "duplicate_key",
        JsonError::TooDeep(_) => "too_deep",
        JsonError::StringTooLong(_) => "string_too_long",
    };
    A2aError::json_parse(format!("Invalid JSON payload: {e}")).with("cause", cause)
}

/// Parses a JSON-RPC request body.
// A refusal is built once per refused call and answered at once; boxing it
// would only cost the callers an indirection.
#[allow(clippy::result_large_err)]
pub fn parse_jsonrpc(
    body: &[u8],
    requested_version: ProtocolVersion,
    rules: impl Into<ReadRules>,
) -> Result<ParsedCall, Refusal> {
    let rules = rules.into();
    let value =
        parse_strict(body, rules.json).map_err(|e| Refusal::new(json_error(e), Value::Null))?;
    let mut obj = match value {
        Value::Object(o) => o,
        Value::Array(_) => {
            return Err(Refusal::new(
                A2aError::invalid_request(
                    "JSON-RPC batch requests are not supported by A2A: send one request per HTTP call",
                )
                .with("cause", "batch"),
                Value::Null,
            ));
        }
        _ => {
            return Err(Refusal::new(
                A2aError::invalid_request("a JSON-RPC request must be a JSON object"),
                Value::Null,
            ));
        }
    };
    let id = read_id(&obj)?;
    let fail = |e: A2aError| Refusal::new(e, id.clone());
    for key in obj.keys() {
        if !matches!(key.as_str(), "jsonrpc" | "id" | "method" | "params") {
            return Err(fail(A2aError::invalid_request(format!(
                "unknown JSON-RPC member {key:?}"
            ))));
        }
    }
    if obj.get("jsonrpc") != Some(&Value::String("2.0".into())) {
        return Err(fail(A2aError::invalid_request(
            "\"jsonrpc\" must be exactly \"2.0\"",
        )));
    }
    let method = match obj.get("method") {
        Some(Value::String(m)) => m.as_str(),
        _ => {
            return Err(fail(A2aError::invalid_request(
                "\"method\" must be a string",
            )));
        }
    };
    let Some((operation, dialect)) = Operation::from_method(method) else {
        return Err(fail(
            A2aError::method_not_found(format!("method {method:?} not found"))
                .with("method", truncate(method)),
        ));
    };
    let mut params = obj.remove("params");
    let mut rewrite = Rewrite::default();
    if dialect == ProtocolVersion::V1_0
        && let Some(p) = params.as_mut()
    {
        let changed = canonicalise(operation, p, rules.unknown_fields, &mut rewrite.dropped)
            .map_err(|msg| fail(A2aError::invalid_params(msg)))?;
        if changed {
            obj.insert("params".into(), p.clone());
            rewrite.body = Some(
                serde_json::to_vec(&obj)
                    .map_err(|e| fail(A2aError::internal(format!("re-encoding the call: {e}"))))?,
            );
        }
    }
    let request = match dialect {
        ProtocolVersion::V1_0 => read_v1_params(operation, params),
        ProtocolVersion::V0_3 => read_v03_params(operation, params),
    }
    .map_err(|msg| fail(A2aError::invalid_params(msg)))?;
    let op = A2aOp::describe(
        &request,
        Binding::JsonRpc,
        dialect,
        requested_version,
        Some(id.clone()),
    );
    Ok(ParsedCall {
        op,
        request,
        rewrite,
    })
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

#[allow(clippy::result_large_err)]
fn read_id(obj: &Map<String, Value>) -> Result<Value, Refusal> {
    match obj.get("id") {
        Some(Value::String(s)) => Ok(Value::String(s.clone())),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Value::Number(n.clone())),
        Some(_) => Err(Refusal::new(
            A2aError::invalid_request("\"id\" must be a string or an integer"),
            Value::Null,
        )),
        None => Err(Refusal::new(
            A2aError::invalid_request("\"id\" is required: A2A defines no JSON-RPC notifications"),
            Value::Null,
        )),
    }
}

/// Deserialises one typed params object, naming the problem on failure.
pub(crate) fn typed<T: DeserializeOwned>(v: Value) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| format!("invalid params: {e}"))
}

fn object_params(params: Option<Value>, optional: bool) -> Result<Value, String> {
    match params {
        Some(v @ Value::Object(_)) => Ok(v),
        None if optional => Ok(Value::Object(Map::new())),
        None => Err("\"params\" is required".into()),
        Some(_) => Err("\"params\" must be an object".into()),
    }
}

fn read_v1_params(op: Operation, params: Option<Value>) -> Result<A2aRequest, String> {
    let optional = op == Operation::GetExtendedAgentCard;
    let p = object_params(params, optional)?;
    let request = match op {
        Operation::SendMessage => A2aRequest::SendMessage(typed(p)?),
        Operation::SendStreamingMessage => A2aRequest::SendStreamingMessage(typed(p)?),
        Operation::GetTask => A2aRequest::GetTask(typed(p)?),
        Operation::ListTasks => A2aRequest::ListTasks(typed(p)?),
        Operation::CancelTask => A2aRequest::CancelTask(typed(p)?),
        Operation::SubscribeToTask => A2aRequest::SubscribeToTask(typed(p)?),
        Operation::CreatePushConfig => A2aRequest::CreatePushConfig(typed(p)?),
        Operation::GetPushConfig => A2aRequest::GetPushConfig(typed(p)?),
        Operation::ListPushConfigs => A2aRequest::ListPushConfigs(typed(p)?),
        Operation::DeletePushConfig => A2aRequest::DeletePushConfig(typed(p)?),
        Operation::GetExtendedAgentCard => A2aRequest::GetExtendedAgentCard(typed(p)?),
    };
    validate(&request)?;
    Ok(request)
}

fn read_v03_params(op: Operation, params: Option<Value>) -> Result<A2aRequest, String> {
    let optional = op == Operation::GetExtendedAgentCard;
    let p = object_params(params, optional)?;
    let request = match op {
        Operation::SendMessage | Operation::SendStreamingMessage => {
            let r = typed::<v03::MessageSendParams03>(p)?.into_v1()?;
            if op == Operation::SendMessage {
                A2aRequest::SendMessage(r)
            } else {
                A2aRequest::SendStreamingMessage(r)
            }
        }
        Operation::GetTask => {
            let t: v03::TaskParams03 = typed(p)?;
            A2aRequest::GetTask(GetTaskRequest {
                tenant: None,
                id: t.id,
                history_length: t.history_length,
            })
        }
        Operation::CancelTask => {
            let t: v03::TaskParams03 = typed(p)?;
            A2aRequest::CancelTask(CancelTaskRequest {
                tenant: None,
                id: t.id,
                metadata: t.metadata,
            })
        }
        Operation::SubscribeToTask => {
            let t: v03::TaskParams03 = typed(p)?;
            A2aRequest::SubscribeToTask(SubscribeToTaskRequest {
                tenant: None,
                id: t.id,
            })
        }
        Operation::CreatePushConfig => {
            let s: v03::SetPushConfig03 = typed(p)?;
            A2aRequest::CreatePushConfig(s.push_notification_config.into_v1(Some(s.task_id)))
        }
        Operation::GetPushConfig | Operation::DeletePushConfig => {
            let g: v03::PushConfigParams03 = typed(p)?;
            let Some(id) = g.push_notification_config_id else {
                return Err("pushNotificationConfigId is required".into());
            };
            let r = PushConfigRef {
                tenant: None,
                task_id: g.id,
                id,
            };
            if op == Operation::GetPushConfig {
                A2aRequest::GetPushConfig(r)
            } else {
                A2aRequest::DeletePushConfig(r)
            }
        }
        Operation::ListPushConfigs => {
            let g: v03::PushConfigParams03 = typed(p)?;
            A2aRequest::ListPushConfigs(ListPushConfigsRequest {
                tenant: None,
                task_id: g.id,
                page_size: None,
                page_token: None,
            })
        }
        Operation::GetExtendedAgentCard => {
            if p.as_object().is_some_and(|o| !o.is_empty()) {
                return Err("agent/getAuthenticatedExtendedCard takes no params".into());
            }
            A2aRequest::GetExtendedAgentCard(GetExtendedAgentCardRequest::default())
        }
        Operation::ListTasks => return Err("tasks/list is not a v0.3 JSON-RPC method".into()),
    };
    validate(&request)?;
    Ok(request)
}

/// Rules that serde cannot express: required arrays and strings are non-empty
/// (in proto3 an empty string is the same as an unset one), page sizes are in
/// range.
pub(crate) fn validate(request: &A2aRequest) -> Result<(), String> {
    fn required(name: &str, value: &str) -> Result<(), String> {
        if value.is_empty() {
            return Err(format!("{name} must not be empty"));
        }
        Ok(())
    }
    match request {
        A2aRequest::SendMessage(r) | A2aRequest::SendStreamingMessage(r) => {
            if r.message.parts.is_empty() {
                return Err("message.parts must not be empty".into());
            }
            if r.message.message_id.is_empty() {
                return Err("message.messageId must not be empty".into());
            }
            if let Some(p) = r
                .configuration
                .as_ref()
                .and_then(|c| c.task_push_notification_config.as_ref())
            {
                required("configuration.taskPushNotificationConfig.url", &p.url)?;
            }
        }
        A2aRequest::CreatePushConfig(r) => {
            required("url", &r.url)?;
            if let Some(t) = &r.task_id {
                required("taskId", t)?;
            }
        }
        A2aRequest::GetPushConfig(r) | A2aRequest::DeletePushConfig(r) => {
            required("taskId", &r.task_id)?;
            required("id", &r.id)?;
        }
        A2aRequest::ListTasks(r) => {
            if let Some(n) = r.page_size
                && !(1..=100).contains(&n)
            {
                return Err(format!("pageSize must be between 1 and 100, not {n}"));
            }
        }
        A2aRequest::ListPushConfigs(r) => {
            required("taskId", &r.task_id)?;
            if let Some(n) = r.page_size
                && !(1..=100).contains(&n)
            {
                return Err(format!("pageSize must be between 1 and 100, not {n}"));
            }
        }
        A2aRequest::GetTask(r) if r.id.is_empty() => return Err("id must not be empty".into()),
        A2aRequest::CancelTask(r) if r.id.is_empty() => return Err("id must not be empty".into()),
        A2aRequest::SubscribeToTask(r) if r.id.is_empty() => {
            return Err("id must not be empty".into());
        }
        _ => {}
    }
    Ok(())
}
