//! The task manager: creates and continues tasks, keeps the live ones in
//! memory with a broadcast channel each, and persists every change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, watch};
use warden_a2a::A2aError;
use warden_a2a::types::*;
use warden_store::{Store, TaskRecord};

use crate::clock::now_rfc3339;

/// How many events a slow stream reader may fall behind before it misses some.
const EVENT_BUFFER: usize = 256;

/// A task that may still change.
#[derive(Debug)]
pub struct LiveTask {
    pub task: tokio::sync::Mutex<Task>,
    pub events: broadcast::Sender<StreamResponse>,
    pub cancel: watch::Sender<bool>,
}

/// Shared by every request of one agent.
#[derive(Debug, Clone)]
pub struct TaskManager {
    agent: Arc<str>,
    store: Store,
    live: Arc<Mutex<HashMap<String, Arc<LiveTask>>>>,
}

fn internal(e: impl std::fmt::Display) -> A2aError {
    A2aError::internal(format!("task storage failed: {e}"))
}

impl TaskManager {
    pub fn new(agent: &str, store: Store) -> Self {
        Self {
            agent: agent.into(),
            store,
            live: Arc::default(),
        }
    }

    pub fn agent(&self) -> &str {
        &self.agent
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Persists a task snapshot.
    pub async fn persist(&self, task: &Task) -> Result<(), A2aError> {
        let body = serde_json::to_string(task).map_err(internal)?;
        self.store
            .put_task(&TaskRecord {
                agent: self.agent.to_string(),
                id: task.id.clone(),
                context_id: task.context_id.clone().unwrap_or_default(),
                state: task.status.state.as_str().to_string(),
                status_timestamp: task.status.timestamp.clone().unwrap_or_else(now_rfc3339),
                body,
            })
            .await
            .map_err(internal)
    }

    /// Reads a stored task (live or not).
    pub async fn load(&self, id: &str) -> Result<Option<Task>, A2aError> {
        if let Some(live) = self.live_task(id) {
            return Ok(Some(live.task.lock().await.clone()));
        }
        let Some(rec) = self.store.task(&self.agent, id).await.map_err(internal)? else {
            return Ok(None);
        };
        serde_json::from_str(&rec.body).map(Some).map_err(internal)
    }

    fn live_task(&self, id: &str) -> Option<Arc<LiveTask>> {
        self.live.lock().ok()?.get(id).cloned()
    }

    /// The live handle of a non-terminal task, loading it from the store when
    /// needed. `Ok(None)` when the task does not exist.
    pub async fn live(&self, id: &str) -> Result<Option<Arc<LiveTask>>, A2aError> {
        if let Some(live) = self.live_task(id) {
            return Ok(Some(live));
        }
        let Some(task) = self.load(id).await? else {
            return Ok(None);
        };
        Ok(Some(self.register(task)))
    }

    fn register(&self, task: Task) -> Arc<LiveTask> {
        let id = task.id.clone();
        let terminal = task.status.state.is_terminal();
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let (cancel, _) = watch::channel(false);
        let fresh = Arc::new(LiveTask {
            task: tokio::sync::Mutex::new(task),
            events,
            cancel,
        });
        // A terminal task never changes again: hand out a private handle
        // rather than keeping it in memory.
        if terminal {
            return fresh;
        }
        match self.live.lock() {
            Ok(mut map) => map.entry(id).or_insert(fresh).clone(),
            Err(_) => fresh,
        }
    }

    /// Starts a new task for `message` in SUBMITTED state.
    pub async fn create(&self, mut message: Message) -> Result<Arc<LiveTask>, A2aError> {
        let id = uuid::Uuid::new_v4().to_string();
        let context_id = message
            .context_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        message.task_id = Some(id.clone());
        message.context_id = Some(context_id.clone());
        let task = Task {
            id,
            context_id: Some(context_id),
            status: TaskStatus {
                state: TaskState::Submitted,
                message: None,
                timestamp: Some(now_rfc3339()),
            },
            artifacts: None,
            history: Some(vec![message]),
            metadata: None,
        };
        self.persist(&task).await?;
        Ok(self.register(task))
    }

    /// Adds a follow-up message to an existing, non-terminal task.
    pub async fn continue_with(&self, mut message: Message) -> Result<Arc<LiveTask>, A2aError> {
        let id = message.task_id.clone().unwrap_or_default();
        let live = self
            .live(&id)
            .await?
            .ok_or_else(|| A2aError::task_not_found(format!("task {id} not found")))?;
        let mut task = live.task.lock().await;
        if task.status.state.is_terminal() {
            return Err(A2aError::unsupported_operation(format!(
                "task {id} is in a terminal state ({}) and cannot be continued",
                task.status.state.as_str()
            )));
        }
        // Only a task waiting for the caller takes a follow-up; a second
        // message to a task still at work would start a second executor.
        if !task.status.state.is_interrupted() {
            return Err(A2aError::unsupported_operation(format!(
                "task {id} is {} and is not waiting for input",
                task.status.state.as_str()
            )));
        }
        match (&message.context_id, &task.context_id) {
            (Some(given), Some(actual)) if given != actual => {
                return Err(A2aError::invalid_params(
                    "message.contextId does not match the task's context",
                ));
            }
            _ => message.context_id = task.context_id.clone(),
        }
        task.history.get_or_insert_with(Vec::new).push(message);
        self.persist(&task).await?;
        drop(task);
        Ok(live)
    }

    /// Applies a change to a live task, persists it and broadcasts `event`.
    /// Returns false (and changes nothing) if the task is already terminal.
    pub async fn apply(
        &self,
        live: &LiveTask,
        change: impl FnOnce(&mut Task) -> StreamResponse,
    ) -> Result<bool, A2aError> {
        let mut task = live.task.lock().await;
        if task.status.state.is_terminal() {
            return Ok(false);
        }
        let event = change(&mut task);
        self.persist(&task).await?;
        let terminal = task.status.state.is_terminal();
        let id = task.id.clone();
        // Broadcast while still holding the lock, so events go out in the
        // order the changes were made and a reader that snapshots the task
        // and subscribes under the lock sees each change exactly once.
        // Nobody listening is fine: the change is persisted either way.
        let _ = live.events.send(event);
        drop(task);
        if terminal && let Ok(mut map) = self.live.lock() {
            map.remove(&id);
        }
        Ok(true)
    }

    /// Sets a new status on a live task.
    pub async fn set_status(
        &self,
        live: &LiveTask,
        state: TaskState,
        message: Option<Message>,
    ) -> Result<bool, A2aError> {
        self.apply(live, |task| {
            task.status = TaskStatus {
                state,
                message,
                timestamp: Some(now_rfc3339()),
            };
            if let Some(m) = &task.status.message {
                task.history.get_or_insert_with(Vec::new).push(m.clone());
            }
            StreamResponse::StatusUpdate(TaskStatusUpdateEvent {
                task_id: task.id.clone(),
                context_id: task.context_id.clone().unwrap_or_default(),
                status: task.status.clone(),
                metadata: None,
            })
        })
        .await
    }

    /// Cancels a task: signals its executor and moves it to CANCELED.
    pub async fn cancel(&self, id: &str) -> Result<Task, A2aError> {
        let live = self
            .live(id)
            .await?
            .ok_or_else(|| A2aError::task_not_found(format!("task {id} not found")))?;
        // `send` would do nothing while no executor is inside `canceled()`
        // (no receiver), and `is_canceled()` would never see the signal.
        live.cancel.send_replace(true);
        let changed = self.set_status(&live, TaskState::Canceled, None).await?;
        let task = live.task.lock().await.clone();
        if !changed && task.status.state != TaskState::Canceled {
            return Err(A2aError::task_not_cancelable(format!(
                "task {id} is already {}",
                task.status.state.as_str()
            )));
        }
        Ok(task)
    }

    /// Marks tasks left unfinished by a previous process as FAILED: no
    /// executor is working on them any more.
    pub async fn recover(&self) -> Result<usize, A2aError> {
        let mut failed = 0;
        for state in [TaskState::Submitted, TaskState::Working] {
            loop {
                let filter = warden_store::TaskFilter {
                    state: Some(state.as_str().into()),
                    ..Default::default()
                };
                let page = self
                    .store
                    .list_tasks(&self.agent, &filter, 100, None)
                    .await
                    .map_err(internal)?;
                if page.tasks.is_empty() {
                    break;
                }
                let mut progressed = false;
                for rec in page.tasks {
                    if let Some(live) = self.live(&rec.id).await? {
                        let msg = agent_message(
                            &rec.id,
                            &rec.context_id,
                            "the agent restarted while working on this task",
                        );
                        if self.set_status(&live, TaskState::Failed, Some(msg)).await? {
                            failed += 1;
                            progressed = true;
                        }
                    }
                }
                // A row whose state column disagrees with its body cannot be
                // changed here; stop rather than loop on it.
                if !progressed {
                    break;
                }
            }
        }
        Ok(failed)
    }
}

/// A message from the agent in a task's context.
pub fn agent_message(task_id: &str, context_id: &str, text: &str) -> Message {
    Message {
        message_id: uuid::Uuid::new_v4().to_string(),
        context_id: Some(context_id.to_string()),
        task_id: Some(task_id.to_string()),
        role: Role::Agent,
        parts: vec![Part::text(text)],
        metadata: None,
        extensions: None,
        reference_task_ids: None,
    }
}

/// A copy of `task` with at most `n` history entries (`0` drops history).
pub fn with_history(mut task: Task, n: Option<i32>) -> Task {
    match n {
        Some(0) => task.history = None,
        Some(n) => {
            if let Some(h) = &mut task.history {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                if h.len() > n {
                    h.drain(..h.len() - n);
                }
            }
        }
        None => {}
    }
    task
}
