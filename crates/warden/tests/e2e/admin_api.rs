//! The admin API on the admin listener: the registry and API keys over
//! authenticated JSON, the same store the CLI and the gateway use.

use std::process::Stdio;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::{Running, WAIT, client, up, user_message, warden};

/// The admin token `warden up` generated in its data directory.
fn admin_token(w: &Running) -> String {
    let path = w.dir.path().join("admin-token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .expect("admin-token exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the admin token file is private");
    }
    let token = std::fs::read_to_string(&path).expect("read admin-token");
    let token = token.trim().to_string();
    assert_eq!(token.len(), 43, "32 random bytes, base64url: {token}");
    token
}

/// An admin API request: method, path under `/admin/v1`, token, JSON body
/// text. Returns status, `WWW-Authenticate` and the JSON answer.
async fn admin(
    w: &Running,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, Option<String>, Value) {
    let mut req = client().request(method, format!("{}/admin/v1{path}", w.admin));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/json")
            .body(b.to_string());
    }
    let r = req.send().await.expect("admin request");
    let status = r.status().as_u16();
    let challenge = r
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = r.text().await.expect("body");
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"))
    };
    (status, challenge, v)
}

/// A JSON-RPC SendMessage to `echo` through the gateway with an API key.
async fn send_with_key(w: &Running, key: &str) -> (u16, Value) {
    let r = client()
        .post(format!("{}/agents/echo", w.gateway))
        .header("A2A-Version", "1.0")
        .header("X-API-Key", key)
        .json(&json!({
            "jsonrpc": "2.0", "id": 1, "method": "SendMessage",
            "params": {"message": user_message("via an admin-made key")},
        }))
        .send()
        .await
        .expect("send");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn assert_echoed(answer: &(u16, Value), what: &str) {
    let (status, v) = answer;
    assert_eq!(*status, 200, "{what}: {v}");
    assert!(v.get("result").is_some(), "{what}: {v}");
    assert!(
        v.to_string().contains("via an admin-made key"),
        "{what}: the echo comes back: {v}"
    );
}

#[tokio::test]
async fn the_admin_api_needs_its_token() {
    let w = up(&[]).await;
    let token = admin_token(&w);
    for (method, path) in [
        (reqwest::Method::GET, "/registry"),
        (reqwest::Method::POST, "/registry"),
        (reqwest::Method::GET, "/apikeys"),
        (reqwest::Method::POST, "/apikeys/0123456789abcdef/revoke"),
        (reqwest::Method::GET, "/no-such-route"),
    ] {
        let (status, challenge, v) = admin(&w, method.clone(), path, None, None).await;
        assert_eq!(status, 401, "{method} {path}: {v}");
        assert_eq!(
            challenge.as_deref(),
            Some("Bearer realm=\"warden-admin\""),
            "{path}"
        );
        assert_eq!(v["error"], "unauthorized", "{v}");
        let (status, challenge, _) =
            admin(&w, method.clone(), path, Some("not-the-token"), None).await;
        assert_eq!(status, 401, "{method} {path} with a wrong token");
        assert!(
            challenge
                .as_deref()
                .is_some_and(|c| c.contains("error=\"invalid_token\"")),
            "{challenge:?}"
        );
    }
    // Almost the token is not the token.
    let (status, _, _) = admin(
        &w,
        reqwest::Method::GET,
        "/registry",
        Some(&token[..42]),
        None,
    )
    .await;
    assert_eq!(status, 401);
    // An API key or a gateway token opens nothing here.
    let key = w.api_key().await;
    let (status, _, _) = admin(&w, reqwest::Method::GET, "/registry", Some(&key), None).await;
    assert_eq!(status, 401);
    // The admin API is on the admin listener only.
    let r = client()
        .get(format!("{}/admin/v1/registry", w.gateway))
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 404);
    // Health and metrics stay open on the admin listener.
    let r = client()
        .get(format!("{}/healthz", w.admin))
        .send()
        .await
        .expect("healthz");
    assert_eq!(r.status(), 200);
    // With the token: the demo client is listed.
    let (status, _, v) = admin(&w, reqwest::Method::GET, "/registry", Some(&token), None).await;
    assert_eq!(status, 200, "{v}");
    assert!(
        v["agents"]
            .as_array()
            .expect("agents")
            .iter()
            .any(|a| a["id"] == "demo-client"),
        "{v}"
    );
}

#[tokio::test]
async fn registry_and_api_keys_are_managed_through_the_admin_api() {
    let w = up(&[]).await;
    let token = admin_token(&w);
    let t = Some(token.as_str());
    use reqwest::Method as M;

    // A registry agent with a grant on echo.
    let (status, _, v) = admin(
        &w,
        M::POST,
        "/registry",
        t,
        Some(r#"{"id":"ops-bot","displayName":"Ops bot","grants":{"echo":["echo"]}}"#),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["id"], "ops-bot");
    assert_eq!(v["grants"], json!({"echo": ["echo"]}));
    let (status, _, v) = admin(&w, M::GET, "/registry/ops-bot", t, None).await;
    assert_eq!((status, &v["displayName"]), (200, &json!("Ops bot")), "{v}");
    // The CLI sees the same registry.
    assert!(
        w.cli(&["registry", "show", "ops-bot"])
            .await
            .contains("Ops bot")
    );
    // Adding it again is a conflict unless replacing is asked for.
    let (status, _, v) = admin(
        &w,
        M::POST,
        "/registry",
        t,
        Some(r#"{"id":"ops-bot","grants":{"echo":["echo"]}}"#),
    )
    .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (409, Some("conflict")),
        "{v}"
    );

    // Bodies are strict: invalid JSON, unknown fields, duplicate keys, wrong
    // types and bad grants are 400, and change nothing.
    for bad in [
        r#"{"id":"x","grants":{"echo":["echo"]}"#,
        r#"{"id":"x","grants":{"echo":["echo"]},"admin":true}"#,
        r#"{"id":"x","id":"y"}"#,
        r#"{"id":"x","grants":{"echo":"echo"}}"#,
        r#"{"id":"x","grants":{"echo":[]}}"#,
        r#"{"id":"x","jwks":{"keys":[{"kty":"oct","kid":"s","k":"c2VjcmV0"}]}}"#,
        r#"[]"#,
    ] {
        let (status, _, v) = admin(&w, M::POST, "/registry", t, Some(bad)).await;
        assert_eq!(
            (status, v["error"].as_str()),
            (400, Some("invalid_request")),
            "{bad}: {v}"
        );
        assert!(v["message"].is_string(), "{v}");
    }
    let (status, _, v) = admin(
        &w,
        M::POST,
        "/apikeys",
        t,
        Some(r#"{"sub":"ops-bot","secret":"mine"}"#),
    )
    .await;
    assert_eq!(status, 400, "unknown field: {v}");
    assert!(
        v["message"].as_str().unwrap_or_default().contains("secret"),
        "{v}"
    );
    let (status, _, _) = admin(&w, M::GET, "/registry/x", t, None).await;
    assert_eq!(status, 404, "a refused body stores nothing");
    // Not JSON at all.
    let r = client()
        .post(format!("{}/admin/v1/apikeys", w.admin))
        .bearer_auth(&token)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("sub=ops-bot")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 415);

    // An API key made through the API works at the gateway.
    let (status, _, v) = admin(&w, M::POST, "/apikeys", t, Some(r#"{"sub":"ops-bot"}"#)).await;
    assert_eq!(status, 201, "{v}");
    let key = v["key"].as_str().expect("the key, shown once").to_string();
    let key_id = v["apiKey"]["id"].as_str().expect("id").to_string();
    assert!(key.starts_with(&format!("wdn_{key_id}_")), "{key}");
    assert_eq!(v["apiKey"]["sub"], "ops-bot");
    // The secret is what follows the `wdn_{id}_` prefix whole (base64url
    // may hold `_` itself: a fragment after the last one could be two
    // characters, and found in any listing by chance).
    let secret = key
        .strip_prefix(&format!("wdn_{key_id}_"))
        .expect("secret")
        .to_string();
    assert_echoed(&send_with_key(&w, &key).await, "API key from the admin API");
    assert_echoed(
        &send_with_key(&w, &key).await,
        "and again (keys are reusable)",
    );
    // No grant for `slow`: refused there like any bad credential.
    let r = client()
        .post(format!("{}/agents/slow", w.gateway))
        .header("A2A-Version", "1.0")
        .header("X-API-Key", &key)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage",
            "params": {"message": user_message("no grant")}}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);

    // Listings never show a secret (nor a hash); the CLI lists the key too.
    let (status, _, v) = admin(&w, M::GET, "/apikeys?sub=ops-bot", t, None).await;
    assert_eq!(status, 200, "{v}");
    let keys = v["apiKeys"].as_array().expect("apiKeys");
    assert_eq!(keys.len(), 1, "{v}");
    assert_eq!(keys[0]["id"], key_id.as_str());
    assert_eq!(keys[0]["state"], "active");
    assert!(keys[0].get("key").is_none() && keys[0].get("hash").is_none());
    let (_, _, all) = admin(&w, M::GET, "/apikeys", t, None).await;
    let (_, _, registry) = admin(&w, M::GET, "/registry", t, None).await;
    for listing in [v.to_string(), all.to_string(), registry.to_string()] {
        assert!(!listing.contains(&secret), "{listing}");
    }
    assert!(
        w.cli(&["apikey", "list", "--sub", "ops-bot"])
            .await
            .contains(&key_id)
    );
    let (status, _, _) = admin(&w, M::GET, "/apikeys?bogus=1", t, None).await;
    assert_eq!(status, 400);

    // Rotation: a new key; the old one keeps working for the overlap.
    let rotate = format!("/apikeys/{key_id}/rotate");
    let (status, _, v) = admin(&w, M::POST, &rotate, t, Some(r#"{"overlapSecs":3600}"#)).await;
    assert_eq!(status, 201, "{v}");
    let new_key = v["key"].as_str().expect("new key").to_string();
    let new_id = v["apiKey"]["id"].as_str().expect("new id").to_string();
    assert_ne!(new_id, key_id);
    assert_eq!(v["previous"]["id"], key_id.as_str());
    assert_eq!(v["previous"]["state"], "expiring");
    assert!(v["previous"]["expiresAt"].is_i64(), "{v}");
    assert_echoed(&send_with_key(&w, &new_key).await, "the rotated key");
    assert_echoed(
        &send_with_key(&w, &key).await,
        "the old key within the overlap",
    );
    let (status, _, _) = admin(&w, M::POST, &rotate, t, Some(r#"{"overlap":60}"#)).await;
    assert_eq!(status, 400, "unknown field in the rotate body");

    // Revoked through the API: refused at the gateway at once.
    let (status, _, v) = admin(&w, M::POST, &format!("/apikeys/{key_id}/revoke"), t, None).await;
    assert_eq!((status, v["state"].as_str()), (200, Some("revoked")), "{v}");
    let (status, v) = send_with_key(&w, &key).await;
    assert_eq!(status, 401, "a revoked key is refused at once: {v}");
    assert_echoed(
        &send_with_key(&w, &new_key).await,
        "the new key still works",
    );
    let (status, _, v) = admin(&w, M::POST, &format!("/apikeys/{key_id}/revoke"), t, None).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (409, Some("conflict")),
        "{v}"
    );
    let (status, _, v) = admin(&w, M::POST, &rotate, t, None).await;
    assert_eq!(status, 409, "a revoked key is not rotated: {v}");
    let (status, _, _) = admin(&w, M::POST, "/apikeys/0000000000000000/revoke", t, None).await;
    assert_eq!(status, 404);

    // Removing the agent removes its keys.
    let (status, _, _) = admin(&w, M::DELETE, "/registry/ops-bot", t, None).await;
    assert_eq!(status, 204);
    let (status, v) = send_with_key(&w, &new_key).await;
    assert_eq!(status, 401, "{v}");
    let (status, _, _) = admin(&w, M::GET, "/registry/ops-bot", t, None).await;
    assert_eq!(status, 404);

    // Every change is an audit row (kind admin), refusals too; none holds
    // a secret or the admin token.
    let db = w.dir.path().join("warden.db");
    let store = warden_store::Store::open(&db).await.expect("store");
    let _ = admin(&w, M::GET, "/registry", None, None).await;
    // Refusals go through the batching writer: wait for it.
    w.flush_audit().await;
    let rows = store.recent_audit(500).await.expect("audit");
    let changes: Vec<&str> = rows
        .iter()
        .rev()
        .filter(|r| r.kind == "admin" && r.outcome == "admin_change")
        .filter_map(|r| r.reason.as_deref())
        .collect();
    assert_eq!(
        changes,
        [
            "registry.add",
            "apikey.create",
            "apikey.rotate",
            "apikey.revoke",
            "registry.remove"
        ]
    );
    let create = rows
        .iter()
        .find(|r| r.reason.as_deref() == Some("apikey.create"))
        .expect("create row");
    assert_eq!(create.principal.as_deref(), Some("admin"));
    assert_eq!(create.source.as_deref(), Some("127.0.0.1"));
    assert!(
        create
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains(&key_id),
        "{create:?}"
    );
    let refused = rows
        .iter()
        .find(|r| r.kind == "admin" && r.outcome == "refused")
        .expect("refused row");
    assert!(
        refused
            .reason
            .as_deref()
            .unwrap_or_default()
            .starts_with("admin_unauthorized"),
        "{refused:?}"
    );
    let new_secret = new_key
        .strip_prefix(&format!("wdn_{new_id}_"))
        .expect("secret");
    for r in &rows {
        let text = format!("{r:?}");
        assert!(
            !text.contains(&secret) && !text.contains(new_secret) && !text.contains(&token),
            "{text}"
        );
    }
}

/// Starts `warden up` with `env`, returns its first stdout lines (up to the
/// admin token line) and the process.
async fn up_printing(
    dir: &std::path::Path,
    env: &[(&str, &str)],
) -> (Vec<String>, tokio::process::Child, String) {
    let mut cmd = warden();
    cmd.args([
        "up",
        "--listen",
        "127.0.0.1:0",
        "--admin-listen",
        "127.0.0.1:0",
    ])
    .arg("--data-dir")
    .arg(dir)
    .env_remove("WARDEN_ADMIN_TOKEN")
    .stdout(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn warden up");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut seen = Vec::new();
    let mut admin_url = String::new();
    tokio::time::timeout(WAIT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            let mut words = line.split_whitespace();
            if let (Some("admin"), Some(url)) = (words.next(), words.next()) {
                admin_url = url.to_string();
            }
            let done = line.contains("Stop with Ctrl-C");
            seen.push(line);
            if done {
                break;
            }
        }
    })
    .await
    .expect("warden up printed its welcome");
    (seen, child, admin_url)
}

#[tokio::test]
async fn up_prints_where_the_admin_token_is_never_the_token() {
    // Generated into the data directory.
    let dir = tempfile::tempdir().expect("tempdir");
    let (lines, _child, _) = up_printing(dir.path(), &[]).await;
    let path = dir.path().join("admin-token");
    let token = std::fs::read_to_string(&path).expect("admin-token");
    let token = token.trim();
    let text = lines.join("\n");
    assert!(
        lines
            .iter()
            .any(|l| l.trim_start().starts_with("admin-token")
                && l.contains(&path.display().to_string())),
        "{text}"
    );
    assert!(!text.contains(token), "the token itself is never printed");

    // From WARDEN_ADMIN_TOKEN: no file, and that token opens the API.
    let other = tempfile::tempdir().expect("tempdir");
    let env_token = "e".repeat(48);
    let (lines, _child, admin_url) =
        up_printing(other.path(), &[("WARDEN_ADMIN_TOKEN", &env_token)]).await;
    let text = lines.join("\n");
    assert!(text.contains("WARDEN_ADMIN_TOKEN"), "{text}");
    assert!(!text.contains(&env_token), "{text}");
    assert!(!other.path().join("admin-token").exists());
    let r = client()
        .get(format!("{admin_url}/admin/v1/registry"))
        .bearer_auth(&env_token)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
}
