//! The executor's view of its task: report progress, notice cancellation.

use std::sync::Arc;

use warden_a2a::types::*;

use crate::tasks::{LiveTask, TaskManager, agent_message};

/// Reports progress on one task. Every call persists and broadcasts; after
/// the task became terminal (for instance canceled), calls return `false`
/// and change nothing, so an executor can stop as soon as one does.
#[derive(Clone)]
pub struct TaskUpdater {
    manager: TaskManager,
    live: Arc<LiveTask>,
    task_id: String,
    context_id: String,
}

impl TaskUpdater {
    pub(crate) fn new(manager: TaskManager, live: Arc<LiveTask>, task: &Task) -> Self {
        Self {
            manager,
            live,
            task_id: task.id.clone(),
            context_id: task.context_id.clone().unwrap_or_default(),
        }
    }

    pub fn task_id(&self) -> &str {
        &self.task_id
    }

    /// Whether CancelTask was called for this task.
    pub fn is_canceled(&self) -> bool {
        *self.live.cancel.borrow()
    }

    /// Waits until the task is canceled.
    pub async fn canceled(&self) {
        let mut rx = self.live.cancel.subscribe();
        // An error means the sender is gone: the task can no longer be canceled.
        let _ = rx.wait_for(|c| *c).await;
    }

    /// A message from the agent in this task's context.
    pub fn message(&self, text: &str) -> Message {
        agent_message(&self.task_id, &self.context_id, text)
    }

    pub async fn status(&self, state: TaskState, text: Option<&str>) -> bool {
        let msg = text.map(|t| self.message(t));
        self.manager
            .set_status(&self.live, state, msg)
            .await
            .unwrap_or(false)
    }

    /// Adds (or, with `append`, extends) an artifact.
    pub async fn artifact(&self, artifact: Artifact, append: bool, last_chunk: bool) -> bool {
        let (task_id, context_id) = (self.task_id.clone(), self.context_id.clone());
        self.manager
            .apply(&self.live, move |task| {
                let list = task.artifacts.get_or_insert_with(Vec::new);
                match list
                    .iter_mut()
                    .find(|a| a.artifact_id == artifact.artifact_id)
                {
                    Some(existing) if append => existing.parts.extend(artifact.parts.clone()),
                    Some(existing) => *existing = artifact.clone(),
                    None => list.push(artifact.clone()),
                }
                StreamResponse::ArtifactUpdate(TaskArtifactUpdateEvent {
                    task_id,
                    context_id,
                    artifact,
                    append,
                    last_chunk,
                    metadata: None,
                })
            })
            .await
            .unwrap_or(false)
    }

    /// The current state of the task.
    pub async fn state(&self) -> TaskState {
        self.live.task.lock().await.status.state
    }
}

/// A one-part text artifact.
pub fn text_artifact(id: &str, name: &str, text: &str) -> Artifact {
    Artifact {
        artifact_id: id.to_string(),
        name: Some(name.to_string()),
        description: None,
        parts: vec![Part::text(text)],
        metadata: None,
        extensions: None,
    }
}
