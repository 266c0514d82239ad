use std::sync::Arc;

use serde_json::json;
use warden_a2a::{JsonLimits, ProtocolVersion, parse_jsonrpc};
use warden_egress::{EgressPolicy, Rules, StaticResolver, corpus};

use super::*;

fn egress() -> Egress {
    Egress::with(
        Rules::new(EgressPolicy::default()).expect("rules"),
        Arc::new(StaticResolver::new(corpus::answers())),
        None,
    )
    .expect("egress")
}

fn send(parts: Value) -> (A2aOp, Bytes) {
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "SendMessage",
        "params": {"message": {"role": "ROLE_USER", "messageId": "m1", "parts": parts}}
    });
    let bytes = Bytes::from(body.to_string());
    let call = parse_jsonrpc(&bytes, ProtocolVersion::V1_0, JsonLimits::default()).expect("parse");
    (call.op, bytes)
}

fn section(action: UrlAction) -> MessageUrlsSection {
    MessageUrlsSection {
        action,
        ..MessageUrlsSection::default()
    }
}

#[tokio::test]
async fn every_hostile_url_part_is_refused_for_its_reason() {
    let e = egress();
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (url, reason) in corpus::hostile_urls() {
        let parts = json!([{"text": "see"}, {"url": url, "mediaType": "text/plain"}]);
        let body = json!({
            "jsonrpc": "2.0", "id": 1, "method": "SendMessage",
            "params": {"message": {"role": "ROLE_USER", "messageId": "m1", "parts": parts}}
        });
        let bytes = Bytes::from(body.to_string());
        // A URL the A2A parser itself refuses never reaches this check.
        let Ok(call) = parse_jsonrpc(&bytes, ProtocolVersion::V1_0, JsonLimits::default()) else {
            continue;
        };
        checked += 1;
        match check(&section(UrlAction::Refuse), &e, &call.op, &bytes).await {
            Verdict::Refused(err, failed) => {
                if failed[0].error.reason() != reason || !err.message.contains(reason) {
                    wrong.push(format!(
                        "{url:?}: {} / {}",
                        failed[0].error.reason(),
                        err.message
                    ));
                }
            }
            other => wrong.push(format!("{url:?}: {other:?}")),
        }
    }
    assert!(
        checked >= 60,
        "only {checked} corpus URLs reached the check"
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn benign_urls_pass_and_messages_without_urls_pass() {
    let e = egress();
    for url in corpus::benign_urls() {
        let (op, body) = send(json!([{"url": url}]));
        assert!(matches!(
            check(&section(UrlAction::Refuse), &e, &op, &body).await,
            Verdict::Pass
        ));
    }
    let (op, body) = send(json!([{"text": "hi"}]));
    assert!(matches!(
        check(&section(UrlAction::Refuse), &e, &op, &body).await,
        Verdict::Pass
    ));
}

#[tokio::test]
async fn strip_removes_only_the_bad_parts() {
    let e = egress();
    let (op, body) = send(json!([
        {"text": "keep me"},
        {"url": "https://169.254.169.254/latest/meta-data/"},
        {"url": "https://agent.example.com/report.pdf"}
    ]));
    match check(&section(UrlAction::Strip), &e, &op, &body).await {
        Verdict::Stripped(b, failed) => {
            let v: Value = serde_json::from_slice(&b).expect("json");
            let parts = v.pointer("/params/message/parts").expect("parts");
            assert_eq!(
                parts,
                &json!([{"text": "keep me"}, {"url": "https://agent.example.com/report.pdf"}])
            );
            assert_eq!(failed.len(), 1);
            assert_eq!(failed[0].place, "part[1]");
        }
        other => panic!("{other:?}"),
    }
    // Nothing left after stripping: refused.
    let (op, body) = send(json!([{"url": "https://127.0.0.1/x"}]));
    assert!(matches!(
        check(&section(UrlAction::Strip), &e, &op, &body).await,
        Verdict::Refused(..)
    ));
}

#[tokio::test]
async fn push_urls_are_refused_not_stripped_and_off_skips() {
    let e = egress();
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "CreateTaskPushNotificationConfig",
        "params": {"taskId": "t1", "url": "https://metadata.attacker.test/hook"}
    });
    let bytes = Bytes::from(body.to_string());
    let call = parse_jsonrpc(&bytes, ProtocolVersion::V1_0, JsonLimits::default()).expect("parse");
    assert!(
        !call.op.push_urls.is_empty(),
        "the parser lists webhook URLs"
    );
    assert!(matches!(
        check(&section(UrlAction::Strip), &e, &call.op, &bytes).await,
        Verdict::Refused(..)
    ));
    assert!(matches!(
        check(&section(UrlAction::Off), &e, &call.op, &bytes).await,
        Verdict::Pass
    ));
}

#[test]
fn the_section_reads_from_toml() {
    let s: MessageUrlsSection =
        toml::from_str("action = \"strip\"\nresolve = false").expect("toml");
    assert_eq!(s.action, UrlAction::Strip);
    assert!(!s.resolve);
    assert!(toml::from_str::<MessageUrlsSection>("action = \"drop\"").is_err());
}
