//! The admin API's authorisation routes: per-pair grants, quarantine and
//! the policy file. The same implementation as `warden grant …` and
//! `warden quarantine …` ([`crate::authority::grants`]); bodies, errors and
//! auditing as in the rest of the API ([`super::toolkit`]).
//!
//! A change is applied in this process before the answer goes out (the
//! authoriser reloads its snapshot, closing the streams of a newly
//! quarantined agent); other gateways on the store apply it on their next
//! call.

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::toolkit::{
    ADMIN_PRINCIPAL, Api, ApiError, Caller, JsonBody, ResourceId, json_response, no_content,
    path_id, query, read_json,
};
use crate::authority::grants::{self, NewGrant};
use crate::authority::registry::RegistryError;
use crate::clock::unix_now;

/// The routes, merged into the API's router (behind its token check).
pub(super) fn routes() -> Router<Api> {
    Router::new()
        .route("/grants", get(list_grants).post(add_grant))
        .route("/grants/{id}", delete(revoke_grant))
        .route("/quarantine", get(list_quarantine).post(add_quarantine))
        .route("/quarantine/{agent}", delete(release))
        .route("/policy/reload", post(reload_policy))
}

impl Api {
    /// Applies a grant or quarantine change in this process now, rather
    /// than at the next call or poll. The change is stored either way: a
    /// failure here is logged, not answered.
    async fn apply(&self) {
        if let Err(e) = self.state.authz.refresh().await {
            tracing::warn!(error = %e, "admin API: the change is stored but not yet applied here");
        }
    }
}

fn store_failed(e: warden_store::StoreError) -> ApiError {
    ApiError::from(RegistryError::from(e))
}

/// `?all=` as a bool: `true` or `false`, nothing else.
fn flag(value: Option<&String>, name: &str) -> Result<bool, ApiError> {
    match value.map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::bad(format!(
            "query parameter {name:?} is true or false, not {other:?}"
        ))),
    }
}

async fn list_grants(State(api): State<Api>, uri: Uri) -> Result<Response, ApiError> {
    let q = query(&uri, &["caller", "target", "all"])?;
    let all = flag(q.get("all"), "all")?;
    let list = api
        .state
        .store
        .list_grants(
            q.get("caller").map(String::as_str),
            q.get("target").map(String::as_str),
            all,
        )
        .await
        .map_err(store_failed)?;
    let now = unix_now();
    let list: Vec<Value> = list.iter().map(|g| grants::grant_json(g, now)).collect();
    Ok(json_response(StatusCode::OK, &json!({ "grants": list })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AddGrantBody {
    /// A registry agent id, or `ISSUER#SUBJECT`.
    caller: String,
    /// The gateway agent name.
    target: String,
    /// Skill ids, or `["*"]`.
    skills: Vec<String>,
    /// Operation class names, or `["all"]` (default: send, get, list,
    /// cancel, subscribe).
    #[serde(default)]
    operations: Option<Vec<String>>,
    #[serde(default)]
    tasks_of: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    not_before: Option<u64>,
    /// Unix seconds.
    #[serde(default)]
    not_after: Option<u64>,
    #[serde(default)]
    note: Option<String>,
}

fn unix_secs(value: Option<u64>, name: &str) -> Result<Option<i64>, ApiError> {
    value
        .map(|v| i64::try_from(v).map_err(|_| ApiError::bad(format!("{name} is out of range"))))
        .transpose()
}

async fn add_grant(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    JsonBody(b): JsonBody<AddGrantBody>,
) -> Result<Response, ApiError> {
    let operations = match &b.operations {
        Some(names) => grants::parse_operations(names)?,
        None => warden_policy::OpClass::DEFAULT.to_vec(),
    };
    let new = NewGrant {
        caller: b.caller,
        target: b.target,
        skills: b.skills,
        operations,
        tasks_of: b.tasks_of,
        not_before: unix_secs(b.not_before, "notBefore")?,
        not_after: unix_secs(b.not_after, "notAfter")?,
        note: b.note,
    };
    let g = grants::add_grant(&api.state.store, new).await?;
    api.audit(caller, "grant.add", grants::grant_audit(&g))
        .await;
    api.apply().await;
    Ok(json_response(
        StatusCode::CREATED,
        &grants::grant_json(&g, unix_now()),
    ))
}

async fn revoke_grant(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    ResourceId(id): ResourceId,
) -> Result<Response, ApiError> {
    grants::revoke_grant(&api.state.store, &id).await?;
    api.audit(caller, "grant.revoke", json!({ "grant": id }))
        .await;
    api.apply().await;
    Ok(no_content())
}

async fn list_quarantine(State(api): State<Api>, uri: Uri) -> Result<Response, ApiError> {
    query(&uri, &[])?;
    let list = grants::quarantined(&api.state.store).await?;
    let list: Vec<Value> = list.iter().map(grants::quarantine_json).collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "quarantined": list }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuarantineBody {
    /// An agent name, as callers and targets are named in grants.
    agent: String,
    reason: String,
}

async fn add_quarantine(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    JsonBody(b): JsonBody<QuarantineBody>,
) -> Result<Response, ApiError> {
    let store = &api.state.store;
    if !grants::quarantine(store, &b.agent, &b.reason, ADMIN_PRINCIPAL).await? {
        return Err(
            RegistryError::Conflict(format!("{:?} is already quarantined", b.agent)).into(),
        );
    }
    api.audit(caller, "quarantine.add", json!({ "agent": b.agent }))
        .await;
    api.apply().await;
    let record = grants::quarantined(store)
        .await?
        .into_iter()
        .find(|q| q.agent == b.agent)
        .ok_or_else(|| {
            // Lifted by someone else between the two statements.
            RegistryError::Conflict(format!("{:?} was released meanwhile", b.agent))
        })?;
    Ok(json_response(
        StatusCode::CREATED,
        &grants::quarantine_json(&record),
    ))
}

async fn release(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
    agent: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    query(&uri, &[])?;
    let agent = path_id(agent)?;
    grants::release(&api.state.store, &agent).await?;
    api.audit(caller, "quarantine.remove", json!({ "agent": agent }))
        .await;
    api.apply().await;
    Ok(no_content())
}

/// A body that may be absent, or `{}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

async fn reload_policy(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    query(&uri, &[])?;
    let _: Option<NoFields> = read_json(&headers, body).await?;
    let file = api.state.config.authz.policy_file.as_ref();
    let file = file.map(|p| p.display().to_string());
    // A file that does not load leaves the rules in force: nothing changed.
    let rules = api
        .state
        .authz
        .reload_policy()
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_policy", e.to_string()))?;
    api.audit(
        caller,
        "policy.reload",
        json!({ "file": file, "rules": rules }),
    )
    .await;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "rules": rules, "file": file }),
    ))
}

#[cfg(test)]
mod tests;
