//! The admin API's registry routes: the agents the token authority knows,
//! with their keys (JWKS), certificate subject and grants in force. The
//! same implementation as `warden registry …`
//! ([`crate::authority::registry`]).

use axum::Extension;
use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use warden_store::RegisteredAgent;

use super::toolkit::{
    Api, ApiError, Caller, JsonBody, ResourceId, json_response, no_content, path_id, query,
};
use crate::authority::Grants;
use crate::authority::registry::{self, NewAgent};

/// The routes, merged into the API's router (behind its token check).
pub(super) fn routes() -> Router<Api> {
    Router::new()
        .route("/registry", get(list_agents).post(add_agent))
        .route("/registry/{id}", get(show_agent).delete(remove_agent))
}

/// A registry agent with its grants in force.
async fn agent_view(store: &warden_store::Store, a: &RegisteredAgent) -> Result<Value, ApiError> {
    let grants = crate::authority::grants::summary(store, &a.id, crate::clock::unix_now())
        .await
        .map_err(|e| ApiError::from(crate::authority::registry::RegistryError::from(e)))?;
    Ok(agent_json(a, &grants))
}

fn agent_json(a: &RegisteredAgent, grants: &Grants) -> Value {
    let jwks = a
        .jwks
        .as_deref()
        .and_then(|t| serde_json::from_str::<Value>(t).ok());
    json!({
        "id": a.id,
        "displayName": a.display_name,
        "grants": grants,
        "jwks": jwks,
        "tlsSubject": a.tls_subject,
        "createdAt": a.created_at,
    })
}

async fn list_agents(State(api): State<Api>, uri: Uri) -> Result<Response, ApiError> {
    query(&uri, &[])?;
    let agents = registry::list_agents(&api.state.store).await?;
    let mut list: Vec<Value> = Vec::with_capacity(agents.len());
    for a in &agents {
        list.push(agent_view(&api.state.store, a).await?);
    }
    Ok(json_response(StatusCode::OK, &json!({ "agents": list })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AddAgentBody {
    id: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    jwks: Option<Value>,
    #[serde(default)]
    grants: Grants,
    /// The SAN of its client certificate (mTLS client authentication).
    #[serde(default)]
    tls_subject: Option<String>,
    /// Replace an existing agent of that id (otherwise 409).
    #[serde(default)]
    replace: bool,
}

async fn add_agent(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    JsonBody(b): JsonBody<AddAgentBody>,
) -> Result<Response, ApiError> {
    let b_grants = b.grants.clone();
    let new = NewAgent {
        id: b.id,
        display_name: b.display_name,
        jwks: b.jwks,
        grants: b.grants,
        tls_subject: b.tls_subject,
    };
    let (agent, created) = registry::add_agent(&api.state.store, new, b.replace).await?;
    let action = if created {
        "registry.add"
    } else {
        "registry.replace"
    };
    api.audit(
        caller,
        action,
        json!({"agent": agent.id, "grants": b_grants, "jwks": agent.jwks.is_some()}),
    )
    .await;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_response(
        status,
        &agent_view(&api.state.store, &agent).await?,
    ))
}

async fn show_agent(
    State(api): State<Api>,
    uri: Uri,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    query(&uri, &[])?;
    let agent = registry::get_agent(&api.state.store, &path_id(id)?).await?;
    Ok(json_response(
        StatusCode::OK,
        &agent_view(&api.state.store, &agent).await?,
    ))
}

async fn remove_agent(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    ResourceId(id): ResourceId,
) -> Result<Response, ApiError> {
    registry::remove_agent(&api.state.store, &id).await?;
    api.audit(caller, "registry.remove", json!({ "agent": id }))
        .await;
    Ok(no_content())
}
