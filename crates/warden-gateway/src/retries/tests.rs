use std::time::{Duration, Instant};

use super::*;

fn book(window: u64, entries: usize, bytes: usize) -> Retries {
    Retries::new(
        &RetriesSection {
            window: Duration::from_secs(window),
            max_entries: entries,
            max_bytes: bytes,
        },
        &["warden-push-secret"],
    )
}

fn key(k: &str) -> CallKey {
    ("alice".into(), "echo".into(), k.into())
}

fn kept(body: &str) -> Kept {
    Kept {
        status: StatusCode::OK,
        headers: HeaderMap::new(),
        body: Bytes::from(body.to_string()),
    }
}

#[test]
fn a_retry_gets_the_first_answer_and_another_request_is_refused() {
    let r = book(600, 10, 1 << 20);
    let now = Instant::now();
    assert!(matches!(r.begin(&key("k"), b"req", now), Lookup::First));
    assert!(matches!(r.begin(&key("k"), b"req", now), Lookup::Running));
    assert!(matches!(
        r.begin(&key("k"), b"other", now),
        Lookup::Mismatch
    ));
    r.finish(&key("k"), kept("answer"), now);
    match r.begin(&key("k"), b"req", now + Duration::from_secs(5)) {
        Lookup::Answered(a) => assert_eq!(a.body, "answer"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        r.begin(&key("k"), b"other", now),
        Lookup::Mismatch
    ));
    // Another caller's key is another call.
    let theirs = ("bob".to_string(), "echo".to_string(), "k".to_string());
    assert!(matches!(r.begin(&theirs, b"req", now), Lookup::First));
    // After the window the call is new again.
    assert!(matches!(
        r.begin(&key("k"), b"req", now + Duration::from_secs(601)),
        Lookup::First
    ));
}

#[test]
fn a_failed_call_is_tried_again_and_memory_is_bounded() {
    let r = book(600, 10, 10);
    let now = Instant::now();
    assert!(matches!(r.begin(&key("a"), b"x", now), Lookup::First));
    r.abandon(&key("a"));
    assert!(matches!(r.begin(&key("a"), b"x", now), Lookup::First));
    // Too large to keep: forgotten, the retry goes through again.
    r.finish(&key("a"), kept("01234567890"), now);
    assert!(matches!(r.begin(&key("a"), b"x", now), Lookup::First));
    r.finish(&key("a"), kept("12345"), now);
    assert!(matches!(r.begin(&key("b"), b"x", now), Lookup::First));
    r.finish(&key("b"), kept("67890"), now);
    assert!(matches!(r.begin(&key("c"), b"x", now), Lookup::First));
    // Room for c's answer means a (the oldest) goes.
    r.finish(&key("c"), kept("abcde"), now);
    assert!(matches!(r.begin(&key("a"), b"x", now), Lookup::First));
    assert!(matches!(r.begin(&key("c"), b"x", now), Lookup::Answered(_)));
}

#[test]
fn the_key_is_the_header_else_the_message_id() {
    let mut h = HeaderMap::new();
    assert_eq!(
        call_key(&h, Some("m1"), "alice", "echo").expect("ok"),
        Some(("alice".into(), "echo".into(), "message:m1".into()))
    );
    h.insert(IDEMPOTENCY_KEY, http::HeaderValue::from_static("abc"));
    assert_eq!(
        call_key(&h, Some("m1"), "alice", "echo")
            .expect("ok")
            .map(|k| k.2),
        Some("key:abc".into())
    );
    h.append(IDEMPOTENCY_KEY, http::HeaderValue::from_static("def"));
    assert!(call_key(&h, Some("m1"), "alice", "echo").is_err());
}

#[test]
fn a_retry_is_the_same_request_whatever_its_jsonrpc_id() {
    let a = br#"{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"x":1}}"#;
    let b = br#"{"jsonrpc":"2.0","id":2,"method":"SendMessage","params":{"x":1}}"#;
    let c = br#"{"jsonrpc":"2.0","id":2,"method":"SendMessage","params":{"x":2}}"#;
    let id = |body: &[u8]| request_identity(warden_a2a::Binding::JsonRpc, body, None);
    assert_eq!(id(a), id(b));
    assert_ne!(id(a), id(c));
    let kept = Kept {
        status: StatusCode::OK,
        headers: HeaderMap::new(),
        body: Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#),
    };
    let resp = replay(&kept, Some(&serde_json::json!(2)));
    assert_eq!(resp.status(), StatusCode::OK);
}

#[test]
fn a_push_subscription_secret_is_not_kept_for_a_retry() {
    let r = book(600, 10, 1 << 20);
    let now = Instant::now();
    assert!(matches!(r.begin(&key("k"), b"req", now), Lookup::First));
    let mut first = kept("answer");
    for (name, value) in [
        ("warden-push-secret", "whsec_c2VjcmV0"),
        ("warden-push-subscription", "sub_1"),
    ] {
        first.headers.insert(name, value.parse().expect("value"));
    }
    r.finish(&key("k"), first, now);
    match r.begin(&key("k"), b"req", now) {
        Lookup::Answered(a) => {
            assert!(a.headers.get("warden-push-secret").is_none(), "{a:?}");
            assert_eq!(a.headers["warden-push-subscription"], "sub_1");
            assert_eq!(a.body, "answer");
        }
        other => panic!("{other:?}"),
    }
}
