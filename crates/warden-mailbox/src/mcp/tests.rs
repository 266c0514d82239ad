//! The protocol layer against a fake backend: framing, era selection and
//! negotiation, sessions, the tools' schemas, dispatch and error shapes.

use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use super::backend::{Backend, BoxFuture, FailureKind, ToolFailure};
use super::jsonrpc::{self, Id, Message, code};
use super::record::Outcome;
use super::session::{SessionLimits, SessionRefusal, Sessions};
use super::tools::{self, Tool};
use super::transport::{Caller, Exchange, Headers, Reply, Verb};
use super::{Server, version};

/// Records every call; `send` to `nobody` fails as the mailbox would.
#[derive(Default)]
pub(super) struct Fake {
    calls: Mutex<Vec<Call>>,
}

/// Caller, tool and arguments of one call.
type Call = (String, Tool, Map<String, Value>);

impl Backend for Fake {
    fn call<'a>(
        &'a self,
        caller: &'a str,
        tool: Tool,
        arguments: Map<String, Value>,
    ) -> BoxFuture<'a, Result<Value, ToolFailure>> {
        Box::pin(async move {
            self.calls
                .lock()
                .expect("present")
                .push((caller.to_string(), tool, arguments.clone()));
            if arguments.get("to") == Some(&json!("nobody")) {
                return Err(ToolFailure::new(
                    FailureKind::NotFound,
                    "no such recipient, or it has not granted you",
                ));
            }
            Ok(json!({"tool": tool.name(), "caller": caller}))
        })
    }
}

/// A server with the fake as every exchange's backend.
pub(super) struct Harness {
    server: Server,
    fake: Arc<Fake>,
}

impl Harness {
    pub(super) async fn handle(&self, ex: Exchange<'_>) -> Reply {
        self.server.handle(self.fake.as_ref(), ex).await
    }

    fn sessions(&self) -> usize {
        self.server.sessions()
    }
}

pub(super) fn server() -> (Harness, Arc<Fake>) {
    let fake = Arc::new(Fake::default());
    let server = Server::new(SessionLimits::default(), "0.0.0-test");
    (
        Harness {
            server,
            fake: fake.clone(),
        },
        fake,
    )
}

pub(super) fn alice() -> Caller {
    Caller {
        address: "alice".into(),
        owner: "alice".into(),
    }
}

pub(super) fn meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"}
    })
}

pub(super) const JSON: Headers<'static> = Headers {
    protocol_version: None,
    session_id: None,
    mcp_method: None,
    mcp_name: None,
    accept: Some("application/json, text/event-stream"),
    content_type: Some("application/json"),
};

async fn post(s: &Harness, caller: &Caller, headers: Headers<'_>, body: Value) -> Reply {
    let bytes = body.to_string();
    s.handle(Exchange {
        verb: Verb::Post,
        headers,
        body: bytes.as_bytes(),
        caller,
        now_ms: 1_000,
    })
    .await
}

/// A 2026-07-28 request with every header a conforming client sends.
async fn modern(s: &Harness, method: &str, mut params: Value) -> Reply {
    params["_meta"] = meta();
    let name = params
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let headers = Headers {
        protocol_version: Some("2026-07-28"),
        mcp_method: Some(method),
        mcp_name: name.as_deref(),
        ..JSON
    };
    post(
        s,
        &alice(),
        headers,
        json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}),
    )
    .await
}

fn error_code(r: &Reply) -> i64 {
    r.body.as_ref().expect("present")["error"]["code"]
        .as_i64()
        .expect("present")
}

#[test]
fn framing_reads_one_request_or_notification_and_refuses_the_rest() {
    let m = jsonrpc::read(br#"{"jsonrpc":"2.0","id":"a","method":"tools/list"}"#).expect("present");
    assert_eq!(m.id(), Some(&Id::Str("a".into())));
    let n = jsonrpc::read(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        .expect("present");
    assert!(matches!(n, Message::Notification { .. }));
    let refused: &[(&[u8], i64)] = &[
        (b"{", code::PARSE_ERROR),
        (
            br#"{"jsonrpc":"2.0","id":1,"id":2,"method":"x"}"#,
            code::PARSE_ERROR,
        ),
        (
            br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
            code::INVALID_REQUEST,
        ),
        (
            br#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
            code::INVALID_REQUEST,
        ),
        (
            br#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#,
            code::INVALID_REQUEST,
        ),
        (
            br#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
            code::INVALID_REQUEST,
        ),
        (
            br#"{"jsonrpc":"2.0","id":1,"method":"a b"}"#,
            code::INVALID_REQUEST,
        ),
        (
            br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":[]}"#,
            code::INVALID_REQUEST,
        ),
        (
            br#"{"jsonrpc":"2.0","id":1,"method":"ping","extra":1}"#,
            code::INVALID_REQUEST,
        ),
        (
            br#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
            code::INVALID_REQUEST,
        ),
        (br#"1"#, code::INVALID_REQUEST),
    ];
    for (body, want) in refused {
        let e = jsonrpc::read(body).expect_err("refused");
        assert_eq!(e.error.code, *want, "{}", String::from_utf8_lossy(body));
    }
    // The id is echoed when it could be read.
    let e =
        jsonrpc::read(br#"{"jsonrpc":"2.0","id":9,"method":"ping","x":1}"#).expect_err("refused");
    assert_eq!(e.error.response(e.id.as_ref())["id"], json!(9));
    let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
    assert_eq!(
        jsonrpc::read(deep.as_bytes())
            .expect_err("refused")
            .error
            .code,
        code::PARSE_ERROR
    );
}

#[test]
fn versions_negotiate_to_a_served_revision() {
    assert_eq!(version::negotiate("2025-11-25"), "2025-11-25");
    assert_eq!(version::negotiate("2025-06-18"), "2025-06-18");
    assert_eq!(version::negotiate("2024-11-05"), "2025-11-25");
    assert_eq!(version::negotiate("2026-07-28"), "2025-11-25");
    assert!(version::modern("2026-07-28").is_ok());
    let e = version::modern("2025-11-25").expect_err("refused");
    assert_eq!(e.code, code::UNSUPPORTED_PROTOCOL_VERSION);
    assert_eq!(
        e.data.expect("present")["supported"],
        json!(["2026-07-28", "2025-11-25", "2025-06-18"])
    );
}

#[test]
fn every_tool_has_a_closed_schema_and_a_description() {
    let defs = tools::list();
    assert_eq!(defs.len(), Tool::ALL.len());
    let names: Vec<&str> = defs
        .iter()
        .map(|d| d["name"].as_str().expect("present"))
        .collect();
    for want in [
        "send",
        "inbox",
        "read",
        "ack",
        "request_access",
        "grant",
        "revoke",
        "whoami",
        "delete",
        "grants",
        "webhook",
        "publish_key",
        "key_of",
    ] {
        assert!(names.contains(&want), "{want}");
    }
    for d in &defs {
        let name = d["name"].as_str().expect("present");
        assert_eq!(Tool::from_name(name).map(Tool::name), Some(name));
        assert!(
            d["description"].as_str().expect("present").len() > 80,
            "{name}: describe it"
        );
        let s = &d["inputSchema"];
        assert_eq!(s["type"], "object", "{name}");
        assert_eq!(s["additionalProperties"], false, "{name}");
        let props = s["properties"].as_object().expect("present");
        for r in s["required"].as_array().expect("present") {
            assert!(
                props.contains_key(r.as_str().expect("present")),
                "{name}: required {r} is a property"
            );
        }
        for (p, schema) in props {
            assert!(
                schema.get("description").is_some(),
                "{name}.{p}: describe it"
            );
            check_keywords(schema, &format!("{name}.{p}"));
        }
        for h in [
            "readOnlyHint",
            "destructiveHint",
            "idempotentHint",
            "openWorldHint",
        ] {
            assert!(d["annotations"][h].is_boolean(), "{name}: {h}");
        }
    }
}

/// Only JSON Schema 2020-12 keywords, with values of the right JSON type.
fn check_keywords(schema: &Value, at: &str) {
    let obj = schema
        .as_object()
        .unwrap_or_else(|| panic!("{at}: a schema is an object"));
    for (k, v) in obj {
        let ok = match k.as_str() {
            "type" | "pattern" | "description" | "format" | "contentEncoding" => v.is_string(),
            "minLength" | "maxLength" | "minimum" | "maximum" | "minItems" | "maxItems" => {
                v.is_u64()
            }
            "enum" | "required" => v.is_array(),
            "uniqueItems" | "additionalProperties" => v.is_boolean(),
            "default" => true,
            "items" => {
                check_keywords(v, &format!("{at}[]"));
                true
            }
            "properties" => {
                for (p, s) in v.as_object().expect("present") {
                    check_keywords(s, &format!("{at}.{p}"));
                }
                true
            }
            "oneOf" => v.as_array().is_some_and(|a| a.iter().all(Value::is_object)),
            _ => false,
        };
        assert!(ok, "{at}: keyword {k} = {v}");
    }
    if let Some(p) = obj.get("pattern").and_then(Value::as_str) {
        assert!(
            p.starts_with('^') && p.ends_with('$'),
            "{at}: anchored pattern"
        );
    }
}

#[tokio::test]
async fn modern_requests_are_served_statelessly() {
    let (s, fake) = server();
    let r = modern(&s, "server/discover", json!({})).await;
    assert_eq!(r.status, 200);
    let result = &r.body.as_ref().expect("present")["result"];
    assert_eq!(result["resultType"], "complete");
    assert_eq!(result["supportedVersions"][0], "2026-07-28");
    assert_eq!(result["capabilities"]["tools"]["listChanged"], false);
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "warden-mailbox"
    );
    assert!(r.session_id.is_none());
    let r = modern(&s, "tools/list", json!({})).await;
    let result = &r.body.as_ref().expect("present")["result"];
    assert_eq!(result["tools"].as_array().expect("present").len(), 13);
    assert_eq!(result["cacheScope"], "public");
    let r = modern(&s, "tools/call", json!({"name": "whoami", "arguments": {}})).await;
    let result = &r.body.as_ref().expect("present")["result"];
    assert_eq!(result["isError"], false);
    assert_eq!(result["structuredContent"]["caller"], "alice");
    assert_eq!(r.record.tool, Some(Tool::Whoami));
    assert_eq!(fake.calls.lock().expect("present").len(), 1);
    assert_eq!(s.sessions(), 0);
}

#[tokio::test]
async fn a_failed_tool_is_a_result_the_model_reads() {
    let (s, _) = server();
    let args = json!({"to": "nobody", "text": "hi", "idempotencyKey": "k1"});
    let r = modern(&s, "tools/call", json!({"name": "send", "arguments": args})).await;
    assert_eq!(r.status, 200);
    let result = &r.body.as_ref().expect("present")["result"];
    assert_eq!(result["isError"], true);
    assert_eq!(result["structuredContent"]["error"]["code"], "not_found");
    assert!(
        result["content"][0]["text"]
            .as_str()
            .expect("present")
            .contains("request_access")
    );
    assert_eq!(r.record.outcome, Outcome::ToolFailed("not_found"));
    // An unknown tool and non-object arguments are protocol errors.
    let r = modern(&s, "tools/call", json!({"name": "nope"})).await;
    assert_eq!((r.status, error_code(&r)), (400, code::INVALID_PARAMS));
    let r = modern(&s, "tools/call", json!({"name": "read", "arguments": [1]})).await;
    assert_eq!(error_code(&r), code::INVALID_PARAMS);
    let r = modern(&s, "resources/list", json!({})).await;
    assert_eq!((r.status, error_code(&r)), (404, code::METHOD_NOT_FOUND));
    let r = modern(&s, "ping", json!({})).await;
    assert_eq!(
        error_code(&r),
        code::METHOD_NOT_FOUND,
        "ping is gone in 2026-07-28"
    );
}

#[tokio::test]
async fn the_modern_envelope_is_checked_against_its_headers() {
    let (s, _) = server();
    let call = |headers: Headers<'static>, params: Value| {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params});
        (headers, body)
    };
    let good = json!({"name": "whoami", "_meta": meta()});
    let base = Headers {
        protocol_version: Some("2026-07-28"),
        mcp_method: Some("tools/call"),
        mcp_name: Some("whoami"),
        ..JSON
    };
    let cases: Vec<(Headers<'static>, Value, u16, i64)> = vec![
        (
            Headers {
                protocol_version: None,
                ..base
            },
            good.clone(),
            400,
            code::HEADER_MISMATCH,
        ),
        (
            Headers {
                mcp_method: Some("tools/list"),
                ..base
            },
            good.clone(),
            400,
            code::HEADER_MISMATCH,
        ),
        (
            Headers {
                mcp_name: Some("send"),
                ..base
            },
            good.clone(),
            400,
            code::HEADER_MISMATCH,
        ),
        (
            Headers {
                mcp_name: None,
                ..base
            },
            good.clone(),
            400,
            code::HEADER_MISMATCH,
        ),
        (
            Headers {
                mcp_name: Some("=?base64?d2hvYW1p?="),
                ..base
            },
            good.clone(),
            200,
            0,
        ),
        (
            Headers {
                mcp_name: Some("=?base64?!!?="),
                ..base
            },
            good.clone(),
            400,
            code::HEADER_MISMATCH,
        ),
        (
            base,
            json!({"name": "whoami", "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}),
            400,
            code::INVALID_PARAMS,
        ),
        (
            Headers {
                protocol_version: Some("2099-01-01"),
                ..base
            },
            json!({"name": "whoami", "_meta": {"io.modelcontextprotocol/protocolVersion": "2099-01-01", "io.modelcontextprotocol/clientCapabilities": {}}}),
            400,
            code::UNSUPPORTED_PROTOCOL_VERSION,
        ),
        (base, json!({"name": "whoami"}), 400, code::INVALID_PARAMS),
    ];
    for (i, (headers, params, status, want)) in cases.into_iter().enumerate() {
        let (h, body) = call(headers, params);
        let r = post(&s, &alice(), h, body).await;
        assert_eq!(r.status, status, "case {i}: {:?}", r.body);
        if want != 0 {
            assert_eq!(error_code(&r), want, "case {i}");
            assert_eq!(
                r.body.as_ref().expect("present")["id"],
                json!(1),
                "case {i}: the id is echoed"
            );
        }
    }
}

#[tokio::test]
async fn handshake_sessions_are_bound_to_their_opener() {
    let (s, _) = server();
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let r = post(&s, &alice(), JSON, init).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body.as_ref().expect("present")["result"]["protocolVersion"],
        "2025-11-25"
    );
    assert!(
        r.body.as_ref().expect("present")["result"]
            .get("resultType")
            .is_none()
    );
    let sid = r.session_id.clone().expect("present");
    assert!(sid.starts_with("mcps_") && sid.len() == 37);
    let in_session = |sid: &str| Headers {
        session_id: Some(Box::leak(sid.to_string().into_boxed_str())),
        protocol_version: Some("2025-11-25"),
        ..JSON
    };
    let h = in_session(&sid);
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(post(&s, &alice(), h, note).await.status, 202);
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let r = post(&s, &alice(), h, list.clone()).await;
    assert_eq!(
        r.body.as_ref().expect("present")["result"]["tools"]
            .as_array()
            .expect("present")
            .len(),
        13
    );
    let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"});
    assert_eq!(
        post(&s, &alice(), h, ping).await.body.expect("present")["result"],
        json!({})
    );
    // Another principal presenting the id is told the session does not exist.
    let mallory = Caller {
        address: "mallory".into(),
        owner: "mallory".into(),
    };
    let r = post(&s, &mallory, h, list.clone()).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.record.session_refusal, Some(SessionRefusal::NotYours));
    // No session, a wrong version header.
    let r = post(&s, &alice(), JSON, list.clone()).await;
    assert_eq!((r.status, error_code(&r)), (400, code::INVALID_REQUEST));
    let r = post(
        &s,
        &alice(),
        Headers {
            protocol_version: Some("2025-06-18"),
            ..h
        },
        list.clone(),
    )
    .await;
    assert_eq!(r.status, 400);
    // GET opens no stream; DELETE ends the session, then it is gone.
    let get = s
        .handle(Exchange {
            verb: Verb::Get,
            headers: h,
            body: b"",
            caller: &alice(),
            now_ms: 1_000,
        })
        .await;
    assert_eq!((get.status, get.allow), (405, Some("POST, DELETE")));
    let del = |caller: &Caller| Exchange {
        verb: Verb::Delete,
        headers: h,
        body: b"",
        caller: &*Box::leak(Box::new(caller.clone())),
        now_ms: 1_000,
    };
    assert_eq!(s.handle(del(&mallory)).await.status, 404);
    assert_eq!(s.handle(del(&alice())).await.status, 204);
    assert_eq!(post(&s, &alice(), h, list).await.status, 404);
}

#[tokio::test]
async fn transport_refusals() {
    let (s, _) = server();
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let r = post(
        &s,
        &alice(),
        Headers {
            content_type: Some("text/plain"),
            ..JSON
        },
        list.clone(),
    )
    .await;
    assert_eq!(r.status, 415);
    let r = post(
        &s,
        &alice(),
        Headers {
            accept: Some("text/html"),
            ..JSON
        },
        list.clone(),
    )
    .await;
    assert_eq!(r.status, 406);
    let r = post(&s, &alice(), JSON, json!([list])).await;
    assert_eq!((r.status, error_code(&r)), (400, code::INVALID_REQUEST));
    // An old initialize counter-offers the newest handshake revision.
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2024-11-05"}});
    let r = post(&s, &alice(), JSON, init).await;
    assert_eq!(
        r.body.expect("present")["result"]["protocolVersion"],
        "2025-11-25"
    );
}

#[test]
fn sessions_are_bounded_and_expire() {
    let limits = SessionLimits {
        max_sessions: 3,
        max_per_owner: 2,
        idle_ms: 100,
    };
    let t = Sessions::new(limits);
    let a1 = t.open("a", "2025-11-25", 0).expect("present");
    let a2 = t.open("a", "2025-11-25", 1).expect("present");
    // A third for the same owner replaces its oldest.
    let a3 = t.open("a", "2025-11-25", 2).expect("present");
    assert_eq!(t.resume(&a1.id, "a", 3), Err(SessionRefusal::Unknown));
    assert!(t.resume(&a2.id, "a", 3).is_ok());
    t.open("b", "2025-11-25", 4).expect("present");
    assert_eq!(
        t.open("c", "2025-11-25", 5),
        Err(super::session::OpenRefusal::Full)
    );
    // Idle past the lifetime: gone, and its room is free again.
    assert_eq!(t.resume(&a3.id, "a", 200), Err(SessionRefusal::Unknown));
    assert!(t.open("c", "2025-11-25", 200).is_ok());
    assert_eq!(t.len(), 1);
}
