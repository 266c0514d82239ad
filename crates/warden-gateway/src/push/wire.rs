//! Push configs on the wire: where a call carries one (by operation,
//! binding and dialect), what the caller registered, what the agent is given
//! instead, and the caller's view that Warden answers with.
//!
//! Bodies reach this module in canonical form (the parser rewrote proto
//! field names), so the camelCase names are the only ones to look for.
//!
//! | call | v1.0 | v0.3 |
//! |---|---|---|
//! | Create (JSON-RPC `params`, REST body) | the object itself | `pushNotificationConfig` (REST: or the object itself) |
//! | SendMessage | `configuration.taskPushNotificationConfig` | `configuration.pushNotificationConfig` |
//!
//! `authentication` is `{scheme, credentials}` in v1.0 and
//! `{schemes: [..], credentials}` in v0.3 (the first scheme is kept).

use serde_json::{Map, Value, json};
use warden_a2a::{A2aOp, Binding, Operation, ProtocolVersion};

/// What a caller registered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Registered {
    pub url: String,
    pub id: Option<String>,
    pub task_id: Option<String>,
    pub token: Option<String>,
    pub scheme: Option<String>,
    pub credentials: Option<String>,
}

/// The scheme under which the agent presents its relay token (besides
/// `token`, which the official SDKs send as `X-A2A-Notification-Token`).
pub const RELAY_SCHEME: &str = "Bearer";

fn root_mut(v: &mut Value, binding: Binding) -> Option<&mut Value> {
    match binding {
        Binding::JsonRpc => v.get_mut("params"),
        Binding::Rest => Some(v),
    }
}

/// The push config a call's body carries, if any.
pub fn config_mut<'a>(v: &'a mut Value, op: &A2aOp) -> Option<&'a mut Map<String, Value>> {
    let root = root_mut(v, op.binding)?;
    let v1 = op.dialect == ProtocolVersion::V1_0;
    let found = match op.operation {
        Operation::CreatePushConfig if v1 => root,
        Operation::CreatePushConfig => {
            if root.get("pushNotificationConfig").is_some() {
                root.get_mut("pushNotificationConfig")?
            } else {
                root
            }
        }
        Operation::SendMessage | Operation::SendStreamingMessage => {
            let name = if v1 {
                "taskPushNotificationConfig"
            } else {
                "pushNotificationConfig"
            };
            root.get_mut("configuration")?.get_mut(name)?
        }
        _ => return None,
    };
    found.as_object_mut()
}

fn text(o: &Map<String, Value>, name: &str) -> Option<String> {
    o.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// What the caller registered in `config` (`task_id` from the call when
/// the config does not name one).
pub fn read(config: &Map<String, Value>, task_id: Option<&str>) -> Option<Registered> {
    let auth = config.get("authentication").and_then(Value::as_object);
    let scheme = auth.and_then(|a| {
        text(a, "scheme").or_else(|| {
            a.get("schemes")
                .and_then(Value::as_array)
                .and_then(|s| s.first())
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
    });
    Some(Registered {
        url: text(config, "url")?,
        id: text(config, "id").filter(|s| !s.is_empty()),
        task_id: text(config, "taskId").or_else(|| task_id.map(str::to_owned)),
        token: text(config, "token"),
        scheme,
        credentials: auth.and_then(|a| text(a, "credentials")),
    })
}

/// Puts the relay in place of what the caller registered: the relay URL,
/// the config id Warden settled on, and the relay token as `token` and as
/// `authentication` credentials.
pub fn give_agent(
    config: &mut Map<String, Value>,
    dialect: ProtocolVersion,
    relay_url: &str,
    relay_token: &str,
    config_id: &str,
) {
    config.insert("url".into(), json!(relay_url));
    config.insert("id".into(), json!(config_id));
    config.insert("token".into(), json!(relay_token));
    let auth = if dialect == ProtocolVersion::V1_0 {
        json!({"scheme": RELAY_SCHEME, "credentials": relay_token})
    } else {
        json!({"schemes": [RELAY_SCHEME], "credentials": relay_token})
    };
    config.insert("authentication".into(), auth);
}

/// Takes the push config out of a message (for an agent whose tasks Warden
/// follows: it has no push, and may refuse a message that carries a config).
pub fn strip_message_config(v: &mut Value, op: &A2aOp) {
    let name = if op.dialect == ProtocolVersion::V1_0 {
        "taskPushNotificationConfig"
    } else {
        "pushNotificationConfig"
    };
    if let Some(c) = root_mut(v, op.binding)
        .and_then(|r| r.get_mut("configuration"))
        .and_then(Value::as_object_mut)
    {
        c.remove(name);
    }
}

/// The caller's config as Warden keeps it (v1.0 names): no token, no
/// credentials.
pub fn caller_view(r: &Registered, config_id: &str) -> Value {
    let mut o = Map::new();
    if let Some(t) = &r.task_id {
        o.insert("taskId".into(), json!(t));
    }
    o.insert("id".into(), json!(config_id));
    o.insert("url".into(), json!(r.url));
    if let Some(s) = &r.scheme {
        o.insert("authentication".into(), json!({"scheme": s}));
    }
    Value::Object(o)
}

/// A kept view rendered for a dialect, about `task_id`.
pub fn render(view: &Value, task_id: &str, dialect: ProtocolVersion) -> Value {
    let mut v = view.clone();
    if let Some(o) = v.as_object_mut() {
        o.insert("taskId".into(), json!(task_id));
    }
    if dialect == ProtocolVersion::V1_0 {
        return v;
    }
    let mut inner = v.as_object().cloned().unwrap_or_default();
    inner.remove("taskId");
    if let Some(s) = inner
        .get("authentication")
        .and_then(|a| a.get("scheme"))
        .cloned()
    {
        inner.insert("authentication".into(), json!({"schemes": [s]}));
    }
    json!({"taskId": task_id, "pushNotificationConfig": inner})
}

/// The config inside an agent's answer to a Create (the JSON-RPC `result`,
/// or the REST body; v0.3 nests it in `pushNotificationConfig`).
pub fn answer_config_mut<'a>(v: &'a mut Value, op: &A2aOp) -> Option<&'a mut Map<String, Value>> {
    let root = match op.binding {
        Binding::JsonRpc => v.get_mut("result")?,
        Binding::Rest => v,
    };
    let found =
        if op.dialect == ProtocolVersion::V1_0 || root.get("pushNotificationConfig").is_none() {
            root
        } else {
            root.get_mut("pushNotificationConfig")?
        };
    found.as_object_mut()
}

/// Replaces the relay in an agent's answer with the caller's view: their
/// URL, no token, their scheme without credentials.
pub fn show_caller(config: &mut Map<String, Value>, r: &Registered, dialect: ProtocolVersion) {
    config.insert("url".into(), json!(r.url));
    config.remove("token");
    config.remove("authentication");
    if let Some(s) = &r.scheme {
        let auth = if dialect == ProtocolVersion::V1_0 {
            json!({"scheme": s})
        } else {
            json!({"schemes": [s]})
        };
        config.insert("authentication".into(), auth);
    }
}

/// The task an answer to a message is about (a task, or a message naming
/// its task), in either dialect.
pub fn answered_task(v: &Value, binding: Binding) -> Option<String> {
    let r = match binding {
        Binding::JsonRpc => v.get("result")?,
        Binding::Rest => v,
    };
    let id = r
        .pointer("/task/id")
        .or_else(|| r.pointer("/message/taskId"))
        // v0.3: the result is the task (`kind: "task"`) or the message.
        .or_else(|| match r.get("kind").and_then(Value::as_str) {
            Some("task") => r.get("id"),
            Some("message") => r.get("taskId"),
            _ => None,
        })?;
    id.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests;
