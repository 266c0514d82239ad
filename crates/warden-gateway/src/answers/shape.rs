//! What a v1.0 result must hold for the call made (the fields a caller
//! relies on; other members pass).

use serde_json::Value;
use warden_a2a::types::TaskState;
use warden_a2a::{A2aOp, Operation};

use super::{Invalid, invalid};

/// Checks the result (JSON-RPC `result`, or the REST body) of `op`.
pub(super) fn result(op: &A2aOp, r: &Value) -> Result<(), Invalid> {
    let asked = op.task_id.as_deref();
    match op.operation {
        Operation::SendMessage => send_response(r, asked),
        Operation::GetTask | Operation::CancelTask => task(r, asked),
        Operation::ListTasks => {
            let tasks = r
                .get("tasks")
                .and_then(Value::as_array)
                .ok_or_else(|| invalid("a task list without \"tasks\""))?;
            tasks.iter().try_for_each(|t| task(t, None))
        }
        Operation::CreatePushConfig | Operation::GetPushConfig => push_config(r, asked),
        Operation::ListPushConfigs => {
            let configs = r
                .get("configs")
                .and_then(Value::as_array)
                .ok_or_else(|| invalid("a push-config list without \"configs\""))?;
            configs.iter().try_for_each(|c| push_config(c, asked))
        }
        // Streams are checked event by event; a delete answers nothing of
        // note; the extended card is read whole where it is rewritten.
        Operation::SendStreamingMessage
        | Operation::SubscribeToTask
        | Operation::DeletePushConfig
        | Operation::GetExtendedAgentCard => Ok(()),
    }
}

/// A `SendMessageResponse`: exactly one of a task and a message, for the
/// task the message continues when it names one.
fn send_response(r: &Value, asked: Option<&str>) -> Result<(), Invalid> {
    match (r.get("task"), r.get("message")) {
        (Some(t), None) => task(t, asked),
        (None, Some(m)) => message(m, asked),
        _ => Err(invalid(
            "an answer to SendMessage without exactly one of task and message",
        )),
    }
}

/// A task object: a non-empty id (the one asked for, when one was), and a
/// known state.
pub(super) fn task(t: &Value, asked: Option<&str>) -> Result<(), Invalid> {
    let id = t
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("a task without an id"))?;
    if let Some(want) = asked
        && id != want
    {
        return Err(invalid("another task than the one asked for"));
    }
    if let Some(state) = t.pointer("/status/state") {
        state
            .as_str()
            .and_then(TaskState::parse)
            .ok_or_else(|| invalid("a task in an unknown state"))?;
    }
    Ok(())
}

/// A message: a message id, and the task it continues, when one was asked.
pub(super) fn message(m: &Value, asked: Option<&str>) -> Result<(), Invalid> {
    if !m.get("messageId").is_some_and(Value::is_string) {
        return Err(invalid("a message without a messageId"));
    }
    if let (Some(want), Some(got)) = (asked, m.get("taskId").and_then(Value::as_str))
        && got != want
    {
        return Err(invalid("a message for another task than the one asked for"));
    }
    Ok(())
}

fn push_config(c: &Value, asked: Option<&str>) -> Result<(), Invalid> {
    if !c.is_object() {
        return Err(invalid("a push config that is not an object"));
    }
    if let (Some(want), Some(got)) = (asked, c.get("taskId").and_then(Value::as_str))
        && got != want
    {
        return Err(invalid(
            "a push config of another task than the one asked for",
        ));
    }
    Ok(())
}
