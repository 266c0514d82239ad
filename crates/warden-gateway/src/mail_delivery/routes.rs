//! The webhook operations of `/mail/v1` (`PUT`, `GET` and `DELETE
//! /mail/v1/webhook`): the REST entry point (`mail_routes`) authenticates
//! the caller and hands them here; errors are the mailbox's, mapped to the
//! wire where every other mailbox error is.

use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use warden_mailbox::MailError;

use super::webhook::{self, WebhookError};
use crate::state::GatewayState;

/// Which webhook operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOp {
    Put,
    Get,
    Delete,
}

/// `PUT`'s body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PutWebhook {
    url: String,
}

/// Runs `op` for the caller `me`: the status, the answer and the audit
/// detail (the URL's host only: a URL may carry a token in its path).
pub async fn webhook(
    state: &GatewayState,
    me: &str,
    op: WebhookOp,
    body: &[u8],
) -> Result<(StatusCode, Value, Value), MailError> {
    match op {
        WebhookOp::Put => {
            if body.is_empty() {
                return Err(MailError::Invalid(
                    "give the webhook as JSON: {\"url\": \"https://…\"}".into(),
                ));
            }
            let v = warden_json::parse_strict(body, state.json_limits())
                .map_err(|e| MailError::Invalid(format!("the body is not valid JSON: {e}")))?;
            let req: PutWebhook = serde_json::from_value(v)
                .map_err(|e| MailError::Invalid(format!("the body: {e}")))?;
            let registered = webhook::register(state, me, &req.url)
                .await
                .map_err(|e| match e {
                    WebhookError::Url(_) => MailError::Invalid(e.to_string()),
                    WebhookError::Store(s) => MailError::Store(s),
                    WebhookError::Secrets(s) => MailError::Signing(s.to_string()),
                })?;
            Ok((
                StatusCode::CREATED,
                registered.to_json(),
                json!({"host": host_of(&registered.url)}),
            ))
        }
        WebhookOp::Get => {
            let url = webhook::current(state, me).await?;
            let host = url.as_deref().map(host_of);
            Ok((StatusCode::OK, json!({"url": url}), json!({"host": host})))
        }
        WebhookOp::Delete => {
            let removed = webhook::remove(state, me).await?;
            Ok((
                StatusCode::OK,
                json!({"removed": removed}),
                json!({"removed": removed}),
            ))
        }
    }
}

fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}
