//! Answers from agents, checked before a caller sees them: the same strict
//! JSON reader as for calls, the envelope of the binding, and what the
//! answer must be for the call made — a JSON-RPC answer carries the call's
//! id, GetTask and CancelTask answer with the task asked for, a message
//! that continues a task answers for that task, a stream stays on one
//! task. An answer that fails is replaced by a protocol error
//! (`INVALID_AGENT_RESPONSE`, audited with why), so a broken or hostile
//! agent cannot hand callers malformed or foreign data.
//!
//! What is checked is what a caller could be misled by; fields Warden does
//! not need to read (an agent's extensions, newer members) pass, so agents
//! ahead of Warden's protocol version keep working. v0.3 answers are held
//! to JSON, the envelope and the id only (their shapes differ).

mod events;
mod shape;
#[cfg(test)]
mod tests;

pub use events::{CheckedEvents, EventCheck, Report, notification};

use http::{HeaderMap, StatusCode, header};
use serde_json::Value;
use warden_a2a::{A2aError, A2aOp, Binding, ErrorKind, JsonLimits, Operation, ProtocolVersion};

/// Why an answer was refused (for the audit and the caller's message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl Invalid {
    /// The error the caller gets instead of the answer.
    pub fn to_a2a(&self, agent: &str) -> A2aError {
        A2aError::new(
            ErrorKind::InvalidAgentResponse,
            format!("agent {agent:?} sent an invalid answer: {}", self.0),
        )
    }
}

fn invalid(why: impl Into<String>) -> Invalid {
    Invalid(why.into())
}

/// Whether a content type is JSON (A2A's two media types, or a problem
/// document).
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let essence = v.split(';').next().unwrap_or("").trim();
            warden_a2a::is_json_content_type(essence)
                || essence.eq_ignore_ascii_case("application/problem+json")
        })
}

/// Checks a whole (non-streaming) answer to `op`.
pub fn check_answer(
    op: &A2aOp,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    limits: JsonLimits,
) -> Result<(), Invalid> {
    let empty = body.iter().all(u8::is_ascii_whitespace);
    // A REST delete may answer with no body at all.
    if empty {
        return match (op.binding, status.is_success(), op.operation) {
            (Binding::Rest, true, Operation::DeletePushConfig) => Ok(()),
            (Binding::Rest, false, _) => Ok(()),
            _ => Err(invalid("an empty answer")),
        };
    }
    if !is_json(headers) {
        return Err(invalid("an answer that is not JSON (content type)"));
    }
    let v = warden_a2a::json::parse_strict(body, limits)
        .map_err(|e| invalid(format!("an answer that is not strict JSON ({e})")))?;
    match op.binding {
        Binding::JsonRpc => {
            let result = envelope(op, &v)?;
            match result {
                Some(r) if op.dialect == ProtocolVersion::V1_0 => shape::result(op, r),
                _ => Ok(()),
            }
        }
        Binding::Rest if status.is_success() && op.dialect == ProtocolVersion::V1_0 => {
            shape::result(op, &v)
        }
        Binding::Rest => match v {
            Value::Object(_) => Ok(()),
            _ => Err(invalid("an answer that is not a JSON object")),
        },
    }
}

/// The JSON-RPC envelope: version, the call's own id, exactly one of
/// `result` and `error` (an error with an integer code and a message).
/// Returns the result, if it is one.
fn envelope<'v>(op: &A2aOp, v: &'v Value) -> Result<Option<&'v Value>, Invalid> {
    let obj = v
        .as_object()
        .ok_or_else(|| invalid("a JSON-RPC answer that is not an object"))?;
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(invalid("a JSON-RPC answer without \"jsonrpc\": \"2.0\""));
    }
    let want = op.jsonrpc_id.as_ref().unwrap_or(&Value::Null);
    if obj.get("id") != Some(want) {
        return Err(invalid("a JSON-RPC answer to another request (its id)"));
    }
    match (obj.get("result"), obj.get("error")) {
        (Some(r), None) => Ok(Some(r)),
        (None, Some(e)) => {
            let code = e.get("code").is_some_and(|c| c.is_i64());
            let message = e.get("message").is_some_and(Value::is_string);
            if code && message {
                Ok(None)
            } else {
                Err(invalid(
                    "a JSON-RPC error without an integer code and a message",
                ))
            }
        }
        _ => Err(invalid(
            "a JSON-RPC answer without exactly one of result and error",
        )),
    }
}
