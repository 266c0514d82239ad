//! [`A2aOp`]: one typed description of any A2A call, whatever its binding or
//! version. Everything downstream (authorisation, audit, metrics) looks at this
//! and never at raw JSON.

use serde_json::Value;

use crate::types::*;
use crate::version::ProtocolVersion;

/// The eleven operations of the A2A service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    SendMessage,
    SendStreamingMessage,
    GetTask,
    ListTasks,
    CancelTask,
    SubscribeToTask,
    CreatePushConfig,
    GetPushConfig,
    ListPushConfigs,
    DeletePushConfig,
    GetExtendedAgentCard,
}

impl Operation {
    /// The v1.0 method name (also the gRPC rpc name), used in metrics and audit.
    pub fn name(self) -> &'static str {
        match self {
            Self::SendMessage => "SendMessage",
            Self::SendStreamingMessage => "SendStreamingMessage",
            Self::GetTask => "GetTask",
            Self::ListTasks => "ListTasks",
            Self::CancelTask => "CancelTask",
            Self::SubscribeToTask => "SubscribeToTask",
            Self::CreatePushConfig => "CreateTaskPushNotificationConfig",
            Self::GetPushConfig => "GetTaskPushNotificationConfig",
            Self::ListPushConfigs => "ListTaskPushNotificationConfigs",
            Self::DeletePushConfig => "DeleteTaskPushNotificationConfig",
            Self::GetExtendedAgentCard => "GetExtendedAgentCard",
        }
    }

    /// The v0.3 JSON-RPC method name, where v0.3 had one.
    pub fn v03_method(self) -> Option<&'static str> {
        Some(match self {
            Self::SendMessage => "message/send",
            Self::SendStreamingMessage => "message/stream",
            Self::GetTask => "tasks/get",
            Self::CancelTask => "tasks/cancel",
            Self::SubscribeToTask => "tasks/resubscribe",
            Self::CreatePushConfig => "tasks/pushNotificationConfig/set",
            Self::GetPushConfig => "tasks/pushNotificationConfig/get",
            Self::ListPushConfigs => "tasks/pushNotificationConfig/list",
            Self::DeletePushConfig => "tasks/pushNotificationConfig/delete",
            Self::GetExtendedAgentCard => "agent/getAuthenticatedExtendedCard",
            Self::ListTasks => return None,
        })
    }

    /// Looks up a JSON-RPC method name in either dialect.
    pub fn from_method(method: &str) -> Option<(Self, ProtocolVersion)> {
        ALL_OPERATIONS.iter().find_map(|op| {
            if op.name() == method {
                Some((*op, ProtocolVersion::V1_0))
            } else if op.v03_method() == Some(method) {
                Some((*op, ProtocolVersion::V0_3))
            } else {
                None
            }
        })
    }

    /// Operations answered with an SSE stream.
    pub fn is_streaming(self) -> bool {
        matches!(self, Self::SendStreamingMessage | Self::SubscribeToTask)
    }
}

pub const ALL_OPERATIONS: [Operation; 11] = [
    Operation::SendMessage,
    Operation::SendStreamingMessage,
    Operation::GetTask,
    Operation::ListTasks,
    Operation::CancelTask,
    Operation::SubscribeToTask,
    Operation::CreatePushConfig,
    Operation::GetPushConfig,
    Operation::ListPushConfigs,
    Operation::DeletePushConfig,
    Operation::GetExtendedAgentCard,
];

/// How the call travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Binding {
    JsonRpc,
    Rest,
}

impl Binding {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::JsonRpc => "jsonrpc",
            Self::Rest => "rest",
        }
    }
}

/// The kind of a part's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartKind {
    Text,
    Raw,
    Url,
    Data,
}

/// What a part holds, without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartSummary {
    pub kind: PartKind,
    /// Bytes of text, decoded bytes of `raw`, bytes of the URL, or bytes of the
    /// serialised `data` value.
    pub size: usize,
    /// The URL of a `url` part (v0.3 file parts with a `uri` become `url` parts).
    pub url: Option<String>,
    pub media_type: Option<String>,
}

impl PartSummary {
    pub fn of(part: &Part) -> Self {
        let (kind, size, url) = match &part.content {
            PartContent::Text(t) => (PartKind::Text, t.len(), None),
            PartContent::Raw(r) => (
                PartKind::Raw,
                crate::types::decode_base64(r).map_or(0, |b| b.len()),
                None,
            ),
            PartContent::Url(u) => (PartKind::Url, u.len(), Some(u.clone())),
            PartContent::Data(v) => (PartKind::Data, v.to_string().len(), None),
        };
        Self {
            kind,
            size,
            url,
            media_type: part.media_type.clone(),
        }
    }
}

/// A fully understood A2A request, in v1.0 terms whatever its dialect.
#[derive(Debug, Clone, PartialEq)]
pub enum A2aRequest {
    SendMessage(SendMessageRequest),
    SendStreamingMessage(SendMessageRequest),
    GetTask(GetTaskRequest),
    ListTasks(ListTasksRequest),
    CancelTask(CancelTaskRequest),
    SubscribeToTask(SubscribeToTaskRequest),
    CreatePushConfig(TaskPushNotificationConfig),
    GetPushConfig(PushConfigRef),
    ListPushConfigs(ListPushConfigsRequest),
    DeletePushConfig(PushConfigRef),
    GetExtendedAgentCard(GetExtendedAgentCardRequest),
}

impl A2aRequest {
    pub fn operation(&self) -> Operation {
        match self {
            Self::SendMessage(_) => Operation::SendMessage,
            Self::SendStreamingMessage(_) => Operation::SendStreamingMessage,
            Self::GetTask(_) => Operation::GetTask,
            Self::ListTasks(_) => Operation::ListTasks,
            Self::CancelTask(_) => Operation::CancelTask,
            Self::SubscribeToTask(_) => Operation::SubscribeToTask,
            Self::CreatePushConfig(_) => Operation::CreatePushConfig,
            Self::GetPushConfig(_) => Operation::GetPushConfig,
            Self::ListPushConfigs(_) => Operation::ListPushConfigs,
            Self::DeletePushConfig(_) => Operation::DeletePushConfig,
            Self::GetExtendedAgentCard(_) => Operation::GetExtendedAgentCard,
        }
    }

    pub fn tenant(&self) -> Option<&str> {
        match self {
            Self::SendMessage(r) | Self::SendStreamingMessage(r) => r.tenant.as_deref(),
            Self::GetTask(r) => r.tenant.as_deref(),
            Self::ListTasks(r) => r.tenant.as_deref(),
            Self::CancelTask(r) => r.tenant.as_deref(),
            Self::SubscribeToTask(r) => r.tenant.as_deref(),
            Self::CreatePushConfig(r) => r.tenant.as_deref(),
            Self::GetPushConfig(r) | Self::DeletePushConfig(r) => r.tenant.as_deref(),
            Self::ListPushConfigs(r) => r.tenant.as_deref(),
            Self::GetExtendedAgentCard(r) => r.tenant.as_deref(),
        }
    }
}

/// The typed classification of one call.
#[derive(Debug, Clone, PartialEq)]
pub struct A2aOp {
    pub operation: Operation,
    pub binding: Binding,
    /// The dialect the body was written in (decided by method name or REST path).
    pub dialect: ProtocolVersion,
    /// The version the caller asked for (`A2A-Version`; missing means 0.3).
    pub requested_version: ProtocolVersion,
    /// The JSON-RPC request id (JSON-RPC only).
    pub jsonrpc_id: Option<Value>,
    pub tenant: Option<String>,
    pub task_id: Option<String>,
    /// Other tasks the call names besides `task_id`: a message's
    /// `referenceTaskIds`, and the `taskId` of a push config sent with a
    /// message when it is not the message's own task. Each must pass the
    /// same ownership check as `task_id`.
    pub referenced_task_ids: Vec<String>,
    pub context_id: Option<String>,
    pub message_id: Option<String>,
    pub push_config_id: Option<String>,
    /// The page a `ListTaskPushNotificationConfigs` asks for (`pageSize`,
    /// `pageToken`; v1.0 only: v0.3 has no paging).
    pub page_size: Option<i32>,
    pub page_token: Option<String>,
    /// Every webhook URL the call would register.
    pub push_urls: Vec<String>,
    pub parts: Vec<PartSummary>,
    /// `message.extensions`.
    pub message_extensions: Vec<String>,
    /// Extensions the caller asked to activate (`A2A-Extensions`, or the v0.3
    /// `X-A2A-Extensions`); filled in by whoever reads the headers.
    pub requested_extensions: Vec<String>,
    /// `configuration.returnImmediately` (or v0.3 `blocking:false`).
    pub return_immediately: bool,
    /// `message.metadata` entries under extension URIs the gateway reads
    /// (see [`SKILL_EXTENSION`]), as sent; checked by authorisation.
    pub skill_metadata: Option<Value>,
}

/// The Warden skill extension: a message names the skill it is for with
/// `metadata[SKILL_EXTENSION] = "skill-id"` and lists the URI in
/// `message.extensions`.
pub const SKILL_EXTENSION: &str = "urn:warden:a2a:skill:v1";

impl A2aOp {
    /// Classifies a typed request.
    pub fn describe(
        request: &A2aRequest,
        binding: Binding,
        dialect: ProtocolVersion,
        requested_version: ProtocolVersion,
        jsonrpc_id: Option<Value>,
    ) -> Self {
        let mut op = A2aOp {
            operation: request.operation(),
            binding,
            dialect,
            requested_version,
            jsonrpc_id,
            tenant: request.tenant().map(str::to_owned),
            task_id: None,
            referenced_task_ids: Vec::new(),
            context_id: None,
            message_id: None,
            push_config_id: None,
            page_size: None,
            page_token: None,
            push_urls: Vec::new(),
            parts: Vec::new(),
            message_extensions: Vec::new(),
            requested_extensions: Vec::new(),
            return_immediately: false,
            skill_metadata: None,
        };
        match request {
            A2aRequest::SendMessage(r) | A2aRequest::SendStreamingMessage(r) => {
                let m = &r.message;
                op.task_id = m.task_id.clone();
                op.referenced_task_ids = m.reference_task_ids.clone().unwrap_or_default();
                op.context_id = m.context_id.clone();
                op.message_id = Some(m.message_id.clone());
                op.parts = m.parts.iter().map(PartSummary::of).collect();
                op.message_extensions = m.extensions.clone().unwrap_or_default();
                op.skill_metadata = m
                    .metadata
                    .as_ref()
                    .and_then(|md| md.get(SKILL_EXTENSION))
                    .cloned();
                if let Some(c) = &r.configuration {
                    op.return_immediately = c.return_immediately;
                    if let Some(p) = &c.task_push_notification_config {
                        op.push_urls.push(p.url.clone());
                        if let Some(t) = &p.task_id
                            && Some(t) != m.task_id.as_ref()
                        {
                            op.referenced_task_ids.push(t.clone());
                        }
                    }
                }
            }
            A2aRequest::GetTask(r) => op.task_id = Some(r.id.clone()),
            A2aRequest::ListTasks(r) => op.context_id = r.context_id.clone(),
            A2aRequest::CancelTask(r) => op.task_id = Some(r.id.clone()),
            A2aRequest::SubscribeToTask(r) => op.task_id = Some(r.id.clone()),
            A2aRequest::CreatePushConfig(r) => {
                op.task_id = r.task_id.clone();
                op.push_config_id = r.id.clone();
                op.push_urls.push(r.url.clone());
            }
            A2aRequest::GetPushConfig(r) | A2aRequest::DeletePushConfig(r) => {
                op.task_id = Some(r.task_id.clone());
                op.push_config_id = Some(r.id.clone());
            }
            A2aRequest::ListPushConfigs(r) => {
                op.task_id = Some(r.task_id.clone());
                op.page_size = r.page_size;
                op.page_token = r.page_token.clone();
            }
            A2aRequest::GetExtendedAgentCard(_) => {}
        }
        op
    }
}
