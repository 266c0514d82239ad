//! `slow`: works through N steps over time, streaming a status and an
//! artifact chunk per step. Cancelable between steps.

use std::time::Duration;

use warden_a2a::types::{AgentCard, TaskState};

use super::{demo_card, skill};
use crate::executor::{AgentExecutor, BoxFuture, RequestContext};
use crate::updater::{TaskUpdater, text_artifact};

/// Steps when the text is not a number in range.
const DEFAULT_STEPS: u32 = 5;
const MAX_STEPS: u32 = 1000;

pub struct Slow {
    pub interval: Duration,
}

impl AgentExecutor for Slow {
    fn card(&self) -> AgentCard {
        demo_card(
            "slow",
            "Streams progress over time: send a number N (default 5) for N steps.",
            skill(
                "count",
                "Count slowly",
                "Emits a status update and an artifact chunk per step, then completes. Cancelable.",
                &["5"],
            ),
        )
    }

    fn execute(&self, ctx: RequestContext, updater: TaskUpdater) -> BoxFuture {
        let interval = self.interval;
        Box::pin(async move {
            let steps = ctx
                .text()
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_STEPS).contains(n))
                .unwrap_or(DEFAULT_STEPS);
            for i in 1..=steps {
                let progress = format!("step {i}/{steps}");
                if !updater.status(TaskState::Working, Some(&progress)).await {
                    return;
                }
                let chunk = text_artifact("progress", "progress", &format!("step {i}\n"));
                if !updater.artifact(chunk, i > 1, i == steps).await {
                    return;
                }
                tokio::select! {
                    () = tokio::time::sleep(interval) => {}
                    () = updater.canceled() => return,
                }
            }
            updater.status(TaskState::Completed, Some("done")).await;
        })
    }
}
