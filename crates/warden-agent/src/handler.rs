//! The request handler: A2A operations on typed requests, independent of the
//! binding. The server modules turn its replies into JSON-RPC or REST.

use std::sync::Arc;

use futures_util::stream::{self, BoxStream, StreamExt};
use tokio::sync::broadcast;
use warden_a2a::types::*;
use warden_a2a::{A2aError, A2aRequest};
use warden_store::{PushConfigRecord, TaskFilter};

use crate::clock::normalise;
use crate::executor::{AgentExecutor, RequestContext};
use crate::tasks::{LiveTask, TaskManager, with_history};
use crate::updater::TaskUpdater;

/// What an operation answered.
pub enum Reply {
    Send(SendMessageResponse),
    Task(Task),
    Tasks(ListTasksResponse),
    PushConfig(TaskPushNotificationConfig),
    PushConfigs(ListPushConfigsResponse),
    Deleted,
    Card(Box<AgentCard>),
    Stream(BoxStream<'static, StreamResponse>),
}

/// Serves A2A operations for one agent.
#[derive(Clone)]
pub struct Handler {
    pub(crate) executor: Arc<dyn AgentExecutor>,
    pub(crate) tasks: TaskManager,
    /// The card as served (interfaces filled in).
    pub(crate) card: Arc<AgentCard>,
}

impl Handler {
    pub fn new(executor: Arc<dyn AgentExecutor>, tasks: TaskManager, card: AgentCard) -> Self {
        Self {
            executor,
            tasks,
            card: Arc::new(card),
        }
    }

    pub fn card(&self) -> &AgentCard {
        &self.card
    }

    pub async fn handle(&self, request: A2aRequest) -> Result<Reply, A2aError> {
        let caps = &self.card.capabilities;
        match request {
            A2aRequest::SendMessage(r) => self.send(r).await,
            A2aRequest::SendStreamingMessage(r) => {
                self.require_streaming()?;
                self.stream(r).await
            }
            A2aRequest::GetTask(r) => {
                let task = self.existing(&r.id).await?;
                Ok(Reply::Task(with_history(task, r.history_length)))
            }
            A2aRequest::ListTasks(r) => self.list(r).await,
            A2aRequest::CancelTask(r) => Ok(Reply::Task(self.tasks.cancel(&r.id).await?)),
            A2aRequest::SubscribeToTask(r) => {
                self.require_streaming()?;
                self.subscribe(&r.id).await
            }
            A2aRequest::CreatePushConfig(c) => {
                self.require_push()?;
                let task_id = c.task_id.clone().unwrap_or_default();
                self.existing(&task_id).await?;
                Ok(Reply::PushConfig(
                    self.store_push_config(&task_id, c).await?,
                ))
            }
            A2aRequest::GetPushConfig(r) => {
                self.require_push()?;
                self.existing(&r.task_id).await?;
                let rec = self
                    .tasks
                    .store()
                    .push_config(self.tasks.agent(), &r.task_id, &r.id)
                    .await
                    .map_err(internal)?
                    .ok_or_else(|| {
                        A2aError::task_not_found(format!(
                            "push notification config {} not found for task {}",
                            r.id, r.task_id
                        ))
                    })?;
                Ok(Reply::PushConfig(
                    serde_json::from_str(&rec.body).map_err(internal)?,
                ))
            }
            A2aRequest::ListPushConfigs(r) => {
                self.require_push()?;
                self.existing(&r.task_id).await?;
                let limit = r.page_size.map_or(50, |n| n.clamp(1, 100) as u32);
                let after = r.page_token.as_deref().filter(|t| !t.is_empty());
                let mut recs = self
                    .tasks
                    .store()
                    .list_push_configs(self.tasks.agent(), &r.task_id, limit + 1, after)
                    .await
                    .map_err(internal)?;
                let more = recs.len() > limit as usize;
                recs.truncate(limit as usize);
                let next_page_token = match (more, recs.last()) {
                    (true, Some(last)) => last.id.clone(),
                    _ => String::new(),
                };
                let configs = recs
                    .iter()
                    .map(|r| serde_json::from_str(&r.body))
                    .collect::<Result<_, _>>()
                    .map_err(internal)?;
                Ok(Reply::PushConfigs(ListPushConfigsResponse {
                    configs,
                    next_page_token,
                }))
            }
            A2aRequest::DeletePushConfig(r) => {
                self.require_push()?;
                self.existing(&r.task_id).await?;
                self.tasks
                    .store()
                    .delete_push_config(self.tasks.agent(), &r.task_id, &r.id)
                    .await
                    .map_err(internal)?;
                Ok(Reply::Deleted)
            }
            A2aRequest::GetExtendedAgentCard(_) => {
                if caps.extended_agent_card != Some(true) {
                    return Err(A2aError::unsupported_operation(
                        "this agent has no extended agent card",
                    ));
                }
                let mut card = self.executor.extended_card().ok_or_else(|| {
                    A2aError::extended_card_not_configured(
                        "the extended agent card is not configured",
                    )
                })?;
                card.supported_interfaces = self.card.supported_interfaces.clone();
                Ok(Reply::Card(Box::new(card)))
            }
        }
    }

    fn require_streaming(&self) -> Result<(), A2aError> {
        if self.card.capabilities.streaming == Some(true) {
            return Ok(());
        }
        Err(A2aError::unsupported_operation(
            "this agent does not support streaming",
        ))
    }

    fn require_push(&self) -> Result<(), A2aError> {
        if self.card.capabilities.push_notifications == Some(true) {
            return Ok(());
        }
        Err(A2aError::push_not_supported(
            "this agent does not support push notifications",
        ))
    }

    async fn existing(&self, id: &str) -> Result<Task, A2aError> {
        self.tasks
            .load(id)
            .await?
            .ok_or_else(|| A2aError::task_not_found(format!("task {id} not found")))
    }

    async fn store_push_config(
        &self,
        task_id: &str,
        mut c: TaskPushNotificationConfig,
    ) -> Result<TaskPushNotificationConfig, A2aError> {
        check_push_url(&c.url)?;
        c.task_id = Some(task_id.to_string());
        let id =
            c.id.get_or_insert_with(|| uuid::Uuid::new_v4().to_string())
                .clone();
        let body = serde_json::to_string(&c).map_err(internal)?;
        self.tasks
            .store()
            .put_push_config(&PushConfigRecord {
                agent: self.tasks.agent().to_string(),
                task_id: task_id.to_string(),
                id,
                body,
            })
            .await
            .map_err(internal)?;
        Ok(c)
    }

    /// Creates or continues the task and starts the executor on it. Returns
    /// the live task, its snapshot and a receiver subscribed together with
    /// that snapshot before the executor started, so no event is missed or
    /// seen twice.
    async fn start(
        &self,
        r: &SendMessageRequest,
    ) -> Result<(Arc<LiveTask>, Task, broadcast::Receiver<StreamResponse>), A2aError> {
        let message = r.message.clone();
        let continuing = message.task_id.is_some();
        let push = r
            .configuration
            .as_ref()
            .and_then(|c| c.task_push_notification_config.clone());
        if let Some(cfg) = &push {
            // Refuse before any task exists: a refused request must not leave
            // a task behind that no executor will ever work on.
            self.require_push()?;
            check_push_url(&cfg.url)?;
        }
        let live = if continuing {
            let live = self.tasks.continue_with(message).await?;
            // The task leaves its interrupted state: the agent works on the
            // follow-up (and a blocking send must wait for the new outcome).
            self.tasks
                .set_status(&live, TaskState::Working, None)
                .await?;
            live
        } else {
            self.tasks.create(message).await?
        };
        let task_id = live.task.lock().await.id.clone();
        if let Some(cfg) = push {
            self.store_push_config(&task_id, cfg).await?;
        }
        let (task, rx) = {
            let task = live.task.lock().await;
            (task.clone(), live.events.subscribe())
        };
        let ctx = RequestContext {
            message: task
                .history
                .as_ref()
                .and_then(|h| h.last().cloned())
                .unwrap_or_else(|| r.message.clone()),
            task: task.clone(),
            is_continuation: continuing,
        };
        let updater = TaskUpdater::new(self.tasks.clone(), live.clone(), &task);
        let work = self.executor.execute(ctx, updater.clone());
        // Detached: the caller's connection has no say over the task's life.
        tokio::spawn(async move {
            let outcome = tokio::spawn(work).await;
            let state = updater.state().await;
            if matches!(state, TaskState::Submitted | TaskState::Working) {
                let why = if outcome.is_err() {
                    "the agent failed while working on this task"
                } else {
                    "the agent stopped without finishing this task"
                };
                updater.status(TaskState::Failed, Some(why)).await;
            }
        });
        Ok((live, task, rx))
    }

    async fn send(&self, r: SendMessageRequest) -> Result<Reply, A2aError> {
        let history = r.configuration.as_ref().and_then(|c| c.history_length);
        let immediate = r
            .configuration
            .as_ref()
            .is_some_and(|c| c.return_immediately);
        let (live, _, mut rx) = self.start(&r).await?;
        if !immediate {
            // Blocking: wait for a terminal or interrupted state.
            loop {
                let state = live.task.lock().await.status.state;
                if state.is_terminal() || state.is_interrupted() {
                    break;
                }
                match rx.recv().await {
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        }
        let task = live.task.lock().await.clone();
        Ok(Reply::Send(SendMessageResponse::Task(with_history(
            task, history,
        ))))
    }

    async fn stream(&self, r: SendMessageRequest) -> Result<Reply, A2aError> {
        let (_, snapshot, rx) = self.start(&r).await?;
        // A send stream ends at a terminal or interrupted state.
        Ok(Reply::Stream(events_after(snapshot, rx, true)))
    }

    async fn subscribe(&self, id: &str) -> Result<Reply, A2aError> {
        let live = self
            .tasks
            .live(id)
            .await?
            .ok_or_else(|| A2aError::task_not_found(format!("task {id} not found")))?;
        let (snapshot, rx) = {
            let task = live.task.lock().await;
            (task.clone(), live.events.subscribe())
        };
        if snapshot.status.state.is_terminal() {
            return Err(A2aError::unsupported_operation(format!(
                "task {id} is in a terminal state; there is nothing to subscribe to"
            )));
        }
        // A subscription stays open until the task is terminal.
        Ok(Reply::Stream(events_after(snapshot, rx, false)))
    }

    async fn list(&self, r: ListTasksRequest) -> Result<Reply, A2aError> {
        // The parser refuses sizes outside 1..=100; clamp for direct callers.
        let page_size = r.page_size.unwrap_or(50).clamp(1, 100);
        let after = match &r.status_timestamp_after {
            Some(ts) => Some(
                normalise(ts)
                    .ok_or_else(|| A2aError::invalid_params("invalid statusTimestampAfter"))?,
            ),
            None => None,
        };
        let filter = TaskFilter {
            context_id: r.context_id.clone(),
            state: r.status.map(|s| s.as_str().to_string()),
            status_timestamp_after: after,
        };
        let page = self
            .tasks
            .store()
            .list_tasks(
                self.tasks.agent(),
                &filter,
                page_size as u32,
                r.page_token.as_deref(),
            )
            .await
            .map_err(|e| match e {
                warden_store::StoreError::BadPageToken => {
                    A2aError::invalid_params("invalid pageToken")
                }
                other => internal(other),
            })?;
        let mut tasks = Vec::with_capacity(page.tasks.len());
        for rec in &page.tasks {
            let mut task: Task = serde_json::from_str(&rec.body).map_err(internal)?;
            if r.include_artifacts != Some(true) {
                task.artifacts = None;
            }
            tasks.push(with_history(task, r.history_length));
        }
        Ok(Reply::Tasks(ListTasksResponse {
            tasks,
            next_page_token: page.next_page_token,
            page_size,
            total_size: i32::try_from(page.total_size).unwrap_or(i32::MAX),
        }))
    }
}

fn url_scheme(url: &str) -> Option<&str> {
    url.split_once("://").map(|(s, _)| s)
}

fn check_push_url(url: &str) -> Result<(), A2aError> {
    if url_scheme(url).is_some_and(|s| s == "https" || s == "http") {
        return Ok(());
    }
    Err(A2aError::invalid_params(
        "push notification url must be an http(s) URL",
    ))
}

fn internal(e: impl std::fmt::Display) -> A2aError {
    A2aError::internal(format!("agent storage failed: {e}"))
}

/// The snapshot first, then live events until the stream should close.
fn events_after(
    snapshot: Task,
    rx: broadcast::Receiver<StreamResponse>,
    close_on_interrupted: bool,
) -> BoxStream<'static, StreamResponse> {
    let state = snapshot.status.state;
    let done_already = state.is_terminal() || (close_on_interrupted && state.is_interrupted());
    let first = stream::once(async move { StreamResponse::Task(snapshot) });
    if done_already {
        return first.boxed();
    }
    let rest = stream::unfold(Some(rx), move |rx| async move {
        let mut rx = rx?;
        loop {
            match rx.recv().await {
                Ok(event) => {
                    let end = match &event {
                        StreamResponse::StatusUpdate(s) => {
                            s.status.state.is_terminal()
                                || (close_on_interrupted && s.status.state.is_interrupted())
                        }
                        _ => false,
                    };
                    return Some((event, if end { None } else { Some(rx) }));
                }
                // A reader that fell behind skips what it missed; there is
                // no resume cursor in A2A.
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    first.chain(rest).boxed()
}
