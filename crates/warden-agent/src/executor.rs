//! What an agent implements: its card and how it works on a task.

use std::future::Future;
use std::pin::Pin;

use warden_a2a::types::{AgentCard, Message, Task};

use crate::updater::TaskUpdater;

pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The input of one turn of work on a task.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The message that started this turn.
    pub message: Message,
    /// The task as it stood when the turn began (history includes `message`).
    pub task: Task,
    /// True when the message continues an existing task (e.g. after INPUT_REQUIRED).
    pub is_continuation: bool,
}

impl RequestContext {
    /// The message's text parts, joined with newlines.
    pub fn text(&self) -> String {
        use warden_a2a::types::PartContent;
        self.message
            .parts
            .iter()
            .filter_map(|p| match &p.content {
                PartContent::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// An agent's logic. The runtime owns transport, storage, streaming and
/// cancellation; the executor only reports progress through its updater.
pub trait AgentExecutor: Send + Sync + 'static {
    /// The card, without `supportedInterfaces` (the server fills those in
    /// from where it actually listens).
    fn card(&self) -> AgentCard;

    /// The extended card, if this agent has one configured.
    fn extended_card(&self) -> Option<AgentCard> {
        None
    }

    /// Works on one turn of a task. It runs detached from the caller's
    /// connection, so a client that goes away never cancels it; a CancelTask
    /// call is seen through [`TaskUpdater::is_canceled`].
    fn execute(&self, ctx: RequestContext, updater: TaskUpdater) -> BoxFuture;
}
