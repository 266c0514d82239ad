//! Warden as the receiver of signed push notifications for a local agent
//! (`POST /webhooks/{agent}`, issue 15 part 5): a real delivery passes
//! through to the agent, and forged, stale, replayed, re-targeted (another
//! receiver's `aud`) and body-swapped copies are refused with their status
//! and never reach it.
//!
//! Two senders: a second Warden gateway (its push relay and outbox sign
//! with its webhook key; the receiving gateway trusts its JWKS, fetched
//! through the egress rules), and the official `standardwebhooks` Python
//! library (pinned in tests/interop/python) signing `v1` with a secret the
//! receiving gateway reads from a file.

use std::process::Stdio;

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use warden_test_support::http::{Reply, Seen, Server, serve};
use warden_trust::{JwsAlg, SigningKey};
use warden_webhooks::{Notification, Signer, SubscriptionSecret};

use crate::support::{Running, Spy, WAIT, client, gateway, python, user_message};

/// Both gateways may reach each other and the test's servers on loopback.
const EGRESS: &str = "[egress]\nallow_http = true\nallowed_ports = [443, \"1024-65535\"]\n\
                      allow_cidrs = [\"127.0.0.1/32\"]\n";

/// The headers a Standard Webhooks delivery is made of.
const WEBHOOK_HEADERS: [&str; 5] = [
    "content-type",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "warden-notification-jwt",
];

fn status_update(task: &str, state: &str) -> Value {
    json!({"statusUpdate": {"taskId": task, "contextId": "c",
        "status": {"state": state}}})
}

/// A recording server answering 200; what it got comes out of the channel.
async fn recorder() -> (Server, UnboundedReceiver<Seen>) {
    let (tx, rx) = unbounded_channel();
    let server = serve(move |s| {
        let _ = tx.send(s.clone());
        Reply::json(200, &json!({}))
    })
    .await;
    (server, rx)
}

async fn next(rx: &mut UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("delivered within the wait")
        .expect("server running")
}

/// The webhook headers of a received delivery.
fn webhook_headers(s: &Seen) -> Vec<(String, String)> {
    s.headers
        .iter()
        .filter(|(k, _)| WEBHOOK_HEADERS.contains(&k.to_ascii_lowercase().as_str()))
        .cloned()
        .collect()
}

fn with(headers: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut out: Vec<_> = headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case(name))
        .cloned()
        .collect();
    out.push((name.to_string(), value.to_string()));
    out
}

async fn post(url: &str, headers: &[(String, String)], body: &[u8]) -> u16 {
    let mut r = client().post(url).body(body.to_vec());
    for (k, v) in headers {
        r = r.header(k, v);
    }
    r.send().await.expect("post").status().as_u16()
}

/// JSON-RPC to the sender's spy with an API key: the status, the
/// headers, the body.
async fn rpc(w: &Running, key: &str, method: &str, params: Value) -> (u16, Value) {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let r = client()
        .post(format!("{}/agents/spy", w.gateway))
        .header("A2A-Version", "1.0")
        .header("X-API-Key", key)
        .json(&body)
        .send()
        .await
        .expect("send");
    (r.status().as_u16(), r.json().await.expect("json"))
}

/// The relay URL and token the spy (the sending side's agent) was given
/// for each push config, in order.
fn relays(spy: &Spy) -> Vec<(String, String)> {
    spy.requests()
        .into_iter()
        .filter_map(|s| serde_json::from_slice::<Value>(&s.body).ok())
        .filter(|v| v["method"] == "CreateTaskPushNotificationConfig")
        .map(|v| {
            let p = &v["params"];
            let s = |k: &str| p[k].as_str().expect("relay").to_string();
            (s("url"), s("token"))
        })
        .collect()
}

async fn relay(url: &str, token: &str, body: &Value) -> u16 {
    let r = client()
        .post(url)
        .header("X-A2A-Notification-Token", token)
        .json(body)
        .send()
        .await
        .expect("relay");
    r.status().as_u16()
}

/// The `webhook_receive` audit reasons of a gateway, oldest first.
async fn audit_reasons(w: &Running) -> Vec<String> {
    w.flush_audit().await;
    let store = warden_store::Store::open(&w.data_dir().join("warden.db"))
        .await
        .expect("store");
    let mut events = store.recent_audit(500).await.expect("audit");
    events.reverse();
    events
        .into_iter()
        .filter(|e| e.kind == "webhook_receive")
        .map(|e| format!("{} {}", e.outcome, e.reason.unwrap_or_default()))
        .collect()
}

#[tokio::test]
async fn a_warden_delivery_reaches_the_agent_through_warden_as_receiver_and_hostile_copies_do_not()
{
    let (agent, mut passed) = recorder().await;
    // Another receiver, elsewhere: its genuine deliveries are re-targeted ones here.
    let (_elsewhere, mut other) = recorder().await;
    let spy = Spy::start_numbering_tasks().await;
    let sender = gateway(&format!(
        "{EGRESS}[[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        spy.url
    ))
    .await;
    let receiver = gateway(&format!(
        "{EGRESS}[[agents]]\nname = \"inbox\"\nurl = \"http://127.0.0.1:{port}\"\n\
         [agents.webhooks]\ndeliver_to = \"/notify\"\n\
         jwks_url = \"{s}/.well-known/jwks.json\"\nissuer = \"{s}\"\n\
         [[agents]]\nname = \"plain\"\nurl = \"http://127.0.0.1:{port}\"\n",
        port = agent.port(),
        s = sender.gateway,
    ))
    .await;
    let hook = format!("{}/webhooks/inbox", receiver.gateway);

    // The inbox agent subscribes, at the sender, with Warden's receiver URL;
    // another party subscribes to another task with its own URL.
    let key = sender.api_key().await;
    sender
        .cli(&[
            "grant", "add", "--skills", "*", "--ops", "all", "tester", "spy",
        ])
        .await;
    for _ in 0..2 {
        let (s, v) = rpc(
            &sender,
            &key,
            "SendMessage",
            json!({"message": user_message("x")}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
    }
    let elsewhere_url = format!("http://127.0.0.1:{}/hook", _elsewhere.port());
    for (task, id, url) in [("t1", "c1", &hook), ("t2", "c2", &elsewhere_url)] {
        let (s, v) = rpc(
            &sender,
            &key,
            "CreateTaskPushNotificationConfig",
            json!({"taskId": task, "id": id, "url": url, "token": "inbox-token"}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
    }
    let given = relays(&spy);
    assert_eq!(given.len(), 2);

    // A real delivery: the spy posts to the sender's relay, the sender's
    // outbox signs and delivers to the receiving gateway, which verifies it
    // against the sender's JWKS and passes it on.
    let note = status_update("t1", "TASK_STATE_WORKING");
    assert_eq!(relay(&given[0].0, &given[0].1, &note).await, 202);
    let got = next(&mut passed).await;
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, "/notify");
    assert_eq!(
        serde_json::from_slice::<Value>(&got.body).expect("json"),
        note
    );
    assert_eq!(got.header("x-a2a-notification-token"), Some("inbox-token"));
    let verified: Vec<(String, String)> = url::form_urlencoded::parse(
        got.header("x-warden-webhook-verified")
            .expect("verified")
            .as_bytes(),
    )
    .into_owned()
    .collect();
    let field = |k: &str| {
        verified
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(field("scheme"), Some("v1a"), "{verified:?}");
    assert_eq!(field("task"), Some("t1"));
    assert_eq!(field("iss"), Some(sender.gateway.as_str()));
    assert!(field("kid").is_some_and(|k| k.starts_with("webhook-")));
    assert_eq!(field("id"), got.header("webhook-id"));
    let genuine = webhook_headers(&got);
    assert_eq!(genuine.len(), 5, "{genuine:?}");

    // Another receiver's genuine delivery (its aud is that receiver's URL).
    let note2 = status_update("t2", "TASK_STATE_WORKING");
    assert_eq!(relay(&given[1].0, &given[1].1, &note2).await, 202);
    let theirs = next(&mut other).await;

    // Replayed: answered 200 (the sender stops retrying), not passed on.
    assert_eq!(post(&hook, &genuine, &got.body).await, 200);
    // Body-swapped: the JWT's body hash and the signature no longer match.
    let swapped = serde_json::to_vec(&status_update("t1", "TASK_STATE_COMPLETED")).expect("json");
    assert_eq!(post(&hook, &genuine, &swapped).await, 401);
    // Re-targeted: a genuine notification meant for another receiver.
    assert_eq!(
        post(&hook, &webhook_headers(&theirs), &theirs.body).await,
        401
    );
    // Forged: the genuine JWT with a signature that is not the sender's…
    let sig = got.header("webhook-signature").expect("signature");
    let v1a = sig
        .split(' ')
        .find_map(|e| e.strip_prefix("v1a,"))
        .expect("v1a");
    let mut bytes = base64::engine::general_purpose::STANDARD
        .decode(v1a)
        .expect("base64");
    bytes[0] ^= 1;
    let flipped = format!(
        "v1a,{}",
        base64::engine::general_purpose::STANDARD.encode(&bytes)
    );
    // (The genuine id: the signature is checked before the id is.)
    let forged = with(&genuine, "webhook-signature", &flipped);
    assert_eq!(post(&hook, &forged, &got.body).await, 401);
    // …and a whole notification signed by a key of the forger's own, with
    // every claim right.
    let forger = SigningKey::generate(JwsAlg::EdDsa).expect("key");
    let forger =
        SigningKey::from_pkcs8(JwsAlg::EdDsa, forger.pkcs8(), Some("webhook-forger")).expect("key");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs();
    let signed = Signer::new(&sender.gateway)
        .sign(
            &Notification {
                id: "msg_forged00000000000000000000002",
                body: &got.body,
                url: &hook,
                task_id: "t1",
            },
            &[SubscriptionSecret::generate().expect("secret")],
            &forger,
            now,
        )
        .expect("sign");
    let signed: Vec<(String, String)> = signed
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    assert_eq!(post(&hook, &signed, &got.body).await, 401);
    // Malformed: no webhook headers at all.
    assert_eq!(post(&hook, &[], &got.body).await, 400);
    // No receiver: an agent without [agents.webhooks], and no agent.
    for path in ["plain", "nobody"] {
        let url = format!("{}/webhooks/{path}", receiver.gateway);
        assert_eq!(post(&url, &genuine, &got.body).await, 404, "{path}");
    }
    // Stale: the genuine delivery ten minutes later (the receiver's clock).
    receiver.advance_clock(600);
    let later = with(&genuine, "webhook-id", "msg_later");
    assert_eq!(post(&hook, &genuine, &got.body).await, 401);
    assert_eq!(post(&hook, &later, &got.body).await, 401);

    assert!(
        passed.try_recv().is_err(),
        "a refused notification reached the agent"
    );
    let reasons = audit_reasons(&receiver).await;
    for want in [
        "forwarded webhook_delivered",
        "refused webhook_replayed",
        "refused webhook_body_swapped",
        "refused webhook_wrong_audience",
        "refused webhook_bad_signature",
        "refused webhook_unknown_key",
        "refused webhook_stale",
        "refused webhook_no_receiver",
    ] {
        assert!(
            reasons.iter().any(|r| r == want),
            "{want} not in {reasons:?}"
        );
    }
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("refused webhook_malformed")),
        "{reasons:?}"
    );
}

/// `standardwebhooks`' `sign`, for `secret`, `id`, `timestamp` and `body`:
/// the `webhook-signature` value.
fn python_sign(secret: &str, id: &str, timestamp: u64, body: &[u8]) -> String {
    const SCRIPT: &str = "import datetime, os, sys\n\
        from standardwebhooks import Webhook\n\
        ts = datetime.datetime.fromtimestamp(int(sys.argv[2]), tz=datetime.timezone.utc)\n\
        print(Webhook(os.environ['WH_SECRET']).sign(sys.argv[1], ts, sys.stdin.buffer.read()))\n";
    let mut child = std::process::Command::new(python())
        .args(["-c", SCRIPT, id, &timestamp.to_string()])
        .env("WH_SECRET", secret)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body)
        .expect("write");
    let out = child.wait_with_output().expect("python");
    assert!(out.status.success(), "python failed");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

#[tokio::test]
async fn notifications_signed_by_the_official_python_library_pass_with_the_secret_and_hostile_ones_do_not()
 {
    let (agent, mut passed) = recorder().await;
    let dir = tempfile::tempdir().expect("dir");
    let secret = SubscriptionSecret::generate().expect("secret").to_whsec();
    let file = dir.path().join("inbox.secret");
    std::fs::write(&file, format!("{secret}\n")).expect("write");
    let receiver = gateway(&format!(
        "[[agents]]\nname = \"inbox\"\nurl = \"http://127.0.0.1:{}/a2a\"\n\
         [agents.webhooks]\ndeliver_to = \"http://127.0.0.1:{}/hooks/a2a\"\n\
         secret_files = [{file:?}]\n",
        agent.port(),
        agent.port(),
    ))
    .await;
    let hook = format!("{}/webhooks/inbox", receiver.gateway);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs();
    let body = serde_json::to_vec(&status_update("t-py", "TASK_STATE_COMPLETED")).expect("json");
    let headers = |id: &str, at: u64, sig: String| {
        vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("webhook-id".to_string(), id.to_string()),
            ("webhook-timestamp".to_string(), at.to_string()),
            ("webhook-signature".to_string(), sig),
        ]
    };

    let genuine = headers("msg_py1", now, python_sign(&secret, "msg_py1", now, &body));
    assert_eq!(post(&hook, &genuine, &body).await, 200);
    let got = next(&mut passed).await;
    assert_eq!(got.path, "/hooks/a2a");
    assert_eq!(got.body, body);
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(
        got.header("x-warden-webhook-verified"),
        Some("id=msg_py1&scheme=v1")
    );

    // Replayed, body-swapped, forged (another secret), stale (an hour old).
    assert_eq!(post(&hook, &genuine, &body).await, 200);
    let swapped = serde_json::to_vec(&status_update("t-py", "TASK_STATE_FAILED")).expect("json");
    assert_eq!(post(&hook, &genuine, &swapped).await, 401);
    let other = SubscriptionSecret::generate().expect("secret").to_whsec();
    let forged = headers("msg_py2", now, python_sign(&other, "msg_py2", now, &body));
    assert_eq!(post(&hook, &forged, &body).await, 401);
    let old = now - 3600;
    let stale = headers("msg_py3", old, python_sign(&secret, "msg_py3", old, &body));
    assert_eq!(post(&hook, &stale, &body).await, 401);

    assert!(
        passed.try_recv().is_err(),
        "a refused notification reached the agent"
    );
}
