//! The v0.3 dialect: its request shapes, read as strictly as v1.0 ones, and
//! converted to v1.0 types so a v0.3 call is classified like any other. The
//! reverse conversions let Warden's own agents answer v0.3 callers.
//!
//! v0.3 differences handled here: `kind` discriminators on messages and parts,
//! lower-case enums (`user`, `working`, `input-required`), file parts
//! (`file.bytes` / `file.uri`), `blocking` instead of `returnImmediately`, and
//! push configs nested in `pushNotificationConfig`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::types::de::{non_negative, present};
use crate::types::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role03 {
    User,
    Agent,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Message03 {
    #[serde(default, deserialize_with = "present")]
    pub kind: Option<MessageKind>,
    pub message_id: String,
    #[serde(default, deserialize_with = "present")]
    pub context_id: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub task_id: Option<String>,
    pub role: Role03,
    pub parts: Vec<Part03>,
    #[serde(default, deserialize_with = "present")]
    pub metadata: Option<Map<String, Value>>,
    #[serde(default, deserialize_with = "present")]
    pub extensions: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    pub reference_task_ids: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    Message,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Part03 {
    Text {
        text: String,
        #[serde(default, deserialize_with = "present")]
        metadata: Option<Map<String, Value>>,
    },
    File {
        file: File03,
        #[serde(default, deserialize_with = "present")]
        metadata: Option<Map<String, Value>>,
    },
    Data {
        data: Map<String, Value>,
        #[serde(default, deserialize_with = "present")]
        metadata: Option<Map<String, Value>>,
    },
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct File03 {
    #[serde(default, deserialize_with = "present")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub mime_type: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub bytes: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub uri: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MessageSendParams03 {
    pub message: Message03,
    #[serde(default, deserialize_with = "present")]
    pub configuration: Option<SendConfiguration03>,
    #[serde(default, deserialize_with = "present")]
    pub metadata: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendConfiguration03 {
    #[serde(default, deserialize_with = "present")]
    pub accepted_output_modes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "non_negative")]
    pub history_length: Option<i32>,
    #[serde(default, deserialize_with = "present")]
    pub push_notification_config: Option<PushConfig03>,
    #[serde(default, deserialize_with = "present")]
    pub blocking: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PushConfig03 {
    #[serde(default, deserialize_with = "present")]
    pub id: Option<String>,
    pub url: String,
    #[serde(default, deserialize_with = "present")]
    pub token: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub authentication: Option<PushAuth03>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PushAuth03 {
    pub schemes: Vec<String>,
    #[serde(default, deserialize_with = "present")]
    pub credentials: Option<String>,
}

/// `TaskIdParams` and `TaskQueryParams`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskParams03 {
    pub id: String,
    #[serde(default, deserialize_with = "non_negative")]
    pub history_length: Option<i32>,
    #[serde(default, deserialize_with = "present")]
    pub metadata: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetPushConfig03 {
    pub task_id: String,
    pub push_notification_config: PushConfig03,
}

/// Get, list and delete of push configs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PushConfigParams03 {
    pub id: String,
    #[serde(default, deserialize_with = "present")]
    pub push_notification_config_id: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub metadata: Option<Map<String, Value>>,
}

impl From<Role03> for Role {
    fn from(r: Role03) -> Self {
        match r {
            Role03::User => Role::User,
            Role03::Agent => Role::Agent,
        }
    }
}

impl Part03 {
    /// Converts to a v1.0 part; a file part must carry exactly one of `bytes`/`uri`.
    pub fn into_v1(self) -> Result<Part, String> {
        Ok(match self {
            Part03::Text { text, metadata } => Part {
                content: PartContent::Text(text),
                metadata,
                filename: None,
                media_type: None,
            },
            Part03::Data { data, metadata } => Part {
                content: PartContent::Data(Value::Object(data)),
                metadata,
                filename: None,
                media_type: None,
            },
            Part03::File { file, metadata } => {
                let content = match (file.bytes, file.uri) {
                    (Some(b), None) => {
                        if decode_base64(&b).is_none() {
                            return Err("file.bytes is not valid base64".into());
                        }
                        PartContent::Raw(b)
                    }
                    (None, Some(u)) => PartContent::Url(u),
                    _ => return Err("a file part must have exactly one of bytes or uri".into()),
                };
                Part {
                    content,
                    metadata,
                    filename: file.name,
                    media_type: file.mime_type,
                }
            }
        })
    }
}

impl Message03 {
    pub fn into_v1(self) -> Result<Message, String> {
        Ok(Message {
            message_id: self.message_id,
            context_id: self.context_id,
            task_id: self.task_id,
            role: self.role.into(),
            parts: self
                .parts
                .into_iter()
                .map(Part03::into_v1)
                .collect::<Result<_, _>>()?,
            metadata: self.metadata,
            extensions: self.extensions,
            reference_task_ids: self.reference_task_ids,
        })
    }
}

impl PushConfig03 {
    pub fn into_v1(self, task_id: Option<String>) -> TaskPushNotificationConfig {
        TaskPushNotificationConfig {
            tenant: None,
            id: self.id,
            task_id,
            url: self.url,
            token: self.token,
            // v1.0 carries one scheme; the first v0.3 scheme is the one used.
            authentication: self.authentication.and_then(|a| {
                a.schemes
                    .into_iter()
                    .next()
                    .map(|scheme| AuthenticationInfo {
                        scheme,
                        credentials: a.credentials,
                    })
            }),
        }
    }
}

impl MessageSendParams03 {
    pub fn into_v1(self) -> Result<SendMessageRequest, String> {
        let configuration = self.configuration.map(|c| SendMessageConfiguration {
            accepted_output_modes: c.accepted_output_modes,
            task_push_notification_config: c.push_notification_config.map(|p| p.into_v1(None)),
            history_length: c.history_length,
            // v0.3 had `blocking`; absent meant blocking in the SDKs.
            return_immediately: c.blocking == Some(false),
        });
        Ok(SendMessageRequest {
            tenant: None,
            message: self.message.into_v1()?,
            configuration,
            metadata: self.metadata,
        })
    }
}

// ---- v1.0 → v0.3, for answering v0.3 callers ----

fn part_to_v03(p: &Part) -> Value {
    let mut v = match &p.content {
        PartContent::Text(t) => json!({"kind": "text", "text": t}),
        PartContent::Data(d) => json!({"kind": "data", "data": d}),
        PartContent::Raw(b) => {
            json!({"kind": "file", "file": file_v03(p, "bytes", b)})
        }
        PartContent::Url(u) => json!({"kind": "file", "file": file_v03(p, "uri", u)}),
    };
    if let (Some(m), Some(obj)) = (&p.metadata, v.as_object_mut()) {
        obj.insert("metadata".into(), Value::Object(m.clone()));
    }
    v
}

fn file_v03(p: &Part, key: &str, value: &str) -> Value {
    let mut f = Map::new();
    f.insert(key.into(), Value::String(value.into()));
    if let Some(n) = &p.filename {
        f.insert("name".into(), Value::String(n.clone()));
    }
    if let Some(m) = &p.media_type {
        f.insert("mimeType".into(), Value::String(m.clone()));
    }
    Value::Object(f)
}

pub fn message_to_v03(m: &Message) -> Value {
    let mut v = json!({
        "kind": "message",
        "messageId": m.message_id,
        "role": match m.role { Role::Agent => "agent", _ => "user" },
        "parts": m.parts.iter().map(part_to_v03).collect::<Vec<_>>(),
    });
    let obj = v.as_object_mut();
    if let Some(obj) = obj {
        if let Some(c) = &m.context_id {
            obj.insert("contextId".into(), json!(c));
        }
        if let Some(t) = &m.task_id {
            obj.insert("taskId".into(), json!(t));
        }
        if let Some(md) = &m.metadata {
            obj.insert("metadata".into(), Value::Object(md.clone()));
        }
        if let Some(e) = &m.extensions {
            obj.insert("extensions".into(), json!(e));
        }
        if let Some(r) = &m.reference_task_ids {
            obj.insert("referenceTaskIds".into(), json!(r));
        }
    }
    v
}

fn status_to_v03(s: &TaskStatus) -> Value {
    let mut v = json!({"state": s.state.as_v03()});
    if let Some(obj) = v.as_object_mut() {
        if let Some(m) = &s.message {
            obj.insert("message".into(), message_to_v03(m));
        }
        if let Some(t) = &s.timestamp {
            obj.insert("timestamp".into(), json!(t));
        }
    }
    v
}

fn artifact_to_v03(a: &Artifact) -> Value {
    let mut v = json!({
        "artifactId": a.artifact_id,
        "parts": a.parts.iter().map(part_to_v03).collect::<Vec<_>>(),
    });
    if let Some(obj) = v.as_object_mut() {
        if let Some(n) = &a.name {
            obj.insert("name".into(), json!(n));
        }
        if let Some(d) = &a.description {
            obj.insert("description".into(), json!(d));
        }
        if let Some(md) = &a.metadata {
            obj.insert("metadata".into(), Value::Object(md.clone()));
        }
        if let Some(e) = &a.extensions {
            obj.insert("extensions".into(), json!(e));
        }
    }
    v
}

pub fn task_to_v03(t: &Task) -> Value {
    let mut v = json!({
        "kind": "task",
        "id": t.id,
        "contextId": t.context_id.clone().unwrap_or_default(),
        "status": status_to_v03(&t.status),
    });
    if let Some(obj) = v.as_object_mut() {
        if let Some(a) = &t.artifacts {
            obj.insert(
                "artifacts".into(),
                Value::Array(a.iter().map(artifact_to_v03).collect()),
            );
        }
        if let Some(h) = &t.history {
            obj.insert(
                "history".into(),
                Value::Array(h.iter().map(message_to_v03).collect()),
            );
        }
        if let Some(md) = &t.metadata {
            obj.insert("metadata".into(), Value::Object(md.clone()));
        }
    }
    v
}

/// A stream event in v0.3 form (`kind` at the top level, `final` on status).
pub fn stream_event_to_v03(e: &StreamResponse) -> Value {
    let metadata = match e {
        StreamResponse::StatusUpdate(s) => s.metadata.as_ref(),
        StreamResponse::ArtifactUpdate(a) => a.metadata.as_ref(),
        StreamResponse::Task(_) | StreamResponse::Message(_) => None,
    };
    let mut v = match e {
        StreamResponse::Task(t) => task_to_v03(t),
        StreamResponse::Message(m) => message_to_v03(m),
        StreamResponse::StatusUpdate(s) => json!({
            "kind": "status-update",
            "taskId": s.task_id,
            "contextId": s.context_id,
            "status": status_to_v03(&s.status),
            "final": s.status.state.is_terminal() || s.status.state.is_interrupted(),
        }),
        StreamResponse::ArtifactUpdate(a) => json!({
            "kind": "artifact-update",
            "taskId": a.task_id,
            "contextId": a.context_id,
            "artifact": artifact_to_v03(&a.artifact),
            "append": a.append,
            "lastChunk": a.last_chunk,
        }),
    };
    if let (Some(md), Some(obj)) = (metadata, v.as_object_mut()) {
        obj.insert("metadata".into(), Value::Object(md.clone()));
    }
    v
}
