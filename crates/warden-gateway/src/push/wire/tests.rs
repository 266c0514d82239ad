use http::Method;
use serde_json::{Value, json};
use warden_a2a::{JsonLimits, ProtocolVersion, RestRequest, parse_jsonrpc, parse_rest};

use super::*;

fn rpc(body: &Value, version: ProtocolVersion) -> A2aOp {
    parse_jsonrpc(body.to_string().as_bytes(), version, JsonLimits::default())
        .expect("parse")
        .op
}

fn rest(method: &Method, path: &str, body: &Value, version: ProtocolVersion) -> A2aOp {
    let bytes = body.to_string();
    parse_rest(
        RestRequest {
            method,
            path,
            query: None,
            body: bytes.as_bytes(),
        },
        version,
        JsonLimits::default(),
    )
    .expect("parse")
    .op
}

const V1: ProtocolVersion = ProtocolVersion::V1_0;
const V03: ProtocolVersion = ProtocolVersion::V0_3;

#[test]
fn a_v1_create_is_read_and_given_the_relay() {
    let mut body = json!({"jsonrpc": "2.0", "id": 1, "method": "CreateTaskPushNotificationConfig",
        "params": {"taskId": "t1", "url": "https://hooks.example.com/a", "token": "tok",
                   "authentication": {"scheme": "Bearer", "credentials": "cred"}}});
    let op = rpc(&body, V1);
    let c = config_mut(&mut body, &op).expect("config");
    let r = read(c, op.task_id.as_deref()).expect("read");
    assert_eq!(
        r,
        Registered {
            url: "https://hooks.example.com/a".into(),
            id: None,
            task_id: Some("t1".into()),
            token: Some("tok".into()),
            scheme: Some("Bearer".into()),
            credentials: Some("cred".into()),
        }
    );
    give_agent(c, V1, "https://warden/push/sub_1", "wpr_x", "cfg");
    assert_eq!(body["params"]["url"], "https://warden/push/sub_1");
    assert_eq!(body["params"]["token"], "wpr_x");
    assert_eq!(body["params"]["id"], "cfg");
    assert_eq!(body["params"]["authentication"]["credentials"], "wpr_x");
    // What the agent gets still parses as the same operation.
    assert_eq!(rpc(&body, V1).push_urls, ["https://warden/push/sub_1"]);
}

#[test]
fn v03_configs_are_found_in_both_bindings_and_in_messages() {
    let mut set = json!({"jsonrpc": "2.0", "id": 1, "method": "tasks/pushNotificationConfig/set",
        "params": {"taskId": "t1", "pushNotificationConfig": {"url": "https://h.example.com/",
            "authentication": {"schemes": ["Basic"], "credentials": "c"}}}});
    let op = rpc(&set, V03);
    let c = config_mut(&mut set, &op).expect("config");
    let r = read(c, op.task_id.as_deref()).expect("read");
    assert_eq!(r.scheme.as_deref(), Some("Basic"));
    assert_eq!(r.task_id.as_deref(), Some("t1"));
    give_agent(c, V03, "https://warden/push/s", "wpr_y", "t1");
    assert_eq!(
        set["params"]["pushNotificationConfig"]["authentication"],
        json!({"schemes": ["Bearer"], "credentials": "wpr_y"})
    );
    rpc(&set, V03);

    let mut send = json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "hi"}]},
        "configuration": {"taskPushNotificationConfig": {"url": "https://h.example.com/x"}}});
    let op = rest(&Method::POST, "/message:send", &send, V1);
    let c = config_mut(&mut send, &op).expect("config");
    assert_eq!(read(c, None).expect("read").task_id, None);

    let mut create = json!({"url": "https://h.example.com/y", "token": "t"});
    let op = rest(
        &Method::POST,
        "/tasks/t9/pushNotificationConfigs",
        &create,
        V1,
    );
    let c = config_mut(&mut create, &op).expect("config");
    assert_eq!(
        read(c, op.task_id.as_deref())
            .expect("read")
            .task_id
            .as_deref(),
        Some("t9")
    );
}

#[test]
fn the_caller_view_has_no_secret_and_renders_per_dialect() {
    let r = Registered {
        url: "https://h.example.com/".into(),
        task_id: Some("t1".into()),
        token: Some("tok".into()),
        scheme: Some("Bearer".into()),
        credentials: Some("cred".into()),
        ..Registered::default()
    };
    let view = caller_view(&r, "cfg");
    let text = view.to_string();
    assert!(!text.contains("tok") && !text.contains("cred"), "{text}");
    assert_eq!(
        render(&view, "t1", V1),
        json!({"taskId": "t1", "id": "cfg", "url": "https://h.example.com/", "authentication": {"scheme": "Bearer"}})
    );
    assert_eq!(
        render(&view, "t1", V03),
        json!({"taskId": "t1", "pushNotificationConfig": {"id": "cfg", "url": "https://h.example.com/", "authentication": {"schemes": ["Bearer"]}}})
    );
}

#[test]
fn an_agents_create_answer_shows_the_caller_their_own_config() {
    let op = rpc(
        &json!({"jsonrpc": "2.0", "id": 7, "method": "CreateTaskPushNotificationConfig",
            "params": {"taskId": "t1", "url": "https://h.example.com/"}}),
        V1,
    );
    let mut answer = json!({"jsonrpc": "2.0", "id": 7, "result": {"taskId": "t1", "id": "cfg",
        "url": "https://warden/push/sub", "token": "wpr_x",
        "authentication": {"scheme": "Bearer", "credentials": "wpr_x"}}});
    let r = Registered {
        url: "https://h.example.com/".into(),
        ..Registered::default()
    };
    show_caller(answer_config_mut(&mut answer, &op).expect("config"), &r, V1);
    assert_eq!(
        answer["result"],
        json!({"taskId": "t1", "id": "cfg", "url": "https://h.example.com/"})
    );
}

#[test]
fn the_task_of_a_message_answer_is_found_in_either_dialect() {
    assert_eq!(
        answered_task(&json!({"task": {"id": "t1"}}), Binding::Rest).as_deref(),
        Some("t1")
    );
    assert_eq!(
        answered_task(
            &json!({"jsonrpc": "2.0", "id": 1, "result": {"kind": "task", "id": "t2"}}),
            Binding::JsonRpc
        )
        .as_deref(),
        Some("t2")
    );
    assert_eq!(
        answered_task(&json!({"message": {"messageId": "m"}}), Binding::Rest),
        None
    );
}
