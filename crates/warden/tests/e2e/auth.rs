//! Strict authentication and the token authority, end to end: real `warden`
//! processes, HTTP from outside, and PyJWT (cryptography backend) as the
//! independent party that makes client keys, client assertions and an
//! external issuer's tokens, and that checks Warden's own tokens.

use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::support::{
    Running, Spy, WAIT, client, gateway, python, repo_root, up, user_message, warden,
};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Binding {
    JsonRpc,
    Rest,
}

/// A `SendMessage` to `{gateway}/agents/{agent}` in `binding`, no credential yet.
fn send(w: &Running, agent: &str, binding: Binding) -> reqwest::RequestBuilder {
    let base = format!("{}/agents/{agent}", w.gateway);
    let message = user_message("hello");
    let req = match binding {
        Binding::JsonRpc => client().post(base).json(&json!({
            "jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": message}
        })),
        Binding::Rest => client()
            .post(format!("{base}/message:send"))
            .json(&json!({"message": message})),
    };
    req.header("A2A-Version", "1.0")
}

/// Status, headers and body bytes of an answer.
async fn answer(req: reqwest::RequestBuilder) -> (u16, HeaderMap, Vec<u8>) {
    let r = req.send().await.expect("send");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.bytes().await.expect("body").to_vec();
    (status, headers, body)
}

fn challenge(h: &HeaderMap) -> String {
    h.get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)))
}

/// The call reached the agent and came back with a result.
async fn assert_allowed(req: reqwest::RequestBuilder, what: &str) {
    let (status, _, body) = answer(req).await;
    let v = json_of(&body);
    assert_eq!(status, 200, "{what}: {v}");
    // JSON-RPC: a `result`; REST: the task or message itself.
    assert!(
        v.get("result").is_some() || v.get("task").is_some() || v.get("message").is_some(),
        "{what}: {v}"
    );
}

/// The call was refused by authentication with `status`, and the challenge
/// and the body's message contain `needle`.
async fn assert_refused(req: reqwest::RequestBuilder, status: u16, needle: &str, what: &str) {
    let (got, headers, body) = answer(req).await;
    let v = json_of(&body);
    assert_eq!(got, status, "{what}: {v}");
    let c = challenge(&headers);
    assert!(c.starts_with("Bearer realm=\"warden\""), "{what}: {c}");
    assert!(
        c.contains(needle),
        "{what}: challenge {c:?} lacks {needle:?}"
    );
    let message = v
        .pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert!(
        message.contains(needle) || c.contains(needle),
        "{what}: {v}"
    );
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// The claims of a JWT, read without verifying.
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWS has a payload");
    json_of(&warden_trust::b64url_decode(payload).expect("base64url payload"))
}

/// Runs `pyjwt_tool.py ARGS` with `stdin`, returns its JSON output.
pub(crate) async fn pyjwt(args: &[&str], stdin: Option<&Value>) -> Value {
    let mut child = Command::new(python())
        .arg(repo_root().join("tests/interop/python/pyjwt_tool.py"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start pyjwt_tool.py");
    {
        let mut input = child.stdin.take().expect("stdin");
        if let Some(v) = stdin {
            input
                .write_all(v.to_string().as_bytes())
                .await
                .expect("write stdin");
        }
    }
    let out = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .expect("pyjwt_tool.py in time")
        .expect("pyjwt_tool.py output");
    assert!(
        out.status.success(),
        "pyjwt_tool.py {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    json_of(&out.stdout)
}

/// A key pair made by PyJWT: (public JWK, private PEM).
pub(crate) async fn keygen(alg: &str, kid: &str) -> (Value, String) {
    let out = pyjwt(&["keygen", "--alg", alg, "--kid", kid], None).await;
    let pem = out["private_pem"].as_str().expect("pem").to_string();
    (out["jwk"].clone(), pem)
}

/// A JWS signed by PyJWT.
async fn sign(pem: &str, alg: &str, headers: Value, claims: Value) -> String {
    let out = pyjwt(
        &["sign"],
        Some(&json!({"private_pem": pem, "alg": alg, "headers": headers, "claims": claims})),
    )
    .await;
    out["token"].as_str().expect("token").to_string()
}

/// `POST url` with an `application/x-www-form-urlencoded` body.
fn post_form<K: AsRef<str>, V: AsRef<str>>(url: &str, form: &[(K, V)]) -> reqwest::RequestBuilder {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
        .finish();
    client()
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
}

/// `POST {gateway}/oauth2/token` with a form and optional API key.
fn token_request(
    w: &Running,
    form: &[(&str, &str)],
    api_key: Option<&str>,
) -> reqwest::RequestBuilder {
    let mut req = post_form(&format!("{}/oauth2/token", w.gateway), form);
    if let Some(k) = api_key {
        req = req.header("X-API-Key", k);
    }
    req
}

/// The token endpoint's answer: status, `error` (or the token), and whether
/// it said `Cache-Control: no-store`.
async fn token_answer(req: reqwest::RequestBuilder) -> (u16, Value) {
    let (status, headers, body) = answer(req).await;
    assert_eq!(
        headers.get("cache-control").and_then(|v| v.to_str().ok()),
        Some("no-store"),
        "token responses are never cached"
    );
    (status, json_of(&body))
}

/// The request audit events of an instance (at least `n`), once the
/// writer has stored every event emitted so far.
async fn audit(w: &Running, n: usize) -> Vec<warden_store::AuditRecord> {
    w.flush_audit().await;
    let store = warden_store::Store::open(&w.data_dir().join("warden.db"))
        .await
        .expect("store");
    // Request events only: CLI changes are audited too (kind `admin`).
    let mut events = store.recent_audit(100).await.expect("audit");
    events.retain(|e| e.kind == "request");
    assert!(events.len() >= n, "{events:?}");
    events
}

/// Requests the spy saw, other than card fetches.
fn calls_seen(spy: &Spy) -> Vec<crate::support::Seen> {
    spy.requests()
        .into_iter()
        .filter(|s| !s.path.contains("/.well-known/"))
        .collect()
}

/// What the caller presented stays at the gateway: no API key or DPoP
/// header reaches the agent, and an `Authorization` header, if the gateway
/// sends one, is Warden's own token (issued by the gateway), never one of
/// the caller's `credentials`.
fn assert_no_caller_credential(seen: &crate::support::Seen, w: &Running, credentials: &[&str]) {
    for h in ["x-api-key", "dpop", "cookie"] {
        assert!(seen.header(h).is_none(), "{h} reached the agent: {seen:?}");
    }
    if let Some(a) = seen.header("authorization") {
        for c in credentials {
            assert!(!a.contains(c), "the caller's credential reached the agent");
        }
        let token = a.strip_prefix("Bearer ").unwrap_or(a);
        assert_eq!(
            claims_of(token)["iss"],
            w.gateway.as_str(),
            "only Warden's own token may reach the agent: {a}"
        );
    }
}

#[tokio::test]
async fn a_missing_or_bad_credential_gets_the_same_answer_for_every_agent() {
    let w = up(&[]).await;
    for binding in [Binding::JsonRpc, Binding::Rest] {
        // No credential: a bare challenge, in the binding's error shape.
        let known = answer(send(&w, "echo", binding)).await;
        let unknown = answer(send(&w, "nobody", binding)).await;
        assert_eq!(known.0, 401, "{binding:?}");
        assert_eq!(
            challenge(&known.1),
            "Bearer realm=\"warden\"",
            "{binding:?}"
        );
        let v = json_of(&known.2);
        match binding {
            Binding::JsonRpc => {
                assert_eq!(v["jsonrpc"], "2.0", "{v}");
                assert_eq!(v["id"], Value::Null, "{v}");
                assert!(v["error"]["code"].is_i64(), "{v}");
                assert_eq!(v["error"]["data"][0]["reason"], "UNAUTHENTICATED", "{v}");
            }
            Binding::Rest => {
                assert_eq!(v["error"]["code"], 401, "{v}");
                assert_eq!(v["error"]["status"], "UNAUTHENTICATED", "{v}");
                assert_eq!(v["error"]["details"][0]["reason"], "UNAUTHENTICATED", "{v}");
            }
        }
        // An unknown agent is not told apart: same status, challenge, bytes.
        assert_eq!(known.0, unknown.0, "{binding:?}");
        assert_eq!(challenge(&known.1), challenge(&unknown.1), "{binding:?}");
        assert_eq!(known.2, unknown.2, "{binding:?}");

        // A token that is not one.
        let garbage = |agent| send(&w, agent, binding).bearer_auth("not.a.token");
        let known = answer(garbage("echo")).await;
        let unknown = answer(garbage("nobody")).await;
        assert_eq!(known.0, 401, "{binding:?}");
        assert!(
            challenge(&known.1).contains("error=\"invalid_token\""),
            "{}",
            challenge(&known.1)
        );
        assert_eq!(
            (known.0, challenge(&known.1), &known.2),
            (unknown.0, challenge(&unknown.1), &unknown.2),
            "{binding:?}"
        );

        // A token for another agent is refused the same way at a known agent
        // and at one that does not exist.
        let token = w.token("echo").await;
        let at_slow = answer(send(&w, "slow", binding).bearer_auth(&token)).await;
        let at_nobody = answer(send(&w, "nobody", binding).bearer_auth(&token)).await;
        assert_eq!(at_slow.0, 401);
        assert_eq!(
            (at_slow.0, challenge(&at_slow.1), &at_slow.2),
            (at_nobody.0, challenge(&at_nobody.1), &at_nobody.2),
            "{binding:?}"
        );
    }
}

/// A header value that is not visible ASCII (allowed on the wire as
/// obs-text, unreadable as a string).
fn unreadable(bytes: &'static [u8]) -> reqwest::header::HeaderValue {
    reqwest::header::HeaderValue::from_bytes(bytes).expect("obs-text is a valid value")
}

#[tokio::test]
async fn exactly_one_credential_in_a_known_scheme() {
    let w = up(&[]).await;
    let key = w.api_key().await;
    let token = w.token("echo").await;
    let two = [
        send(&w, "echo", Binding::JsonRpc)
            .bearer_auth(&token)
            .header("X-API-Key", &key),
        send(&w, "echo", Binding::Rest)
            .header("X-API-Key", &key)
            .header("X-API-Key", &key),
        send(&w, "echo", Binding::JsonRpc)
            .bearer_auth(&token)
            .header("Authorization", format!("Bearer {key}")),
        // A second credential that cannot be read still counts.
        send(&w, "echo", Binding::JsonRpc)
            .bearer_auth(&token)
            .header("Authorization", unreadable(b"Bearer \xff")),
        send(&w, "echo", Binding::Rest)
            .bearer_auth(&token)
            .header("X-API-Key", unreadable(b"\xff")),
        send(&w, "echo", Binding::JsonRpc)
            .header("X-API-Key", unreadable(b"wdn_\xe9"))
            .header("X-API-Key", &key),
        // One unreadable credential is a bad request, not a missing one.
        send(&w, "echo", Binding::JsonRpc).header("X-API-Key", unreadable(b"\xff")),
        send(&w, "echo", Binding::Rest).header("Authorization", unreadable(b"Bearer \xff")),
    ];
    for (i, req) in two.into_iter().enumerate() {
        assert_refused(
            req,
            400,
            "error=\"invalid_request\"",
            &format!("two credentials #{i}"),
        )
        .await;
    }
    for (value, what) in [
        ("Basic dXNlcjpwYXNz", "basic auth"),
        ("Bearer", "empty bearer"),
        ("Bearer ", "blank bearer"),
    ] {
        let req = send(&w, "echo", Binding::JsonRpc).header("Authorization", value);
        let (status, headers, _) = answer(req).await;
        assert!(
            status == 400 || status == 401,
            "{what}: HTTP {status} {}",
            challenge(&headers)
        );
        assert!(
            challenge(&headers).starts_with("Bearer realm=\"warden\""),
            "{what}"
        );
    }
    // The token and the key were not used up by the refusals.
    assert_allowed(
        send(&w, "echo", Binding::JsonRpc).bearer_auth(&token),
        "token",
    )
    .await;
    assert_allowed(
        send(&w, "echo", Binding::Rest).header("X-API-Key", &key),
        "key",
    )
    .await;
}

#[tokio::test]
async fn a_bearer_token_is_single_use_and_bound_to_its_audience() {
    let w = up(&[]).await;
    let token = w.token("echo").await;
    assert_eq!(claims_of(&token)["aud"], "echo");
    // Refused at another agent (wrong audience), which does not use it up.
    assert_refused(
        send(&w, "slow", Binding::JsonRpc).bearer_auth(&token),
        401,
        "not for this audience",
        "echo token at slow",
    )
    .await;
    assert_allowed(
        send(&w, "echo", Binding::JsonRpc).bearer_auth(&token),
        "first use",
    )
    .await;
    // The second use is refused, in either binding.
    for binding in [Binding::JsonRpc, Binding::Rest] {
        assert_refused(
            send(&w, "echo", binding).bearer_auth(&token),
            401,
            "already used",
            &format!("second use over {binding:?}"),
        )
        .await;
    }
    // Every call needs a fresh token; each works once.
    for _ in 0..3 {
        let t = w.token("slow").await;
        let req = send(&w, "slow", Binding::Rest).bearer_auth(&t);
        let (status, _, body) = answer(req).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let spy = Spy::start().await;
    let w = gateway(&format!(
        "[auth]\nleeway_secs = 0\n[[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        spy.url
    ))
    .await;
    let short = w
        .cli(&[
            "token", "mint", "--sub", "tester", "--aud", "spy", "--ttl", "1s",
        ])
        .await;
    let claims = claims_of(&short);
    let exp = claims["exp"].as_u64().expect("exp");
    assert_eq!(exp - claims["iat"].as_u64().expect("iat"), 1);
    // A fresh token of the same kind works at once…
    assert_allowed(
        send(&w, "spy", Binding::JsonRpc).bearer_auth(w.token("spy").await),
        "fresh",
    )
    .await;
    // …the short one, once its second is over (no leeway), does not: two
    // seconds on the gateway's clock put its `exp` (at most one second
    // after now) behind it.
    w.advance_clock(2);
    assert_refused(
        send(&w, "spy", Binding::JsonRpc).bearer_auth(&short),
        401,
        "expired",
        "expired token",
    )
    .await;
    assert_eq!(
        calls_seen(&spy).len(),
        1,
        "only the fresh call reached the agent"
    );
}

/// The key id of a `wdn_<id>_<secret>` key.
fn key_id(key: &str) -> String {
    key.split('_')
        .nth(1)
        .expect("wdn_<id>_<secret>")
        .to_string()
}

#[tokio::test]
async fn api_keys_are_reusable_revocable_and_rotatable() {
    let w = up(&[]).await;
    let key = w.api_key().await;
    assert!(key.starts_with("wdn_"), "{key}");
    let id = key_id(&key);
    // Not single-use: as X-API-Key and as a bearer credential, repeatedly.
    for i in 0..2 {
        assert_allowed(
            send(&w, "echo", Binding::JsonRpc).header("X-API-Key", &key),
            "x-api-key",
        )
        .await;
        assert_allowed(
            send(&w, "slow", Binding::Rest).bearer_auth(&key),
            "bearer key",
        )
        .await;
        assert_allowed(
            send(&w, "echo", Binding::Rest).header("X-API-Key", &key),
            &format!("#{i}"),
        )
        .await;
    }
    // The list shows ids and last use, never the secret.
    let mut listing = String::new();
    for _ in 0..100 {
        listing = w.cli(&["apikey", "list"]).await;
        if listing.contains(&id) && !listing.contains("last used never") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(listing.contains(&id), "{listing}");
    assert!(listing.contains("demo-client"), "{listing}");
    assert!(!listing.contains("last used never"), "{listing}");
    let secret = key.rsplit_once(&format!("{id}_")).expect("secret").1;
    assert!(!listing.contains(secret), "the secret is never shown again");

    // Revoked: refused at once.
    w.cli(&["apikey", "revoke", &id]).await;
    assert_refused(
        send(&w, "echo", Binding::JsonRpc).header("X-API-Key", &key),
        401,
        "error=\"invalid_token\"",
        "revoked key",
    )
    .await;
    assert!(w.cli(&["apikey", "list"]).await.contains("revoked"));

    // Rotated with an overlap: the old and the new key both work.
    let old = w.api_key().await;
    let new = w
        .cli(&["apikey", "rotate", &key_id(&old), "--overlap", "1h"])
        .await;
    assert!(new.starts_with("wdn_") && new != old, "{new}");
    for k in [&old, &new, &old, &new] {
        assert_allowed(
            send(&w, "echo", Binding::JsonRpc).header("X-API-Key", k),
            "rotated",
        )
        .await;
    }
    let listing = w.cli(&["apikey", "list", "--sub", "demo-client"]).await;
    let old_line = listing
        .lines()
        .find(|l| l.starts_with(&key_id(&old)))
        .unwrap_or_else(|| panic!("{listing}"));
    assert!(old_line.contains("expires"), "{old_line}");
    // A key that was never issued, of the right shape.
    let forged = format!("wdn_{}_{}", key_id(&new), "A".repeat(43));
    assert_refused(
        send(&w, "echo", Binding::JsonRpc).header("X-API-Key", forged),
        401,
        "error=\"invalid_token\"",
        "forged secret",
    )
    .await;
}

/// A token request's form and API key, and the status and `error` expected.
type TokenCase<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>, u16, &'a str);

#[tokio::test]
async fn the_token_endpoint_issues_tokens_within_the_grants() {
    let w = up(&[]).await;
    let key = w.api_key().await;
    let grant = [
        ("grant_type", "client_credentials"),
        ("audience", "echo"),
        ("scope", "echo"),
    ];
    let (status, v) = token_answer(token_request(&w, &grant, Some(&key))).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["scope"], "echo");
    assert_eq!(v["expires_in"], 300);
    let token = v["access_token"]
        .as_str()
        .expect("access_token")
        .to_string();
    let claims = claims_of(&token);
    assert_eq!(claims["sub"], "demo-client");
    assert_eq!(claims["aud"], "echo");
    assert_eq!(claims["iss"], w.gateway.as_str());
    assert_eq!(
        claims["exp"].as_u64().expect("exp") - claims["iat"].as_u64().expect("iat"),
        300
    );
    assert_allowed(
        send(&w, "echo", Binding::JsonRpc).bearer_auth(&token),
        "endpoint token",
    )
    .await;
    assert_refused(
        send(&w, "echo", Binding::JsonRpc).bearer_auth(&token),
        401,
        "already used",
        "endpoint token again",
    )
    .await;

    // Without a scope: every skill the registry grants for that audience.
    let (status, v) = token_answer(token_request(
        &w,
        &[("grant_type", "client_credentials"), ("audience", "echo")],
        Some(&key),
    ))
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["scope"], "echo echo-upper");

    // An unreadable X-API-Key is a presented method too: with the key as
    // client_secret that is two, refused (it was once skipped).
    let (status, v) = token_answer(
        token_request(
            &w,
            &[
                ("grant_type", "client_credentials"),
                ("audience", "slow"),
                ("client_id", "demo-client"),
                ("client_secret", &key),
            ],
            None,
        )
        .header("X-API-Key", unreadable(b"\xff")),
    )
    .await;
    assert_eq!(
        (status, &v["error"]),
        (400, &json!("invalid_request")),
        "{v}"
    );

    // The key may also come as client_secret (client_secret_post).
    let (status, v) = token_answer(token_request(
        &w,
        &[
            ("grant_type", "client_credentials"),
            ("audience", "slow"),
            ("client_id", "demo-client"),
            ("client_secret", &key),
        ],
        None,
    ))
    .await;
    assert_eq!(status, 200, "{v}");

    let cases: [TokenCase; 7] = [
        (
            &[
                ("grant_type", "client_credentials"),
                ("audience", "echo"),
                ("scope", "echo admin"),
            ],
            Some(&key),
            400,
            "invalid_scope",
        ),
        (
            &[("grant_type", "client_credentials"), ("audience", "nobody")],
            Some(&key),
            400,
            "invalid_target",
        ),
        (
            &[("grant_type", "client_credentials"), ("audience", "echo")],
            Some("wdn_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            401,
            "invalid_client",
        ),
        (
            &[("grant_type", "client_credentials"), ("audience", "echo")],
            Some("not-a-key"),
            401,
            "invalid_client",
        ),
        (
            &[("grant_type", "password"), ("audience", "echo")],
            Some(&key),
            400,
            "unsupported_grant_type",
        ),
        (
            &[("grant_type", "client_credentials"), ("audience", "echo")],
            None,
            400,
            "invalid_request",
        ),
        (
            &[("grant_type", "client_credentials")],
            Some(&key),
            400,
            "invalid_request",
        ),
    ];
    for (form, k, want_status, want_error) in cases {
        let (status, v) = token_answer(token_request(&w, form, k)).await;
        assert_eq!(
            (status, v["error"].as_str()),
            (want_status, Some(want_error)),
            "{form:?}: {v}"
        );
        assert!(v.get("access_token").is_none(), "{v}");
    }
    // A revoked key gets nothing either.
    w.cli(&["apikey", "revoke", &key_id(&key)]).await;
    let (status, v) = token_answer(token_request(&w, &grant, Some(&key))).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (401, Some("invalid_client")),
        "{v}"
    );
}

#[tokio::test]
async fn a_private_key_jwt_client_gets_tokens_and_each_assertion_works_once() {
    let w = up(&[]).await;
    let (jwk, pem) = keygen("ES256", "planner-1").await;
    let jwks_file = w.dir.path().join("planner.jwks.json");
    std::fs::write(&jwks_file, json!({"keys": [jwk]}).to_string()).expect("write JWKS");
    let shown = w
        .cli(&[
            "registry",
            "add",
            "planner",
            "--jwks-file",
            &jwks_file.display().to_string(),
            "--grant",
            "echo=echo",
        ])
        .await;
    assert!(shown.contains("private_key_jwt"), "{shown}");
    let token_url = format!("{}/oauth2/token", w.gateway);
    let assertion = |aud: String, jti: &str| {
        let now = unix_now();
        json!({"iss": "planner", "sub": "planner", "aud": aud, "iat": now, "exp": now + 60, "jti": jti})
    };
    let header = json!({"kid": "planner-1"});
    let signed = sign(
        &pem,
        "ES256",
        header.clone(),
        assertion(token_url.clone(), "a-1"),
    )
    .await;
    let form = |assertion: &str, audience: &str| {
        vec![
            ("grant_type".to_string(), "client_credentials".to_string()),
            ("audience".to_string(), audience.to_string()),
            (
                "client_assertion_type".to_string(),
                ASSERTION_TYPE.to_string(),
            ),
            ("client_assertion".to_string(), assertion.to_string()),
        ]
    };
    let post = |f: Vec<(String, String)>| post_form(&token_url, &f);
    let (status, v) = token_answer(post(form(&signed, "echo"))).await;
    assert_eq!(status, 200, "{v}");
    let token = v["access_token"].as_str().expect("token").to_string();
    assert_eq!(claims_of(&token)["sub"], "planner");
    assert_eq!(v["scope"], "echo");
    assert_allowed(
        send(&w, "echo", Binding::JsonRpc).bearer_auth(&token),
        "planner token",
    )
    .await;

    // The same assertion again: refused.
    let (status, v) = token_answer(post(form(&signed, "echo"))).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (401, Some("invalid_client")),
        "{v}"
    );

    // Other ways to get it wrong.
    let (_, impostor_pem) = keygen("ES256", "planner-1").await;
    let wrong_aud = sign(
        &pem,
        "ES256",
        header.clone(),
        assertion(w.gateway.clone() + "/elsewhere", "a-2"),
    )
    .await;
    let wrong_key = sign(
        &impostor_pem,
        "ES256",
        header.clone(),
        assertion(token_url.clone(), "a-3"),
    )
    .await;
    let mut other_sub = assertion(token_url.clone(), "a-4");
    other_sub["sub"] = json!("demo-client");
    let other_sub = sign(&pem, "ES256", header.clone(), other_sub).await;
    for (bad, what) in [
        (&wrong_aud, "assertion for another audience"),
        (
            &wrong_key,
            "assertion signed by another key with the same kid",
        ),
        (&other_sub, "assertion whose sub is not its iss"),
    ] {
        let (status, v) = token_answer(post(form(bad, "echo"))).await;
        assert_eq!(
            (status, v["error"].as_str()),
            (401, Some("invalid_client")),
            "{what}: {v}"
        );
    }
    // A good assertion, but for an audience the registry does not grant.
    let fresh = sign(&pem, "ES256", header, assertion(token_url.clone(), "a-5")).await;
    let (status, v) = token_answer(post(form(&fresh, "slow"))).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("invalid_target")),
        "{v}"
    );
    // The registry shows the client (and nothing secret).
    let listing = w.cli(&["registry", "list"]).await;
    assert!(listing.contains("planner"), "{listing}");
}

#[tokio::test]
async fn jwks_and_metadata_are_public_and_warden_tokens_verify_in_pyjwt() {
    let w = up(&[]).await;
    let r = client()
        .get(format!("{}/.well-known/jwks.json", w.gateway))
        .send()
        .await
        .expect("jwks");
    assert_eq!(r.status(), 200);
    let jwks: Value = r.json().await.expect("JWKS JSON");
    let keys = jwks["keys"].as_array().expect("keys");
    assert!(!keys.is_empty(), "{jwks}");
    for k in keys {
        assert_eq!(k["kty"], "OKP", "{k}");
        assert_eq!(k["crv"], "Ed25519", "{k}");
        assert!(k["kid"].as_str().is_some_and(|s| !s.is_empty()), "{k}");
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(k.get(private).is_none(), "private member {private} in {k}");
        }
    }
    let meta: Value = client()
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            w.gateway
        ))
        .send()
        .await
        .expect("metadata")
        .json()
        .await
        .expect("metadata JSON");
    assert_eq!(meta["issuer"], w.gateway.as_str());
    assert_eq!(
        meta["token_endpoint"],
        format!("{}/oauth2/token", w.gateway)
    );
    assert_eq!(
        meta["jwks_uri"],
        format!("{}/.well-known/jwks.json", w.gateway)
    );
    assert!(
        meta["grant_types_supported"]
            .as_array()
            .is_some_and(|g| g.contains(&json!("client_credentials"))),
        "{meta}"
    );

    // PyJWT verifies Warden's tokens against that JWKS, and its checks hold.
    let tokens = [w.token("echo").await, w.token("slow").await];
    let header: Value = json_of(
        &warden_trust::b64url_decode(tokens[0].split('.').next().expect("header")).expect("b64"),
    );
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "EdDSA");
    let out = pyjwt(
        &[
            "verify",
            "--iss",
            &w.gateway,
            "--aud",
            "echo",
            "--allow-failures",
        ],
        Some(&json!({"jwks": jwks, "tokens": tokens})),
    )
    .await;
    let results = out["results"].as_array().expect("results");
    assert_eq!(results[0]["ok"], true, "{}", results[0]);
    assert_eq!(results[0]["alg"], "EdDSA");
    assert_eq!(results[0]["claims"]["sub"], "demo-client");
    assert_eq!(results[0]["claims"]["scope"], "echo echo-upper");
    assert_eq!(
        results[1]["ok"], false,
        "a slow token is not for echo: {}",
        results[1]
    );
    assert!(
        results[1]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("InvalidAudience"),
        "{}",
        results[1]
    );
}

#[tokio::test]
async fn an_external_issuers_tokens_are_accepted_once_with_allowed_algorithms_only() {
    const ISS: &str = "https://idp.example";
    const AUD: &str = "https://warden.example/gw";
    let spy = Spy::start().await;
    let (es_jwk, es_pem) = keygen("ES256", "idp-es").await;
    let (rs_jwk, rs_pem) = keygen("RS256", "idp-rs").await;
    let (ed_jwk, ed_pem) = keygen("EdDSA", "other-ed").await;
    // Both of the first issuer's keys are published; only ES256 is allowed.
    let jwks = json!({"keys": [es_jwk, rs_jwk]}).to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let other_jwks = dir.path().join("other.jwks.json");
    std::fs::write(&other_jwks, json!({"keys": [ed_jwk]}).to_string()).expect("write");
    let w = gateway(&format!(
        "[[auth.issuers]]\nissuer = \"{ISS}\"\naudiences = [\"{AUD}\"]\nalgorithms = [\"ES256\"]\njwks = '''{jwks}'''\ntyp = \"at+jwt\"\n\
         [[auth.issuers]]\nissuer = \"https://other.example\"\naudiences = [\"{AUD}\"]\nalgorithms = [\"EdDSA\"]\njwks_file = {other_jwks:?}\n\
         [[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        spy.url
    ))
    .await;
    // External callers are granted by issuer and subject, like any other.
    for iss in [ISS, "https://other.example"] {
        let caller = format!("{iss}#ext-agent");
        w.cli(&["grant", "add", &caller, "spy", "--skills", "spy"])
            .await;
    }
    let claims = |iss: &str, jti: &str| {
        let now = unix_now();
        json!({"iss": iss, "sub": "ext-agent", "aud": AUD, "iat": now, "exp": now + 120, "jti": jti, "scope": "spy"})
    };
    let at = |kid: &str| json!({"kid": kid, "typ": "at+jwt"});
    let good = sign(&es_pem, "ES256", at("idp-es"), claims(ISS, "ext-1")).await;
    assert_allowed(
        send(&w, "spy", Binding::JsonRpc).bearer_auth(&good),
        "external ES256 token",
    )
    .await;
    assert_refused(
        send(&w, "spy", Binding::JsonRpc).bearer_auth(&good),
        401,
        "already used",
        "external token again",
    )
    .await;
    let rs = sign(&rs_pem, "RS256", at("idp-rs"), claims(ISS, "ext-2")).await;
    let untyped = sign(
        &es_pem,
        "ES256",
        json!({"kid": "idp-es"}),
        claims(ISS, "ext-3"),
    )
    .await;
    let unknown_iss = sign(
        &es_pem,
        "ES256",
        at("idp-es"),
        claims("https://evil.example", "ext-4"),
    )
    .await;
    let wrong_aud = {
        let mut c = claims(ISS, "ext-5");
        c["aud"] = json!("spy");
        sign(&es_pem, "ES256", at("idp-es"), c).await
    };
    for (bad, what) in [
        (&rs, "RS256 is published but not allowed"),
        (&untyped, "typ is not at+jwt"),
        (&unknown_iss, "an issuer nobody configured"),
        (&wrong_aud, "another audience"),
    ] {
        assert_refused(
            send(&w, "spy", Binding::JsonRpc).bearer_auth(bad),
            401,
            "error=\"invalid_token\"",
            what,
        )
        .await;
    }
    // The second issuer: keys from a file, no typ required.
    let other = sign(
        &ed_pem,
        "EdDSA",
        json!({"kid": "other-ed"}),
        claims("https://other.example", "o-1"),
    )
    .await;
    assert_allowed(
        send(&w, "spy", Binding::Rest).bearer_auth(&other),
        "jwks_file issuer",
    )
    .await;

    // The agent saw two calls and never a caller's credential.
    let seen = calls_seen(&spy);
    assert_eq!(seen.len(), 2, "{seen:?}");
    for s in &seen {
        assert_no_caller_credential(s, &w, &[&good, &other]);
    }
    let events = audit(&w, 7).await;
    let forwarded: Vec<_> = events.iter().filter(|e| e.outcome == "forwarded").collect();
    assert_eq!(forwarded.len(), 2, "{events:?}");
    assert!(forwarded.iter().all(|e| {
        e.principal
            .as_deref()
            .is_some_and(|p| p.ends_with(".example#ext-agent"))
    }));
    assert!(
        events.iter().any(|e| e
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("invalid_token") && r.contains("RS256"))),
        "{events:?}"
    );
}

#[tokio::test]
async fn refusals_and_allowed_calls_are_audited() {
    let w = up(&[]).await;
    let token = w.token("echo").await;
    let key = w.api_key().await;
    answer(send(&w, "echo", Binding::JsonRpc)).await;
    answer(send(&w, "nobody", Binding::Rest).bearer_auth("garbage")).await;
    assert_allowed(
        send(&w, "echo", Binding::JsonRpc).bearer_auth(&token),
        "token",
    )
    .await;
    answer(send(&w, "echo", Binding::JsonRpc).bearer_auth(&token)).await;
    assert_allowed(
        send(&w, "echo", Binding::Rest).header("X-API-Key", &key),
        "key",
    )
    .await;
    let events = audit(&w, 5).await;
    let reasons: Vec<&str> = events
        .iter()
        .filter(|e| e.outcome == "refused")
        .filter_map(|e| e.reason.as_deref())
        .collect();
    assert!(reasons.contains(&"credential_missing"), "{reasons:?}");
    assert!(reasons.contains(&"invalid_token: replayed"), "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("invalid_token: ") && *r != "invalid_token: replayed"),
        "{reasons:?}"
    );
    for e in events.iter().filter(|e| e.outcome == "refused") {
        // Refused before the agent is identified: unknown and known look alike.
        assert_eq!(e.agent, None, "{e:?}");
        assert_eq!(e.principal, None, "{e:?}");
    }
    let forwarded: Vec<_> = events.iter().filter(|e| e.outcome == "forwarded").collect();
    assert_eq!(forwarded.len(), 2, "{events:?}");
    for e in &forwarded {
        assert_eq!(e.principal.as_deref(), Some("demo-client"), "{e:?}");
        assert_eq!(e.agent.as_deref(), Some("echo"), "{e:?}");
    }
    // Credentials are never written down.
    let secret = key.rsplit('_').next().expect("secret");
    let dump = format!("{events:?}");
    assert!(
        !dump.contains(secret) && !dump.contains(&token),
        "a credential in the audit"
    );
}

#[tokio::test]
async fn off_insecure_mode_lets_calls_through_without_a_credential() {
    let spy = Spy::start().await;
    let w = gateway(&format!(
        "[auth]\nmode = \"insecure-off\"\n[[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        spy.url
    ))
    .await;
    assert_allowed(send(&w, "spy", Binding::JsonRpc), "no credential, JSON-RPC").await;
    assert_allowed(send(&w, "spy", Binding::Rest), "no credential, REST").await;
    // Even then a caller's credential is not passed on.
    assert_allowed(
        send(&w, "spy", Binding::JsonRpc).bearer_auth("anything"),
        "ignored token",
    )
    .await;
    let seen = calls_seen(&spy);
    assert_eq!(seen.len(), 3, "{seen:?}");
    for s in &seen {
        assert_no_caller_credential(s, &w, &["anything"]);
    }
    let events = audit(&w, 3).await;
    let forwarded: Vec<_> = events.iter().filter(|e| e.outcome == "forwarded").collect();
    assert_eq!(forwarded.len(), 3, "{events:?}");
    assert!(
        forwarded
            .iter()
            .all(|e| e.principal.as_deref() == Some("anonymous"))
    );
}

#[tokio::test]
async fn warden_call_sends_a_token_or_an_api_key() {
    let w = up(&[]).await;
    let url = format!("{}/agents/echo", w.gateway);
    let run = |extra: Vec<String>| {
        let url = url.clone();
        async move {
            warden()
                .args(["call", &url, "--text", "hi there", "--json"])
                .args(extra)
                .output()
                .await
                .expect("warden call")
        }
    };
    let token = w.token("echo").await;
    let key = w.api_key().await;
    let data_dir = w.dir.path().display().to_string();
    for extra in [
        vec!["--token".to_string(), token],
        vec!["--api-key".into(), key],
        vec!["--data-dir".into(), data_dir],
    ] {
        let out = run(extra.clone()).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{extra:?}: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("hi there"), "{stdout}");
    }
    let out = run(Vec::new()).await;
    assert!(!out.status.success(), "no credential must fail");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("credential"), "{text}");
}

#[tokio::test]
async fn cards_can_be_made_non_public() {
    let spy = Spy::start().await;
    let w = gateway(&format!(
        "[auth]\npublic_cards = false\n[[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        spy.url
    ))
    .await;
    let url = format!("{}/agents/spy/.well-known/agent-card.json", w.gateway);
    let r = client().get(&url).send().await.expect("card");
    assert_eq!(r.status(), 401, "a credential is needed for the card");
    let r = client()
        .get(&url)
        .bearer_auth(w.token("spy").await)
        .send()
        .await
        .expect("card");
    assert_eq!(r.status(), 200);
    let card: serde_json::Value = r.json().await.expect("json");
    assert_eq!(card["name"], "spy");
}

/// A DPoP-bound token from the token endpoint and proofs for calls with it.
async fn dpop_material(w: &Running, audience: &str) -> Value {
    let key = w.api_key().await;
    let out = Command::new(python())
        .arg(repo_root().join("tests/interop/python/dpop_flow.py"))
        .args(["--token-url", &format!("{}/oauth2/token", w.gateway)])
        .args(["--api-key", &key, "--audience", audience])
        .args(["--call-url", &format!("{}/agents/{audience}", w.gateway)])
        .output()
        .await
        .expect("run dpop_flow.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

async fn send_with(w: &Running, agent: &str, authz: &str, proof: Option<&str>) -> (u16, HeaderMap) {
    let mut req = client()
        .post(format!("{}/agents/{agent}", w.gateway))
        .header("Authorization", authz)
        .header("A2A-Version", "1.0")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage",
                      "params": {"message": user_message("dpop")}}));
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    let r = req.send().await.expect("send");
    (r.status().as_u16(), r.headers().clone())
}

#[tokio::test]
async fn dpop_bound_tokens_are_reusable_with_fresh_proofs_only() {
    let w = up(&[]).await;
    let m = dpop_material(&w, "echo").await;
    assert_eq!(m["token_type"], "DPoP");
    let token = m["token"].as_str().expect("token");
    let proof = |i: usize| m["proofs"][i].as_str().expect("proof").to_string();
    let dpop = format!("DPoP {token}");
    // Reusable: two calls, each with its own proof.
    assert_eq!(send_with(&w, "echo", &dpop, Some(&proof(0))).await.0, 200);
    assert_eq!(send_with(&w, "echo", &dpop, Some(&proof(1))).await.0, 200);
    // A proof is single-use.
    let (status, h) = send_with(&w, "echo", &dpop, Some(&proof(0))).await;
    assert_eq!(status, 401);
    let challenge = h["www-authenticate"].to_str().expect("challenge");
    assert!(
        challenge.starts_with("DPoP ") && challenge.contains("invalid_dpop_proof"),
        "{challenge}"
    );
    // A proof for another method, or none at all, is refused.
    let wrong = m["wrong_method_proof"].as_str().expect("proof");
    assert_eq!(send_with(&w, "echo", &dpop, Some(wrong)).await.0, 401);
    assert_eq!(send_with(&w, "echo", &dpop, None).await.0, 400);
    // The bound token without its proof, as a bearer token: refused.
    assert_eq!(
        send_with(&w, "echo", &format!("Bearer {token}"), None)
            .await
            .0,
        401
    );
    // And at another agent (wrong audience), even with a fresh proof.
    assert_eq!(send_with(&w, "slow", &dpop, Some(&proof(2))).await.0, 401);
}

#[tokio::test]
async fn api_keys_only_reach_agents_their_subject_is_granted() {
    let w = up(&[]).await;
    w.cli(&["registry", "add", "narrow", "--grant", "echo=echo"])
        .await;
    let key = w.cli(&["apikey", "create", "--sub", "narrow"]).await;
    let call = |agent: &'static str| {
        let key = key.clone();
        let gw = w.gateway.clone();
        async move {
            client()
                .post(format!("{gw}/agents/{agent}"))
                .header("X-API-Key", key)
                .header("A2A-Version", "1.0")
                .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage",
                              "params": {"message": user_message("grants")}}))
                .send()
                .await
                .expect("send")
                .status()
                .as_u16()
        }
    };
    assert_eq!(call("echo").await, 200);
    assert_eq!(call("slow").await, 401);
}

#[tokio::test]
async fn upstream_tokens_cannot_be_replayed_at_the_gateway() {
    // What an agent receives from Warden is not a credential for Warden.
    let spy = Spy::start().await;
    let w = gateway(&format!(
        "[[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        spy.url
    ))
    .await;
    let r = crate::support::rpc_with(
        &format!("{}/agents/spy", w.gateway),
        Some(&w.token("spy").await),
        "SendMessage",
        json!({"message": user_message("hi")}),
    )
    .await;
    assert!(r.get("result").is_some(), "{r}");
    let seen = spy.requests();
    let upstream = seen
        .iter()
        .find_map(|s| s.header("authorization"))
        .expect("Warden token upstream")
        .to_string();
    let replay = client()
        .post(format!("{}/agents/spy", w.gateway))
        .header("Authorization", upstream)
        .header("A2A-Version", "1.0")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "t"}}))
        .send()
        .await
        .expect("send");
    assert_eq!(replay.status().as_u16(), 401);
}

/// Serves one JSON document (which the test may change) and counts fetches.
async fn json_server(
    body: std::sync::Arc<std::sync::Mutex<String>>,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/jwks.json", listener.local_addr().expect("addr"));
    let fetches = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = fetches.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let body = body.lock().expect("lock").clone();
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    (url, fetches)
}

#[tokio::test]
async fn an_issuers_jwks_url_is_fetched_cached_and_refreshed_on_rotation() {
    use std::sync::atomic::Ordering::SeqCst;
    const ISS: &str = "https://rotating-idp.example";
    let spy = Spy::start().await;
    let (a_jwk, a_pem) = keygen("ES256", "key-a").await;
    let (b_jwk, b_pem) = keygen("ES256", "key-b").await;
    let (_, c_pem) = keygen("ES256", "key-c").await;
    let doc = std::sync::Arc::new(std::sync::Mutex::new(
        json!({"keys": [a_jwk.clone()]}).to_string(),
    ));
    let (jwks_url, fetches) = json_server(doc.clone()).await;
    let port = url::Url::parse(&jwks_url)
        .expect("url")
        .port()
        .expect("port");
    // Loopback is denied to outbound calls by default: this test's issuer
    // lives there, so the egress rules let exactly its port through.
    let w = gateway(&format!(
        "[egress]\nallow_http = true\nallow_cidrs = [\"127.0.0.1/32\"]\nallowed_ports = [{port}]\n\
         [[auth.issuers]]\nissuer = \"{ISS}\"\naudiences = [\"spy\"]\nalgorithms = [\"ES256\"]\njwks_url = \"{jwks_url}\"\njwks_min_refresh_secs = 30\n\
         [[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        spy.url
    ))
    .await;
    let caller = format!("{ISS}#rotor");
    w.cli(&["grant", "add", &caller, "spy", "--skills", "spy"])
        .await;
    let token = |pem: String, kid: &'static str, jti: &'static str| async move {
        let now = unix_now();
        let claims = json!({"iss": ISS, "sub": "rotor", "aud": "spy", "iat": now, "exp": now + 120, "jti": jti, "scope": "spy"});
        sign(&pem, "ES256", json!({"kid": kid}), claims).await
    };
    let a = token(a_pem.clone(), "key-a", "r-1").await;
    assert_allowed(
        send(&w, "spy", Binding::JsonRpc).bearer_auth(&a),
        "key A from the URL",
    )
    .await;
    assert_eq!(fetches.load(SeqCst), 1, "fetched once, then cached");
    let a2 = token(a_pem, "key-a", "r-2").await;
    assert_allowed(
        send(&w, "spy", Binding::JsonRpc).bearer_auth(&a2),
        "cached key A",
    )
    .await;
    assert_eq!(fetches.load(SeqCst), 1);

    // Early refreshes are rate-limited to one per 30 s (whole seconds of
    // the gateway's clock, which the test moves): let that window pass, so
    // the next unknown kid may trigger one. Nothing else moves the clock,
    // so the back-to-back refusals below fall inside the next window.
    w.advance_clock(30);
    // The issuer rotates: a token under a new kid makes Warden refresh.
    *doc.lock().expect("lock") = json!({"keys": [a_jwk, b_jwk]}).to_string();
    let b = token(b_pem, "key-b", "r-3").await;
    assert_allowed(
        send(&w, "spy", Binding::JsonRpc).bearer_auth(&b),
        "rotated key B",
    )
    .await;
    assert_eq!(fetches.load(SeqCst), 2);

    // Unknown kids cannot make Warden fetch on every request: back to back,
    // at most the first one may trigger a fetch.
    let c1 = token(c_pem.clone(), "key-c", "r-4").await;
    let c2 = token(c_pem, "key-c", "r-5").await;
    assert_refused(
        send(&w, "spy", Binding::JsonRpc).bearer_auth(&c1),
        401,
        "invalid_token",
        "unknown kid",
    )
    .await;
    let after_first = fetches.load(SeqCst);
    assert!(after_first <= 3);
    assert_refused(
        send(&w, "spy", Binding::JsonRpc).bearer_auth(&c2),
        401,
        "invalid_token",
        "unknown kid",
    )
    .await;
    assert_eq!(fetches.load(SeqCst), after_first, "refresh is rate-limited");
}

#[tokio::test]
async fn registry_and_key_changes_made_with_the_cli_are_audited() {
    let w = up(&[]).await;
    w.cli(&["registry", "add", "auditee", "--grant", "echo=echo"])
        .await;
    let key = w.cli(&["apikey", "create", "--sub", "auditee"]).await;
    let id = key_id(&key);
    w.cli(&["apikey", "revoke", &id]).await;
    let store = warden_store::Store::open(&w.dir.path().join("warden.db"))
        .await
        .expect("store");
    let events = store.recent_audit(50).await.expect("audit");
    let admin: Vec<_> = events.iter().filter(|e| e.kind == "admin").collect();
    for action in ["registry.add", "apikey.create", "apikey.revoke"] {
        let e = admin
            .iter()
            .find(|e| e.reason.as_deref() == Some(action))
            .unwrap_or_else(|| panic!("{action} audited: {admin:?}"));
        assert_eq!(e.principal.as_deref(), Some("cli"));
        assert!(
            !e.detail.clone().unwrap_or_default().contains(&key),
            "no secret in audit"
        );
    }
}
