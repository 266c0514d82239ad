//! `input`: asks for the caller's name (INPUT_REQUIRED), then greets them.

use warden_a2a::types::{AgentCard, TaskState};

use super::{demo_card, skill};
use crate::executor::{AgentExecutor, BoxFuture, RequestContext};
use crate::updater::{TaskUpdater, text_artifact};

pub struct Input;

impl AgentExecutor for Input {
    fn card(&self) -> AgentCard {
        demo_card(
            "input",
            "Asks for your name, then greets you: a two-turn task.",
            skill(
                "greet",
                "Greet",
                "Moves to INPUT_REQUIRED asking for a name; the follow-up message completes the task.",
                &["hi"],
            ),
        )
    }

    fn execute(&self, ctx: RequestContext, updater: TaskUpdater) -> BoxFuture {
        Box::pin(async move {
            if !ctx.is_continuation {
                updater
                    .status(TaskState::InputRequired, Some("What is your name?"))
                    .await;
                return;
            }
            let name = ctx.text();
            let greeting = format!("Hello, {}!", name.trim());
            if updater
                .artifact(
                    text_artifact("greeting", "greeting", &greeting),
                    false,
                    true,
                )
                .await
            {
                updater.status(TaskState::Completed, None).await;
            }
        })
    }
}
