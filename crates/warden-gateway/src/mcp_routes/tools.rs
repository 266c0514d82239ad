//! The tools' backend at the gateway: the mailbox's own operations, and the
//! webhook, which is the gateway's (its push outbox, egress rules and
//! key-encryption key): served by `mail_delivery` as REST's webhook
//! operations are.

use serde::Deserialize;
use serde_json::{Map, Value};
use warden_a2a::types::Part;
use warden_mailbox::Mailbox;
use warden_mailbox::mcp::backend::{Backend, BoxFuture, ToolFailure};
use warden_mailbox::mcp::{Tool, mailbox_failure};

use crate::mail_delivery::routes::{WebhookOp, webhook};
use crate::state::GatewayState;

/// One exchange's backend.
pub struct GatewayTools<'s> {
    pub state: &'s GatewayState,
    pub mailbox: &'s Mailbox,
}

impl Backend for GatewayTools<'_> {
    fn call<'a>(
        &'a self,
        caller: &'a str,
        tool: Tool,
        arguments: Map<String, Value>,
    ) -> BoxFuture<'a, Result<Value, ToolFailure>> {
        match tool {
            Tool::Webhook => Box::pin(self.webhook(caller, arguments)),
            Tool::Send => Box::pin(self.send(caller, arguments)),
            other => self.mailbox.call(caller, other, arguments),
        }
    }
}

/// The webhook tool's arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookArgs {
    action: Action,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Action {
    Set,
    Show,
    Remove,
}

impl GatewayTools<'_> {
    /// `send`, its `url` parts held to the egress rules first, as REST's
    /// send is (a recipient that fetches one is not led to an internal
    /// address). Parts that do not read as A2A parts are left for the
    /// mailbox to refuse with its own words.
    async fn send(&self, me: &str, args: Map<String, Value>) -> Result<Value, ToolFailure> {
        if let Some(parts) = args.get("parts")
            && let Ok(parts) = serde_json::from_value::<Vec<Part>>(parts.clone())
        {
            crate::mail_routes::ops::check_urls(self.state, &parts)
                .await
                .map_err(|e| mailbox_failure(&e))?;
        }
        self.mailbox.call(me, Tool::Send, args).await
    }

    async fn webhook(&self, me: &str, args: Map<String, Value>) -> Result<Value, ToolFailure> {
        let args: WebhookArgs = serde_json::from_value(Value::Object(args))
            .map_err(|e| ToolFailure::invalid(format!("invalid arguments: {e}")))?;
        let (op, body) = match (args.action, args.url) {
            (Action::Set, Some(url)) => (WebhookOp::Put, serde_json::json!({ "url": url })),
            (Action::Set, None) => return Err(ToolFailure::invalid("action set needs a url")),
            (_, Some(_)) => {
                return Err(ToolFailure::invalid("a url goes with action set only"));
            }
            (Action::Show, None) => (WebhookOp::Get, Value::Null),
            (Action::Remove, None) => (WebhookOp::Delete, Value::Null),
        };
        let body = match body {
            Value::Null => Vec::new(),
            b => b.to_string().into_bytes(),
        };
        match webhook(self.state, me, op, &body).await {
            Ok((_, answer, _)) => Ok(answer),
            Err(e) => {
                if e.is_server_fault() {
                    tracing::error!(error = %e, "mailbox webhook over MCP failed");
                }
                Err(mailbox_failure(&e))
            }
        }
    }
}
