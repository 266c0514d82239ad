//! Receivers in other languages verify what this crate signs: the official
//! Standard Webhooks libraries (`standardwebhooks` 1.3.0 on PyPI and npm)
//! unchanged, and the documented recipes for Warden's public keys (PyJWT +
//! cryptography; jose + node:crypto). The scripts are
//! `tests/interop/python/webhook_receiver.py` and
//! `tests/interop/js/webhook_receiver.mjs`; each gets the same deliveries,
//! genuine and hostile, and says what each receiver made of them. The
//! official libraries read the real clock, so the deliveries are signed at
//! the real time (read, never waited on).

use std::io::Write as _;
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use warden_test_support::interop::{js_dir, python};
use warden_test_support::repo_root;
use warden_trust::{JwsAlg, KeySet, SigningKey};
use warden_webhooks::{Notification, Signer, SubscriptionSecret, Verifier, new_id};

const URL: &str = "https://hooks.example.com/a2a/tasks";
const ISSUER: &str = "https://warden.example.com";
const BODY: &[u8] = br#"{"statusUpdate":{"taskId":"t-1","contextId":"c-1","status":{"state":"TASK_STATE_WORKING"}}}"#;
const OTHER_BODY: &[u8] = br#"{"statusUpdate":{"taskId":"t-1","contextId":"c-1","status":{"state":"TASK_STATE_FAILED"}}}"#;

fn key(kid: &str) -> SigningKey {
    let k = SigningKey::generate(JwsAlg::EdDsa).expect("key");
    SigningKey::from_pkcs8(JwsAlg::EdDsa, k.pkcs8(), Some(kid)).expect("key")
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// One delivery: its name, headers, body, and what each receiver must say
/// (the official library alone, the secret recipe, the keys recipe, and
/// this crate's `Verifier` with the keys).
struct Delivery {
    name: &'static str,
    headers: Vec<(&'static str, String)>,
    body: &'static [u8],
    library: bool,
    hmac: &'static str,
    keys: &'static str,
}

struct Scene {
    secret: SubscriptionSecret,
    jwks: KeySet,
    deliveries: Vec<Delivery>,
}

fn scene() -> Scene {
    let webhook = key("webhook-k1");
    let jwks = KeySet::from_keys([
        webhook.public_jwk(),
        key("tok-1").public_jwk(),
        key("card-1").public_jwk(),
    ]);
    let secret = SubscriptionSecret::generate().expect("secret");
    let other_secret = SubscriptionSecret::generate().expect("secret");
    let impostor = key("webhook-k1");
    let t = now();
    let sign = |issuer: &str, k: &SigningKey, s: &SubscriptionSecret, id: &str, url: &str, at| {
        let n = Notification {
            id,
            body: BODY,
            url,
            task_id: "t-1",
        };
        Signer::new(issuer)
            .sign(&n, std::slice::from_ref(s), k, at)
            .expect("sign")
    };
    let genuine_id = new_id();
    let genuine = sign(ISSUER, &webhook, &secret, &genuine_id, URL, t);
    let d = |name, headers, body, library, hmac, keys| Delivery {
        name,
        headers,
        body,
        library,
        hmac,
        keys,
    };
    let deliveries = vec![
        d("genuine", genuine.clone(), BODY, true, "ok", "ok"),
        // The library alone checks signature and time, not ids: the
        // receivers remember them.
        d("replayed", genuine, BODY, true, "replayed", "replayed"),
        d(
            "retry",
            sign(ISSUER, &webhook, &secret, &genuine_id, URL, t + 1),
            BODY,
            true,
            "replayed",
            "replayed",
        ),
        d(
            "forged",
            sign(ISSUER, &impostor, &other_secret, &new_id(), URL, t),
            BODY,
            false,
            "refused",
            "bad_signature",
        ),
        d(
            "unknown_key",
            sign(ISSUER, &key("webhook-zz"), &other_secret, &new_id(), URL, t),
            BODY,
            false,
            "refused",
            "unknown_key",
        ),
        d(
            "stale",
            sign(ISSUER, &webhook, &secret, &new_id(), URL, t - 3600),
            BODY,
            false,
            "refused",
            "stale",
        ),
        d(
            "future",
            sign(ISSUER, &webhook, &secret, &new_id(), URL, t + 3600),
            BODY,
            false,
            "refused",
            "future",
        ),
        // Meant for another subscription: its own secret, its own URL.
        d(
            "retargeted",
            sign(
                ISSUER,
                &webhook,
                &other_secret,
                &new_id(),
                "https://other.example.com/hook",
                t,
            ),
            BODY,
            false,
            "refused",
            "wrong_audience",
        ),
        d(
            "body_swapped",
            sign(ISSUER, &webhook, &secret, &new_id(), URL, t),
            OTHER_BODY,
            false,
            "refused",
            "body_swapped",
        ),
        // The right secret, but the JWT names another issuer than the one
        // the keys receiver pinned.
        d(
            "wrong_issuer",
            sign(
                "https://elsewhere.example.com",
                &webhook,
                &secret,
                &new_id(),
                URL,
                t,
            ),
            BODY,
            true,
            "ok",
            "wrong_issuer",
        ),
    ];
    Scene {
        secret,
        jwks,
        deliveries,
    }
}

fn input(s: &Scene) -> Value {
    json!({
        "secret": s.secret.to_whsec(),
        "jwks": s.jwks.to_jwks(),
        "url": URL,
        "issuer": ISSUER,
        "deliveries": s.deliveries.iter().map(|d| json!({
            "name": d.name,
            "headers": d.headers.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "body_b64": STANDARD.encode(d.body),
        })).collect::<Vec<_>>(),
    })
}

/// Runs `program args` with `stdin`, returns its JSON lines.
fn run(mut cmd: Command, stdin: &Value) -> Vec<Value> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the receiver");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.to_string().as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("receiver output");
    assert!(
        out.status.success(),
        "receiver failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn assert_outcomes(language: &str, s: &Scene, lines: &[Value]) {
    assert_eq!(lines.len(), s.deliveries.len(), "{language}: {lines:?}");
    for (d, got) in s.deliveries.iter().zip(lines) {
        assert_eq!(got["name"], d.name);
        let library_ok = got["library"] == "ok";
        assert_eq!(
            library_ok, d.library,
            "{language} library, {}: {got}",
            d.name
        );
        assert_eq!(
            got["hmac"], d.hmac,
            "{language} secret recipe, {}: {got}",
            d.name
        );
        assert_eq!(
            got["keys"], d.keys,
            "{language} keys recipe, {}: {got}",
            d.name
        );
        if d.keys == "ok" {
            assert_eq!(got["taskId"], "t-1", "{language}: {got}");
        }
    }
}

#[test]
fn python_receivers_verify_warden_notifications_and_refuse_the_rest() {
    let s = scene();
    let mut cmd = Command::new(python());
    cmd.arg(repo_root().join("tests/interop/python/webhook_receiver.py"));
    assert_outcomes("python", &s, &run(cmd, &input(&s)));
}

#[test]
fn javascript_receivers_verify_warden_notifications_and_refuse_the_rest() {
    let s = scene();
    let mut cmd = Command::new("node");
    cmd.arg(js_dir().join("webhook_receiver.mjs"));
    assert_outcomes("javascript", &s, &run(cmd, &input(&s)));
}

/// The Rust verifier reaches the same verdicts as the keys recipes, so the
/// three receivers documented side by side behave alike.
#[test]
fn the_rust_verifier_agrees_with_the_recipes() {
    let s = scene();
    let v = Verifier::builder()
        .keys(s.jwks.clone())
        .receiver_url(URL)
        .issuer(ISSUER)
        .build()
        .expect("verifier");
    for d in &s.deliveries {
        let got = match v.verify(
            d.headers.iter().map(|(k, v)| (*k, v.as_bytes())),
            d.body,
            now(),
        ) {
            Ok(_) => "ok",
            Err(e) => e.reason(),
        };
        assert_eq!(got, d.keys, "{}", d.name);
    }
}

/// docs/webhooks.md shows the recipes; they must be the files the tests run.
#[test]
fn the_recipes_in_the_docs_are_the_tested_ones() {
    let docs = std::fs::read_to_string(repo_root().join("docs/webhooks.md")).expect("docs");
    for (file, comment) in [
        ("tests/interop/python/webhook_receiver.py", "#"),
        ("tests/interop/js/webhook_receiver.mjs", "//"),
    ] {
        let text = std::fs::read_to_string(repo_root().join(file)).expect("recipe file");
        for name in ["keys", "secret"] {
            let start = format!("{comment} --- recipe: {name} ");
            let end = format!("{comment} --- end of recipe: {name}");
            let from = text.find(&start).expect("start marker");
            let from = from + text[from..].find('\n').expect("marker line") + 1;
            let to = text.find(&end).expect("end marker");
            let block = &text[from..to];
            assert!(
                docs.contains(block),
                "docs/webhooks.md lacks the {name} recipe of {file} as it stands"
            );
        }
    }
}
