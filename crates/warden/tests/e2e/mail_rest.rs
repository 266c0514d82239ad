//! The mailbox over REST (`/mail/v1`) and the `warden mail` CLI, against a
//! running gateway with registry agents alice, bob and carol, each with an
//! API key: request access → grant → send with an idempotency key twice (one
//! message) → inbox → read → ack; an unknown and an ungranted recipient
//! answered alike (status, headers that matter, body byte for byte, and
//! time: medians of many interleaved sends); a revoked grant stops the very
//! next send; who has a mailbox; the same flow through the CLI.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Running, client, gateway, warden};

/// A gateway whose mailbox rates, and per-address limit, leave room for the
/// timing sample (the defaults would refuse a burst of a few hundred sends
/// from one agent, or from one address).
const CONFIG: &str = "[rate_limits]\n\
    source = { rate = \"10000/s\", burst = 10000 }\n\
    [mailbox]\n\
    sender_rate = { rate = \"1000/s\", burst = 2000 }\n\
    pair_rate = { rate = \"1000/s\", burst = 2000 }\n\
    request_rate = { rate = \"1000/s\", burst = 2000 }\n";

/// The gateway, and alice, bob and carol registered with an API key each.
struct Mail {
    w: Running,
    keys: std::collections::HashMap<&'static str, String>,
}

impl Mail {
    async fn start() -> Self {
        let w = gateway(CONFIG).await;
        let mut keys = std::collections::HashMap::new();
        for a in ["alice", "bob", "carol"] {
            w.cli(&["registry", "add", a]).await;
            keys.insert(a, w.cli(&["apikey", "create", "--sub", a]).await);
        }
        Self { w, keys }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/mail/v1{path}", self.w.gateway)
    }

    /// A request as `who` (an API key): status, headers, body text.
    async fn call(
        &self,
        who: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        idempotency_key: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let mut req = client()
            .request(method, self.url(path))
            .header("x-api-key", &self.keys[who]);
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(k) = idempotency_key {
            req = req.header("idempotency-key", k);
        }
        let r = req.send().await.expect("mail request");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        (status, headers, r.text().await.expect("body"))
    }

    /// The same, the body read as JSON.
    async fn json(
        &self,
        who: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, _, text) = self.call(who, method, path, body, None).await;
        let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
        (status, v)
    }

    async fn send(&self, from: &str, to: &str, text: &str, key: Option<&str>) -> (u16, String) {
        let body = json!({"to": to, "topic": "ci", "parts": [{"text": text}]});
        let (s, _, t) = self
            .call(from, reqwest::Method::POST, "/messages", Some(body), key)
            .await;
        (s, t)
    }

    /// The mailbox's audit events (kind `mail_*`), oldest first.
    async fn audit(&self) -> Vec<warden_store::AuditRecord> {
        self.w.flush_audit().await;
        let store = warden_store::Store::open(&self.w.data_dir().join("warden.db"))
            .await
            .expect("store");
        let mut events = store.recent_audit(1000).await.expect("audit");
        events.reverse();
        events
            .into_iter()
            .filter(|e| e.kind.starts_with("mail_"))
            .collect()
    }
}

use reqwest::Method as M;

#[tokio::test]
async fn request_grant_send_twice_inbox_read_ack_over_rest() {
    let m = Mail::start().await;
    // bob asks alice; alice sees the request and accepts it.
    let (s, sent) = m
        .json(
            "bob",
            M::POST,
            "/access-requests",
            Some(json!({"to": "alice", "topics": ["ci"], "note": "build reports"})),
        )
        .await;
    assert_eq!(s, 202, "{sent}");
    let request_id = sent["requestId"].as_str().expect("request id").to_string();
    let (s, page) = m
        .json("alice", M::GET, "/inbox?kind=access_request", None)
        .await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["messages"][0]["id"], request_id.as_str());
    assert_eq!(page["messages"][0]["from"], "bob");
    let (s, g) = m
        .json(
            "alice",
            M::POST,
            "/grants",
            Some(json!({"requestId": request_id})),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    assert_eq!(
        (g["sender"].as_str(), g["topics"].clone()),
        (Some("bob"), json!(["ci"]))
    );

    // The same send twice with one key: one message, the first answer again.
    let (s1, first) = m
        .send("bob", "alice", "build 42 is green", Some("build-42"))
        .await;
    let (s2, again) = m
        .send("bob", "alice", "build 42 is green", Some("build-42"))
        .await;
    assert_eq!((s1, s2), (201, 200), "{first} / {again}");
    let first: Value = serde_json::from_str(&first).expect("json");
    let again: Value = serde_json::from_str(&again).expect("json");
    assert_eq!(first["message"], again["message"]);
    assert_eq!(
        (first["duplicate"].as_bool(), again["duplicate"].as_bool()),
        (Some(false), Some(true))
    );
    // The key with another message is refused.
    let (s, body) = m
        .send("bob", "alice", "something else", Some("build-42"))
        .await;
    assert_eq!(s, 409, "{body}");
    assert!(body.contains("IDEMPOTENCY_CONFLICT"), "{body}");

    let id = first["message"]["id"].as_str().expect("id").to_string();
    let (s, page) = m.json("alice", M::GET, "/inbox?kind=message", None).await;
    assert_eq!(s, 200);
    let ids: Vec<&str> = page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids, [id.as_str()], "one message: {page}");
    let (s, msg) = m
        .json("alice", M::GET, &format!("/messages/{id}"), None)
        .await;
    assert_eq!(s, 200, "{msg}");
    assert_eq!(msg["from"], "bob");
    assert_eq!(msg["parts"], json!([{"text": "build 42 is green"}]));
    assert!(msg["readAt"].is_string(), "reading marks it read: {msg}");
    signed_by_a_published_key(&m.w, &msg).await;
    let (s, acked) = m
        .json("alice", M::POST, &format!("/messages/{id}/ack"), None)
        .await;
    assert_eq!(s, 200, "{acked}");
    assert!(acked["ackedAt"].is_string(), "{acked}");
    let (_, unacked) = m
        .json("alice", M::GET, "/inbox?state=unacked&kind=message", None)
        .await;
    assert_eq!(unacked["messages"], json!([]), "{unacked}");
    // Nobody else reads it: another's message is no message at all.
    let (s, _) = m
        .json("carol", M::GET, &format!("/messages/{id}"), None)
        .await;
    assert_eq!(s, 404);

    // Audited, kind by kind, without content.
    let events = m.audit().await;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    for k in [
        "mail_request",
        "mail_inbox",
        "mail_grant",
        "mail_send",
        "mail_read",
        "mail_ack",
    ] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    let sends: Vec<_> = events.iter().filter(|e| e.kind == "mail_send").collect();
    assert_eq!(
        sends.iter().map(|e| e.outcome.as_str()).collect::<Vec<_>>(),
        ["answered", "answered", "refused"]
    );
    assert_eq!(
        sends[2].reason.as_deref(),
        Some("mail_idempotency_conflict")
    );
    for e in &events {
        let text = format!("{e:?}");
        assert!(
            !text.contains("build 42") && !text.contains("build reports"),
            "{text}"
        );
    }
}

/// The signature's key is one the gateway publishes in its JWKS.
async fn signed_by_a_published_key(w: &Running, msg: &Value) {
    use base64::Engine as _;
    let sig = msg["signature"].as_str().expect("signature");
    let mut segments = sig.split('.');
    let header = segments.next().expect("header");
    assert_eq!(segments.next(), Some(""), "a detached payload: {sig}");
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .expect("base64url"),
    )
    .expect("header json");
    assert_eq!(header["alg"], "EdDSA");
    let jwks: Value = client()
        .get(format!("{}/.well-known/jwks.json", w.gateway))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    assert!(
        jwks["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .any(|k| k["kid"] == header["kid"]),
        "{header} in {jwks}"
    );
}

#[tokio::test]
async fn an_unknown_and_an_ungranted_recipient_get_the_same_answer_in_the_same_time() {
    let m = Mail::start().await;
    // carol exists and granted bob nothing; "nobody" does not exist.
    let (s_unknown, h_unknown, b_unknown) = {
        let body = json!({"to": "nobody", "topic": "ci", "parts": [{"text": "hi"}]});
        m.call("bob", M::POST, "/messages", Some(body), None).await
    };
    let (s_ungranted, h_ungranted, b_ungranted) = {
        let body = json!({"to": "carol", "topic": "ci", "parts": [{"text": "hi"}]});
        m.call("bob", M::POST, "/messages", Some(body), None).await
    };
    assert_eq!((s_unknown, s_ungranted), (404, 404));
    assert_eq!(b_unknown, b_ungranted, "byte for byte");
    for h in [
        "content-type",
        "content-length",
        "cache-control",
        "retry-after",
    ] {
        assert_eq!(h_unknown.get(h), h_ungranted.get(h), "{h}");
    }
    assert!(
        b_unknown.contains("no such recipient, or it has not granted you"),
        "{b_unknown}"
    );
    // A grant for another topic, and a grant alice gave someone else, are
    // no grant either.
    let (s, _) = m
        .json(
            "carol",
            M::POST,
            "/grants",
            Some(json!({"sender": "bob", "topics": ["other"]})),
        )
        .await;
    assert_eq!(s, 201);
    let (_, _, b_topic) = {
        let body = json!({"to": "carol", "topic": "ci", "parts": [{"text": "hi"}]});
        m.call("bob", M::POST, "/messages", Some(body), None).await
    };
    assert_eq!(b_topic, b_unknown);
    // An access request: the same status and shape whether or not the
    // recipient exists.
    let (s1, r1) = m
        .json(
            "bob",
            M::POST,
            "/access-requests",
            Some(json!({"to": "nobody"})),
        )
        .await;
    let (s2, r2) = m
        .json(
            "bob",
            M::POST,
            "/access-requests",
            Some(json!({"to": "alice"})),
        )
        .await;
    assert_eq!((s1, s2), (202, 202));
    let keys = |v: &Value| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>());
    assert_eq!(keys(&r1), keys(&r2));

    // Time: many sends to each, interleaved, on one connection; the
    // medians within a generous factor (the machine is shared and noisy;
    // a skipped lookup or write would show as a steady gap, not noise).
    let http = client();
    let timed = |path: &'static str, to: &'static str, expect: u16| {
        let body = json!({"to": to, "topic": "ci", "parts": [{"text": "hi"}]});
        let body = if path == "/messages" {
            body
        } else {
            json!({"to": to, "topics": ["ci"]})
        };
        let req = http
            .post(m.url(path))
            .header("x-api-key", &m.keys["bob"])
            .json(&body);
        async move {
            let started = Instant::now();
            let r = req.send().await.expect("send");
            let status = r.status().as_u16();
            let _ = r.bytes().await;
            assert_eq!(status, expect, "{path} to {to}");
            started.elapsed()
        }
    };
    let (a, b) =
        medians(|unknown| timed("/messages", if unknown { "nobody" } else { "carol" }, 404)).await;
    within_noise("a send to an unknown / an ungranted recipient", a, b);
    // An access request writes either way (to the void address for an
    // unknown recipient): the same time too.
    let (a, b) = medians(|unknown| {
        timed(
            "/access-requests",
            if unknown { "nobody" } else { "alice" },
            202,
        )
    })
    .await;
    within_noise("an access request to an unknown / a known recipient", a, b);
}

/// Medians of `ROUNDS` timings of `f(true)` and `f(false)`, interleaved
/// (which goes first alternates), after a warm-up.
async fn medians<F, Fut>(mut f: F) -> (f64, f64)
where
    F: FnMut(bool) -> Fut,
    Fut: std::future::Future<Output = Duration>,
{
    const ROUNDS: usize = 150;
    for _ in 0..10 {
        f(true).await;
        f(false).await;
    }
    let (mut yes, mut no) = (Vec::new(), Vec::new());
    for i in 0..ROUNDS {
        if i % 2 == 0 {
            yes.push(f(true).await);
            no.push(f(false).await);
        } else {
            no.push(f(false).await);
            yes.push(f(true).await);
        }
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64()
    };
    (median(&mut yes), median(&mut no))
}

/// Two medians within a generous factor of each other.
fn within_noise(what: &str, a: f64, b: f64) {
    let ratio = a.max(b) / a.min(b);
    eprintln!(
        "mail timing, {what}: medians {:.3} ms / {:.3} ms, ratio {ratio:.3}",
        a * 1e3,
        b * 1e3
    );
    assert!(
        ratio < 1.5,
        "{what}: medians {:.3} ms vs {:.3} ms (ratio {ratio:.2})",
        a * 1e3,
        b * 1e3
    );
}

#[tokio::test]
async fn a_revoked_grant_stops_the_very_next_send() {
    let m = Mail::start().await;
    let (s, _) = m
        .json("alice", M::POST, "/grants", Some(json!({"sender": "bob"})))
        .await;
    assert_eq!(s, 201);
    let (s, body) = m.send("bob", "alice", "one", None).await;
    assert_eq!(s, 201, "{body}");
    let (s, grants) = m.json("bob", M::GET, "/grants", None).await;
    assert_eq!(
        (s, grants["received"][0]["recipient"].as_str()),
        (200, Some("alice"))
    );
    let (s, r) = m.json("alice", M::DELETE, "/grants/bob", None).await;
    assert_eq!((s, r["revoked"].as_bool()), (200, Some(true)), "{r}");
    // The very next send: the answer of a recipient that never existed.
    let (s, revoked) = m.send("bob", "alice", "two", None).await;
    let (_, unknown) = m.send("bob", "nobody", "two", None).await;
    assert_eq!(s, 404);
    assert_eq!(revoked, unknown);
    let (_, again) = m.json("alice", M::DELETE, "/grants/bob", None).await;
    assert_eq!(again["revoked"], false);
    let (_, page) = m.json("alice", M::GET, "/inbox", None).await;
    assert_eq!(page["messages"].as_array().map(Vec::len), Some(1), "{page}");
}

#[tokio::test]
async fn only_registry_agents_have_a_mailbox_and_its_tokens_open_nothing_else() {
    let m = Mail::start().await;
    let me = |headers: Vec<(&'static str, String)>| {
        let mut req = client().get(m.url("/me"));
        for (k, v) in headers {
            req = req.header(k, v);
        }
        async move {
            let r = req.send().await.expect("me");
            let status = r.status().as_u16();
            (status, r.text().await.expect("text"))
        }
    };
    let (s, body) = me(vec![]).await;
    assert_eq!(s, 401, "{body}");
    // A Warden token for the mailbox, minted for alice: single-use.
    let token =
        m.w.cli(&["token", "mint", "--sub", "alice", "--aud", "warden-mailbox"])
            .await;
    let bearer = vec![("authorization", format!("Bearer {token}"))];
    let (s, body) = me(bearer.clone()).await;
    assert_eq!(s, 200, "{body}");
    assert!(body.contains("\"address\":\"alice\""), "{body}");
    let (s, _) = me(bearer).await;
    assert_eq!(s, 401, "a bearer token is single-use");
    // A token for another audience is not one for the mailbox.
    m.w.cli(&["registry", "add", "dave", "--grant", "echo=*"])
        .await;
    let other =
        m.w.cli(&["token", "mint", "--sub", "dave", "--aud", "echo"])
            .await;
    let (s, _) = me(vec![("authorization", format!("Bearer {other}"))]).await;
    assert_eq!(s, 401, "a token for echo");
    // A quarantined agent has no mailbox (its key still authenticates).
    m.w.cli(&["quarantine", "add", "carol", "--reason", "test"])
        .await;
    let (s, body) = me(vec![("x-api-key", m.keys["carol"].clone())]).await;
    assert_eq!(s, 403, "{body}");
    assert!(body.contains("no mailbox for this caller"), "{body}");
    // Refused before its body is read, a send still leaves the connection
    // usable (the body is drained): twice on one connection.
    let http = client();
    for _ in 0..2 {
        let r = http
            .post(m.url("/messages"))
            .header("x-api-key", &m.keys["carol"])
            .json(&json!({"to": "alice", "parts": [{"text": "x".repeat(50_000)}]}))
            .send()
            .await
            .expect("the connection holds");
        assert_eq!(r.status(), 403);
    }
    // Wrong methods and strict inputs, in the REST error shape.
    let r = client()
        .patch(m.url("/me"))
        .header("x-api-key", &m.keys["alice"])
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), 405);
    let (s, body) = m.json("alice", M::GET, "/inbox?limit=0", None).await;
    assert_eq!(s, 400, "{body}");
    let (s, body) = m.json("alice", M::GET, "/inbox?colour=red", None).await;
    assert_eq!(
        (s, body["error"]["details"][0]["reason"].as_str()),
        (400, Some("INVALID"))
    );
    let (s, body) = m
        .json(
            "bob",
            M::POST,
            "/messages",
            Some(json!({"to": "alice", "parts": [{"text": "x"}], "cc": "carol"})),
        )
        .await;
    assert_eq!(s, 400, "unknown field: {body}");
    let (s, _) = m
        .json("alice", M::POST, "/grants", Some(json!({"sender": "bob"})))
        .await;
    assert_eq!(s, 201);
    // A file by reference is held to the egress rules.
    let (s, body) = m
        .json(
            "bob",
            M::POST,
            "/messages",
            Some(json!({"to": "alice",
            "parts": [{"url": "https://169.254.169.254/latest/meta-data", "filename": "x"}]})),
        )
        .await;
    assert_eq!(s, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("egress"),
        "{body}"
    );
}

/// `warden mail ARGS… --gateway G` with `auth`: exit code, stdout, stderr.
async fn mail_cli(m: &Mail, auth: &[&str], args: &[&str]) -> (i32, String, String) {
    let out = warden()
        .arg("mail")
        .args(args)
        .args(["--gateway", &m.w.gateway])
        .args(auth)
        .output()
        .await
        .expect("warden mail");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[tokio::test]
async fn the_same_flow_through_the_cli() {
    let m = Mail::start().await;
    let data = m.w.data_dir().display().to_string();
    let as_ = |who: &'static str| {
        vec![
            "--data-dir".to_string(),
            data.clone(),
            "--as".into(),
            who.into(),
        ]
    };
    let key_file = m.w.dir.path().join("bob.key");
    std::fs::write(&key_file, format!("{}\n", m.keys["bob"])).expect("key file");
    let bob = ["--api-key-file", key_file.to_str().expect("path")];
    let alice_v = as_("alice");
    let alice: Vec<&str> = alice_v.iter().map(String::as_str).collect();

    let (code, out, err) = mail_cli(
        &m,
        &bob,
        &[
            "request", "--to", "alice", "--topic", "ci", "--note", "reports",
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let request_id = out.split_whitespace().next().expect("id").to_string();
    let (code, out, err) = mail_cli(&m, &alice, &["inbox", "--kind", "access_request"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&request_id) && out.contains("ACCESS REQUEST"),
        "{out}"
    );
    let (code, out, err) = mail_cli(&m, &alice, &["grant", "--request", &request_id]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("bob may send to you: ci"), "{out}");
    let send = [
        "send",
        "--to",
        "alice",
        "--topic",
        "ci",
        "--text",
        "build 7 failed",
        "--idempotency-key",
        "b7",
    ];
    let (code, first, err) = mail_cli(&m, &bob, &send).await;
    assert_eq!(code, 0, "{err}");
    let (code, again, err) = mail_cli(&m, &bob, &send).await;
    assert_eq!(code, 0, "{err}");
    let id = first.split_whitespace().next().expect("id").to_string();
    assert!(first.contains("sent to alice"), "{first}");
    assert!(again.starts_with(&format!("{id}  already sent")), "{again}");
    let (code, out, _) = mail_cli(&m, &alice, &["inbox", "--kind", "message", "--json"]).await;
    assert_eq!(code, 0);
    let page: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(page["messages"].as_array().map(Vec::len), Some(1), "{page}");
    let (code, out, err) = mail_cli(&m, &alice, &["read", &id]).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("from      bob") && out.contains("build 7 failed"),
        "{out}"
    );
    let (code, out, _) = mail_cli(&m, &alice, &["ack", &id]).await;
    assert_eq!(
        (code, out.trim()),
        (0, format!("{id}  acknowledged").as_str())
    );

    // Refusals: exit 1 with the gateway's reason; the unknown and the
    // ungranted recipient print the same.
    let (c1, _, e1) = mail_cli(&m, &bob, &["send", "--to", "nobody", "--text", "x"]).await;
    let (c2, _, e2) = mail_cli(&m, &bob, &["send", "--to", "carol", "--text", "x"]).await;
    assert_eq!((c1, c2), (1, 1));
    assert_eq!(e1, e2);
    assert!(e1.contains("error [not_found] (HTTP 404)"), "{e1}");
    let (code, out, _) = mail_cli(&m, &alice, &["revoke", "bob"]).await;
    assert_eq!((code, out.trim()), (0, "bob may no longer send to you"));
    let (code, _, err) = mail_cli(
        &m,
        &bob,
        &["send", "--to", "alice", "--topic", "ci", "--text", "x"],
    )
    .await;
    assert_eq!(code, 1, "revoked: {err}");
    // A sealing key: made here, published, shown to its owner (no grant
    // needed for one's own) and, through REST, the same.
    let key_file = m.w.dir.path().join("alice.x25519.json");
    let key_path = key_file.to_str().expect("path");
    let (code, _, err) = mail_cli(&m, &alice, &["key", "gen", "--out", key_path]).await;
    assert_eq!(code, 0, "{err}");
    let (code, published, err) = mail_cli(&m, &alice, &["key", "publish", key_path]).await;
    assert_eq!(code, 0, "{err}");
    let (code, shown, err) = mail_cli(&m, &alice, &["key", "show", "me"]).await;
    assert_eq!(code, 0, "{err}");
    let kid = |out: &str| out.split_whitespace().nth(2).map(str::to_string);
    assert_eq!(kid(&shown), kid(&published), "{shown} / {published}");
    assert!(!shown.contains("\"d\""), "never the private part: {shown}");
    let (s, k) = m.json("alice", M::GET, "/keys/me", None).await;
    assert_eq!(
        (s, k["kid"].as_str().map(str::to_string)),
        (200, kid(&shown)),
        "{k}"
    );
    // bob holds no grant from alice any more: her key is not his to see.
    let (code, _, _) = mail_cli(&m, &bob, &["key", "show", "alice"]).await;
    assert_eq!(code, 1);

    // Bad input: exit 2, before anything is sent.
    let (code, _, err) = mail_cli(&m, &[], &["inbox"]).await;
    assert_eq!(code, 2);
    assert!(err.contains("--api-key-file"), "{err}");
    let (code, _, err) = mail_cli(&m, &bob, &["send", "--to", "alice"]).await;
    assert_eq!(code, 2);
    assert!(err.contains("--text"), "{err}");
}

/// A gateway with small mailbox limits, alice, bob and carol registered.
async fn small_limits() -> Mail {
    let w = gateway(
        "[mailbox]\nmax_message_bytes = 1024\ninbox_max_bytes = 1024\n\
         pair_rate = { rate = \"1/h\", burst = 3 }\n",
    )
    .await;
    let mut keys = std::collections::HashMap::new();
    for a in ["alice", "bob", "carol"] {
        w.cli(&["registry", "add", a]).await;
        keys.insert(a, w.cli(&["apikey", "create", "--sub", a]).await);
    }
    Mail { w, keys }
}

#[tokio::test]
async fn limits_answer_with_their_status_and_are_counted() {
    let m = small_limits().await;
    for (who, sender) in [("alice", "bob"), ("carol", "bob")] {
        let (s, _) = m
            .json(who, M::POST, "/grants", Some(json!({"sender": sender})))
            .await;
        assert_eq!(s, 201);
    }
    // Larger than max_message_bytes: 413.
    let (s, body) = m.send("bob", "alice", &"x".repeat(2000), None).await;
    assert_eq!(s, 413, "{body}");
    assert!(body.contains("TOO_LARGE"), "{body}");
    // carol's inbox holds 1024 bytes: the second 600-byte message is 507.
    let (s, body) = m.send("bob", "carol", &"y".repeat(600), None).await;
    assert_eq!(s, 201, "{body}");
    let (s, body) = m.send("bob", "carol", &"z".repeat(600), None).await;
    assert_eq!(s, 507, "{body}");
    assert!(body.contains("the recipient's inbox is full"), "{body}");
    // bob -> alice: a burst of 3 an hour (the 413 above took no cell, or
    // one: either way the fifth is over).
    let mut last = (0, String::new(), None);
    for i in 0..5 {
        let body = json!({"to": "alice", "topic": "ci", "parts": [{"text": format!("n{i}")}]});
        let (s, h, b) = m.call("bob", M::POST, "/messages", Some(body), None).await;
        last = (s, b, h.get("retry-after").cloned());
    }
    assert_eq!(last.0, 429, "{}", last.1);
    assert!(last.1.contains("RATE_LIMITED"), "{}", last.1);
    let retry: u64 = last
        .2
        .expect("Retry-After")
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=3600).contains(&retry), "{retry}");
    // Counted per operation and outcome on the admin listener.
    let metrics = client()
        .get(format!("{}/metrics", m.w.admin))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for line in [
        "warden_requests_total{agent=\"warden-mailbox\",operation=\"mail_send\",outcome=\"answered\"}",
        "warden_requests_total{agent=\"warden-mailbox\",operation=\"mail_send\",outcome=\"refused\"}",
        "warden_requests_total{agent=\"warden-mailbox\",operation=\"mail_grant\",outcome=\"answered\"}",
    ] {
        assert!(metrics.contains(line), "{line} in:\n{metrics}");
    }
    let reasons: Vec<String> = m
        .audit()
        .await
        .into_iter()
        .filter(|e| e.kind == "mail_send")
        .filter_map(|e| e.reason)
        .collect();
    for r in ["mail_too_large", "mail_inbox_full", "mail_rate_limited"] {
        assert!(reasons.iter().any(|x| x == r), "{r} in {reasons:?}");
    }
}

#[tokio::test]
async fn the_token_endpoint_issues_mailbox_tokens_and_an_off_mailbox_is_an_unknown_route() {
    let m = Mail::start().await;
    // alice authenticates with her API key and asks for the mailbox.
    let r = client()
        .post(format!("{}/oauth2/token", m.w.gateway))
        .header("x-api-key", &m.keys["alice"])
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&audience=warden-mailbox")
        .send()
        .await
        .expect("token");
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.expect("json");
    assert_eq!(t["scope"], "", "no skill scopes: {t}");
    let token = t["access_token"].as_str().expect("token");
    let r = client()
        .get(m.url("/me"))
        .bearer_auth(token)
        .send()
        .await
        .expect("me");
    assert_eq!(r.status(), 200);
    // ...and that token opens no agent.
    let r = client()
        .post(format!("{}/oauth2/token", m.w.gateway))
        .header("x-api-key", &m.keys["alice"])
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&audience=echo")
        .send()
        .await
        .expect("token");
    assert_eq!(r.status(), 400, "no call grant, no token for an agent");

    let off = gateway("[mailbox]\nenabled = false\n").await;
    let r = client()
        .get(format!("{}/mail/v1/me", off.gateway))
        .send()
        .await
        .expect("me");
    assert_eq!(r.status(), 404);
    let body = r.text().await.expect("text");
    assert!(body.contains("no such agent or route"), "{body}");

    // Without authentication every caller is anonymous: nobody's mailbox.
    let open = gateway("[auth]\nmode = \"insecure-off\"\n").await;
    let r = client()
        .get(format!("{}/mail/v1/me", open.gateway))
        .send()
        .await
        .expect("me");
    assert_eq!(r.status(), 403);
    let body = r.text().await.expect("text");
    assert!(body.contains("no mailbox for this caller"), "{body}");
}

#[tokio::test]
async fn a_dpop_bound_mailbox_token_is_reusable_with_fresh_proofs_only() {
    use crate::support::{python, repo_root};
    let m = Mail::start().await;
    let url = m.url("/access-requests");
    let out = tokio::process::Command::new(python())
        .kill_on_drop(true)
        .arg(repo_root().join("tests/interop/python/dpop_flow.py"))
        .args(["--token-url", &format!("{}/oauth2/token", m.w.gateway)])
        .args(["--api-key", &m.keys["bob"], "--audience", "warden-mailbox"])
        .args(["--call-url", &url])
        .output()
        .await
        .expect("run dpop_flow.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let d: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(d["token_type"], "DPoP", "{d}");
    let authz = format!("DPoP {}", d["token"].as_str().expect("token"));
    let ask = |proof: &Value| {
        let req = client()
            .post(&url)
            .header("authorization", &authz)
            .header("dpop", proof.as_str().expect("proof"))
            .json(&json!({"to": "alice"}));
        async move { req.send().await.expect("request").status().as_u16() }
    };
    // One token, each use with its own proof: the token is not spent.
    assert_eq!(ask(&d["proofs"][0]).await, 202);
    assert_eq!(ask(&d["proofs"][1]).await, 202);
    // A proof used before, or made for another method: refused.
    assert_eq!(ask(&d["proofs"][0]).await, 401);
    assert_eq!(ask(&d["wrong_method_proof"]).await, 401);
}

#[tokio::test]
async fn two_gateways_on_one_postgres_store_share_keys_grants_and_revocations() {
    let schema = crate::store_postgres::Schema::create().await;
    let kek_dir = tempfile::tempdir().expect("dir");
    let kek = crate::support::write_kek(kek_dir.path());
    let config = format!(
        "[store]\nurl = \"{}\"\n[auth]\nkek_file = {kek:?}\n",
        schema.url()
    );
    let a = gateway(&config).await;
    let b = gateway(&config).await;
    let mut keys = std::collections::HashMap::new();
    for who in ["alice", "bob"] {
        a.cli(&["registry", "add", who]).await;
        keys.insert(who, a.cli(&["apikey", "create", "--sub", who]).await);
    }
    let at =
        |w: &Running, who: &str, method: M, path: &str, body: Option<Value>, key: Option<&str>| {
            let mut req = client()
                .request(method, format!("{}/mail/v1{path}", w.gateway))
                .header("x-api-key", &keys[who]);
            if let Some(b) = body {
                req = req.json(&b);
            }
            if let Some(k) = key {
                req = req.header("idempotency-key", k);
            }
            async move {
                let r = req.send().await.expect("request");
                let status = r.status().as_u16();
                (status, r.text().await.expect("text"))
            }
        };
    let (s, _) = at(
        &a,
        "alice",
        M::POST,
        "/grants",
        Some(json!({"sender": "bob"})),
        None,
    )
    .await;
    assert_eq!(s, 201);
    // One idempotency key, a send at each gateway: one message.
    let msg = json!({"to": "alice", "parts": [{"text": "across"}]});
    let (s1, first) = at(
        &a,
        "bob",
        M::POST,
        "/messages",
        Some(msg.clone()),
        Some("x-1"),
    )
    .await;
    let (s2, again) = at(
        &b,
        "bob",
        M::POST,
        "/messages",
        Some(msg.clone()),
        Some("x-1"),
    )
    .await;
    assert_eq!((s1, s2), (201, 200), "{first} / {again}");
    let first: Value = serde_json::from_str(&first).expect("json");
    let again: Value = serde_json::from_str(&again).expect("json");
    assert_eq!(first["message"], again["message"]);
    // Read at B: the message A stored, signed with the keys both publish.
    let id = first["message"]["id"].as_str().expect("id");
    let (s, read) = at(&b, "alice", M::GET, &format!("/messages/{id}"), None, None).await;
    assert_eq!(s, 200, "{read}");
    signed_by_a_published_key(&b, &serde_json::from_str(&read).expect("json")).await;
    // Revoked at B: the next send at A is refused.
    let (s, _) = at(&b, "alice", M::DELETE, "/grants/bob", None, None).await;
    assert_eq!(s, 200);
    let (s, body) = at(&a, "bob", M::POST, "/messages", Some(msg), None).await;
    assert_eq!(s, 404, "{body}");
    drop((a, b));
    crate::store_postgres::Schema::run(&format!("DROP SCHEMA {} CASCADE", schema.0)).await;
}
