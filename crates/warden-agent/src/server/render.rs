//! Turns handler replies into the JSON each dialect expects.

use serde_json::{Value, json};
use warden_a2a::ProtocolVersion;
use warden_a2a::types::*;
use warden_a2a::v03;

use crate::handler::Reply;

/// The JSON body of a non-streaming reply. `Deleted` is `null` in JSON-RPC
/// (as the Python SDK answers) and `{}` in REST.
pub fn reply_json(reply: &Reply, dialect: ProtocolVersion, jsonrpc: bool) -> Value {
    let v1 = || -> Value {
        match reply {
            Reply::Send(r) => to_value(r),
            Reply::Task(t) => to_value(t),
            Reply::Tasks(l) => to_value(l),
            Reply::PushConfig(c) => to_value(c),
            Reply::PushConfigs(l) => to_value(l),
            Reply::Deleted if jsonrpc => Value::Null,
            Reply::Deleted => json!({}),
            Reply::Card(c) => to_value(c),
            Reply::Stream(_) => Value::Null,
        }
    };
    if dialect == ProtocolVersion::V1_0 {
        return v1();
    }
    match reply {
        Reply::Send(SendMessageResponse::Task(t)) | Reply::Task(t) => v03::task_to_v03(t),
        Reply::Send(SendMessageResponse::Message(m)) => v03::message_to_v03(m),
        Reply::PushConfig(c) => push_config_v03(c),
        Reply::PushConfigs(l) => Value::Array(l.configs.iter().map(push_config_v03).collect()),
        _ => v1(),
    }
}

/// One stream event in the caller's dialect.
pub fn event_json(event: &StreamResponse, dialect: ProtocolVersion) -> Value {
    match dialect {
        ProtocolVersion::V1_0 => to_value(event),
        ProtocolVersion::V0_3 => v03::stream_event_to_v03(event),
    }
}

fn push_config_v03(c: &TaskPushNotificationConfig) -> Value {
    let mut inner = json!({"url": c.url});
    if let Some(obj) = inner.as_object_mut() {
        if let Some(id) = &c.id {
            obj.insert("id".into(), json!(id));
        }
        if let Some(t) = &c.token {
            obj.insert("token".into(), json!(t));
        }
        if let Some(a) = &c.authentication {
            obj.insert(
                "authentication".into(),
                json!({"schemes": [a.scheme], "credentials": a.credentials}),
            );
        }
    }
    json!({"taskId": c.task_id, "pushNotificationConfig": inner})
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    // Our own types always serialise; a failure would be a bug worth seeing.
    serde_json::to_value(v).unwrap_or_else(|e| json!({"serialisationError": e.to_string()}))
}
