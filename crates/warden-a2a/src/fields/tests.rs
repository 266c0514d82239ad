use http::Method;
use serde_json::{Value, json};

use crate::fields::{ReadRules, UnknownFields};
use crate::json::JsonLimits;
use crate::{A2aRequest, ProtocolVersion, RestRequest, parse_jsonrpc, parse_rest};

fn rules(unknown_fields: UnknownFields) -> ReadRules {
    ReadRules {
        json: JsonLimits::default(),
        unknown_fields,
    }
}

fn rpc(body: Value, unknown: UnknownFields) -> Result<crate::ParsedCall, String> {
    parse_jsonrpc(
        body.to_string().as_bytes(),
        ProtocolVersion::V1_0,
        rules(unknown),
    )
    .map_err(|r| r.error.message)
}

fn forwarded(call: &crate::ParsedCall) -> Value {
    serde_json::from_slice(call.rewrite.body.as_ref().expect("a rewritten body")).expect("accepted")
}

fn send(params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 7, "method": "SendMessage", "params": params})
}

#[test]
fn proto_names_are_read_and_forwarded_as_json_names() {
    let call = rpc(
        send(json!({"message": {
            "message_id": "m1", "context_id": "c1", "role": "ROLE_USER",
            "parts": [{"text": "hi", "media_type": "text/plain"}],
            "reference_task_ids": ["t0"]
        }, "configuration": {"history_length": 2, "return_immediately": true,
            "accepted_output_modes": ["text/plain"]}})),
        UnknownFields::Refuse,
    )
    .expect("accepted");
    let A2aRequest::SendMessage(r) = &call.request else {
        panic!("{call:?}")
    };
    assert_eq!(r.message.message_id, "m1");
    assert_eq!(r.message.context_id.as_deref(), Some("c1"));
    assert_eq!(
        r.configuration.as_ref().expect("accepted").history_length,
        Some(2)
    );
    let out = forwarded(&call);
    let m = &out["params"]["message"];
    assert_eq!(m["messageId"], "m1");
    assert_eq!(m["contextId"], "c1");
    assert_eq!(m["referenceTaskIds"], json!(["t0"]));
    assert_eq!(m["parts"][0]["mediaType"], "text/plain");
    assert!(m.get("message_id").is_none() && m.get("context_id").is_none());
    assert_eq!(out["params"]["configuration"]["historyLength"], 2);
    assert_eq!(out["id"], 7);
    assert_eq!(out["method"], "SendMessage");
    assert!(call.rewrite.dropped.is_empty());
}

#[test]
fn a_canonical_call_is_forwarded_as_it_came() {
    let call = rpc(
        send(json!({"message": {"messageId": "m1", "role": "ROLE_USER",
            "parts": [{"text": "hi"}]}})),
        UnknownFields::Drop,
    )
    .expect("accepted");
    assert_eq!(call.rewrite, crate::Rewrite::default());
}

#[test]
fn both_spellings_of_one_field_are_refused() {
    let err = rpc(
        json!({"jsonrpc": "2.0", "id": 1, "method": "GetTask",
            "params": {"id": "t1", "historyLength": 1, "history_length": 5}}),
        UnknownFields::Drop,
    )
    .expect_err("refused");
    assert!(err.contains("historyLength is given twice"), "{err}");
    let err = rpc(
        send(
            json!({"message": {"messageId": "m", "message_id": "n", "role": "ROLE_USER",
            "parts": [{"text": "hi"}]}}),
        ),
        UnknownFields::Refuse,
    )
    .expect_err("refused");
    assert!(err.contains("message.messageId is given twice"), "{err}");
}

#[test]
fn unknown_fields_are_refused_by_default_and_dropped_on_request() {
    let body = send(json!({"message": {"messageId": "m1", "role": "ROLE_USER",
        "parts": [{"text": "hi", "shiny": 1}], "futureField": {"x": 1}},
        "topLevelNew": true}));
    let err = rpc(body.clone(), UnknownFields::Refuse).expect_err("refused");
    assert!(err.contains("unknown field"), "{err}");
    let call = rpc(body, UnknownFields::Drop).expect("accepted");
    assert_eq!(
        call.rewrite.dropped,
        [
            "topLevelNew",
            "message.futureField",
            "message.parts[0].shiny"
        ]
    );
    let out = forwarded(&call);
    assert_eq!(
        out["params"],
        json!({"message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}]}})
    );
}

#[test]
fn free_form_fields_are_never_renamed_or_dropped() {
    let meta = json!({"snake_key": 1, "anything": {"task_id": "x"}});
    let call = rpc(
        send(
            json!({"message": {"messageId": "m1", "role": "ROLE_USER", "metadata": meta,
            "parts": [{"data": {"page_size": 3}, "metadata": meta}]}, "metadata": meta,
            "unknownOne": 1}),
        ),
        UnknownFields::Drop,
    )
    .expect("accepted");
    let out = forwarded(&call);
    assert_eq!(out["params"]["metadata"], meta);
    assert_eq!(out["params"]["message"]["metadata"], meta);
    assert_eq!(out["params"]["message"]["parts"][0]["metadata"], meta);
    assert_eq!(
        out["params"]["message"]["parts"][0]["data"],
        json!({"page_size": 3})
    );
}

#[test]
fn enum_numbers_become_names_and_unknown_numbers_are_refused() {
    let call = rpc(
        send(json!({"message": {"messageId": "m1", "role": 1, "parts": [{"text": "hi"}]}})),
        UnknownFields::Refuse,
    )
    .expect("accepted");
    assert_eq!(forwarded(&call)["params"]["message"]["role"], "ROLE_USER");
    let call = rpc(
        json!({"jsonrpc": "2.0", "id": 1, "method": "ListTasks", "params": {"status": 3}}),
        UnknownFields::Refuse,
    )
    .expect("accepted");
    assert_eq!(forwarded(&call)["params"]["status"], "TASK_STATE_COMPLETED");
    let err = rpc(
        send(json!({"message": {"messageId": "m1", "role": 9, "parts": [{"text": "hi"}]}})),
        UnknownFields::Drop,
    )
    .expect_err("refused");
    assert!(err.contains("role"), "{err}");
}

#[test]
fn every_operation_takes_proto_names() {
    let cases = [
        (
            "ListTasks",
            json!({"context_id": "c", "page_size": 5, "page_token": "p",
            "history_length": 1, "include_artifacts": true,
            "status_timestamp_after": "2026-01-01T00:00:00Z"}),
        ),
        ("GetTask", json!({"id": "t", "history_length": 2})),
        (
            "CreateTaskPushNotificationConfig",
            json!({"task_id": "t", "url": "https://h.example/x",
            "authentication": {"scheme": "Bearer"}}),
        ),
        (
            "GetTaskPushNotificationConfig",
            json!({"task_id": "t", "id": "c"}),
        ),
        (
            "DeleteTaskPushNotificationConfig",
            json!({"task_id": "t", "id": "c"}),
        ),
        (
            "ListTaskPushNotificationConfigs",
            json!({"task_id": "t", "page_size": 3, "page_token": "x"}),
        ),
    ];
    for (method, params) in cases {
        let call = rpc(
            json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}),
            UnknownFields::Refuse,
        )
        .unwrap_or_else(|e| panic!("{method}: {e}"));
        let out = forwarded(&call);
        let keys: Vec<&String> = out["params"]
            .as_object()
            .expect("accepted")
            .keys()
            .collect();
        assert!(keys.iter().all(|k| !k.contains('_')), "{method}: {keys:?}");
    }
}

#[test]
fn v03_bodies_stay_strict() {
    let err = parse_jsonrpc(
        json!({"jsonrpc": "2.0", "id": 1, "method": "tasks/get", "params": {"id": "t", "history_length": 1}})
            .to_string()
            .as_bytes(),
        ProtocolVersion::V0_3,
        rules(UnknownFields::Drop),
    )
    .expect_err("refused");
    assert!(
        err.error.message.contains("unknown field"),
        "{}",
        err.error.message
    );
}

fn rest(
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &str,
    unknown: UnknownFields,
) -> Result<crate::ParsedCall, String> {
    parse_rest(
        RestRequest {
            method,
            path,
            query,
            body: body.as_bytes(),
        },
        ProtocolVersion::V1_0,
        rules(unknown),
    )
    .map_err(|e| e.message)
}

#[test]
fn rest_query_takes_proto_names_and_forwards_json_names() {
    let call = rest(
        &Method::GET,
        "/tasks",
        Some("context_id=c%201&page_size=5&status=2&A2A-Version=1.0"),
        "",
        UnknownFields::Refuse,
    )
    .expect("accepted");
    let A2aRequest::ListTasks(r) = &call.request else {
        panic!()
    };
    assert_eq!(r.context_id.as_deref(), Some("c 1"));
    assert_eq!(r.page_size, Some(5));
    assert_eq!(
        call.rewrite.query.as_deref(),
        Some("contextId=c%201&pageSize=5&status=TASK_STATE_WORKING&A2A-Version=1.0")
    );
    let err = rest(
        &Method::GET,
        "/tasks",
        Some("pageSize=1&page_size=2"),
        "",
        UnknownFields::Drop,
    )
    .expect_err("refused");
    assert!(err.contains("more than once"), "{err}");
    let err = rest(
        &Method::GET,
        "/tasks/t1",
        Some("historyLength=1&debug=1"),
        "",
        UnknownFields::Refuse,
    )
    .expect_err("refused");
    assert!(err.contains("unknown query parameter"), "{err}");
    let call = rest(
        &Method::GET,
        "/tasks/t1",
        Some("historyLength=1&debug=1"),
        "",
        UnknownFields::Drop,
    )
    .expect("accepted");
    assert_eq!(call.rewrite.query.as_deref(), Some("historyLength=1"));
    assert_eq!(call.rewrite.dropped, ["query.debug"]);
    let canonical = rest(
        &Method::GET,
        "/tasks",
        Some("pageSize=5"),
        "",
        UnknownFields::Drop,
    )
    .expect("accepted");
    assert_eq!(canonical.rewrite, crate::Rewrite::default());
}

#[test]
fn rest_bodies_take_proto_names_and_path_values_still_must_agree() {
    let call = rest(
        &Method::POST,
        "/tasks/t1/pushNotificationConfigs",
        None,
        r#"{"task_id": "t1", "url": "https://h.example/x", "extra": 1}"#,
        UnknownFields::Drop,
    )
    .expect("accepted");
    let out: Value =
        serde_json::from_slice(call.rewrite.body.as_ref().expect("accepted")).expect("accepted");
    assert_eq!(out, json!({"taskId": "t1", "url": "https://h.example/x"}));
    let err = rest(
        &Method::POST,
        "/tasks/t1/pushNotificationConfigs",
        None,
        r#"{"task_id": "t2", "url": "https://h.example/x"}"#,
        UnknownFields::Refuse,
    )
    .expect_err("refused");
    assert!(err.contains("does not match the path"), "{err}");
    let call = rest(
        &Method::POST,
        "/message:send",
        None,
        r#"{"message": {"message_id": "m", "role": "ROLE_USER", "parts": [{"text": "x"}]}}"#,
        UnknownFields::Refuse,
    )
    .expect("accepted");
    let out: Value =
        serde_json::from_slice(call.rewrite.body.as_ref().expect("accepted")).expect("accepted");
    assert_eq!(out["message"]["messageId"], "m");
}
