//! The admin API through its router: the token in front of every route,
//! the registry and API keys with strict bodies and their audit.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request as HttpRequest, StatusCode, header};
use serde_json::json;
use tower::ServiceExt;

use super::*;
use crate::Config;
use crate::admin::test_support::{TOKEN, call};
use crate::admin::toolkit::{CHALLENGE, CHALLENGE_INVALID};

async fn app(dir: &std::path::Path) -> (Router, GatewayState) {
    let mut config = Config::parse("", std::path::Path::new("test")).expect("config");
    config.gateway.data_dir = dir.to_path_buf();
    let store = warden_store::Store::open(&dir.join("warden.db"))
        .await
        .expect("store");
    let state = GatewayState::open(config, store).await.expect("state");
    let token = AdminToken::from_secret(TOKEN).expect("token");
    (crate::admin::router(state.clone(), token), state)
}

#[tokio::test]
async fn every_api_path_needs_the_token_and_health_does_not() {
    let dir = tempfile::tempdir().expect("dir");
    let (app, _) = app(dir.path()).await;
    let (s, _, _) = call(&app, Method::GET, "/healthz", None, None).await;
    assert_eq!(s, StatusCode::OK);
    for path in [
        "/admin/v1/registry",
        "/admin/v1/apikeys",
        "/admin/v1/no-such-route",
    ] {
        let (s, h, v) = call(&app, Method::GET, path, None, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(h[header::WWW_AUTHENTICATE], CHALLENGE, "{path}");
        assert_eq!(v["error"], "unauthorized");
        let (s, h, _) = call(&app, Method::GET, path, Some("wrong"), None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(h[header::WWW_AUTHENTICATE], CHALLENGE_INVALID);
    }
    let (s, _, v) = call(&app, Method::GET, "/admin/v1/nope", Some(TOKEN), None).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (s, _, v) = call(&app, Method::PUT, "/admin/v1/registry", Some(TOKEN), None).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
    // Another scheme, or the token as an API key, does not count.
    let mut req = HttpRequest::builder()
        .uri("/admin/v1/registry")
        .header(header::AUTHORIZATION, format!("Basic {TOKEN}"))
        .body(Body::empty())
        .expect("request");
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 1))));
    let r = app.clone().oneshot(req).await.expect("answer");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn registry_and_keys_through_the_api_with_strict_bodies_and_audit() {
    let dir = tempfile::tempdir().expect("dir");
    let (app, state) = app(dir.path()).await;
    let t = Some(TOKEN);
    let body = r#"{"id":"planner","displayName":"Trip planner","grants":{"echo":["echo"]}}"#;
    let (s, h, v) = call(&app, Method::POST, "/admin/v1/registry", t, Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(h[header::CACHE_CONTROL], "no-store");
    assert_eq!(v["grants"], json!({"echo": ["echo"]}));
    let (s, _, v) = call(&app, Method::POST, "/admin/v1/registry", t, Some(body)).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
    for bad in [
        r#"{"id":"x","grants":{},"extra":1}"#,
        r#"{"id":"x","id":"y"}"#,
        r#"{"id":"x","grants":{"echo":"echo"}}"#,
        r#"["id"]"#,
        r#"{"id":"x"#,
        r#"{"id":"has space"}"#,
        r#"{"id":"x","jwks":{"keys":[]}}"#,
    ] {
        let (s, _, v) = call(&app, Method::POST, "/admin/v1/registry", t, Some(bad)).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{bad}: {v}"
        );
    }
    let (s, _, _) = call(&app, Method::GET, "/admin/v1/registry/x", t, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing stored by refused bodies");
    let (s, _, v) = call(&app, Method::GET, "/admin/v1/registry?x=1", t, None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    let (s, _, v) = call(
        &app,
        Method::POST,
        "/admin/v1/apikeys",
        t,
        Some(r#"{"sub":"planner"}"#),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let key = v["key"].as_str().expect("key").to_string();
    let id = v["apiKey"]["id"].as_str().expect("id").to_string();
    assert!(key.starts_with(&format!("wdn_{id}_")));
    let (s, _, v) = call(&app, Method::GET, "/admin/v1/apikeys?sub=planner", t, None).await;
    assert_eq!(s, StatusCode::OK);
    // The secret is all after `wdn_{id}_` (it may itself contain `_`).
    let secret = key.strip_prefix(&format!("wdn_{id}_")).expect("secret");
    assert!(!v.to_string().contains(secret), "{v}");
    assert_eq!(v["apiKeys"][0]["state"], "active");
    let (s, _, v) = call(
        &app,
        Method::POST,
        "/admin/v1/apikeys",
        t,
        Some(r#"{"sub":"nobody"}"#),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");

    let rotate = format!("/admin/v1/apikeys/{id}/rotate");
    let (s, _, v) = call(
        &app,
        Method::POST,
        &rotate,
        t,
        Some(r#"{"overlapSecs":60}"#),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["previous"]["state"], "expiring");
    let new_id = v["apiKey"]["id"].as_str().expect("id").to_string();
    let (s, _, _) = call(&app, Method::POST, &rotate, t, Some(r#"{"overlap":60}"#)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let revoke = format!("/admin/v1/apikeys/{new_id}/revoke");
    let (s, _, v) = call(&app, Method::POST, &revoke, t, None).await;
    assert_eq!((s, v["state"].as_str()), (StatusCode::OK, Some("revoked")));
    let (s, _, _) = call(&app, Method::POST, &revoke, t, None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _, _) = call(&app, Method::POST, "/admin/v1/apikeys/nope/revoke", t, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, _, _) = call(&app, Method::DELETE, "/admin/v1/registry/planner", t, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = call(&app, Method::DELETE, "/admin/v1/registry/planner", t, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Every change is on record (written before the answer), no secret in it.
    let rows = state.store.recent_audit(50).await.expect("audit");
    let actions: Vec<&str> = rows
        .iter()
        .filter(|r| r.kind == "admin" && r.outcome == "admin_change")
        .filter_map(|r| r.reason.as_deref())
        .collect();
    assert_eq!(
        actions,
        [
            "registry.remove",
            "apikey.revoke",
            "apikey.rotate",
            "apikey.create",
            "registry.add"
        ]
    );
    for r in &rows {
        let text = format!("{r:?}");
        assert!(!text.contains(secret) && !text.contains(TOKEN), "{text}");
    }
}

#[tokio::test]
async fn audit_flush_answers_once_earlier_events_are_stored() {
    let dir = tempfile::tempdir().expect("dir");
    let (app, state) = app(dir.path()).await;
    let source = std::net::IpAddr::from([127, 0, 0, 1]);
    for i in 0..300 {
        let e =
            crate::audit::AuditEvent::new(Some("echo"), source, crate::audit::Outcome::Forwarded)
                .with_reason(format!("#{i}"));
        assert!(state.audit.emit(&e));
    }
    // Without the token: 401, and the refusal is itself an event.
    let (s, _, _) = call(&app, Method::POST, "/admin/v1/audit/flush", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _) = call(
        &app,
        Method::GET,
        "/admin/v1/audit/flush",
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    let (s, _, v) = call(
        &app,
        Method::POST,
        "/admin/v1/audit/flush",
        Some(TOKEN),
        Some(r#"{"wait":true}"#),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, _, v) = call(
        &app,
        Method::POST,
        "/admin/v1/audit/flush",
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    // Read once: every event emitted before the flush is there.
    let rows = state.store.recent_audit(500).await.expect("audit");
    let requests = rows.iter().filter(|r| r.kind == "request").count();
    assert_eq!(requests, 300);
    assert!(
        rows.iter()
            .any(|r| r.kind == "admin" && r.outcome == "refused"),
        "{rows:?}"
    );
    // A flush changes nothing: it is not an admin change.
    assert!(!rows.iter().any(|r| r.outcome == "admin_change"));
}
