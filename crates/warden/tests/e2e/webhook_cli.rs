//! `warden webhook verify` as a script uses it: genuine notifications pass
//! (exit 0); forged, unknown-key, stale, future, replayed, re-targeted and
//! body-swapped ones are refused with their reason (exit 1); bad input is
//! exit 2. Notifications are signed by `warden-webhooks` at the real time
//! (read, never waited on), and once with a running gateway's own webhook
//! key, verified against the JWKS it serves.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use warden_trust::{JwsAlg, KeySet, SigningKey};
use warden_webhooks::{Notification, Signer, SubscriptionSecret, new_id};

use crate::support::{up, warden};

const URL: &str = "https://hooks.example.com/a2a/tasks";
const ISSUER: &str = "https://warden.example.com";
const BODY: &[u8] = br#"{"statusUpdate":{"taskId":"t-1","contextId":"c-1","status":{"state":"TASK_STATE_WORKING"}}}"#;
const SECRET_ENV: &str = "E2E_WEBHOOK_SECRET";

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

/// A receiver's files: Warden's JWKS, the subscription secret (in an
/// environment variable of the command), the seen-ids file.
struct Receiver {
    dir: tempfile::TempDir,
    webhook: SigningKey,
    secret: SubscriptionSecret,
    jwks: PathBuf,
}

impl Receiver {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let webhook = key("webhook-e2e");
        let set = KeySet::from_keys([webhook.public_jwk(), key("tok-e2e").public_jwk()]);
        let jwks = dir.path().join("jwks.json");
        std::fs::write(&jwks, set.to_jwks().to_string()).expect("jwks");
        Self {
            dir,
            webhook,
            secret: SubscriptionSecret::generate().expect("secret"),
            jwks,
        }
    }

    fn sign(
        &self,
        k: &SigningKey,
        s: &SubscriptionSecret,
        id: &str,
        url: &str,
        at: u64,
    ) -> Vec<(&'static str, String)> {
        let n = Notification {
            id,
            body: BODY,
            url,
            task_id: "t-1",
        };
        Signer::new(ISSUER)
            .sign(&n, std::slice::from_ref(s), k, at)
            .expect("sign")
    }

    fn genuine(&self, id: &str, at: u64) -> Vec<(&'static str, String)> {
        self.sign(&self.webhook, &self.secret, id, URL, at)
    }

    /// Writes the body and a raw headers file (as a request capture has it).
    fn files(
        &self,
        name: &str,
        headers: &[(&'static str, String)],
        body: &[u8],
    ) -> (PathBuf, PathBuf) {
        let body_path = self.dir.path().join(format!("{name}.body"));
        std::fs::write(&body_path, body).expect("body");
        let mut raw = String::from("POST /a2a/tasks HTTP/1.1\r\nhost: hooks.example.com\r\n");
        for (k, v) in headers {
            raw.push_str(&format!("{k}: {v}\r\n"));
        }
        raw.push_str("\r\n");
        let headers_path = self.dir.path().join(format!("{name}.headers"));
        std::fs::write(&headers_path, raw).expect("headers");
        (body_path, headers_path)
    }

    fn seen(&self) -> PathBuf {
        self.dir.path().join("seen.txt")
    }

    async fn verify(
        &self,
        name: &str,
        headers: &[(&'static str, String)],
        body: &[u8],
        extra: &[&str],
    ) -> Output {
        let (b, h) = self.files(name, headers, body);
        warden()
            .args(["webhook", "verify", "--body"])
            .arg(&b)
            .arg("--headers-file")
            .arg(&h)
            .args(extra)
            .env(SECRET_ENV, self.secret.to_whsec())
            .output()
            .await
            .expect("run warden webhook verify")
    }

    fn by_keys(&self) -> Vec<String> {
        vec![
            "--jwks".into(),
            path(&self.jwks),
            "--url".into(),
            URL.into(),
            "--issuer".into(),
            ISSUER.into(),
        ]
    }
}

fn path(p: &Path) -> String {
    p.to_string_lossy().to_string()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "one JSON object expected ({e}): {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// Runs `extra` with `--json` and returns (exit code, reason or "ok").
async fn verdict(
    r: &Receiver,
    name: &str,
    headers: &[(&'static str, String)],
    body: &[u8],
    extra: &[String],
) -> (i32, String) {
    let mut args: Vec<&str> = extra.iter().map(String::as_str).collect();
    args.push("--json");
    let o = r.verify(name, headers, body, &args).await;
    let v = json(&o);
    let reason = if v["ok"] == true {
        "ok".to_string()
    } else {
        v["reason"].as_str().unwrap_or("?").to_string()
    };
    (code(&o), reason)
}

#[tokio::test]
async fn genuine_notifications_verify_with_the_secret_and_with_the_keys() {
    let r = Receiver::new();
    let h = r.genuine(&new_id(), now());
    let o = r
        .verify("genuine", &h, BODY, &["--secret-env", SECRET_ENV])
        .await;
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.starts_with("verified: webhook-id msg_") && out.contains("signature v1"),
        "{out}"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("no --seen-file"));

    let mut args = r.by_keys();
    args.extend(["--task-id".into(), "t-1".into(), "--json".into()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = r.verify("genuine-keys", &h, BODY, &refs).await;
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&o);
    assert_eq!(v["ok"], true);
    assert_eq!(v["task_id"], "t-1");
    assert_eq!(v["jwt_kid"], "webhook-e2e");
    assert_eq!(v["signature"], "v1a");
    assert_eq!(v["issuer"], ISSUER);

    // Headers given one by one instead of a file.
    let mut cmd = warden();
    cmd.args([
        "webhook",
        "verify",
        "--body",
        "-",
        "--secret-env",
        SECRET_ENV,
    ])
    .env(SECRET_ENV, r.secret.to_whsec());
    for (k, v) in &h {
        cmd.arg("--header").arg(format!("{k}: {v}"));
    }
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    use tokio::io::AsyncWriteExt as _;
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(BODY).await.expect("body");
    drop(stdin);
    let o = child.wait_with_output().await.expect("output");
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
}

#[tokio::test]
async fn hostile_notifications_are_refused_with_their_reason() {
    let r = Receiver::new();
    let t = now();
    let secret = vec!["--secret-env".to_string(), SECRET_ENV.to_string()];
    let keys = r.by_keys();
    let other = SubscriptionSecret::generate().expect("secret");
    let impostor = key("webhook-e2e");

    let forged = r.sign(&impostor, &other, &new_id(), URL, t);
    assert_eq!(
        verdict(&r, "forged", &forged, BODY, &secret).await,
        (1, "bad_signature".into())
    );
    assert_eq!(
        verdict(&r, "forged", &forged, BODY, &keys).await,
        (1, "bad_signature".into())
    );

    let unknown = r.sign(&key("webhook-other"), &other, &new_id(), URL, t);
    assert_eq!(
        verdict(&r, "unknown", &unknown, BODY, &keys).await,
        (1, "unknown_key".into())
    );

    let stale = r.genuine(&new_id(), t - 3600);
    assert_eq!(
        verdict(&r, "stale", &stale, BODY, &secret).await,
        (1, "stale".into())
    );
    assert_eq!(
        verdict(&r, "stale", &stale, BODY, &keys).await,
        (1, "stale".into())
    );
    let future = r.genuine(&new_id(), t + 3600);
    assert_eq!(
        verdict(&r, "future", &future, BODY, &secret).await,
        (1, "future".into())
    );
    assert_eq!(
        verdict(&r, "future", &future, BODY, &keys).await,
        (1, "future".into())
    );
    // A wider window lets the same one through (with the secret: the
    // JWT's own lifetime still bounds the keys check).
    let mut wide = secret.clone();
    wide.extend(["--max-age".into(), "7200".into()]);
    assert_eq!(
        verdict(&r, "stale-wide", &stale, BODY, &wide).await,
        (0, "ok".into())
    );

    let retargeted = r.sign(
        &r.webhook,
        &other,
        &new_id(),
        "https://other.example.com/hook",
        t,
    );
    assert_eq!(
        verdict(&r, "retargeted", &retargeted, BODY, &keys).await,
        (1, "wrong_audience".into())
    );
    assert_eq!(
        verdict(&r, "retargeted", &retargeted, BODY, &secret).await,
        (1, "bad_signature".into())
    );

    let swapped = r.genuine(&new_id(), t);
    let other_body = br#"{"statusUpdate":{"taskId":"t-1","contextId":"c-1","status":{"state":"TASK_STATE_FAILED"}}}"#;
    assert_eq!(
        verdict(&r, "swapped", &swapped, other_body, &keys).await,
        (1, "body_swapped".into())
    );
    assert_eq!(
        verdict(&r, "swapped", &swapped, other_body, &secret).await,
        (1, "bad_signature".into())
    );

    let mut missing = r.genuine(&new_id(), t);
    missing.retain(|(k, _)| *k != "webhook-signature");
    assert_eq!(
        verdict(&r, "missing", &missing, BODY, &secret).await,
        (1, "malformed".into())
    );

    let mut other_task = keys.clone();
    other_task.extend(["--task-id".into(), "t-2".into()]);
    assert_eq!(
        verdict(&r, "task", &r.genuine(&new_id(), t), BODY, &other_task).await,
        (1, "wrong_task".into())
    );

    // The text form names the reason on stderr.
    let o = r
        .verify("forged-text", &forged, BODY, &["--secret-env", SECRET_ENV])
        .await;
    assert_eq!(code(&o), 1);
    assert!(String::from_utf8_lossy(&o.stderr).contains("refused [bad_signature]"));
}

#[tokio::test]
async fn a_replay_is_refused_across_runs_with_a_seen_file() {
    let r = Receiver::new();
    let seen = path(&r.seen());
    let id = new_id();
    let first = r.genuine(&id, now());
    for extra in [
        vec![
            "--secret-env".to_string(),
            SECRET_ENV.into(),
            "--seen-file".into(),
            seen.clone(),
        ],
        {
            let mut k = r.by_keys();
            k.extend(["--seen-file".into(), seen.clone()]);
            k
        },
    ] {
        let id = new_id();
        let h = r.genuine(&id, now());
        assert_eq!(
            verdict(&r, "once", &h, BODY, &extra).await,
            (0, "ok".into())
        );
        assert_eq!(
            verdict(&r, "twice", &h, BODY, &extra).await,
            (1, "replayed".into())
        );
        // A retry is signed anew but keeps its id.
        let retry = r.genuine(&id, now() + 1);
        assert_eq!(
            verdict(&r, "retry", &retry, BODY, &extra).await,
            (1, "replayed".into())
        );
    }
    let extra = vec![
        "--secret-env".to_string(),
        SECRET_ENV.into(),
        "--seen-file".into(),
        seen.clone(),
    ];
    assert_eq!(
        verdict(&r, "first", &first, BODY, &extra).await,
        (0, "ok".into())
    );
    let text = std::fs::read_to_string(r.seen()).expect("seen file");
    assert!(text.contains(&format!("webhook:{id}")), "{text}");
    // A seen file that cannot be used is bad input, not a verdict.
    let bad = r.dir.path().join("no-such-dir/seen.txt");
    let extra = vec![
        "--secret-env".to_string(),
        SECRET_ENV.into(),
        "--seen-file".into(),
        path(&bad),
    ];
    assert_eq!(
        verdict(&r, "bad-seen", &r.genuine(&new_id(), now()), BODY, &extra).await,
        (2, "seen_file".into())
    );
}

#[tokio::test]
async fn bad_input_is_exit_2() {
    let r = Receiver::new();
    let h = r.genuine(&new_id(), now());
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_string()).collect::<Vec<_>>();
    // An unset variable; no keys at all; keys without --url; --url
    // without keys; --task-id without keys.
    assert_eq!(
        verdict(
            &r,
            "unset",
            &h,
            BODY,
            &s(&["--secret-env", "E2E_NO_SUCH_VAR"])
        )
        .await,
        (2, "secret".into())
    );
    assert_eq!(
        verdict(&r, "none", &h, BODY, &[]).await,
        (2, "usage".into())
    );
    assert_eq!(
        verdict(&r, "no-url", &h, BODY, &s(&["--jwks", &path(&r.jwks)])).await,
        (2, "usage".into())
    );
    assert_eq!(
        verdict(
            &r,
            "url-only",
            &h,
            BODY,
            &s(&["--secret-env", SECRET_ENV, "--url", URL])
        )
        .await,
        (2, "usage".into())
    );
    assert_eq!(
        verdict(
            &r,
            "task-only",
            &h,
            BODY,
            &s(&["--secret-env", SECRET_ENV, "--task-id", "t-1"])
        )
        .await,
        (2, "usage".into())
    );
    // A JWKS URL the egress rules refuse is never fetched.
    let o = r
        .verify(
            "egress",
            &h,
            BODY,
            &[
                "--jwks-url",
                "https://169.254.169.254/jwks.json",
                "--url",
                URL,
                "--json",
            ],
        )
        .await;
    assert_eq!(code(&o), 2);
    let v = json(&o);
    assert_eq!(v["reason"], "denied_address", "{v}");
    // A header line that is not 'Name: value'; a body file that is not there.
    let o = warden()
        .args([
            "webhook",
            "verify",
            "--secret-env",
            SECRET_ENV,
            "--header",
            "no colon here",
            "--body",
        ])
        .arg(r.dir.path().join("missing.body"))
        .env(SECRET_ENV, r.secret.to_whsec())
        .output()
        .await
        .expect("run");
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("error [header]"));
    let o = warden()
        .args(["webhook", "verify", "--secret-env", SECRET_ENV, "--body"])
        .arg(r.dir.path().join("missing.body"))
        .env(SECRET_ENV, r.secret.to_whsec())
        .output()
        .await
        .expect("run");
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("error [read]"));
}

/// The real thing: a running gateway's webhook key (from its store, as the
/// relay will take it) signs, and the CLI verifies against the JWKS the
/// gateway serves, fetched through the egress rules (a loopback URL given
/// on the command line is trusted for its host).
#[tokio::test]
async fn a_gateways_own_webhook_key_verifies_against_its_served_jwks() {
    let w = up(&[]).await;
    let store = warden_store::Store::open(&w.data_dir().join("warden.db"))
        .await
        .expect("store");
    let kek = warden_authority::keys::load_kek(&w.data_dir().join("kek")).expect("kek");
    let ring = warden_authority::KeyRing::open(store, kek, 86_400, 86_400, now())
        .await
        .expect("the gateway's key ring");
    let webhook = ring.webhook_signing_key().expect("webhook key");
    let r = Receiver::new();
    let headers = r.sign(&webhook, &r.secret, &new_id(), URL, now());
    let jwks_url = format!("{}/.well-known/jwks.json", w.gateway);
    let args = vec![
        "--jwks-url".to_string(),
        jwks_url.clone(),
        "--url".into(),
        URL.into(),
    ];
    assert_eq!(
        verdict(&r, "gateway", &headers, BODY, &args).await,
        (0, "ok".into())
    );
    // The same notification re-targeted is refused by the same keys.
    let retargeted = r.sign(
        &webhook,
        &r.secret,
        &new_id(),
        "https://other.example.com/hook",
        now(),
    );
    assert_eq!(
        verdict(&r, "gateway-retargeted", &retargeted, BODY, &args).await,
        (1, "wrong_audience".into())
    );
}
