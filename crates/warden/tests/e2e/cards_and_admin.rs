//! Cards served by the gateway, and the admin listener.

use serde_json::{Value, json};

use crate::support::{Spy, client, gateway, up, user_message};

#[tokio::test]
async fn cards_point_at_the_gateway_with_cache_headers() {
    let w = up(&[]).await;
    for path in ["agent-card.json", "agent.json"] {
        let url = format!("{}/agents/echo/.well-known/{path}", w.gateway);
        let r = client().get(&url).send().await.expect("card");
        assert_eq!(r.status(), 200);
        let etag = r.headers()["etag"].to_str().expect("etag").to_string();
        assert!(
            r.headers()["cache-control"]
                .to_str()
                .expect("cc")
                .contains("max-age")
        );
        assert!(r.headers().get("last-modified").is_some());
        let card: Value = r.json().await.expect("json");
        let ifaces = card["supportedInterfaces"].as_array().expect("interfaces");
        assert_eq!(ifaces.len(), 2);
        for i in ifaces {
            assert_eq!(i["url"], format!("{}/agents/echo", w.gateway));
        }
        let r = client()
            .get(&url)
            .header("If-None-Match", &etag)
            .send()
            .await
            .expect("conditional");
        assert_eq!(r.status(), 304);
    }
    // Unknown agents look like any call without a credential.
    let r = client()
        .get(format!(
            "{}/agents/nobody/.well-known/agent-card.json",
            w.gateway
        ))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn upstream_addresses_never_leak_through_cards() {
    let spy = Spy::start().await;
    let w = gateway(&format!(
        "[[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        spy.url
    ))
    .await;
    let text = client()
        .get(format!(
            "{}/agents/spy/.well-known/agent-card.json",
            w.gateway
        ))
        .send()
        .await
        .expect("card")
        .text()
        .await
        .expect("text");
    let port = spy.url.rsplit(':').next().expect("port");
    assert!(!text.contains(&format!(":{port}")), "{text}");
    assert!(text.contains(&format!("{}/agents/spy", w.gateway)));
}

#[tokio::test]
async fn admin_listener_serves_health_readiness_and_metrics() {
    let w = up(&[]).await;
    w.rpc(
        "echo",
        "SendMessage",
        json!({"message": user_message("count me")}),
    )
    .await;
    for (path, want) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let r = client()
            .get(format!("{}{path}", w.admin))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 200);
        assert!(r.text().await.expect("text").contains(want));
    }
    let m = client()
        .get(format!("{}/metrics", w.admin))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        m.contains("warden_requests_total{agent=\"echo\",operation=\"SendMessage\",outcome=\"forwarded\"} 1"),
        "{m}"
    );
    assert!(m.contains("warden_request_duration_seconds_bucket"));
    // Client traffic and admin are apart: no metrics on the gateway port.
    let r = client()
        .get(format!("{}/metrics", w.gateway))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn every_decision_is_an_audit_event() {
    let w = up(&[]).await;
    w.rpc(
        "echo",
        "SendMessage",
        json!({"message": user_message("audited")}),
    )
    .await;
    w.rpc("echo", "NoSuchMethod", json!({})).await;
    let db = w.dir.path().join("warden.db");
    let store = warden_store::Store::open(&db).await.expect("store");
    // The writer batches off the request path: wait for it to catch up.
    w.flush_audit().await;
    let events = store.recent_audit(10).await.expect("audit");
    let forwarded = events
        .iter()
        .find(|e| e.outcome == "forwarded")
        .expect("forwarded event");
    assert_eq!(forwarded.agent.as_deref(), Some("echo"));
    assert_eq!(forwarded.operation.as_deref(), Some("SendMessage"));
    assert_eq!(forwarded.principal.as_deref(), Some("demo-client"));
    let refused = events
        .iter()
        .find(|e| e.outcome == "refused")
        .expect("refused event");
    assert_eq!(refused.reason.as_deref(), Some("METHOD_NOT_FOUND"));
    for e in &events {
        assert!(
            !e.detail.clone().unwrap_or_default().contains("audited"),
            "no message bodies in audit"
        );
    }
}
