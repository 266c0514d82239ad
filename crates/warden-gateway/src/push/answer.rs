//! What callers are answered about their push configs: Get and List from
//! their own subscriptions, and the agent's answer to a registration
//! turned back into the caller's view (with the secret, once).

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, header};
use serde_json::{Value, json};
use warden_a2a::{A2aOp, Operation};

use super::register::{Pending, RegisterError, SECRET_HEADER, SUBSCRIPTION_HEADER, ok_answer, v1};
use super::wire;
use crate::proxy::Answer;
use crate::state::GatewayState;

/// Answers Get and List from the caller's subscriptions.
pub async fn local(
    state: &GatewayState,
    agent: &str,
    owner: &str,
    op: &A2aOp,
) -> Result<Response, RegisterError> {
    let task = op.task_id.clone().unwrap_or_default();
    let mine: Vec<_> = state
        .store
        .push_subscriptions_of_task(agent, &task)
        .await?
        .into_iter()
        .filter(|s| s.owner == owner)
        .collect();
    let view = |s: &warden_store::PushSubscription| {
        let kept: Value = serde_json::from_str(&s.config).unwrap_or(Value::Null);
        wire::render(&kept, &task, op.dialect)
    };
    if op.operation == Operation::GetPushConfig {
        let wanted = op.push_config_id.as_deref().unwrap_or_default();
        return Ok(match mine.iter().find(|s| s.config_id == wanted) {
            Some(s) => ok_answer(op, view(s)),
            // The official SDKs' answer to a config they do not have (a
            // task that is not the caller's was refused by authorisation).
            None => crate::respond::error(
                op.binding,
                &warden_a2a::A2aError::task_not_found("Task not found"),
                op.jsonrpc_id.as_ref().unwrap_or(&Value::Null),
            ),
        });
    }
    let (mine, next) = match super::page::page(mine, op.page_size, op.page_token.as_deref()) {
        Ok(page) => page,
        Err(e) => {
            return Ok(crate::respond::error(
                op.binding,
                &warden_a2a::A2aError::invalid_params(e.to_string()),
                op.jsonrpc_id.as_ref().unwrap_or(&Value::Null),
            ));
        }
    };
    let configs: Vec<Value> = mine.iter().map(view).collect();
    // An empty `nextPageToken` (the last page) is left out, as the SDKs
    // leave it.
    let result = if v1(op) {
        let mut r = json!({"configs": configs});
        if let Some(next) = next {
            r["nextPageToken"] = Value::String(next);
        }
        r
    } else {
        Value::Array(configs)
    };
    Ok(ok_answer(op, result))
}

/// After the agent answered a registration: a refusal or failure removes
/// the subscription; a success is shown to the caller as their own config
/// (Create), binds the new task (a message), and carries the secret.
pub async fn finish(state: &GatewayState, pending: Box<Pending>, answer: Answer) -> Answer {
    let (resp, status) = match answer {
        Answer::Relayed(resp, status) if (200..300).contains(&status) => (resp, status),
        other => {
            drop_subscription(state, &pending.subscription).await;
            return other;
        }
    };
    let op = &pending.op;
    if op.operation.is_streaming() {
        // The stream's task is bound by its first notification.
        return Answer::Relayed(with_secret(resp, &pending), status);
    }
    let (mut parts, body) = resp.into_parts();
    let cap = state.config.limits.max_response_body_bytes.get();
    let Ok(bytes) = axum::body::to_bytes(body, cap).await else {
        drop_subscription(state, &pending.subscription).await;
        return Answer::Failed(warden_a2a::A2aError::internal(
            "the agent's answer could not be read",
        ));
    };
    let Ok(mut v) = serde_json::from_slice::<Value>(&bytes) else {
        drop_subscription(state, &pending.subscription).await;
        return Answer::Relayed(Response::from_parts(parts, Body::from(bytes)), status);
    };
    if v.get("error").is_some() {
        drop_subscription(state, &pending.subscription).await;
        return Answer::Relayed(Response::from_parts(parts, Body::from(bytes)), status);
    }
    let out = if op.operation == Operation::CreatePushConfig {
        if let Some(c) = wire::answer_config_mut(&mut v, op) {
            wire::show_caller(c, &pending.registered, op.dialect);
        }
        parts.headers.remove(header::CONTENT_LENGTH);
        Body::from(v.to_string())
    } else {
        if pending.registered.task_id.is_none()
            && let Some(task) = wire::answered_task(&v, op.binding)
        {
            match state
                .store
                .push_subscription_bind_task(&pending.subscription, &task)
                .await
            {
                Ok(true) => {
                    // Warden follows the new task (its answer may already
                    // be final: the follow's first look sends it at once).
                    if let Some(f) = &pending.follow {
                        super::follow::begin(state, &f.agent, &task, &f.owner).await;
                    }
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "push subscription: the new task could not be bound")
                }
            }
        }
        Body::from(bytes)
    };
    Answer::Relayed(
        with_secret(Response::from_parts(parts, out), &pending),
        status,
    )
}

/// Warden's own answer to a Create for an agent whose tasks it follows:
/// the caller's config as kept (redacted), with the secret; the task is
/// followed from now on.
pub async fn created(state: &GatewayState, pending: Box<Pending>) -> Response {
    let op = &pending.op;
    let task = pending.registered.task_id.clone().unwrap_or_default();
    let config_id = pending
        .follow
        .as_ref()
        .map(|f| f.config_id.clone())
        .unwrap_or_default();
    let view = wire::caller_view(&pending.registered, &config_id);
    if let Some(f) = &pending.follow {
        super::follow::begin(state, &f.agent, &task, &f.owner).await;
    }
    with_secret(
        ok_answer(op, wire::render(&view, &task, op.dialect)),
        &pending,
    )
}

/// Warden's own answer to a Delete for an agent whose tasks it follows
/// (the agent has no configs to forget): an empty result.
pub fn deleted(op: &A2aOp) -> Response {
    match op.binding {
        warden_a2a::Binding::JsonRpc => ok_answer(op, Value::Null),
        warden_a2a::Binding::Rest => ok_answer(op, json!({})),
    }
}

fn with_secret(mut resp: Response, pending: &Pending) -> Response {
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&pending.secret) {
        h.insert(SECRET_HEADER, v);
    }
    if let Ok(v) = HeaderValue::from_str(&pending.subscription) {
        h.insert(SUBSCRIPTION_HEADER, v);
    }
    // The secret is shown once: no cache keeps it.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

async fn drop_subscription(state: &GatewayState, id: &str) {
    if let Err(e) = state.store.push_subscription_delete(id).await {
        tracing::warn!(subscription = id, error = %e, "push subscription not removed after a refused registration");
    }
}
