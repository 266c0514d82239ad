//! The field names of the v1.0 request messages, as ProtoJSON spells them
//! (lowerCamelCase JSON names) and as the proto file does (snake_case), and
//! what each field holds. Read off `a2a.proto` (package `lf.a2a.v1`); the
//! typed readers in [`crate::types`] refuse anything these tables let
//! through that they do not know, so a table that falls behind shows up as
//! a refusal in the tests, never as a field passed on unread.

use crate::op::Operation;

/// One field of a message.
pub(crate) struct Field {
    /// The ProtoJSON (lowerCamelCase) name: the one Warden forwards.
    pub json: &'static str,
    /// The proto field name, which ProtoJSON parsers must also accept.
    pub proto: &'static str,
    pub kind: Kind,
}

/// What a field holds, as far as the normaliser needs to know.
pub(crate) enum Kind {
    /// A scalar, or a list of scalars: nothing inside to rename.
    Plain,
    /// A message.
    Object(&'static [Field]),
    /// A list of messages.
    Objects(&'static [Field]),
    /// `google.protobuf.Struct` or `Value`: free-form JSON whose keys belong
    /// to the caller (metadata, a data part), never renamed or dropped.
    Free,
    /// An enum: its value names, indexed by number (ProtoJSON also accepts
    /// the number).
    Enum(&'static [&'static str]),
}

const fn field(json: &'static str, proto: &'static str, kind: Kind) -> Field {
    Field { json, proto, kind }
}

const fn plain(name: &'static str) -> Field {
    field(name, name, Kind::Plain)
}

const TENANT: Field = plain("tenant");

const ROLE: &[&str] = &["ROLE_UNSPECIFIED", "ROLE_USER", "ROLE_AGENT"];

const TASK_STATE: &[&str] = &[
    "TASK_STATE_UNSPECIFIED",
    "TASK_STATE_SUBMITTED",
    "TASK_STATE_WORKING",
    "TASK_STATE_COMPLETED",
    "TASK_STATE_FAILED",
    "TASK_STATE_CANCELED",
    "TASK_STATE_INPUT_REQUIRED",
    "TASK_STATE_REJECTED",
    "TASK_STATE_AUTH_REQUIRED",
];

const AUTHENTICATION_INFO: &[Field] = &[plain("scheme"), plain("credentials")];

const PUSH_CONFIG: &[Field] = &[
    TENANT,
    plain("id"),
    field("taskId", "task_id", Kind::Plain),
    plain("url"),
    plain("token"),
    field(
        "authentication",
        "authentication",
        Kind::Object(AUTHENTICATION_INFO),
    ),
];

const PART: &[Field] = &[
    plain("text"),
    plain("raw"),
    plain("url"),
    field("data", "data", Kind::Free),
    field("metadata", "metadata", Kind::Free),
    plain("filename"),
    field("mediaType", "media_type", Kind::Plain),
];

const MESSAGE: &[Field] = &[
    field("messageId", "message_id", Kind::Plain),
    field("contextId", "context_id", Kind::Plain),
    field("taskId", "task_id", Kind::Plain),
    field("role", "role", Kind::Enum(ROLE)),
    field("parts", "parts", Kind::Objects(PART)),
    field("metadata", "metadata", Kind::Free),
    plain("extensions"),
    field("referenceTaskIds", "reference_task_ids", Kind::Plain),
];

const SEND_CONFIGURATION: &[Field] = &[
    field("acceptedOutputModes", "accepted_output_modes", Kind::Plain),
    field(
        "taskPushNotificationConfig",
        "task_push_notification_config",
        Kind::Object(PUSH_CONFIG),
    ),
    field("historyLength", "history_length", Kind::Plain),
    field("returnImmediately", "return_immediately", Kind::Plain),
];

const SEND_MESSAGE: &[Field] = &[
    TENANT,
    field("message", "message", Kind::Object(MESSAGE)),
    field(
        "configuration",
        "configuration",
        Kind::Object(SEND_CONFIGURATION),
    ),
    field("metadata", "metadata", Kind::Free),
];

const GET_TASK: &[Field] = &[
    TENANT,
    plain("id"),
    field("historyLength", "history_length", Kind::Plain),
];

const LIST_TASKS: &[Field] = &[
    TENANT,
    field("contextId", "context_id", Kind::Plain),
    field("status", "status", Kind::Enum(TASK_STATE)),
    field("pageSize", "page_size", Kind::Plain),
    field("pageToken", "page_token", Kind::Plain),
    field("historyLength", "history_length", Kind::Plain),
    field(
        "statusTimestampAfter",
        "status_timestamp_after",
        Kind::Plain,
    ),
    field("includeArtifacts", "include_artifacts", Kind::Plain),
];

const CANCEL_TASK: &[Field] = &[
    TENANT,
    plain("id"),
    field("metadata", "metadata", Kind::Free),
];

const SUBSCRIBE_TO_TASK: &[Field] = &[TENANT, plain("id")];

const PUSH_CONFIG_REF: &[Field] = &[TENANT, field("taskId", "task_id", Kind::Plain), plain("id")];

const LIST_PUSH_CONFIGS: &[Field] = &[
    TENANT,
    field("taskId", "task_id", Kind::Plain),
    field("pageSize", "page_size", Kind::Plain),
    field("pageToken", "page_token", Kind::Plain),
];

const GET_EXTENDED_AGENT_CARD: &[Field] = &[TENANT];

/// The request message of an operation (v1.0).
pub(crate) fn request_fields(op: Operation) -> &'static [Field] {
    match op {
        Operation::SendMessage | Operation::SendStreamingMessage => SEND_MESSAGE,
        Operation::GetTask => GET_TASK,
        Operation::ListTasks => LIST_TASKS,
        Operation::CancelTask => CANCEL_TASK,
        Operation::SubscribeToTask => SUBSCRIBE_TO_TASK,
        Operation::CreatePushConfig => PUSH_CONFIG,
        Operation::GetPushConfig | Operation::DeletePushConfig => PUSH_CONFIG_REF,
        Operation::ListPushConfigs => LIST_PUSH_CONFIGS,
        Operation::GetExtendedAgentCard => GET_EXTENDED_AGENT_CARD,
    }
}

/// Finds the field a key names, and whether it used the proto name.
pub(crate) fn lookup<'a>(fields: &'a [Field], key: &str) -> Option<(&'a Field, Spelling)> {
    fields.iter().find_map(|f| {
        if f.json == key {
            Some((f, Spelling::Json))
        } else if f.proto == key {
            Some((f, Spelling::Proto))
        } else {
            None
        }
    })
}

/// Which of its two names a key used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Spelling {
    Json,
    Proto,
}
