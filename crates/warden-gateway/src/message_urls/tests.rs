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

const SCOPE: Scope<'static> = Scope {
    agent: "spy",
    caller: Some("tester"),
};

async fn verdict(s: &MessageUrlsSection, e: &Egress, op: &A2aOp, body: &Bytes) -> Verdict {
    check(s, e, op, body, SCOPE).await.verdict
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
        match verdict(&section(UrlAction::Refuse), &e, &call.op, &bytes).await {
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
            verdict(&section(UrlAction::Refuse), &e, &op, &body).await,
            Verdict::Pass
        ));
    }
    let (op, body) = send(json!([{"text": "hi"}]));
    assert!(matches!(
        verdict(&section(UrlAction::Refuse), &e, &op, &body).await,
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
    match verdict(&section(UrlAction::Strip), &e, &op, &body).await {
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
        verdict(&section(UrlAction::Strip), &e, &op, &body).await,
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
        verdict(&section(UrlAction::Strip), &e, &call.op, &bytes).await,
        Verdict::Refused(..)
    ));
    assert!(matches!(
        verdict(&section(UrlAction::Off), &e, &call.op, &bytes).await,
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

/// An egress whose resolver knows an internal receiver's name.
fn internal_egress() -> Egress {
    let ip = |s: &str| s.parse().expect("ip");
    Egress::with(
        Rules::new(EgressPolicy::default()).expect("rules"),
        Arc::new(StaticResolver::new([
            ("hooks.internal.example".to_string(), vec![ip("10.1.2.3")]),
            ("files.internal.example".to_string(), vec![ip("10.1.2.4")]),
        ])),
        None,
    )
    .expect("egress")
}

fn push_config(url: &str) -> (A2aOp, Bytes) {
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "CreateTaskPushNotificationConfig",
        "params": {"taskId": "t1", "url": url}
    });
    let bytes = Bytes::from(body.to_string());
    let call = parse_jsonrpc(&bytes, ProtocolVersion::V1_0, JsonLimits::default()).expect("parse");
    (call.op, bytes)
}

fn allowing(entries: &str) -> MessageUrlsSection {
    toml::from_str(entries).expect("section")
}

fn refusal_reason(v: &Verdict) -> Option<&'static str> {
    match v {
        Verdict::Refused(_, failed) => Some(failed[0].error.reason()),
        _ => None,
    }
}

#[tokio::test]
async fn a_push_allowance_admits_its_destination_for_its_agent_and_caller_only() {
    let e = internal_egress();
    let s = allowing(
        "[[allow]]\nhost = \"hooks.internal.example\"\nports = [8443]\n\
         agents = [\"spy\"]\ncallers = [\"tester\"]\nkinds = [\"push\"]\n",
    );
    let (op, body) = push_config("https://hooks.internal.example:8443/hook");
    let checked = check(&s, &e, &op, &body, SCOPE).await;
    assert!(matches!(checked.verdict, Verdict::Pass), "{checked:?}");
    assert_eq!(
        checked.excepted,
        [Excepted {
            place: "push".into(),
            by: "host \"hooks.internal.example\" ports 8443 (https)".into()
        }]
    );
    // The same host on another port: the egress reason, as without it.
    let (op2, body2) = push_config("https://hooks.internal.example:8444/hook");
    let v = verdict(&s, &e, &op2, &body2).await;
    assert_eq!(refusal_reason(&v), Some("port"));
    // The same URL for another caller, another agent, an unknown caller.
    for scope in [
        Scope {
            agent: "spy",
            caller: Some("other"),
        },
        Scope {
            agent: "echo",
            caller: Some("tester"),
        },
        Scope {
            agent: "spy",
            caller: None,
        },
    ] {
        let c = check(&s, &e, &op, &body, scope).await;
        assert_eq!(refusal_reason(&c.verdict), Some("port"), "{scope:?}");
        assert!(c.excepted.is_empty());
    }
    // A push entry says nothing of url parts.
    let (op3, body3) = send(json!([{"url": "https://hooks.internal.example:8443/f"}]));
    let v = verdict(&s, &e, &op3, &body3).await;
    assert_eq!(refusal_reason(&v), Some("port"));
}

#[tokio::test]
async fn a_part_allowance_keeps_its_part_when_the_others_are_stripped() {
    let e = internal_egress();
    let mut s = allowing(
        "action = \"strip\"\n[[allow]]\nhost = \"files.internal.example\"\nports = [443]\nkinds = [\"part\"]\n",
    );
    let (op, body) = send(json!([
        {"url": "https://files.internal.example/report.pdf"},
        {"url": "https://hooks.internal.example/x"}
    ]));
    let checked = check(&s, &e, &op, &body, SCOPE).await;
    match &checked.verdict {
        Verdict::Stripped(b, failed) => {
            let v: Value = serde_json::from_slice(b).expect("json");
            assert_eq!(
                v.pointer("/params/message/parts"),
                Some(&json!([{"url": "https://files.internal.example/report.pdf"}]))
            );
            assert_eq!(failed[0].place, "part[1]");
            assert_eq!(failed[0].error.reason(), "denied_address");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(checked.excepted.len(), 1);
    assert_eq!(checked.excepted[0].place, "part[0]");
    // `off` checks nothing, so it excepts nothing either.
    s.action = UrlAction::Off;
    let checked = check(&s, &e, &op, &body, SCOPE).await;
    assert!(matches!(checked.verdict, Verdict::Pass) && checked.excepted.is_empty());
}

#[tokio::test]
async fn metadata_stays_refused_through_any_allowance() {
    let e = egress();
    let s = allowing(
        "[[allow]]\ncidr = \"169.254.0.0/16\"\nports = [80, 443]\nschemes = [\"http\", \"https\"]\n\
         [[allow]]\ncidr = \"fd00::/8\"\nports = [80]\nschemes = [\"http\"]\n",
    );
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "https://169.254.169.254/",
        "http://[fd00:ec2::254]/",
    ] {
        let (op, body) = push_config(url);
        let v = verdict(&s, &e, &op, &body).await;
        assert_eq!(refusal_reason(&v), Some("denied_address"), "{url}");
    }
    let (op, body) = push_config("http://169.254.10.10/hook");
    assert!(matches!(verdict(&s, &e, &op, &body).await, Verdict::Pass));
}
