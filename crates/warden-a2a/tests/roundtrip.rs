//! Property tests: valid v1.0 objects survive serialise → strict parse
//! unchanged, and no input makes a parser panic.

// `Refusal` is large; the helpers below return it as the crate does.
#![allow(clippy::result_large_err)]

mod strategies;

use http::Method;
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use serde_json::{Value, json};
use strategies::*;
use warden_a2a::json::parse_strict;
use warden_a2a::sse::SseDecoder;
use warden_a2a::types::*;
use warden_a2a::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

fn parse_v1(body: &[u8]) -> Result<ParsedCall, Refusal> {
    parse_jsonrpc(body, ProtocolVersion::V1_0, JsonLimits::default())
}

fn to_bytes(v: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(v).expect("serialise")
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn message_roundtrips_through_serde(m in message(Base64Forms::All)) {
        let v = serde_json::to_value(&m).expect("serialise");
        let back: Message = serde_json::from_value(v.clone()).expect("parse back");
        prop_assert_eq!(&back, &m);
        // And through the strict reader's bytes.
        let strict = parse_strict(&to_bytes(&v), JsonLimits::default()).expect("strict");
        prop_assert_eq!(serde_json::from_value::<Message>(strict).expect("typed"), m);
    }

    #[test]
    fn send_message_roundtrips_through_jsonrpc(
        r in send_message_request(Base64Forms::All),
        streaming in any::<bool>(),
    ) {
        let method = if streaming { "SendStreamingMessage" } else { "SendMessage" };
        let params = serde_json::to_value(&r).expect("serialise");
        let call = parse_v1(&to_bytes(&envelope(method, params))).expect("accepted");
        let expected = if streaming {
            A2aRequest::SendStreamingMessage(r.clone())
        } else {
            A2aRequest::SendMessage(r.clone())
        };
        prop_assert_eq!(&call.request, &expected);
        prop_assert_eq!(call.op.message_id.as_deref(), Some(r.message.message_id.as_str()));
        prop_assert_eq!(&call.op.task_id, &r.message.task_id);
        prop_assert_eq!(&call.op.context_id, &r.message.context_id);
        prop_assert_eq!(&call.op.tenant, &r.tenant);
        prop_assert_eq!(call.op.parts.len(), r.message.parts.len());
        for (summary, part) in call.op.parts.iter().zip(&r.message.parts) {
            let (kind, url) = match &part.content {
                PartContent::Text(_) => (PartKind::Text, None),
                PartContent::Raw(_) => (PartKind::Raw, None),
                PartContent::Url(u) => (PartKind::Url, Some(u.clone())),
                PartContent::Data(_) => (PartKind::Data, None),
            };
            prop_assert_eq!(summary.kind, kind);
            prop_assert_eq!(&summary.url, &url);
            prop_assert_eq!(&summary.media_type, &part.media_type);
        }
        let push: Vec<String> = r
            .configuration
            .iter()
            .filter_map(|c| c.task_push_notification_config.as_ref())
            .map(|p| p.url.clone())
            .collect();
        prop_assert_eq!(&call.op.push_urls, &push);
        prop_assert_eq!(
            call.op.return_immediately,
            r.configuration.as_ref().is_some_and(|c| c.return_immediately)
        );
    }

    #[test]
    fn send_message_roundtrips_through_rest(r in send_message_request(Base64Forms::All)) {
        let body = to_bytes(&r);
        let call = parse_rest(
            RestRequest { method: &Method::POST, path: "/message:send", query: None, body: &body },
            ProtocolVersion::V1_0,
            JsonLimits::default(),
        )
        .expect("accepted");
        prop_assert_eq!(call.request, A2aRequest::SendMessage(r));
    }

    #[test]
    fn every_request_roundtrips_through_jsonrpc(r in request(Base64Forms::All)) {
        let (method, params) = params_of(&r);
        let call = parse_v1(&to_bytes(&envelope(method, params))).expect("accepted");
        prop_assert_eq!(call.op.operation, r.operation());
        prop_assert_eq!(call.op.tenant.as_deref(), r.tenant());
        prop_assert_eq!(call.request, r);
    }

    #[test]
    fn task_roundtrips(t in task(Base64Forms::All, false)) {
        let v = serde_json::to_value(&t).expect("serialise");
        let strict = parse_strict(&to_bytes(&v), JsonLimits::default()).expect("strict");
        prop_assert_eq!(&strict, &v);
        let back: Task = serde_json::from_value(strict).expect("parse back");
        prop_assert_eq!(back, t);
    }

    #[test]
    fn stream_response_roundtrips(e in stream_response(Base64Forms::All)) {
        let v = serde_json::to_value(&e).expect("serialise");
        prop_assert_eq!(v.as_object().map(|o| o.len()), Some(1), "a oneof has one key");
        let back: StreamResponse = serde_json::from_value(v).expect("parse back");
        prop_assert_eq!(back, e);
    }

    /// v1.0 → v0.3 (as answered to v0.3 callers) → v0.3 reader → v1.0 is the
    /// identity for messages v0.3 can express.
    #[test]
    fn message_roundtrips_through_the_v03_dialect(m in message(Base64Forms::All)) {
        let m = v03_expressible(m);
        let wire = v03::message_to_v03(&m);
        let body = to_bytes(&envelope("message/send", json!({"message": wire})));
        let call = parse_v1(&body).expect("v0.3 form accepted");
        prop_assert_eq!(call.op.dialect, ProtocolVersion::V0_3);
        let A2aRequest::SendMessage(r) = call.request else {
            return Err(TestCaseError::fail("not a SendMessage"));
        };
        prop_assert_eq!(r.message, m);
    }

    // ---- no input makes a parser panic ----

    #[test]
    fn jsonrpc_never_panics_on_bytes(body in vec(any::<u8>(), 0..512)) {
        let _ = parse_v1(&body);
    }

    #[test]
    fn jsonrpc_never_panics_on_token_soup(body in token_soup()) {
        let _ = parse_v1(body.as_bytes());
        let _ = parse_jsonrpc(body.as_bytes(), ProtocolVersion::V0_3, JsonLimits { max_depth: 4, max_string_bytes: 8 });
    }

    /// Any method with any params: no panic, and whatever is accepted means the
    /// same thing when written back as v1.0 and read again.
    #[test]
    fn accepted_requests_are_stable(
        method in method_name(),
        params in of(json_value()),
        id in prop_oneof![Just(json!(1)), Just(json!("x")), Just(Value::Null), Just(json!(1.5))],
    ) {
        let mut env = json!({"jsonrpc": "2.0", "id": id, "method": method});
        if let Some(p) = params {
            env["params"] = p;
        }
        if let Ok(call) = parse_v1(&to_bytes(&env)) {
            let (m, p) = params_of(&call.request);
            let again = parse_v1(&to_bytes(&envelope(m, p))).expect("re-parse");
            prop_assert_eq!(again.request, call.request);
        }
    }

    #[test]
    fn rest_never_panics(
        method in proptest::sample::select(vec![Method::GET, Method::POST, Method::DELETE, Method::PUT, Method::HEAD]),
        path in rest_path(),
        query in of(query_string()),
        body in prop_oneof![vec(any::<u8>(), 0..128), token_soup().prop_map(String::into_bytes)],
    ) {
        let req = RestRequest { method: &method, path: &path, query: query.as_deref(), body: &body };
        let _ = parse_rest(req, ProtocolVersion::V1_0, JsonLimits::default());
        let _ = warden_a2a::rest::match_route(&method, &path);
    }

    #[test]
    fn rest_never_panics_on_raw_paths(path in "\\PC{0,40}", query in "\\PC{0,40}") {
        let req = RestRequest { method: &Method::GET, path: &path, query: Some(&query), body: b"" };
        let _ = parse_rest(req, ProtocolVersion::V1_0, JsonLimits::default());
    }

    #[test]
    fn strict_json_never_panics(
        body in prop_oneof![vec(any::<u8>(), 0..512), token_soup().prop_map(String::into_bytes)],
        max_depth in 0usize..200,
        max_string_bytes in 0usize..64,
    ) {
        let _ = parse_strict(&body, JsonLimits { max_depth, max_string_bytes });
    }

    /// Without duplicates (impossible in a generated map) the strict reader
    /// reads exactly what serde_json reads.
    #[test]
    fn strict_json_reads_serialised_values_back(v in json_value()) {
        prop_assert_eq!(parse_strict(&to_bytes(&v), JsonLimits::default()).expect("valid"), v.clone());
        let pretty = serde_json::to_vec_pretty(&v).expect("serialise");
        prop_assert_eq!(parse_strict(&pretty, JsonLimits::default()).expect("valid"), v);
    }

    #[test]
    fn sse_never_panics(
        body in vec(any::<u8>(), 0..1024),
        cuts in vec(0usize..1024, 0..8),
        max in 0usize..256,
    ) {
        let mut d = SseDecoder::new(max);
        for chunk in split(&body, &cuts) {
            if d.feed(chunk).is_err() {
                break;
            }
        }
    }

    /// With no size limit in play, how the stream is cut does not change the
    /// events (up to the first error).
    #[test]
    fn sse_chunking_does_not_matter(
        body in prop_oneof![vec(any::<u8>(), 0..512), sse_soup()],
        cuts in vec(0usize..512, 0..8),
    ) {
        let mut whole = SseDecoder::new(1 << 20);
        let all = whole.feed(&body);
        let mut d = SseDecoder::new(1 << 20);
        let mut events = Vec::new();
        let mut failed = false;
        for chunk in split(&body, &cuts) {
            match d.feed(chunk) {
                Ok(e) => events.extend(e),
                Err(_) => { failed = true; break; }
            }
        }
        match all {
            Ok(all) => { prop_assert!(!failed); prop_assert_eq!(all, events); }
            Err(_) => prop_assert!(failed),
        }
    }
}

/// Restricts a message to what v0.3 can say: file fields only on file parts,
/// `data` only as an object, and no unspecified role.
fn v03_expressible(mut m: Message) -> Message {
    if m.role == Role::Unspecified {
        m.role = Role::User;
    }
    for p in &mut m.parts {
        match &mut p.content {
            PartContent::Text(_) => {
                p.filename = None;
                p.media_type = None;
            }
            PartContent::Data(d) => {
                if !d.is_object() {
                    *d = json!({"value": d.take()});
                }
                p.filename = None;
                p.media_type = None;
            }
            PartContent::Raw(_) | PartContent::Url(_) => {}
        }
    }
    m
}

fn split<'a>(body: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut prev = 0;
    for c in cuts {
        out.push(&body[prev..c]);
        prev = c;
    }
    out.push(&body[prev..]);
    out
}

fn method_name() -> impl Strategy<Value = String> {
    let mut names: Vec<String> = warden_a2a::op::ALL_OPERATIONS
        .iter()
        .flat_map(|op| [Some(op.name()), op.v03_method()])
        .flatten()
        .map(str::to_owned)
        .collect();
    names.push("tasks/list".into());
    prop_oneof![proptest::sample::select(names), text()]
}

/// Near-JSON built from the tokens A2A bodies are made of.
fn token_soup() -> impl Strategy<Value = String> {
    let tokens = vec![
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        "\"jsonrpc\"",
        "\"2.0\"",
        "\"id\"",
        "1",
        "-0",
        "1.5",
        "1e400",
        "null",
        "true",
        "\"method\"",
        "\"SendMessage\"",
        "\"message/send\"",
        "\"params\"",
        "\"message\"",
        "\"messageId\"",
        "\"role\"",
        "\"ROLE_USER\"",
        "\"user\"",
        "\"parts\"",
        "\"text\"",
        "\"raw\"",
        "\"url\"",
        "\"data\"",
        "\"kind\"",
        "\"file\"",
        "\"bytes\"",
        "\"AA==\"",
        "\"\\u0000\"",
        "\"\\ud800\"",
        "\"taskId\"",
        "\"task_id\"",
        "\"id\"",
        " ",
        "\"",
        "\\",
        "\u{e9}",
        "\"metadata\"",
    ];
    vec(proptest::sample::select(tokens), 0..64).prop_map(|t| t.concat())
}

fn rest_path() -> impl Strategy<Value = String> {
    let segs = vec![
        "",
        "v1",
        "tasks",
        "t1",
        "t1:cancel",
        "t1:subscribe",
        ":cancel",
        "message:send",
        "message:stream",
        "pushNotificationConfigs",
        "c1",
        "extendedAgentCard",
        "card",
        "acme",
        "%2F",
        "%FF",
        "%3A",
        "a%20b",
        "%",
        "%E2%82",
        "..",
        ".",
        "\u{e9}",
        ":",
    ];
    (
        any::<bool>(),
        vec(
            prop_oneof![
                proptest::sample::select(segs).prop_map(str::to_owned),
                text()
            ],
            0..6,
        ),
    )
        .prop_map(|(lead, s)| format!("{}{}", if lead { "/" } else { "" }, s.join("/")))
}

fn query_string() -> impl Strategy<Value = String> {
    let parts = vec![
        "historyLength=1",
        "historyLength=-1",
        "pageSize=0",
        "pageSize=5",
        "status=TASK_STATE_WORKING",
        "includeArtifacts=true",
        "A2A-Version=1.0",
        "contextId=a+b",
        "x",
        "=",
        "&",
        "%FF=1",
        "a=%",
    ];
    vec(proptest::sample::select(parts), 0..5).prop_map(|p| p.join("&"))
}

fn sse_soup() -> impl Strategy<Value = Vec<u8>> {
    let tokens: Vec<&[u8]> = vec![
        b"data: ",
        b"data:",
        b"event: ",
        b"id: ",
        b": ka",
        b"\n",
        b"\r\n",
        b"\r",
        b"{}",
        b"x",
        b"\xc3\xa9",
        b"\xc3",
        b"retry: 1",
    ];
    vec(proptest::sample::select(tokens), 0..48).prop_map(|t| t.concat())
}
