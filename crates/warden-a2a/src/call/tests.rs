use http::{HeaderMap, HeaderValue, Method};
use serde_json::json;

use super::*;
use crate::JsonLimits;

fn headers(pairs: &[(&'static str, &'static [u8])]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, HeaderValue::from_bytes(v).expect("header value"));
    }
    h
}

fn send_body() -> Vec<u8> {
    json!({"jsonrpc": "2.0", "id": 9, "method": "SendMessage", "params": {"message": {
        "role": "ROLE_USER", "messageId": "m", "parts": [{"text": "hi"}]}}})
    .to_string()
    .into_bytes()
}

#[test]
fn the_binding_comes_from_method_and_path() {
    assert_eq!(binding_of(&Method::POST, ""), Binding::JsonRpc);
    assert_eq!(binding_of(&Method::POST, "/"), Binding::JsonRpc);
    assert_eq!(binding_of(&Method::POST, "/message:send"), Binding::Rest);
    assert_eq!(binding_of(&Method::GET, ""), Binding::Rest);
}

#[test]
fn a_call_is_read_with_its_version_and_extensions() {
    let body = send_body();
    let h = headers(&[
        ("content-type", b"application/json"),
        ("a2a-version", b"1.0"),
        ("a2a-extensions", b"urn:a, urn:b"),
    ]);
    let req = HttpRequest {
        method: &Method::POST,
        path: "",
        query: None,
        headers: &h,
        body: &body,
    };
    let call = read(&req, Binding::JsonRpc, JsonLimits::default()).expect("read");
    assert_eq!(call.requested, ProtocolVersion::V1_0);
    assert_eq!(call.op.requested_extensions, ["urn:a", "urn:b"]);
    assert_eq!(call.op.jsonrpc_id, Some(json!(9)));
}

#[test]
fn unreadable_or_doubled_headers_are_refused_not_skipped() {
    let body = send_body();
    for (h, what) in [
        (
            headers(&[
                ("content-type", b"application/json"),
                ("a2a-version", b"1.0"),
                ("a2a-version", b"0.3"),
            ]),
            "two versions",
        ),
        (
            headers(&[
                ("content-type", b"application/json"),
                ("a2a-version", b"\xff"),
            ]),
            "unreadable version",
        ),
        (
            headers(&[
                ("content-type", b"application/json"),
                ("content-type", b"text/plain"),
            ]),
            "two content types",
        ),
        (
            headers(&[("content-type", b"application/json\xff")]),
            "unreadable content type",
        ),
        (
            headers(&[
                ("content-type", b"application/json"),
                ("x-a2a-extensions", b"urn:\xff"),
            ]),
            "unreadable extensions",
        ),
    ] {
        let req = HttpRequest {
            method: &Method::POST,
            path: "",
            query: None,
            headers: &h,
            body: &body,
        };
        assert!(
            read(&req, Binding::JsonRpc, JsonLimits::default()).is_err(),
            "{what}"
        );
    }
    // An extension header refusal still echoes the JSON-RPC id.
    let h = headers(&[
        ("content-type", b"application/json"),
        ("a2a-extensions", b"\xff"),
    ]);
    let req = HttpRequest {
        method: &Method::POST,
        path: "",
        query: None,
        headers: &h,
        body: &body,
    };
    let r = read(&req, Binding::JsonRpc, JsonLimits::default()).expect_err("refused");
    assert_eq!(r.jsonrpc_id, json!(9));
}

#[test]
fn the_version_comes_from_one_header_or_one_query_parameter() {
    let none = HeaderMap::new();
    assert_eq!(
        requested_version(&none, None).ok(),
        Some(ProtocolVersion::V0_3)
    );
    assert_eq!(
        requested_version(&none, Some("x=1&A2A-Version=1.0")).ok(),
        Some(ProtocolVersion::V1_0)
    );
    assert!(requested_version(&none, Some("A2A-Version=1.0&A2A-Version=0.3")).is_err());
    let bad = headers(&[("a2a-version", b"\xff")]);
    assert!(
        requested_version(&bad, Some("A2A-Version=1.0")).is_err(),
        "unreadable header is not skipped for the query"
    );
}
