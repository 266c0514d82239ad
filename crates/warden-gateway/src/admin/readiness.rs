//! `GET /readyz`: whether this gateway can serve calls that need its
//! backing services, with the reason in JSON when it cannot.
//!
//! Ready means the store answered the watcher's last read (every
//! `authz.poll_interval_ms`; no query is made for the probe itself, so a
//! load balancer polling it costs the store nothing and never waits for a
//! connection), and, with `[shared]`, that Redis answers a PING now. Not
//! ready is 503: a load balancer sends callers elsewhere. The gateway still
//! answers what it can meanwhile (see `store_health`).

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::state::GatewayState;
use crate::store_health::Report;

/// The longest wait for Redis's PING (a `[shared]` timeout is usually far
/// shorter).
const PING_TIMEOUT: Duration = Duration::from_secs(1);

pub(super) async fn ready(State(state): State<GatewayState>) -> Response {
    let store = state.authz.registry().health().report();
    let listener = state.store.change_listener_up();
    let redis = match &state.shared {
        None => None,
        Some(shared) => Some(
            match tokio::time::timeout(PING_TIMEOUT, shared.ping()).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!("no answer to PING within {PING_TIMEOUT:?}")),
            },
        ),
    };
    let (status, body) = answer(&store, listener, redis.as_ref());
    (
        status,
        [("content-type", "application/json")],
        format!("{body}\n"),
    )
        .into_response()
}

/// The status and the JSON body for what was found.
fn answer(
    store: &Report,
    listener: Option<bool>,
    redis: Option<&Result<(), String>>,
) -> (StatusCode, Value) {
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let mut reasons = Vec::new();
    if !store.reachable {
        let stale = store.snapshot_age > store.max_stale;
        reasons.push(if stale {
            "the store is unreachable and the snapshot is older than store.max_stale_secs: calls are refused"
        } else {
            "the store is unreachable: calls are decided from the snapshot until it is older than store.max_stale_secs; messages and owners not in memory are refused"
        });
    }
    if let Some(Err(_)) = redis {
        reasons.push("Redis ([shared]) is unreachable: calls that need a replay check or a shared rate limit are refused");
    }
    let mut store_json = json!({
        "reachable": store.reachable,
        "snapshot_age_ms": ms(store.snapshot_age),
        "max_stale_ms": ms(store.max_stale),
    });
    if let Some(d) = store.unreachable_for {
        store_json["unreachable_for_ms"] = json!(ms(d));
    }
    if let Some(e) = &store.error {
        store_json["error"] = json!(e);
    }
    if let Some(up) = listener {
        store_json["change_notifications"] = json!(if up { "listening" } else { "reconnecting" });
    }
    let mut body = json!({
        "ready": reasons.is_empty(),
        "store": store_json,
    });
    if let Some(r) = redis {
        body["shared"] = match r {
            Ok(()) => json!({"reachable": true}),
            Err(e) => json!({"reachable": false, "error": e}),
        };
    }
    if !reasons.is_empty() {
        body["reason"] = json!(reasons.join("; "));
    }
    let status = if reasons.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(reachable: bool, age_secs: u64) -> Report {
        Report {
            reachable,
            unreachable_for: (!reachable).then(|| Duration::from_secs(age_secs)),
            error: (!reachable).then(|| "database error: connection refused".into()),
            snapshot_age: Duration::from_secs(age_secs),
            max_stale: Duration::from_secs(30),
        }
    }

    #[test]
    fn ready_only_when_the_store_and_redis_answer() {
        let (status, body) = answer(&report(true, 0), Some(true), Some(&Ok(())));
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["ready"], json!(true));
        assert_eq!(body["store"]["change_notifications"], json!("listening"));
        assert_eq!(body.get("reason"), None);

        let (status, body) = answer(&report(false, 5), Some(false), None);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["ready"], json!(false));
        assert_eq!(body["store"]["unreachable_for_ms"], json!(5000));
        let reason = body["reason"].as_str().expect("reason");
        assert!(reason.contains("decided from the snapshot"), "{reason}");
        assert_eq!(body.get("shared"), None, "no [shared]");

        let (_, body) = answer(&report(false, 31), None, None);
        let reason = body["reason"].as_str().expect("reason");
        assert!(reason.contains("calls are refused"), "{reason}");

        let down = Err("not connected".to_string());
        let (status, body) = answer(&report(true, 0), None, Some(&down));
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["shared"]["reachable"], json!(false));
        assert!(body["reason"].as_str().is_some_and(|r| r.contains("Redis")));
    }
}
