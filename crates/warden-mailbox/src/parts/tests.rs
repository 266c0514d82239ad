use proptest::prelude::*;
use serde_json::json;
use warden_a2a::types::Part;

use super::*;

fn parts(v: serde_json::Value) -> Result<Vec<Part>, serde_json::Error> {
    serde_json::from_value(v)
}

#[test]
fn the_a2a_shape_is_read_strictly() {
    // Exactly one content member, no unknown or misspelt ones.
    for bad in [
        json!([{}]),
        json!([{"text": "a", "data": {}}]),
        json!([{"text": "a", "kind": "text"}]),
        json!([{"raw": "***"}]),
        json!([{"text": "a", "mimeType": "text/plain"}]),
    ] {
        assert!(parts(bad.clone()).is_err(), "{bad}");
    }
    let ok = parts(json!([
        {"text": "hi"},
        {"data": {"n": 1}},
        {"url": "https://files.example.com/a.pdf", "mediaType": "application/pdf", "filename": "a.pdf"},
        {"raw": "aGVsbG8=", "mediaType": "text/plain"}
    ]))
    .expect("v1.0 parts");
    let stored = parts_json(&ok, &Limits::default()).expect("accepted");
    let back: serde_json::Value = serde_json::from_str(&stored).expect("json");
    assert_eq!(back[2]["filename"], "a.pdf");
}

#[test]
fn the_mailbox_rules_on_top() {
    let l = Limits::default();
    let check = |v: serde_json::Value| parts_json(&parts(v).expect("shape"), &l);
    for bad in [
        json!([]),
        json!([{"url": "ftp://x/a"}]),
        json!([{"url": "https://user:pw@x/a"}]),
        json!([{"url": "https:///a"}]),
        json!([{"text": "a", "filename": "../etc/passwd"}]),
        json!([{"text": "a", "mediaType": "text"}]),
        json!([{"text": "a", "filename": ""}]),
    ] {
        assert!(check(bad.clone()).is_err(), "{bad}");
    }
    let many = serde_json::Value::Array(vec![json!({"text": "a"}); 33]);
    assert!(check(many).is_err(), "at most 32 parts");
}

#[test]
fn content_is_parts_or_sealed_within_the_size_limit() {
    let l = Limits {
        max_message_bytes: 64,
        ..Limits::default()
    };
    let p = parts(json!([{"text": "x"}])).expect("parts");
    assert!(body(Some(&p), None, &l).is_ok());
    assert!(matches!(body(None, None, &l), Err(MailError::Invalid(_))));
    assert!(matches!(
        body(Some(&p), Some("a.b.c.d.e"), &l),
        Err(MailError::Invalid(_))
    ));
    let big = parts(json!([{"text": "x".repeat(100)}])).expect("parts");
    assert!(matches!(
        body(Some(&big), None, &l),
        Err(MailError::TooLarge { limit: 64 })
    ));
    assert!(matches!(
        body(None, Some("not a jwe"), &l),
        Err(MailError::Invalid(_))
    ));
}

proptest! {
    /// Whatever JSON arrives as parts, the reader and the rules either
    /// refuse it or store JSON that reads back as the same parts.
    #[test]
    fn accepted_parts_round_trip(
        texts in proptest::collection::vec(".{0,40}", 1..5),
        keys in proptest::collection::vec("[a-z]{1,8}", 0..3),
        url in "https://[a-z]{1,10}\\.example/[a-z0-9/]{0,20}",
    ) {
        let mut list: Vec<serde_json::Value> = texts.iter().map(|t| json!({"text": t})).collect();
        let data: serde_json::Map<String, serde_json::Value> =
            keys.iter().map(|k| (k.clone(), json!(k.len()))).collect();
        list.push(json!({"data": data}));
        list.push(json!({"url": url}));
        let p = parts(serde_json::Value::Array(list)).expect("valid shape");
        let stored = parts_json(&p, &Limits::default()).expect("within the rules");
        let again: Vec<Part> = serde_json::from_str(&stored).expect("reads back");
        prop_assert_eq!(again, p);
    }

    #[test]
    fn arbitrary_part_objects_never_panic(
        members in proptest::collection::btree_map(
            "text|raw|url|data|filename|mediaType|metadata|kind|file",
            prop_oneof![Just(json!("aGk=")), Just(json!({})), Just(json!(1)), Just(json!("https://a.example/x"))],
            0..5,
        )
    ) {
        let v = json!([serde_json::Value::Object(members.into_iter().collect())]);
        if let Ok(p) = parts(v) {
            let _ = parts_json(&p, &Limits::default());
        }
    }
}
