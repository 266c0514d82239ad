use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};
use warden_a2a::{A2aOp, Binding, JsonLimits, ProtocolVersion, parse_jsonrpc};

use super::*;

fn op(method: &str, params: Value) -> A2aOp {
    let body = json!({"jsonrpc": "2.0", "id": 5, "method": method, "params": params});
    parse_jsonrpc(
        body.to_string().as_bytes(),
        ProtocolVersion::V1_0,
        JsonLimits::default(),
    )
    .expect("a valid call")
    .op
}

fn json_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    h
}

fn check(op: &A2aOp, body: Value) -> Result<(), Invalid> {
    check_answer(
        op,
        StatusCode::OK,
        &json_headers(),
        body.to_string().as_bytes(),
        JsonLimits::default(),
    )
}

fn rpc(result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 5, "result": result})
}

#[test]
fn the_task_asked_for_passes_and_another_does_not() {
    let get = op("GetTask", json!({"id": "t1"}));
    let t = |id: &str| json!({"id": id, "status": {"state": "TASK_STATE_WORKING"}, "extra": 1});
    assert_eq!(check(&get, rpc(t("t1"))), Ok(()));
    assert!(check(&get, rpc(t("t2"))).is_err());
    assert!(check(&get, rpc(json!({"id": "t1", "status": {"state": "done"}}))).is_err());
    assert!(check(&get, rpc(json!({"status": {}}))).is_err());
    // An agent's error passes when it is one.
    let err = json!({"jsonrpc": "2.0", "id": 5, "error": {"code": -32001, "message": "gone"}});
    assert_eq!(check(&get, err), Ok(()));
    let bad = json!({"jsonrpc": "2.0", "id": 5, "error": {"message": "no code"}});
    assert!(check(&get, bad).is_err());
}

#[test]
fn the_envelope_must_answer_this_call() {
    let send = op(
        "SendMessage",
        json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "x"}]}}),
    );
    let task = json!({"task": {"id": "new"}});
    assert_eq!(check(&send, rpc(task.clone())), Ok(()));
    for bad in [
        json!({"jsonrpc": "2.0", "id": 6, "result": task}),
        json!({"jsonrpc": "1.0", "id": 5, "result": task}),
        json!({"jsonrpc": "2.0", "id": 5}),
        json!({"jsonrpc": "2.0", "id": 5, "result": task, "error": {"code": 1, "message": "x"}}),
        rpc(json!({"task": {"id": "a"}, "message": {"messageId": "m"}})),
        rpc(json!({})),
        json!([1]),
    ] {
        assert!(check(&send, bad.clone()).is_err(), "{bad}");
    }
}

#[test]
fn a_message_continuing_a_task_is_answered_for_that_task() {
    let cont = op(
        "SendMessage",
        json!({"message": {"messageId": "m", "taskId": "t1", "role": "ROLE_USER", "parts": [{"text": "x"}]}}),
    );
    assert_eq!(check(&cont, rpc(json!({"task": {"id": "t1"}}))), Ok(()));
    assert!(check(&cont, rpc(json!({"task": {"id": "t9"}}))).is_err());
    assert_eq!(
        check(&cont, rpc(json!({"message": {"messageId": "r"}}))),
        Ok(())
    );
    assert!(
        check(
            &cont,
            rpc(json!({"message": {"messageId": "r", "taskId": "t9"}}))
        )
        .is_err()
    );
}

#[test]
fn content_type_json_and_emptiness() {
    let get = op("GetTask", json!({"id": "t1"}));
    let body = rpc(json!({"id": "t1"})).to_string();
    let mut html = HeaderMap::new();
    html.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    let limits = JsonLimits::default();
    assert!(check_answer(&get, StatusCode::OK, &html, body.as_bytes(), limits).is_err());
    assert!(
        check_answer(
            &get,
            StatusCode::OK,
            &json_headers(),
            b"{\"a\":1,\"a\":2}",
            limits
        )
        .is_err()
    );
    assert!(check_answer(&get, StatusCode::OK, &json_headers(), b"", limits).is_err());
    // A REST delete may answer nothing; a REST error may be empty too.
    let mut del = get.clone();
    del.binding = Binding::Rest;
    del.operation = warden_a2a::Operation::DeletePushConfig;
    assert_eq!(
        check_answer(&del, StatusCode::OK, &HeaderMap::new(), b"", limits),
        Ok(())
    );
    assert_eq!(
        check_answer(&del, StatusCode::NOT_FOUND, &HeaderMap::new(), b"", limits),
        Ok(())
    );
}

#[test]
fn v03_answers_are_held_to_json_and_the_envelope_only() {
    let mut old = op("GetTask", json!({"id": "t1"}));
    old.dialect = ProtocolVersion::V0_3;
    assert_eq!(
        check(
            &old,
            rpc(json!({"kind": "task", "id": "t1", "status": {"state": "working"}}))
        ),
        Ok(())
    );
    assert!(check(&old, json!({"jsonrpc": "2.0", "id": 9, "result": {}})).is_err());
}

#[test]
fn stream_events_stay_on_one_task() {
    let s = op(
        "SendStreamingMessage",
        json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "x"}]}}),
    );
    let mut c = EventCheck::new(&s, JsonLimits::default());
    let ev = |r: Value| format!("data: {}\n\n", rpc(r)).into_bytes();
    assert_eq!(c.check(b": keep-alive\n\n"), Ok(()));
    assert_eq!(
        c.check(&ev(
            json!({"task": {"id": "t1", "status": {"state": "TASK_STATE_SUBMITTED"}}})
        )),
        Ok(())
    );
    assert_eq!(
        c.check(&ev(
            json!({"artifactUpdate": {"taskId": "t1", "artifact": {}}})
        )),
        Ok(())
    );
    assert!(
        c.check(&ev(json!({"statusUpdate": {"taskId": "t2"}})))
            .is_err()
    );
    assert!(
        c.check(&ev(
            json!({"statusUpdate": {"taskId": "t1"}, "task": {"id": "t1"}})
        ))
        .is_err()
    );
    assert!(c.check(b"data: {not json\n\n").is_err());
    let err = format!(
        "data: {}\n\n",
        json!({"jsonrpc": "2.0", "id": 5, "error": {"code": -32001, "message": "x"}})
    );
    assert_eq!(c.check(err.as_bytes()), Ok(()));
}

#[test]
fn checked_events_relay_whole_events_and_end_with_an_error() {
    let s = op("SubscribeToTask", json!({"id": "t1"}));
    let mut c = CheckedEvents::new(EventCheck::new(&s, JsonLimits::default()), "a", None);
    let good = format!(
        "data: {}\n\n",
        rpc(json!({"statusUpdate": {"taskId": "t1"}}))
    );
    // Half an event: nothing yet; the rest: the whole event.
    let (out, end) = c.feed(&good.as_bytes()[..10], 1024);
    assert!(out.is_empty() && !end);
    let (out, end) = c.feed(&good.as_bytes()[10..], 1024);
    assert_eq!(out, good.as_bytes());
    assert!(!end);
    let bad = format!(
        "data: {}\n\n",
        rpc(json!({"statusUpdate": {"taskId": "t2"}}))
    );
    let (out, end) = c.feed(bad.as_bytes(), 1024);
    assert!(end);
    let text = String::from_utf8(out.to_vec()).expect("utf-8");
    assert!(text.contains("-32006") && !text.contains("t2"), "{text}");
    // Over the cap before its end: an error, nothing of it relayed.
    let mut c = CheckedEvents::new(EventCheck::new(&s, JsonLimits::default()), "a", None);
    let (out, end) = c.feed(&[b'x'; 2000], 1024);
    assert!(end);
    assert!(!out.contains(&b'x'));
}
