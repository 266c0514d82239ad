//! `echo`: answers with the text it was sent, as an artifact, and completes.

use warden_a2a::types::{AgentCard, TaskState};

use super::{demo_card, skill};
use crate::executor::{AgentExecutor, BoxFuture, RequestContext};
use crate::updater::{TaskUpdater, text_artifact};

pub struct Echo;

impl AgentExecutor for Echo {
    fn card(&self) -> AgentCard {
        let mut card = demo_card(
            "echo",
            "Echoes the text of each message back as an artifact.",
            skill("echo", "Echo", "Returns the text it receives.", &["hello"]),
        );
        card.capabilities.extended_agent_card = Some(true);
        card
    }

    /// The extended card adds a skill that only authenticated callers see
    /// (once the gateway enforces authentication).
    fn extended_card(&self) -> Option<AgentCard> {
        let mut card = self.card();
        card.skills.push(skill(
            "echo-upper",
            "Shout",
            "Echo in upper case (listed on the extended card only; same behaviour as echo).",
            &["hello"],
        ));
        Some(card)
    }

    fn execute(&self, ctx: RequestContext, updater: TaskUpdater) -> BoxFuture {
        Box::pin(async move {
            let text = ctx.text();
            if updater
                .artifact(text_artifact("echo", "echo", &text), false, true)
                .await
            {
                updater.status(TaskState::Completed, None).await;
            }
        })
    }
}
