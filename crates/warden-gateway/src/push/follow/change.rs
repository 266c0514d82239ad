//! What changed in a followed task, and the notifications that say so.
//!
//! Warden keeps a summary of what it last saw of each followed task
//! ([`Seen`]: a digest of its status and of each artifact, stored with the
//! follow), so that a poll, a re-subscription or a restart sends only what
//! changed. Every notification is a v1.0 `StreamResponse`, the shape the
//! relay accepts from agents:
//!
//! - a new or changed artifact: `artifactUpdate` (the whole artifact);
//! - a changed status of a task still running: `statusUpdate`;
//! - a task that reached a terminal or interrupted state: the task itself
//!   (`task`, the final state, its artifacts included), and the follow ends.
//!
//! Events of a stream (`SubscribeToTask`) pass as the agent sent them, a
//! status seen before left out; a finishing status update is replaced by
//! the final task, read with `GetTask` (see `run.rs`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use warden_a2a::types::TaskState;

/// What was last seen of a task.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// The status's digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Each artifact's digest, by `artifactId`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<String, String>,
}

impl Seen {
    /// Read from the store (nothing seen when absent or unreadable).
    pub fn read(text: Option<&str>) -> Self {
        text.and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default()
    }

    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What one look at a task yields.
#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    /// The notifications to send, in order.
    pub notifications: Vec<Value>,
    /// The task is terminal or interrupted: the follow ends.
    pub finished: bool,
}

/// The state a status names, if it is one.
pub fn state_of(status: &Value) -> Option<TaskState> {
    status
        .get("state")
        .and_then(Value::as_str)
        .and_then(TaskState::parse)
}

/// Whether a task in `state` changes no more without its caller.
pub fn finishing(state: Option<TaskState>) -> bool {
    state.is_some_and(|s| s.is_terminal() || s.is_interrupted())
}

/// The notifications for a whole task (a `GetTask` answer, or a stream's
/// `task` event) against what was seen; `seen` becomes the task.
pub fn snapshot(seen: &mut Seen, task: &Value) -> Changes {
    let status = task.get("status").cloned().unwrap_or(Value::Null);
    let status_digest = digest(&status);
    let status_changed = seen.status.as_deref() != Some(status_digest.as_str());
    let mut changed_artifacts = Vec::new();
    for a in task
        .get("artifacts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(id) = a.get("artifactId").and_then(Value::as_str) else {
            continue;
        };
        let d = digest(a);
        if seen.artifacts.get(id) != Some(&d) {
            seen.artifacts.insert(id.to_string(), d);
            changed_artifacts.push(a);
        }
    }
    seen.status = Some(status_digest);
    let finished = finishing(state_of(&status));
    let mut notifications = Vec::new();
    if finished {
        // The final task carries every artifact: one notification.
        if status_changed || !changed_artifacts.is_empty() {
            notifications.push(json!({"task": task}));
        }
        return Changes {
            notifications,
            finished,
        };
    }
    let (task_id, context_id) = ids(task);
    for a in changed_artifacts {
        notifications.push(json!({"artifactUpdate": {
            "taskId": task_id, "contextId": context_id, "artifact": a,
        }}));
    }
    if status_changed {
        notifications.push(json!({"statusUpdate": {
            "taskId": task_id, "contextId": context_id, "status": status,
        }}));
    }
    Changes {
        notifications,
        finished,
    }
}

/// What one event of a stream yields. A finishing status update yields
/// nothing here but `finished`: the caller sends the final task instead.
pub fn event(seen: &mut Seen, ev: &Value) -> Changes {
    if let Some(task) = ev.get("task") {
        return snapshot(seen, task);
    }
    if let Some(update) = ev.get("statusUpdate") {
        let status = update.get("status").cloned().unwrap_or(Value::Null);
        if finishing(state_of(&status)) {
            return Changes {
                notifications: Vec::new(),
                finished: true,
            };
        }
        let d = digest(&status);
        if seen.status.as_deref() == Some(d.as_str()) {
            return Changes::default();
        }
        seen.status = Some(d);
        return Changes {
            notifications: vec![ev.clone()],
            finished: false,
        };
    }
    if let Some(update) = ev.get("artifactUpdate") {
        let artifact = update.get("artifact").cloned().unwrap_or(Value::Null);
        if let Some(id) = artifact.get("artifactId").and_then(Value::as_str) {
            let d = digest(&artifact);
            let appended = update.get("append").and_then(Value::as_bool) == Some(true);
            // A chunk is news whatever came before; a whole artifact is not
            // when it is the one seen.
            if !appended && seen.artifacts.get(id) == Some(&d) {
                return Changes::default();
            }
            seen.artifacts.insert(id.to_string(), d);
        }
    }
    // An artifact update, or a message: as the agent sent it.
    Changes {
        notifications: vec![ev.clone()],
        finished: false,
    }
}

fn ids(task: &Value) -> (Value, Value) {
    (
        task.get("id").cloned().unwrap_or(Value::Null),
        task.get("contextId").cloned().unwrap_or(Value::Null),
    )
}

/// A digest of a JSON value that does not depend on the order of its keys.
fn digest(v: &Value) -> String {
    let canonical = canonical(v).to_string();
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
    d.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<&String, Value> =
                m.iter().map(|(k, v)| (k, canonical(v))).collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests;
