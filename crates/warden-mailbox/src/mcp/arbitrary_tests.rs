//! Whatever a client posts, the server answers in the protocol's shape
//! and never panics (a fuzz target's property, run as a proptest).

use proptest::prelude::*;

use serde_json::json;

use super::jsonrpc;
use super::tests::{JSON, alice, meta, server};
use super::transport::{Exchange, Headers, Verb};

/// Drives a future whose work never waits (the fake backend's).
fn now<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let method = prop::sample::select(vec![
        "initialize",
        "tools/call",
        "tools/list",
        "server/discover",
        "ping",
        "x",
    ]);
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        (
            method,
            any::<i64>(),
            prop::option::of("[a-z_]{1,12}"),
            any::<bool>()
        )
            .prop_map(|(m, id, name, with_meta)| {
                let mut params = json!({"name": name, "arguments": {"to": "x", "id": "y"},
                    "protocolVersion": "2025-11-25"});
                if with_meta {
                    params["_meta"] = meta();
                }
                json!({"jsonrpc": "2.0", "id": id, "method": m, "params": params})
                    .to_string()
                    .into_bytes()
            }),
    ]
}

proptest! {
    #[test]
    fn any_post_gets_a_protocol_shaped_answer(
        body in body(),
        version in prop::option::of(prop::sample::select(vec!["2026-07-28", "2025-11-25", "junk"])),
        method in prop::option::of(prop::sample::select(vec!["tools/call", "tools/list", "initialize"])),
        name in prop::option::of("[a-z_=?]{0,12}"),
        session in prop::option::of("[a-z0-9_]{0,40}"),
    ) {
        let (s, _) = server();
        let headers = Headers {
            protocol_version: version,
            mcp_method: method,
            mcp_name: name.as_deref(),
            session_id: session.as_deref(),
            ..JSON
        };
        let r = now(s.handle(Exchange { verb: Verb::Post, headers, body: &body, caller: &alice(), now_ms: 1 }));
        prop_assert!([200, 202, 400, 404, 503].contains(&r.status), "{}", r.status);
        match &r.body {
            Some(b) => {
                prop_assert_eq!(&b["jsonrpc"], "2.0");
                prop_assert!(b.get("result").is_some() != b.get("error").is_some());
            }
            None => prop_assert_eq!(r.status, 202),
        }
    }

    #[test]
    fn the_reader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = jsonrpc::read(&bytes);
    }
}
