//! Registration through the gateway: the push-config calls of the ingress
//! pipeline, after authorisation (so the task is the caller's) and after
//! the URL check of `[message_urls]`.
//!
//! - **Create**, and a **message carrying a config**: the caller's URL must
//!   pass where Warden may deliver ([`super::destination`]: Warden, not the
//!   agent, will deliver to it); the config is kept as a subscription owned by the
//!   caller, its token, credentials and a fresh `whsec_` secret sealed; the
//!   agent is sent the relay URL (`{public_url}/push/{subscription}`) and a
//!   relay token instead. The answer shows the caller their own config,
//!   redacted, and carries the secret once in `Warden-Push-Secret`.
//! - **Get** and **List** are answered by Warden from the caller's own
//!   subscriptions (the agent's copy names the relay, not the caller's
//!   URL); a config that is not the caller's is answered as missing, the
//!   agent's own answer to a missing config.
//! - **Delete** removes the caller's subscription (its relay URL stops
//!   working at once) and is forwarded, so the agent forgets it too.

use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};
use warden_a2a::{A2aError, A2aOp, Binding, Operation, ProtocolVersion};
use warden_store::PushSubscription;

use super::secrets::{self, Secrets};
use super::wire::{self, Registered};
use crate::stages::{Ctx, Refusal};
use crate::state::GatewayState;

/// The header that carries a new subscription's secret, once.
pub const SECRET_HEADER: &str = "warden-push-secret";
/// The header naming a new subscription (for the admin API and logs).
pub const SUBSCRIPTION_HEADER: &str = "warden-push-subscription";

/// What the pipeline does with a call after this stage.
pub enum Intercept {
    /// Forward these bytes as they are.
    Pass(Bytes),
    /// Forward these bytes (the relay in place of the caller's config),
    /// then hand the answer to [`super::answer::finish`].
    Registered(Bytes, Box<Pending>),
    /// Warden answered (Get, List).
    Answered(Response),
}

/// A subscription kept before the agent answered (a notification may come
/// before the answer does); removed again if the agent refuses it.
pub struct Pending {
    pub subscription: String,
    pub registered: Registered,
    pub secret: String,
    pub op: A2aOp,
    /// Warden follows the task itself (the agent has no push): the config
    /// id it was kept under, and who the task belongs to.
    pub follow: Option<Followed>,
}

/// A registration Warden serves itself ([`super::follow`]).
pub struct Followed {
    pub agent: String,
    pub owner: String,
    pub config_id: String,
}

/// Why a registration was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("the push-notification URL is not allowed by Warden's egress rules ({0})")]
    Url(&'static str),
    #[error("the push config's token or credentials cannot be sent in a header")]
    Credential,
    #[error("the push config could not be read")]
    Unreadable,
    #[error("push subscription: {0}")]
    Secrets(#[from] secrets::SecretsError),
    #[error("push subscription store: {0}")]
    Store(#[from] warden_store::StoreError),
}

impl RegisterError {
    /// The one place a registration error becomes a refusal.
    pub fn refusal(&self) -> Refusal {
        match self {
            Self::Url(reason) => Refusal::new(A2aError::new(
                warden_a2a::ErrorKind::Forbidden,
                self.to_string(),
            ))
            .reason(&format!("push_url_{reason}"))
            .counted(),
            Self::Credential | Self::Unreadable => {
                Refusal::new(A2aError::invalid_params(self.to_string())).reason("push_config")
            }
            Self::Secrets(_) | Self::Store(_) => {
                tracing::error!(error = %self, "push registration failed");
                Refusal::new(A2aError::internal("the push config could not be kept"))
                    .reason("push_store")
            }
        }
    }
}

/// Intercepts the push-config calls (see the module documentation);
/// `owner` is who the tasks of the call belong to.
pub async fn intercept(
    ctx: &Ctx<'_>,
    agent: &str,
    owner: &str,
    op: &A2aOp,
    body: Bytes,
) -> Result<Intercept, Refusal> {
    let followed = match op.operation {
        Operation::CreatePushConfig
        | Operation::DeletePushConfig
        | Operation::SendMessage
        | Operation::SendStreamingMessage => {
            super::follow::offered(ctx.state, agent).await.is_some()
        }
        _ => false,
    };
    let result = match op.operation {
        Operation::CreatePushConfig | Operation::SendMessage | Operation::SendStreamingMessage
            if !op.push_urls.is_empty() =>
        {
            register(ctx.state, agent, owner, op, &body, followed).await
        }
        Operation::GetPushConfig | Operation::ListPushConfigs => {
            super::answer::local(ctx.state, agent, owner, op)
                .await
                .map(Intercept::Answered)
        }
        Operation::DeletePushConfig if followed => forget(ctx.state, agent, owner, op)
            .await
            .map(|()| Intercept::Answered(super::answer::deleted(op))),
        Operation::DeletePushConfig => forget(ctx.state, agent, owner, op)
            .await
            .map(|()| Intercept::Pass(body)),
        Operation::SendMessage | Operation::SendStreamingMessage if followed => {
            // A message goes on with a task that may have subscriptions:
            // it changes again, so it is followed again.
            if let Some(task) = &op.task_id {
                resume(ctx.state, agent, owner, task).await;
            }
            return Ok(Intercept::Pass(body));
        }
        _ => return Ok(Intercept::Pass(body)),
    };
    result.map_err(|e| e.refusal())
}

async fn register(
    state: &GatewayState,
    agent: &str,
    owner: &str,
    op: &A2aOp,
    body: &[u8],
    followed: bool,
) -> Result<Intercept, RegisterError> {
    let mut v: Value = serde_json::from_slice(body).map_err(|_| RegisterError::Unreadable)?;
    let config = wire::config_mut(&mut v, op).ok_or(RegisterError::Unreadable)?;
    let registered = wire::read(config, op.task_id.as_deref()).ok_or(RegisterError::Unreadable)?;
    // Warden delivers: judged as every delivery will be (names looked up).
    super::destination::judge(
        &state.egress,
        &state.config.message_urls,
        &registered.url,
        agent,
        owner,
    )
    .await
    .map_err(|e| RegisterError::Url(e.reason()))?;
    warden_webhooks::credential::Registered {
        token: registered.token.as_deref(),
        scheme: registered.scheme.as_deref(),
        credentials: registered.credentials.as_deref(),
    }
    .headers()
    .map_err(|_| RegisterError::Credential)?;
    // Without an id the official SDKs name a config after its task.
    let config_id = registered
        .id
        .clone()
        .or_else(|| registered.task_id.clone())
        .unwrap_or_else(|| format!("cfg_{}", uuid::Uuid::new_v4().simple()));
    let subscription = secrets::new_subscription_id();
    let relay_token = secrets::new_relay_token()?;
    let secret = warden_webhooks::SubscriptionSecret::generate()
        .map_err(|_| secrets::SecretsError::Random)?
        .to_whsec();
    let sealed = secrets::seal(
        &state.push_kek,
        &subscription,
        &Secrets {
            token: registered.token.clone(),
            scheme: registered.scheme.clone(),
            credentials: registered.credentials.clone(),
            secret: secret.clone(),
        },
    )?;
    let replaced = state
        .store
        .push_subscription_put(&PushSubscription {
            id: subscription.clone(),
            agent: agent.to_string(),
            owner: owner.to_string(),
            task_id: registered.task_id.clone(),
            config_id: config_id.clone(),
            url: registered.url.clone(),
            config: wire::caller_view(&registered, &config_id).to_string(),
            sealed,
            relay_hash: secrets::relay_hash(&relay_token),
            created_ms: now_ms(state),
        })
        .await?;
    if !replaced.is_empty() {
        tracing::info!(agent, replaced = ?replaced, "push config replaced");
    }
    let follow = followed.then(|| Followed {
        agent: agent.to_string(),
        owner: owner.to_string(),
        config_id: config_id.clone(),
    });
    if followed {
        // Warden follows the task: the agent, which has no push, is not
        // told (a message goes on without its config).
        let pending = Box::new(Pending {
            subscription,
            registered,
            secret,
            op: op.clone(),
            follow,
        });
        if op.operation == Operation::CreatePushConfig {
            return Ok(Intercept::Answered(
                super::answer::created(state, pending).await,
            ));
        }
        if let Some(task) = &pending.registered.task_id {
            super::follow::begin(state, agent, task, owner).await;
        }
        wire::strip_message_config(&mut v, op);
        let bytes = serde_json::to_vec(&v).map_err(|_| RegisterError::Unreadable)?;
        return Ok(Intercept::Registered(Bytes::from(bytes), pending));
    }
    let relay_url = relay_url(&state.public_url, &subscription);
    wire::give_agent(config, op.dialect, &relay_url, &relay_token, &config_id);
    let bytes = serde_json::to_vec(&v).map_err(|_| RegisterError::Unreadable)?;
    Ok(Intercept::Registered(
        Bytes::from(bytes),
        Box::new(Pending {
            subscription,
            registered,
            secret,
            op: op.clone(),
            follow,
        }),
    ))
}

/// Follows a task again when a message goes on with it and someone
/// subscribes to it (the follow ended when it was interrupted).
async fn resume(state: &GatewayState, agent: &str, owner: &str, task: &str) {
    match state.store.push_subscriptions_of_task(agent, task).await {
        Ok(subs) if !subs.is_empty() => super::follow::begin(state, agent, task, owner).await,
        Ok(_) => {}
        Err(e) => tracing::warn!(agent, task, error = %e, "push follow: subscriptions not read"),
    }
}

/// Removes the caller's subscriptions under a config id (the call goes on
/// to the agent).
async fn forget(
    state: &GatewayState,
    agent: &str,
    owner: &str,
    op: &A2aOp,
) -> Result<(), RegisterError> {
    let (Some(task), Some(config)) = (&op.task_id, &op.push_config_id) else {
        return Ok(());
    };
    for s in state.store.push_subscriptions_of_task(agent, task).await? {
        if s.config_id == *config && s.owner == owner {
            state.store.push_subscription_delete(&s.id).await?;
        }
    }
    Ok(())
}

/// The URL an agent posts a subscription's notifications to.
pub fn relay_url(public_url: &str, subscription: &str) -> String {
    format!(
        "{}{}/{subscription}",
        public_url.trim_end_matches('/'),
        crate::routes::PUSH_RELAY_PREFIX
    )
}

pub(super) fn now_ms(state: &GatewayState) -> i64 {
    i64::try_from(state.clock.now_unix_ms()).unwrap_or(i64::MAX)
}

/// The answer to a call in the caller's binding: JSON-RPC wraps `result`.
pub(super) fn ok_answer(op: &A2aOp, result: Value) -> Response {
    let body = match op.binding {
        Binding::JsonRpc => json!({
            "jsonrpc": "2.0",
            "id": op.jsonrpc_id.clone().unwrap_or(Value::Null),
            "result": result,
        }),
        Binding::Rest => result,
    };
    let mut resp = crate::respond::json(http::StatusCode::OK, &body);
    if op.binding == Binding::Rest && v1(op) {
        // The A2A media type, as agents answer REST calls.
        resp.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/a2a+json"),
        );
    }
    resp
}

/// Whether a call speaks v1.0.
pub(super) fn v1(op: &A2aOp) -> bool {
    op.dialect == ProtocolVersion::V1_0
}
