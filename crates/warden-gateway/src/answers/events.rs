//! A streamed answer, event by event: each event's data is strict JSON in
//! the binding's envelope (JSON-RPC: the call's id), holds exactly one of
//! a task, a message, a status update and an artifact update, and every
//! event is about one task — the one asked for, or the one the first event
//! names.

use bytes::Bytes;
use serde_json::Value;
use warden_a2a::{A2aError, A2aOp, Binding, JsonLimits, ProtocolVersion};

use super::{Invalid, envelope, invalid, shape};

/// Checks the events of one stream in order.
pub struct EventCheck {
    binding: Binding,
    dialect: ProtocolVersion,
    jsonrpc_id: Value,
    /// The task every event must be about, once known.
    task: Option<String>,
    limits: JsonLimits,
    /// For the envelope check (its id).
    op: A2aOp,
}

impl EventCheck {
    pub fn new(op: &A2aOp, limits: JsonLimits) -> Self {
        Self {
            binding: op.binding,
            dialect: op.dialect,
            jsonrpc_id: op.jsonrpc_id.clone().unwrap_or(Value::Null),
            task: op.task_id.clone(),
            limits,
            op: op.clone(),
        }
    }

    /// Checks one whole event (its bytes up to and including the blank
    /// line that ends it). Comment-only events (keep-alives) pass.
    pub fn check(&mut self, event: &[u8]) -> Result<(), Invalid> {
        let data = warden_a2a::sse::event_data(event)
            .map_err(|_| invalid("an event that is not UTF-8"))?;
        let Some(joined) = data else {
            return Ok(());
        };
        let v = warden_a2a::json::parse_strict(joined.as_bytes(), self.limits)
            .map_err(|e| invalid(format!("an event that is not strict JSON ({e})")))?;
        let result = match self.binding {
            Binding::JsonRpc => match envelope(&self.op, &v)? {
                Some(r) => r,
                // An error event ends the stream; it is the agent's answer.
                None => return Ok(()),
            },
            Binding::Rest if v.get("error").is_some() => return Ok(()),
            Binding::Rest => &v,
        };
        if self.dialect != ProtocolVersion::V1_0 {
            return Ok(());
        }
        stream_response(&mut self.task, result)
    }

    /// The event that replaces an invalid one (and ends the stream): the
    /// error in the binding's shape.
    pub fn error_event(&self, err: &A2aError) -> Bytes {
        let data = match self.binding {
            Binding::JsonRpc => err.jsonrpc_response(&self.jsonrpc_id),
            Binding::Rest => err.rest_body(),
        };
        Bytes::from(format!("data: {data}\n\n"))
    }
}

/// Told why, once, when a stream is cut for an invalid event (the audit).
pub type Report = Box<dyn FnOnce(&str) + Send + Sync>;

/// A `StreamResponse`: exactly one kind, about `task` (the stream's, or
/// the first one an event names, which it then becomes).
fn stream_response(task: &mut Option<String>, r: &Value) -> Result<(), Invalid> {
    let kinds = ["task", "message", "statusUpdate", "artifactUpdate"];
    let present: Vec<&str> = kinds
        .iter()
        .copied()
        .filter(|k| r.get(*k).is_some())
        .collect();
    let [kind] = present[..] else {
        return Err(invalid(
            "an event without exactly one of task, message, statusUpdate and artifactUpdate",
        ));
    };
    let body = &r[kind];
    let named = match kind {
        "task" => {
            shape::task(body, task.as_deref())?;
            body.get("id").and_then(Value::as_str)
        }
        "message" => {
            shape::message(body, task.as_deref())?;
            body.get("taskId").and_then(Value::as_str)
        }
        _ => {
            let id = body
                .get("taskId")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("an update without a taskId"))?;
            if let Some(state) = body.pointer("/status/state")
                && state
                    .as_str()
                    .and_then(warden_a2a::types::TaskState::parse)
                    .is_none()
            {
                return Err(invalid("an update to an unknown state"));
            }
            Some(id)
        }
    };
    match (&*task, named) {
        (Some(want), Some(got)) if got != want => {
            Err(invalid("an event about another task than the stream's"))
        }
        (None, Some(got)) => {
            *task = Some(got.to_string());
            Ok(())
        }
        _ => Ok(()),
    }
}

/// One push notification an agent posts (its whole body): strict JSON, one
/// v1.0 `StreamResponse`, about `task` when it is known. Returns the task
/// the notification names, if any.
pub fn notification(
    body: &[u8],
    task: Option<&str>,
    limits: JsonLimits,
) -> Result<Option<String>, Invalid> {
    let v = warden_a2a::json::parse_strict(body, limits)
        .map_err(|e| invalid(format!("a notification that is not strict JSON ({e})")))?;
    let mut task = task.map(str::to_owned);
    stream_response(&mut task, &v)?;
    Ok(task)
}

/// A stream's bytes cut into whole events and checked before any of them
/// reaches the caller: what is relayed is always whole, checked events;
/// the first invalid (or oversized) one is replaced by an error event and
/// ends the stream.
pub struct CheckedEvents {
    check: EventCheck,
    agent: String,
    pending: Vec<u8>,
    /// Told why, once, when the stream is cut (the audit).
    report: Option<Report>,
}

impl CheckedEvents {
    pub fn new(check: EventCheck, agent: &str, report: Option<Report>) -> Self {
        Self {
            check,
            agent: agent.to_string(),
            pending: Vec::new(),
            report,
        }
    }

    /// Takes one chunk from the agent. Returns the whole, checked events to
    /// relay now, and whether the stream ends after them (an error event
    /// in place of an invalid one, or of one over `max_event` bytes).
    pub fn feed(&mut self, chunk: &[u8], max_event: usize) -> (Bytes, bool) {
        self.pending.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(end) = crate::authz::ownership::event_end(&self.pending) {
            let event: Vec<u8> = self.pending.drain(..end).collect();
            if let Err(why) = self.check.check(&event) {
                self.fail(&mut out, &why);
                return (Bytes::from(out), true);
            }
            out.extend_from_slice(&event);
        }
        if self.pending.len() > max_event {
            self.fail(
                &mut out,
                &invalid(format!("an event over {max_event} bytes")),
            );
            return (Bytes::from(out), true);
        }
        (Bytes::from(out), false)
    }

    /// The last event of a stream Warden closes for its own reasons (a
    /// quarantine, a revoked grant): the caller learns why the stream
    /// ended instead of seeing it simply stop.
    pub fn closing_event(&self, err: &warden_a2a::A2aError) -> Bytes {
        self.check.error_event(err)
    }

    fn fail(&mut self, out: &mut Vec<u8>, why: &Invalid) {
        tracing::warn!(agent = %self.agent, why = %why.0, "replacing an invalid stream event with an error and closing the stream");
        out.extend_from_slice(&self.check.error_event(&why.to_a2a(&self.agent)));
        self.pending.clear();
        if let Some(report) = self.report.take() {
            report(&why.0);
        }
    }
}
