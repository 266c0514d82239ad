//! The relay: `POST /push/{subscription}`, where agents post the
//! notifications of the configs registered through Warden.
//!
//! An entry point composed of the shared stages: accept (header cap,
//! per-address rate limit), then its own authentication — the relay token
//! the agent was given for this subscription, presented as
//! `X-A2A-Notification-Token` or `Authorization: Bearer` (what the official
//! SDKs send), hashed and compared in constant time; an unknown
//! subscription gets the same answer as a wrong token — then the body
//! within the response cap, checked as a v1.0 `StreamResponse` by the same
//! strict reader and checks as the agent's streamed answers, about the
//! subscription's task. A subscription registered with a first message
//! learns its task here, once, and only a task its caller owns (or one
//! not on record yet). The notification is then written to the outbox, and
//! only then is the agent answered `202 Accepted`; every outcome is an
//! audit event of kind `push_relay`.

use std::net::SocketAddr;

use axum::body::Body;
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use warden_a2a::{A2aError, Binding, ErrorKind};
use warden_store::{NewNotification, PushSubscription};

use super::secrets;
use crate::audit::Outcome;
use crate::stages::{self, Ctx, Refusal};
use crate::state::GatewayState;

/// The audit event kind of the relay.
pub const KIND: &str = "push_relay";

/// Why a notification was refused.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("no valid relay credential for this subscription")]
    Credential,
    #[error("the notification is not a valid A2A stream response: {0}")]
    Invalid(String),
    #[error("the notification is about another task than its subscription's")]
    OtherTask,
    #[error("the notification names no task")]
    NoTask,
    #[error("push relay store: {0}")]
    Store(#[from] warden_store::StoreError),
    #[error(transparent)]
    Body(A2aError),
}

impl RelayError {
    /// The one place a relay error becomes a refusal.
    fn refusal(self) -> Refusal {
        match self {
            Self::Credential => {
                Refusal::new(A2aError::new(ErrorKind::Unauthenticated, self.to_string()))
                    .reason("push_credential")
                    .header("www-authenticate", "Bearer")
                    .drain()
            }
            Self::Invalid(_) | Self::OtherTask | Self::NoTask => {
                Refusal::new(A2aError::invalid_params(self.to_string())).reason("push_body")
            }
            Self::Store(e) => {
                tracing::error!(error = %e, "push relay: the store failed");
                Refusal::new(A2aError::new(
                    ErrorKind::Unavailable,
                    "the notification could not be kept; retry",
                ))
                .reason("push_store")
                .header("retry-after", "1")
            }
            Self::Body(e) => Refusal::new(e).reason("push_body"),
        }
    }
}

/// Handles one notification.
pub async fn handle(
    state: &GatewayState,
    subscription: &str,
    peer: SocketAddr,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut ctx = Ctx::new(state, KIND, Binding::Rest, peer.ip());
    let mut body = Some(body);
    match run(&mut ctx, subscription, &headers, &mut body).await {
        Ok(resp) => resp,
        Err(refusal) => stages::rescue(&ctx, refusal, body).await,
    }
}

async fn run(
    ctx: &mut Ctx<'_>,
    subscription: &str,
    headers: &HeaderMap,
    body: &mut Option<Body>,
) -> Result<Response, Refusal> {
    let state = ctx.state;
    stages::accept(ctx, headers).await?;
    let sub = authenticate(state, subscription, headers)
        .await
        .map_err(RelayError::refusal)?;
    ctx.target = Some(sub.agent.clone());
    let cap = state.config.limits.max_response_body_bytes.get();
    let bytes = stages::read_capped(body.take().unwrap_or_default(), headers, cap)
        .await
        .map_err(|e| RelayError::Body(e).refusal())?;
    let task = task_of(state, &sub, &bytes)
        .await
        .map_err(RelayError::refusal)?;
    let id = state
        .store
        .outbox_enqueue(&NewNotification {
            subscription_id: sub.id.clone(),
            task_id: task.clone(),
            destination: sub.url.clone(),
            body: bytes.to_vec(),
            created_ms: super::register::now_ms(state),
        })
        .await
        .map_err(|e| RelayError::Store(e).refusal())?;
    ctx.decision = Some(serde_json::json!({
        "subscription": sub.id, "task": task, "notification": id.as_str(),
    }));
    ctx.record(&ctx.event(Outcome::Forwarded).with_reason("queued"));
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::ACCEPTED;
    Ok(resp)
}

/// The subscription the relay token opens; anything else is one answer.
async fn authenticate(
    state: &GatewayState,
    subscription: &str,
    headers: &HeaderMap,
) -> Result<PushSubscription, RelayError> {
    let presented = presented_tokens(headers).ok_or(RelayError::Credential)?;
    let sub = state
        .store
        .push_subscription(subscription)
        .await?
        .ok_or(RelayError::Credential)?;
    if presented
        .iter()
        .all(|t| secrets::relay_token_matches(t, &sub.relay_hash))
    {
        Ok(sub)
    } else {
        Err(RelayError::Credential)
    }
}

/// The relay tokens a request presents (`X-A2A-Notification-Token`, a
/// Bearer `Authorization`): at least one, each given once; none that cannot
/// be read.
fn presented_tokens(headers: &HeaderMap) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for name in [
        warden_webhooks::credential::NOTIFICATION_TOKEN,
        warden_webhooks::credential::AUTHORIZATION,
    ] {
        let values = warden_a2a::call::readable(headers, name).ok()?;
        match values[..] {
            [] => {}
            [v] if name == warden_webhooks::credential::AUTHORIZATION => {
                let (scheme, token) = v.split_once(' ')?;
                if !scheme.eq_ignore_ascii_case(super::wire::RELAY_SCHEME) {
                    return None;
                }
                out.push(token.trim().to_string());
            }
            [v] => out.push(v.trim().to_string()),
            _ => return None,
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The task a notification is about: the subscription's, or (for one made
/// with a first message) the one it names, bound to the subscription once.
async fn task_of(
    state: &GatewayState,
    sub: &PushSubscription,
    body: &[u8],
) -> Result<String, RelayError> {
    let named = crate::answers::notification(body, sub.task_id.as_deref(), state.json_limits())
        .map_err(|e| RelayError::Invalid(e.0))?
        .ok_or(RelayError::NoTask)?;
    if sub.task_id.is_some() {
        return Ok(named);
    }
    // A task on record belongs to someone: it must be the subscriber.
    if !sub.owner.is_empty()
        && let Ok(Some(t)) = state.authz.owners().task_owner(&sub.agent, &named).await
        && t.owner != sub.owner
    {
        return Err(RelayError::OtherTask);
    }
    if state
        .store
        .push_subscription_bind_task(&sub.id, &named)
        .await?
    {
        Ok(named)
    } else {
        Err(RelayError::OtherTask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().expect("value"));
        }
        h
    }

    #[test]
    fn relay_tokens_come_from_either_header_and_once() {
        let got = |p: &[(&'static str, &str)]| presented_tokens(&headers(p));
        assert_eq!(
            got(&[("x-a2a-notification-token", "wpr_a")]),
            Some(vec!["wpr_a".into()])
        );
        assert_eq!(
            got(&[("authorization", "Bearer wpr_a")]),
            Some(vec!["wpr_a".into()])
        );
        assert_eq!(
            got(&[
                ("authorization", "Bearer wpr_a"),
                ("x-a2a-notification-token", "wpr_b")
            ])
            .map(|v| v.len()),
            Some(2),
            "both are checked"
        );
        assert_eq!(got(&[]), None);
        assert_eq!(got(&[("authorization", "Basic wpr_a")]), None);
        assert_eq!(
            got(&[
                ("x-a2a-notification-token", "wpr_a"),
                ("x-a2a-notification-token", "wpr_a")
            ]),
            None
        );
    }
}
