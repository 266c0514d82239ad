//! proptest strategies for valid v1.0 objects, shared by `roundtrip.rs` and
//! `differential.rs` (a directory module, so it is not a test binary itself).

#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use warden_a2a::A2aRequest;
use warden_a2a::types::*;

/// Any string, control characters, quotes and astral planes included.
pub fn text() -> BoxedStrategy<String> {
    prop_oneof![
        vec(any::<char>(), 0..12).prop_map(|c| c.into_iter().collect()),
        "[a-zA-Z0-9 _:/.-]{0,16}",
    ]
    .boxed()
}

/// A non-empty string (ids that validation requires).
pub fn id() -> BoxedStrategy<String> {
    prop_oneof![
        vec(any::<char>(), 1..10).prop_map(|c| c.into_iter().collect()),
        "[a-z0-9-]{1,12}",
    ]
    .boxed()
}

/// Floats that print and parse back exactly with serde_json's default parser.
fn exact_float() -> impl Strategy<Value = f64> {
    (-1_000_000i32..1_000_000, 0u32..10).prop_map(|(m, e)| f64::from(m) / f64::from(1u32 << e))
}

/// Any JSON value, at most four containers deep.
pub fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        exact_float().prop_map(|f| json!(f)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            json_map(inner).prop_map(Value::Object),
        ]
    })
    .boxed()
}

fn json_map(values: impl Strategy<Value = Value>) -> impl Strategy<Value = Map<String, Value>> {
    vec((text(), values), 0..4).prop_map(|kv| kv.into_iter().collect())
}

/// A `google.protobuf.Struct` (metadata).
pub fn metadata() -> impl Strategy<Value = Map<String, Value>> {
    json_map(json_value())
}

pub fn role() -> BoxedStrategy<Role> {
    prop_oneof![Just(Role::User), Just(Role::Agent), Just(Role::Unspecified)].boxed()
}

pub fn task_state() -> BoxedStrategy<TaskState> {
    proptest::sample::select(ALL_STATES.to_vec()).boxed()
}

/// How `raw` bytes are spelled: only standard padded base64, or every
/// ProtoJSON form (standard or URL-safe, padded or not).
#[derive(Debug, Clone, Copy)]
pub enum Base64Forms {
    Standard,
    All,
}

pub fn part_content(forms: Base64Forms) -> BoxedStrategy<PartContent> {
    let raw = (vec(any::<u8>(), 0..24), any::<bool>()).prop_map(move |(b, url_safe)| {
        let s = match (forms, url_safe) {
            (Base64Forms::All, true) => URL_SAFE_NO_PAD.encode(b),
            _ => STANDARD.encode(b),
        };
        PartContent::Raw(s)
    });
    prop_oneof![
        text().prop_map(PartContent::Text),
        raw,
        text().prop_map(PartContent::Url),
        json_value().prop_map(PartContent::Data),
    ]
    .boxed()
}

pub fn part(forms: Base64Forms) -> BoxedStrategy<Part> {
    (part_content(forms), of(metadata()), of(text()), of(text()))
        .prop_map(|(content, metadata, filename, media_type)| Part {
            content,
            metadata,
            filename,
            media_type,
        })
        .boxed()
}

pub fn message(forms: Base64Forms) -> BoxedStrategy<Message> {
    (
        id(),
        of(text()),
        of(text()),
        role(),
        vec(part(forms), 1..4),
        of(metadata()),
        of(vec(text(), 0..3)),
        of(vec(text(), 0..3)),
    )
        .prop_map(
            |(message_id, context_id, task_id, role, parts, metadata, extensions, refs)| Message {
                message_id,
                context_id,
                task_id,
                role,
                parts,
                metadata,
                extensions,
                reference_task_ids: refs,
            },
        )
        .boxed()
}

pub fn push_config() -> BoxedStrategy<TaskPushNotificationConfig> {
    (
        of(text()),
        of(text()),
        of(id()),
        id(),
        of(text()),
        of((text(), of(text()))),
    )
        .prop_map(
            |(tenant, id, task_id, url, token, auth)| TaskPushNotificationConfig {
                tenant,
                id,
                task_id,
                url,
                token,
                authentication: auth.map(|(scheme, credentials)| AuthenticationInfo {
                    scheme,
                    credentials,
                }),
            },
        )
        .boxed()
}

pub fn configuration() -> BoxedStrategy<SendMessageConfiguration> {
    (
        of(vec(text(), 0..3)),
        of(push_config()),
        of(0..=i32::MAX),
        any::<bool>(),
    )
        .prop_map(
            |(modes, push, history_length, return_immediately)| SendMessageConfiguration {
                accepted_output_modes: modes,
                task_push_notification_config: push,
                history_length,
                return_immediately,
            },
        )
        .boxed()
}

pub fn send_message_request(forms: Base64Forms) -> BoxedStrategy<SendMessageRequest> {
    (
        of(text()),
        message(forms),
        of(configuration()),
        of(metadata()),
    )
        .prop_map(
            |(tenant, message, configuration, metadata)| SendMessageRequest {
                tenant,
                message,
                configuration,
                metadata,
            },
        )
        .boxed()
}

/// An RFC 3339 timestamp in one of its several spellings.
pub fn timestamp() -> BoxedStrategy<String> {
    (
        1970i32..2100,
        1u32..=12,
        1u32..=28,
        0u32..24,
        0u32..60,
        0u32..60,
        of((1usize..=9, 0u32..1_000_000_000)),
        prop_oneof![Just("Z"), Just("+00:00"), Just("+05:30"), Just("-08:00")],
    )
        .prop_map(|(y, mo, d, h, mi, s, frac, zone)| {
            let frac = frac.map_or(String::new(), |(digits, n)| {
                let f = format!("{n:09}");
                format!(".{}", &f[..digits])
            });
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{zone}")
        })
        .boxed()
}

pub fn artifact(forms: Base64Forms) -> BoxedStrategy<Artifact> {
    (
        id(),
        of(text()),
        of(text()),
        vec(part(forms), 1..3),
        of(metadata()),
        of(vec(text(), 0..2)),
    )
        .prop_map(
            |(artifact_id, name, description, parts, metadata, extensions)| Artifact {
                artifact_id,
                name,
                description,
                parts,
                metadata,
                extensions,
            },
        )
        .boxed()
}

/// A task; `with_context` forces a `contextId` (a2a-lf requires one).
pub fn task(forms: Base64Forms, with_context: bool) -> BoxedStrategy<Task> {
    let context = if with_context {
        id().prop_map(Some).boxed()
    } else {
        of(id()).boxed()
    };
    (
        id(),
        context,
        task_state(),
        of(message(forms)),
        of(timestamp()),
        of(vec(artifact(forms), 0..3)),
        of(vec(message(forms), 0..3)),
        of(metadata()),
    )
        .prop_map(
            |(id, context_id, state, message, timestamp, artifacts, history, metadata)| Task {
                id,
                context_id,
                status: TaskStatus {
                    state,
                    message,
                    timestamp,
                },
                artifacts,
                history,
                metadata,
            },
        )
        .boxed()
}

pub fn stream_response(forms: Base64Forms) -> BoxedStrategy<StreamResponse> {
    let status = (id(), id(), task_state(), of(timestamp()), of(metadata())).prop_map(
        |(task_id, context_id, state, timestamp, metadata)| {
            StreamResponse::StatusUpdate(TaskStatusUpdateEvent {
                task_id,
                context_id,
                status: TaskStatus {
                    state,
                    message: None,
                    timestamp,
                },
                metadata,
            })
        },
    );
    let artifact_update = (
        id(),
        id(),
        artifact(forms),
        any::<bool>(),
        any::<bool>(),
        of(metadata()),
    )
        .prop_map(
            |(task_id, context_id, artifact, append, last_chunk, metadata)| {
                StreamResponse::ArtifactUpdate(TaskArtifactUpdateEvent {
                    task_id,
                    context_id,
                    artifact,
                    append,
                    last_chunk,
                    metadata,
                })
            },
        );
    prop_oneof![
        task(forms, false).prop_map(StreamResponse::Task),
        message(forms).prop_map(StreamResponse::Message),
        status,
        artifact_update,
    ]
    .boxed()
}

/// A JSON-RPC envelope around `params`.
pub fn envelope(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
}

/// The v1.0 method and params that express a typed request.
pub fn params_of(r: &A2aRequest) -> (&'static str, Value) {
    let v = match r {
        A2aRequest::SendMessage(x) | A2aRequest::SendStreamingMessage(x) => serde_json::to_value(x),
        A2aRequest::GetTask(x) => serde_json::to_value(x),
        A2aRequest::ListTasks(x) => serde_json::to_value(x),
        A2aRequest::CancelTask(x) => serde_json::to_value(x),
        A2aRequest::SubscribeToTask(x) => serde_json::to_value(x),
        A2aRequest::CreatePushConfig(x) => serde_json::to_value(x),
        A2aRequest::GetPushConfig(x) | A2aRequest::DeletePushConfig(x) => serde_json::to_value(x),
        A2aRequest::ListPushConfigs(x) => serde_json::to_value(x),
        A2aRequest::GetExtendedAgentCard(x) => serde_json::to_value(x),
    };
    (r.operation().name(), v.expect("serialise request"))
}

/// Any valid request of any of the eleven operations.
pub fn request(forms: Base64Forms) -> BoxedStrategy<A2aRequest> {
    let get = (of(text()), id(), of(0..=i32::MAX)).prop_map(|(tenant, id, history_length)| {
        A2aRequest::GetTask(GetTaskRequest {
            tenant,
            id,
            history_length,
        })
    });
    let list = (
        of(text()),
        of(text()),
        of(task_state()),
        of(1..=100i32),
        of(text()),
        of(0..=i32::MAX),
        of(timestamp()),
        of(any::<bool>()),
    )
        .prop_map(
            |(tenant, context_id, status, page_size, page_token, history_length, after, inc)| {
                A2aRequest::ListTasks(ListTasksRequest {
                    tenant,
                    context_id,
                    status,
                    page_size,
                    page_token,
                    history_length,
                    status_timestamp_after: after,
                    include_artifacts: inc,
                })
            },
        );
    let cancel = (of(text()), id(), of(metadata())).prop_map(|(tenant, id, metadata)| {
        A2aRequest::CancelTask(CancelTaskRequest {
            tenant,
            id,
            metadata,
        })
    });
    let subscribe = (of(text()), id()).prop_map(|(tenant, id)| {
        A2aRequest::SubscribeToTask(SubscribeToTaskRequest { tenant, id })
    });
    let create = push_config().prop_map(A2aRequest::CreatePushConfig);
    let config_ref =
        (of(text()), id(), id(), any::<bool>()).prop_map(|(tenant, task_id, id, get)| {
            let r = PushConfigRef {
                tenant,
                task_id,
                id,
            };
            if get {
                A2aRequest::GetPushConfig(r)
            } else {
                A2aRequest::DeletePushConfig(r)
            }
        });
    let list_configs = (of(text()), id(), of(1..=100i32), of(text())).prop_map(
        |(tenant, task_id, page_size, page_token)| {
            A2aRequest::ListPushConfigs(ListPushConfigsRequest {
                tenant,
                task_id,
                page_size,
                page_token,
            })
        },
    );
    let card = of(text()).prop_map(|tenant| {
        A2aRequest::GetExtendedAgentCard(GetExtendedAgentCardRequest { tenant })
    });
    prop_oneof![
        send_message_request(forms)
            .prop_map(A2aRequest::SendMessage)
            .boxed(),
        send_message_request(forms)
            .prop_map(A2aRequest::SendStreamingMessage)
            .boxed(),
        get.boxed(),
        list.boxed(),
        cancel.boxed(),
        subscribe.boxed(),
        create.boxed(),
        config_ref.boxed(),
        list_configs.boxed(),
        card.boxed(),
    ]
    .boxed()
}
