//! The tools on the [`Mailbox`]: arguments read strictly into the mailbox's
//! own request types (the names REST uses), answers passed through as
//! JSON, [`MailError`]s turned into failures the model can act on.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::backend::{Backend, BoxFuture, FailureKind, ToolFailure};
use super::tools::Tool;
use crate::{
    AccessRequest, GrantRequest, InboxQuery, MailError, Mailbox, PublishKeyRequest, RevokeRequest,
    SendRequest,
};

impl Backend for Mailbox {
    fn call<'a>(
        &'a self,
        caller: &'a str,
        tool: Tool,
        arguments: Map<String, Value>,
    ) -> BoxFuture<'a, Result<Value, ToolFailure>> {
        Box::pin(run(self, caller, tool, arguments))
    }
}

async fn run(
    mailbox: &Mailbox,
    me: &str,
    tool: Tool,
    mut args: Map<String, Value>,
) -> Result<Value, ToolFailure> {
    match tool {
        Tool::Whoami => {
            let Empty {} = read(args)?;
            answer(mailbox.whoami(me).await)
        }
        Tool::Inbox => answer(mailbox.inbox(me, read::<InboxQuery>(args)?).await),
        Tool::Read => answer(mailbox.read(me, &read::<Id>(args)?.id).await),
        Tool::Ack => answer(mailbox.ack(me, &read::<Id>(args)?.id).await),
        Tool::Delete => answer(mailbox.delete(me, &read::<Id>(args)?.id).await),
        Tool::Send => {
            // `text` is the tool's shorthand for one text part.
            let given = ["text", "parts", "sealed"]
                .iter()
                .filter(|k| args.contains_key(**k))
                .count();
            if given != 1 {
                return Err(ToolFailure::invalid(
                    "give exactly one of text, parts and sealed",
                ));
            }
            if let Some(text) = args.remove("text") {
                args.insert("parts".into(), serde_json::json!([{ "text": text }]));
            }
            let req: SendRequest = read(args)?;
            // Over MCP a retry is the client's or the model's: without a key
            // a timed-out send retried would be a second message.
            if req.idempotency_key.is_none() {
                return Err(ToolFailure::invalid(
                    "idempotencyKey is required: a fresh random key per message, the same key on a retry",
                ));
            }
            answer(mailbox.send(me, req).await)
        }
        Tool::RequestAccess => answer(
            mailbox
                .request_access(me, read::<AccessRequest>(args)?)
                .await,
        ),
        Tool::Grant => answer(mailbox.grant(me, read::<GrantRequest>(args)?).await),
        Tool::Revoke => answer(mailbox.revoke(me, read::<RevokeRequest>(args)?).await),
        // A webhook is a delivery of the gateway's (its push outbox and
        // egress rules): the gateway's backend serves this tool.
        Tool::Webhook => Err(ToolFailure::new(
            FailureKind::Unavailable,
            "webhooks are registered where the gateway serves this mailbox",
        )),
        Tool::PublishKey => answer(
            mailbox
                .publish_key(me, read::<PublishKeyRequest>(args)?)
                .await,
        ),
        Tool::KeyOf => {
            let Address { address } = read(args)?;
            answer(mailbox.key_of(me, &address).await)
        }
        Tool::Grants => {
            let Empty {} = read(args)?;
            answer(mailbox.grants(me).await)
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Address {
    address: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Id {
    id: String,
}

/// The arguments as `T`, strictly (unknown and missing fields refused).
fn read<T: DeserializeOwned>(args: Map<String, Value>) -> Result<T, ToolFailure> {
    serde_json::from_value(Value::Object(args))
        .map_err(|e| ToolFailure::invalid(format!("invalid arguments: {e}")))
}

fn answer<T: Serialize>(r: Result<T, MailError>) -> Result<Value, ToolFailure> {
    let value = r.map_err(|e| {
        if e.is_server_fault() {
            // The model is told only that Warden failed; the operator, why.
            tracing::error!(error = %e, "mailbox operation over MCP failed");
        }
        failure(&e)
    })?;
    serde_json::to_value(value)
        .map_err(|_| ToolFailure::new(FailureKind::Unavailable, "the answer could not be written"))
}

/// The failure a [`MailError`] is to the model. Warden's own failures
/// (storage, signing) are not detailed: they are logged by the gateway.
pub fn failure(e: &MailError) -> ToolFailure {
    let kind = match e {
        MailError::NotFound => FailureKind::NotFound,
        MailError::NoSuchMessage => FailureKind::NoSuchMessage,
        MailError::Invalid(_) => FailureKind::Invalid,
        MailError::TooLarge { .. } => FailureKind::TooLarge,
        MailError::RateLimited { retry_after } => FailureKind::RateLimited {
            retry_after: retry_after.as_secs().max(1),
        },
        MailError::InboxFull => FailureKind::InboxFull,
        MailError::IdempotencyConflict => FailureKind::IdempotencyConflict,
        MailError::Forbidden => FailureKind::Forbidden,
        MailError::Signing(_) | MailError::Store(_) => {
            return ToolFailure::new(
                FailureKind::Unavailable,
                "Warden could not complete the call",
            );
        }
    };
    ToolFailure::new(kind, e.to_string())
}
