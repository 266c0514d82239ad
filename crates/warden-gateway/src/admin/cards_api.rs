//! The admin API's card review routes: the upstream card changes held for
//! review ([`crate::cards::pin`]), approved or rejected as with
//! `warden registry review|approve|reject`.

use axum::Extension;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use warden_store::CardReview;

use super::toolkit::{Api, ApiError, Caller, ResourceId, json_response, query};
use crate::authority::registry::RegistryError;

/// The routes, merged into the API's router (behind its token check).
pub(super) fn routes() -> Router<Api> {
    Router::new()
        .route("/card-reviews", get(list))
        .route("/card-reviews/{id}/approve", post(approve))
        .route("/card-reviews/{id}/reject", post(reject))
}

fn review_json(r: &CardReview) -> Value {
    let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
    json!({
        "id": r.id, "agent": r.agent, "digest": r.digest, "status": r.status,
        "changes": parse(&r.changes), "card": parse(&r.card),
        "raisedAt": r.raised_at, "decidedAt": r.decided_at,
    })
}

fn store_failed(e: warden_store::StoreError) -> ApiError {
    ApiError::from(RegistryError::from(e))
}

/// `GET /card-reviews`: every review, oldest first.
async fn list(State(api): State<Api>, uri: Uri) -> Result<Response, ApiError> {
    query(&uri, &[])?;
    let all = api
        .state
        .store
        .card_reviews(None)
        .await
        .map_err(store_failed)?;
    let list: Vec<Value> = all.iter().map(review_json).collect();
    Ok(json_response(StatusCode::OK, &json!({ "reviews": list })))
}

async fn approve(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    id: ResourceId,
) -> Result<Response, ApiError> {
    decide(api, caller, id, true).await
}

async fn reject(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    id: ResourceId,
) -> Result<Response, ApiError> {
    decide(api, caller, id, false).await
}

async fn decide(
    api: Api,
    caller: Caller,
    ResourceId(id): ResourceId,
    approve: bool,
) -> Result<Response, ApiError> {
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let decided = api
        .state
        .store
        .decide_card_review(&id, approve, &at)
        .await
        .map_err(store_failed)?
        .ok_or_else(|| RegistryError::NotFound(format!("no pending card review {id:?}")))?;
    let action = if approve {
        "card.approve"
    } else {
        "card.reject"
    };
    api.audit(
        caller,
        action,
        json!({"review": decided.id, "agent": decided.agent, "digest": decided.digest}),
    )
    .await;
    let mut decided = decided;
    decided.status = if approve { "approved" } else { "rejected" }.into();
    decided.decided_at = Some(at);
    Ok(json_response(StatusCode::OK, &review_json(&decided)))
}

#[cfg(test)]
mod tests {
    use axum::http::Method;

    use crate::admin::AdminToken;
    use crate::admin::test_support::{TOKEN, call};
    use crate::{Config, GatewayState};

    #[tokio::test]
    async fn reviews_are_listed_and_decided_with_the_token() {
        let dir = tempfile::tempdir().expect("dir");
        let mut config = Config::parse("", std::path::Path::new("test")).expect("config");
        config.gateway.data_dir = dir.path().to_path_buf();
        let store = warden_store::Store::open(&dir.path().join("warden.db"))
            .await
            .expect("store");
        let state = GatewayState::open(config, store).await.expect("state");
        let app = crate::admin::router(state.clone(), AdminToken::from_secret(TOKEN).expect("t"));
        let review = warden_store::CardReview {
            id: "r1".into(),
            agent: "a".into(),
            digest: "d2".into(),
            card: "{\"name\":\"a\"}".into(),
            key_thumbprints: "[]".into(),
            changes: "[\"skills\"]".into(),
            status: "pending".into(),
            raised_at: "t1".into(),
            decided_at: None,
        };
        assert!(state.store.raise_card_review(&review).await.expect("raise"));
        let (s, _, _) = call(&app, Method::GET, "/admin/v1/card-reviews", None, None).await;
        assert_eq!(s.as_u16(), 401);
        let (s, _, v) = call(
            &app,
            Method::GET,
            "/admin/v1/card-reviews",
            Some(TOKEN),
            None,
        )
        .await;
        assert_eq!(s.as_u16(), 200, "{v}");
        assert_eq!(v["reviews"][0]["changes"][0], "skills");
        let path = "/admin/v1/card-reviews/r1/approve";
        let (s, _, v) = call(&app, Method::POST, path, Some(TOKEN), None).await;
        assert_eq!(
            (s.as_u16(), v["status"].as_str()),
            (200, Some("approved")),
            "{v}"
        );
        let pin = state
            .store
            .card_pin("a")
            .await
            .expect("pin")
            .expect("pinned");
        assert_eq!(pin.digest, "d2");
        let (s, _, _) = call(
            &app,
            Method::POST,
            "/admin/v1/card-reviews/r1/reject",
            Some(TOKEN),
            None,
        )
        .await;
        assert_eq!(s.as_u16(), 404, "decided already");
    }
}
