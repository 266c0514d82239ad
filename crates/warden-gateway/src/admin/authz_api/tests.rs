use axum::http::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::admin::AdminToken;
use crate::admin::test_support::{TOKEN, call};
use crate::{Config, GatewayState};

/// The admin router on a fresh store; `policy` becomes `[authz] policy_file`.
async fn app(dir: &std::path::Path, policy: Option<&str>) -> (axum::Router, GatewayState) {
    let mut config = Config::parse("", std::path::Path::new("test")).expect("config");
    config.gateway.data_dir = dir.to_path_buf();
    // The background poller stays out of the way: changes must apply
    // because the API applied them.
    config.authz.poll_interval = std::time::Duration::from_secs(3600);
    if let Some(text) = policy {
        let path = dir.join("policy.toml");
        std::fs::write(&path, text).expect("write policy");
        config.authz.policy_file = Some(path);
    }
    let store = warden_store::Store::open(&dir.join("warden.db"))
        .await
        .expect("store");
    let state = GatewayState::open(config, store).await.expect("state");
    let token = AdminToken::from_secret(TOKEN).expect("token");
    (crate::admin::router(state.clone(), token), state)
}

/// The admin changes on record, newest first.
async fn changes(state: &GatewayState) -> Vec<(String, Value)> {
    let rows = state.store.recent_audit(100).await.expect("audit");
    rows.into_iter()
        .filter(|r| r.kind == "admin" && r.outcome == "admin_change")
        .map(|r| {
            let detail = r
                .detail
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or(Value::Null);
            (r.reason.unwrap_or_default(), detail)
        })
        .collect()
}

#[tokio::test]
async fn every_authz_route_needs_the_token() {
    let dir = tempfile::tempdir().expect("dir");
    let (app, state) = app(dir.path(), None).await;
    for (method, path, body) in [
        (Method::GET, "/admin/v1/grants", None),
        (
            Method::POST,
            "/admin/v1/grants",
            Some(r#"{"caller":"a","target":"echo","skills":["*"]}"#),
        ),
        (Method::DELETE, "/admin/v1/grants/g_0011223344556677", None),
        (Method::GET, "/admin/v1/quarantine", None),
        (
            Method::POST,
            "/admin/v1/quarantine",
            Some(r#"{"agent":"echo","reason":"x"}"#),
        ),
        (Method::DELETE, "/admin/v1/quarantine/echo", None),
        (Method::POST, "/admin/v1/policy/reload", None),
    ] {
        for token in [None, Some("wrong")] {
            let (s, h, v) = call(&app, method.clone(), path, token, body).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{method} {path}: {v}");
            assert!(h.contains_key(header::WWW_AUTHENTICATE), "{path}");
        }
    }
    // Nothing happened.
    assert!(
        state
            .store
            .list_grants(None, None, true)
            .await
            .expect("grants")
            .is_empty()
    );
    assert!(
        state
            .store
            .quarantined()
            .await
            .expect("quarantine")
            .is_empty()
    );
}

#[tokio::test]
async fn grants_are_added_listed_and_revoked() {
    let dir = tempfile::tempdir().expect("dir");
    let (app, state) = app(dir.path(), None).await;
    let t = Some(TOKEN);
    let body = r#"{"caller":"planner","target":"echo","skills":["echo","shout","echo"],
        "operations":["get","send"],"tasksOf":"alice","notBefore":100,"notAfter":4102444800,
        "note":"ticket 42"}"#;
    let (s, h, v) = call(&app, Method::POST, "/admin/v1/grants", t, Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(h[header::CACHE_CONTROL], "no-store");
    let id = v["id"].as_str().expect("id").to_string();
    assert!(id.starts_with("g_"), "{id}");
    assert_eq!(v["skills"], json!(["echo", "shout"]));
    assert_eq!(v["operations"], json!(["send", "get"]));
    assert_eq!(
        (&v["tasksOf"], &v["notBefore"], &v["notAfter"], &v["state"]),
        (
            &json!("alice"),
            &json!(100),
            &json!(4_102_444_800_i64),
            &json!("active")
        )
    );
    assert_eq!(v["note"], "ticket 42");
    // Without operations: the default set; "all": every class.
    let (s, _, v) = call(
        &app,
        Method::POST,
        "/admin/v1/grants",
        t,
        Some(r#"{"caller":"planner","target":"slow","skills":["*"]}"#),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        v["operations"],
        json!(["send", "get", "list", "cancel", "subscribe"])
    );
    let (s, _, v) = call(
        &app,
        Method::POST,
        "/admin/v1/grants",
        t,
        Some(r#"{"caller":"ops","target":"slow","skills":["*"],"operations":["all"]}"#),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["operations"].as_array().map(Vec::len), Some(7));
    let ops_id = v["id"].as_str().expect("id").to_string();

    // The change holds in this process at once.
    assert_eq!(
        state.store.authz_generation().await.expect("generation"),
        3,
        "one bump per grant"
    );

    for bad in [
        r#"{"caller":"a","target":"echo","skills":["echo"],"operations":["delete"]}"#,
        r#"{"caller":"a","target":"echo","skills":["echo"],"operations":["send,get"]}"#,
        r#"{"caller":"a","target":"echo","skills":["echo"],"operations":[]}"#,
        r#"{"caller":"a","target":"echo","skills":[]}"#,
        r#"{"caller":"a","target":"echo"}"#,
        r#"{"caller":"a b","target":"echo","skills":["echo"]}"#,
        r#"{"caller":"a","target":"echo","skills":["echo"],"notBefore":10,"notAfter":10}"#,
        r#"{"caller":"a","target":"echo","skills":["echo"],"notAfter":-1}"#,
        r#"{"caller":"a","target":"echo","skills":["echo"],"extra":1}"#,
        r#"{"caller":"a","target":"echo","skills":["echo"],"note":"a\u0000b"}"#,
    ] {
        let (s, _, v) = call(&app, Method::POST, "/admin/v1/grants", t, Some(bad)).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{bad}: {v}"
        );
    }
    let (s, _, v) = call(&app, Method::POST, "/admin/v1/grants", t, None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a body is required: {v}");

    let (s, _, v) = call(
        &app,
        Method::GET,
        "/admin/v1/grants?caller=planner",
        t,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["grants"].as_array().map(Vec::len), Some(2), "{v}");
    let (_, _, v) = call(
        &app,
        Method::GET,
        "/admin/v1/grants?caller=planner&target=echo",
        t,
        None,
    )
    .await;
    assert_eq!(v["grants"][0]["id"], id.as_str(), "{v}");
    assert_eq!(v["grants"].as_array().map(Vec::len), Some(1));
    let (_, _, v) = call(&app, Method::GET, "/admin/v1/grants?target=slow", t, None).await;
    assert_eq!(v["grants"].as_array().map(Vec::len), Some(2), "{v}");
    for bad in ["?all=yes", "?who=x", "?caller=a&caller=b"] {
        let (s, _, v) = call(
            &app,
            Method::GET,
            &format!("/admin/v1/grants{bad}"),
            t,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
    }

    let path = format!("/admin/v1/grants/{id}");
    let (s, h, _) = call(&app, Method::DELETE, &path, t, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(h[header::CACHE_CONTROL], "no-store");
    let (s, _, v) = call(&app, Method::DELETE, &path, t, None).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("conflict")),
        "{v}"
    );
    let (s, _, v) = call(&app, Method::DELETE, "/admin/v1/grants/g_nope", t, None).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "{v}"
    );
    // Revoked grants are listed only when asked for.
    let (_, _, v) = call(
        &app,
        Method::GET,
        "/admin/v1/grants?caller=planner",
        t,
        None,
    )
    .await;
    assert_eq!(v["grants"].as_array().map(Vec::len), Some(1), "{v}");
    let (_, _, v) = call(
        &app,
        Method::GET,
        "/admin/v1/grants?caller=planner&all=true",
        t,
        None,
    )
    .await;
    let revoked = v["grants"]
        .as_array()
        .expect("grants")
        .iter()
        .find(|g| g["id"] == id.as_str())
        .expect("the revoked grant is listed");
    assert_eq!(revoked["state"], "revoked");
    assert!(revoked["revokedAt"].is_string(), "{revoked}");

    let actions: Vec<(String, Value)> = changes(&state).await;
    let names: Vec<&str> = actions.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        names,
        ["grant.revoke", "grant.add", "grant.add", "grant.add"]
    );
    assert_eq!(actions[0].1, json!({"grant": id}));
    assert_eq!(actions[1].1["grant"], ops_id.as_str());
    assert_eq!(actions[3].1["caller"], "planner");
    assert!(
        !actions
            .iter()
            .any(|(_, d)| d.to_string().contains("ticket 42")),
        "notes are not copied into the audit trail"
    );
}

#[tokio::test]
async fn quarantine_applies_at_once_and_twice_is_a_conflict() {
    let dir = tempfile::tempdir().expect("dir");
    let (app, state) = app(dir.path(), None).await;
    let t = Some(TOKEN);
    let (s, _, v) = call(&app, Method::GET, "/admin/v1/quarantine", t, None).await;
    assert_eq!((s, &v), (StatusCode::OK, &json!({"quarantined": []})));

    // A stream to the agent, open when the quarantine comes.
    let mut stream = state.authz.streams.register("alice", "echo", None);
    let body = r#"{"agent":"echo","reason":"leaking tokens"}"#;
    let (s, _, v) = call(&app, Method::POST, "/admin/v1/quarantine", t, Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (&v["agent"], &v["reason"], &v["createdBy"]),
        (&json!("echo"), &json!("leaking tokens"), &json!("admin"))
    );
    // Applied in this process before the answer: no wait for the poller.
    assert!(state.authz.is_quarantined("echo"));
    let cut = tokio::time::timeout(std::time::Duration::from_secs(5), stream.cut_off()).await;
    assert!(cut.is_ok(), "the open stream is closed");

    let (s, _, v) = call(&app, Method::POST, "/admin/v1/quarantine", t, Some(body)).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("conflict")),
        "{v}"
    );
    for bad in [
        r#"{"agent":"echo"}"#,
        r#"{"agent":"slow","reason":""}"#,
        r#"{"agent":"slow","reason":"   "}"#,
        r#"{"agent":"","reason":"x"}"#,
        r#"{"agent":"slow","reason":"x","by":"me"}"#,
    ] {
        let (s, _, v) = call(&app, Method::POST, "/admin/v1/quarantine", t, Some(bad)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
    }
    let (_, _, v) = call(&app, Method::GET, "/admin/v1/quarantine", t, None).await;
    assert_eq!(v["quarantined"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["quarantined"][0]["agent"], "echo");

    let (s, _, _) = call(&app, Method::DELETE, "/admin/v1/quarantine/echo", t, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(!state.authz.is_quarantined("echo"), "lifted at once");
    let (s, _, v) = call(&app, Method::DELETE, "/admin/v1/quarantine/echo", t, None).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "{v}"
    );

    // An external issuer's subject, named as grants name it, percent-encoded
    // in the path.
    let external = "https://idp.example.com/tenant#svc-7";
    let body = json!({"agent": external, "reason": "stolen token"}).to_string();
    let (s, _, v) = call(&app, Method::POST, "/admin/v1/quarantine", t, Some(&body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(state.authz.is_quarantined(external));
    let path = "/admin/v1/quarantine/https%3A%2F%2Fidp.example.com%2Ftenant%23svc-7";
    let (s, _, v) = call(&app, Method::DELETE, path, t, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    assert!(!state.authz.is_quarantined(external));

    let names: Vec<String> = changes(&state).await.into_iter().map(|(a, _)| a).collect();
    assert_eq!(
        names,
        [
            "quarantine.remove",
            "quarantine.add",
            "quarantine.remove",
            "quarantine.add"
        ]
    );
}

#[tokio::test]
async fn policy_reload_counts_rules_and_keeps_them_on_error() {
    let dir = tempfile::tempdir().expect("dir");
    let one = r#"
        [[rule]]
        name = "no-raw"
        effect = "deny"
        when = 'parts.exists(p, p.kind == "raw")'
    "#;
    let (app, state) = app(dir.path(), Some(one)).await;
    let t = Some(TOKEN);
    let (s, _, v) = call(&app, Method::POST, "/admin/v1/policy/reload", t, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["rules"], 1);
    assert!(
        v["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("policy.toml")),
        "{v}"
    );

    let path = dir.path().join("policy.toml");
    std::fs::write(
        &path,
        format!("{one}\n[[rule]]\nname = \"b\"\neffect = \"allow\"\nwhen = 'agnet == \"x\"'\n"),
    )
    .expect("write");
    let (s, _, v) = call(&app, Method::POST, "/admin/v1/policy/reload", t, Some("{}")).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_policy")),
        "{v}"
    );
    assert!(
        v["message"].as_str().is_some_and(|m| m.contains("agnet")),
        "the error names the problem: {v}"
    );
    let (s, _, _) = call(
        &app,
        Method::POST,
        "/admin/v1/policy/reload",
        t,
        Some(r#"{"force":true}"#),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    std::fs::write(&path, "").expect("write");
    let (s, _, v) = call(&app, Method::POST, "/admin/v1/policy/reload", t, None).await;
    assert_eq!((s, &v["rules"]), (StatusCode::OK, &json!(0)), "{v}");

    let changes = changes(&state).await;
    let names: Vec<&str> = changes.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        names,
        ["policy.reload", "policy.reload"],
        "failures change nothing"
    );
    assert_eq!(changes[1].1["rules"], 1);
}

#[tokio::test]
async fn policy_reload_without_a_policy_file_is_zero_rules() {
    let dir = tempfile::tempdir().expect("dir");
    let (app, _) = app(dir.path(), None).await;
    let (s, _, v) = call(
        &app,
        Method::POST,
        "/admin/v1/policy/reload",
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!((s, v), (StatusCode::OK, json!({"rules": 0, "file": null})));
}
