use axum::http::Method;
use warden_store::{Claim, NewNotification, Settle, Settlement};

use crate::admin::AdminToken;
use crate::admin::test_support::{TOKEN, call};
use crate::{Config, GatewayState};

const HOOK: &str = "https://hooks.example/in";

async fn gateway() -> (tempfile::TempDir, GatewayState, axum::Router) {
    let dir = tempfile::tempdir().expect("dir");
    let mut config = Config::parse("", std::path::Path::new("test")).expect("config");
    config.gateway.data_dir = dir.path().to_path_buf();
    let store = warden_store::Store::open(&dir.path().join("warden.db"))
        .await
        .expect("store");
    let mut state = GatewayState::open(config, store).await.expect("state");
    // The API on a store of its own: the gateway's delivery worker (on the
    // first) does not deliver what the test puts in the outbox.
    state.store = warden_store::Store::open(&dir.path().join("admin.db"))
        .await
        .expect("store");
    let app = crate::admin::router(state.clone(), AdminToken::from_secret(TOKEN).expect("t"));
    (dir, state, app)
}

#[tokio::test]
async fn notifications_are_listed_without_bodies_shown_counted_and_retried() {
    let (_dir, state, app) = gateway().await;
    let s = &state.store;
    let mut ids = Vec::new();
    for (task, body) in [("t1", r#"{"task":"one"}"#), ("t2", r#"{"task":"two"}"#)] {
        let n = NewNotification {
            subscription_id: "sub-1".into(),
            task_id: task.into(),
            destination: HOOK.into(),
            body: body.as_bytes().to_vec(),
            created_ms: 1_000,
        };
        ids.push(s.outbox_enqueue(&n).await.expect("enqueue").to_string());
    }
    // t1's notification is refused for good: dead.
    let claim = Claim {
        origin: "https://hooks.example:443",
        worker: "w_test",
        now_ms: 2_000,
        lease_until_ms: 60_000,
        limit: 1,
    };
    let claimed = s.outbox_claim(&claim).await.expect("claim");
    let dead = Settle::Dead {
        error: "HTTP 410 Gone".into(),
    };
    let settled = Settlement::of(&claimed[0], 3_000, dead);
    s.outbox_settle("w_test", &[settled]).await.expect("settle");
    let dead_id = claimed[0].id.to_string();

    let get = |path: String| {
        let app = app.clone();
        async move { call(&app, Method::GET, &path, Some(TOKEN), None).await }
    };
    let (st, _, _) = call(&app, Method::GET, "/admin/v1/push/counts", None, None).await;
    assert_eq!(st.as_u16(), 401);
    let (st, _, v) = get("/admin/v1/push/counts".into()).await;
    assert_eq!(st.as_u16(), 200, "{v}");
    assert_eq!(
        (&v["pending"], &v["dead"], &v["queued"]),
        (&1.into(), &1.into(), &1.into())
    );

    let (st, _, v) = get("/admin/v1/push/notifications".into()).await;
    assert_eq!(st.as_u16(), 200, "{v}");
    let list = v["notifications"].as_array().expect("list");
    assert_eq!(list.len(), 2);
    assert!(
        list.iter().all(|n| n.get("body").is_none()),
        "no bodies: {v}"
    );
    let (_, _, v) = get("/admin/v1/push/notifications?state=dead".into()).await;
    assert_eq!(v["notifications"][0]["id"], dead_id.as_str());
    assert_eq!(v["notifications"][0]["lastError"], "HTTP 410 Gone");
    assert_eq!(
        v["notifications"][0]["nextAttemptAt"],
        serde_json::Value::Null
    );
    let (_, _, v) = get("/admin/v1/push/notifications?task=t2&limit=5".into()).await;
    assert_eq!(v["notifications"].as_array().map(Vec::len), Some(1));
    let path = "/admin/v1/push/notifications?destination=https://hooks.example/other";
    let (_, _, v) = get(path.into()).await;
    assert_eq!(
        v["notifications"].as_array().map(Vec::len),
        Some(2),
        "by origin"
    );
    for bad in [
        "state=lost",
        "limit=0",
        "limit=5000",
        "colour=red",
        "pageToken=%21",
    ] {
        let (st, _, v) = get(format!("/admin/v1/push/notifications?{bad}")).await;
        assert_eq!(st.as_u16(), 400, "{bad}: {v}");
    }

    let (st, _, v) = get(format!("/admin/v1/push/notifications/{dead_id}")).await;
    assert_eq!(st.as_u16(), 200, "{v}");
    assert_eq!(v["body"]["task"], "one", "one notification shows its body");
    assert_eq!((&v["state"], &v["attempts"]), (&"dead".into(), &1.into()));
    let (st, _, _) = get("/admin/v1/push/notifications/msg_nope".into()).await;
    assert_eq!(st.as_u16(), 404);

    let retry = |id: String| {
        let app = app.clone();
        async move {
            let path = format!("/admin/v1/push/notifications/{id}/retry");
            call(&app, Method::POST, &path, Some(TOKEN), None).await
        }
    };
    let (st, _, v) = retry(dead_id.clone()).await;
    assert_eq!(st.as_u16(), 200, "{v}");
    assert_eq!(
        (&v["state"], &v["attempts"]),
        (&"pending".into(), &0.into())
    );
    let (st, _, v) = retry(dead_id).await;
    assert_eq!((st.as_u16(), &v["error"]), (409, &"conflict".into()), "{v}");
    let (st, _, _) = retry("msg_nope".into()).await;
    assert_eq!(st.as_u16(), 404);
    let (_, _, v) = get("/admin/v1/push/counts".into()).await;
    assert_eq!((&v["pending"], &v["dead"]), (&2.into(), &0.into()));
}
