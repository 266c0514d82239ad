//! The agent runtime through its public API: the transport-independent
//! `Handler`, and real HTTP (JSON-RPC, REST, SSE) on a loopback socket.
#![allow(clippy::disallowed_methods)] // a test client calling the agent, not Warden going out

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};
use warden_a2a::types::*;
use warden_a2a::{A2aError, A2aRequest, ErrorKind};
use warden_agent::demo::{Echo, Input, Slow};
use warden_agent::{
    AgentExecutor, BoxFuture, Handler, Reply, RequestContext, ServerLimits, TaskManager,
    TaskUpdater, served_card, text_artifact,
};
use warden_store::Store;

/// Every await on the runtime is bounded by this, so a hang fails fast.
const LIMIT: Duration = Duration::from_secs(10);

async fn within<F: Future>(what: &str, f: F) -> F::Output {
    match tokio::time::timeout(LIMIT, f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

// ---------------------------------------------------------------------------
// Test-only executors
// ---------------------------------------------------------------------------

/// A card like the demo ones, renamed and with the given capabilities.
fn card(name: &str, streaming: bool, push: bool, extended: bool) -> AgentCard {
    let mut c = Echo.card();
    c.name = name.to_string();
    c.capabilities.streaming = Some(streaming);
    c.capabilities.push_notifications = Some(push);
    c.capabilities.extended_agent_card = Some(extended);
    c
}

/// Completes at once, like echo, but with configurable capabilities and an
/// optional extended card.
struct Plain {
    card: AgentCard,
    extended: Option<AgentCard>,
}

impl AgentExecutor for Plain {
    fn card(&self) -> AgentCard {
        self.card.clone()
    }

    fn extended_card(&self) -> Option<AgentCard> {
        self.extended.clone()
    }

    fn execute(&self, _ctx: RequestContext, updater: TaskUpdater) -> BoxFuture {
        Box::pin(async move {
            updater.status(TaskState::Completed, Some("ok")).await;
        })
    }
}

/// Takes one permit from a shared semaphore before each step, so a test
/// decides exactly when the task moves. N steps (the message text, default
/// 3), each a WORKING status and an artifact chunk, then one more permit to
/// complete.
struct Stepper {
    permits: Arc<Semaphore>,
}

impl AgentExecutor for Stepper {
    fn card(&self) -> AgentCard {
        card("stepper", true, true, false)
    }

    fn execute(&self, ctx: RequestContext, updater: TaskUpdater) -> BoxFuture {
        let permits = self.permits.clone();
        Box::pin(async move {
            let steps: u32 = ctx.text().trim().parse().unwrap_or(3);
            let step = || async { permits.acquire().await.map(|p| p.forget()).is_ok() };
            for i in 1..=steps {
                if !step().await
                    || !updater
                        .status(TaskState::Working, Some(&format!("step {i}")))
                        .await
                {
                    return;
                }
                let chunk = text_artifact("out", "out", &format!("{i};"));
                if !updater.artifact(chunk, i > 1, i == steps).await {
                    return;
                }
            }
            if step().await {
                updater.status(TaskState::Completed, None).await;
            }
        })
    }
}

/// Works until `is_canceled()` says stop, then reports that it stopped.
struct Spin {
    stopped: mpsc::UnboundedSender<String>,
}

impl AgentExecutor for Spin {
    fn card(&self) -> AgentCard {
        card("spin", true, true, false)
    }

    fn execute(&self, _ctx: RequestContext, updater: TaskUpdater) -> BoxFuture {
        let stopped = self.stopped.clone();
        Box::pin(async move {
            updater.status(TaskState::Working, Some("spinning")).await;
            // Polls the flag on purpose: this is the API an executor without
            // a select loop uses.
            while !updater.is_canceled() {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let _ = stopped.send(updater.task_id().to_string());
        })
    }
}

// ---------------------------------------------------------------------------
// Handler helpers
// ---------------------------------------------------------------------------

async fn handler(executor: Arc<dyn AgentExecutor>) -> Handler {
    let store = Store::open_in_memory().await.expect("store");
    let card = served_card(executor.card(), "http://127.0.0.1:1");
    Handler::new(executor, TaskManager::new("test", store), card)
}

fn slow(ms: u64) -> Arc<dyn AgentExecutor> {
    Arc::new(Slow {
        interval: Duration::from_millis(ms),
    })
}

fn user(text: &str) -> Message {
    Message {
        message_id: uuid::Uuid::new_v4().to_string(),
        context_id: None,
        task_id: None,
        role: Role::User,
        parts: vec![Part::text(text)],
        metadata: None,
        extensions: None,
        reference_task_ids: None,
    }
}

/// A follow-up message on `task`.
fn reply_to(task: &Task, text: &str) -> Message {
    Message {
        task_id: Some(task.id.clone()),
        context_id: task.context_id.clone(),
        ..user(text)
    }
}

fn req(message: Message, configuration: Option<SendMessageConfiguration>) -> SendMessageRequest {
    SendMessageRequest {
        tenant: None,
        message,
        configuration,
        metadata: None,
    }
}

fn immediately() -> Option<SendMessageConfiguration> {
    Some(SendMessageConfiguration {
        return_immediately: true,
        ..Default::default()
    })
}

fn history(n: i32) -> Option<SendMessageConfiguration> {
    Some(SendMessageConfiguration {
        history_length: Some(n),
        ..Default::default()
    })
}

async fn call(h: &Handler, r: A2aRequest) -> Result<Reply, A2aError> {
    within("a handler call", h.handle(r)).await
}

fn task_of(reply: Reply) -> Task {
    match reply {
        Reply::Task(t) | Reply::Send(SendMessageResponse::Task(t)) => t,
        _ => panic!("expected a task reply"),
    }
}

fn err_of(r: Result<Reply, A2aError>) -> A2aError {
    match r {
        Ok(_) => panic!("expected an error reply"),
        Err(e) => e,
    }
}

/// Asserts the kind and, through it, the exact JSON-RPC code and reason.
fn assert_err(e: &A2aError, kind: ErrorKind, code: i32, reason: &str) {
    assert_eq!(e.kind, kind, "{e}");
    assert_eq!(e.kind.wire().jsonrpc, code, "{e}");
    assert_eq!(e.kind.wire().reason, reason, "{e}");
}

async fn send(h: &Handler, r: SendMessageRequest) -> Task {
    task_of(call(h, A2aRequest::SendMessage(r)).await.expect("send"))
}

async fn get(h: &Handler, id: &str, history_length: Option<i32>) -> Task {
    task_of(
        call(
            h,
            A2aRequest::GetTask(GetTaskRequest {
                tenant: None,
                id: id.into(),
                history_length,
            }),
        )
        .await
        .expect("get task"),
    )
}

async fn cancel(h: &Handler, id: &str) -> Result<Reply, A2aError> {
    call(
        h,
        A2aRequest::CancelTask(CancelTaskRequest {
            tenant: None,
            id: id.into(),
            metadata: None,
        }),
    )
    .await
}

fn subscribe_req(id: &str) -> A2aRequest {
    A2aRequest::SubscribeToTask(SubscribeToTaskRequest {
        tenant: None,
        id: id.into(),
    })
}

fn stream_of(reply: Reply) -> BoxStream<'static, StreamResponse> {
    match reply {
        Reply::Stream(s) => s,
        _ => panic!("expected a stream reply"),
    }
}

async fn next_event(s: &mut BoxStream<'static, StreamResponse>) -> StreamResponse {
    within("a stream event", s.next())
        .await
        .expect("the stream ended early")
}

/// Every remaining event, up to the end of the stream.
async fn drain(s: BoxStream<'static, StreamResponse>) -> Vec<StreamResponse> {
    within("the end of a stream", s.collect()).await
}

fn text_of(parts: &[Part]) -> String {
    parts
        .iter()
        .filter_map(|p| match &p.content {
            PartContent::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// A compact picture of an event, for comparing sequences.
fn describe(e: &StreamResponse) -> String {
    match e {
        StreamResponse::Task(t) => format!("task {}", t.status.state.as_str()),
        StreamResponse::Message(m) => format!("message {}", text_of(&m.parts)),
        StreamResponse::StatusUpdate(s) => {
            let text = s.status.message.as_ref().map(|m| text_of(&m.parts));
            format!(
                "status {} {}",
                s.status.state.as_str(),
                text.unwrap_or_default()
            )
        }
        StreamResponse::ArtifactUpdate(a) => format!(
            "artifact {} {} append={} last={}",
            a.artifact.artifact_id,
            text_of(&a.artifact.parts),
            a.append,
            a.last_chunk
        ),
    }
}

fn describe_all(events: &[StreamResponse]) -> Vec<String> {
    events.iter().map(describe).collect()
}

fn last_state(events: &[StreamResponse]) -> Option<TaskState> {
    events.iter().rev().find_map(|e| match e {
        StreamResponse::StatusUpdate(s) => Some(s.status.state),
        StreamResponse::Task(t) => Some(t.status.state),
        _ => None,
    })
}

// ---------------------------------------------------------------------------
// SendMessage, GetTask, continuation
// ---------------------------------------------------------------------------

#[tokio::test]
async fn blocking_send_to_echo_returns_completed_task() {
    let h = handler(Arc::new(Echo)).await;
    let t = send(&h, req(user("hello there"), None)).await;
    assert_eq!(t.status.state, TaskState::Completed);
    assert!(!t.id.is_empty());
    assert!(t.context_id.as_deref().is_some_and(|c| !c.is_empty()));
    let artifacts = t.artifacts.expect("artifacts");
    assert_eq!(artifacts.len(), 1);
    assert_eq!(text_of(&artifacts[0].parts), "hello there");
    let history = t.history.expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].role, Role::User);
    assert_eq!(history[0].task_id.as_deref(), Some(t.id.as_str()));
    // Stored as answered.
    let again = get(&h, &t.id, None).await;
    assert_eq!(again.status, t.status);
}

#[tokio::test]
async fn client_context_id_is_kept() {
    let h = handler(Arc::new(Echo)).await;
    let msg = Message {
        context_id: Some("ctx-mine".into()),
        ..user("x")
    };
    let t = send(&h, req(msg, None)).await;
    assert_eq!(t.context_id.as_deref(), Some("ctx-mine"));
}

#[tokio::test]
async fn return_immediately_answers_before_the_slow_task_completes() {
    let h = handler(slow(30)).await;
    let t = send(&h, req(user("3"), immediately())).await;
    assert!(
        matches!(t.status.state, TaskState::Submitted | TaskState::Working),
        "{:?}",
        t.status.state
    );
    // Wait for the outcome on a subscription (or find it already terminal).
    match call(&h, subscribe_req(&t.id)).await {
        Ok(reply) => {
            let events = drain(stream_of(reply)).await;
            assert_eq!(last_state(&events), Some(TaskState::Completed));
        }
        Err(e) => assert_err(
            &e,
            ErrorKind::UnsupportedOperation,
            -32004,
            "UNSUPPORTED_OPERATION",
        ),
    }
    let done = get(&h, &t.id, None).await;
    assert_eq!(done.status.state, TaskState::Completed);
    let artifacts = done.artifacts.expect("artifacts");
    assert_eq!(text_of(&artifacts[0].parts), "step 1\nstep 2\nstep 3\n");
}

#[tokio::test]
async fn history_length_on_send_and_get() {
    let h = handler(Arc::new(Input)).await;
    // historyLength 0 on send: no history at all.
    let t = send(&h, req(user("hi"), history(0))).await;
    assert_eq!(t.status.state, TaskState::InputRequired);
    assert!(t.history.is_none());
    // The task holds the user message and the agent's question.
    let full = get(&h, &t.id, None).await;
    assert_eq!(full.history.as_ref().map(Vec::len), Some(2));
    assert!(get(&h, &t.id, Some(0)).await.history.is_none());
    let one = get(&h, &t.id, Some(1)).await.history.expect("history");
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].role, Role::Agent, "the most recent message is kept");
    assert_eq!(text_of(&one[0].parts), "What is your name?");
    assert_eq!(
        get(&h, &t.id, Some(50)).await.history.map(|h| h.len()),
        Some(2)
    );

    // historyLength 1 on a continuation: only the newest entry.
    let mut r = req(reply_to(&t, "Ada"), history(1));
    r.message.context_id = None;
    let done = send(&h, r).await;
    assert_eq!(done.status.state, TaskState::Completed);
    let h1 = done.history.expect("history");
    assert_eq!(h1.len(), 1);
    assert_eq!(text_of(&h1[0].parts), "Ada");
    assert_eq!(get(&h, &t.id, None).await.history.map(|h| h.len()), Some(3));
}

#[tokio::test]
async fn input_agent_two_turns() {
    let h = handler(Arc::new(Input)).await;
    let t = send(&h, req(user("hi"), None)).await;
    assert_eq!(t.status.state, TaskState::InputRequired);
    let question = t.status.message.as_ref().expect("status message");
    assert_eq!(question.role, Role::Agent);
    assert_eq!(text_of(&question.parts), "What is your name?");
    assert!(t.artifacts.is_none());

    let done = send(&h, req(reply_to(&t, "Ada"), None)).await;
    assert_eq!(done.id, t.id);
    assert_eq!(done.context_id, t.context_id);
    assert_eq!(done.status.state, TaskState::Completed);
    let artifacts = done.artifacts.expect("artifacts");
    assert_eq!(text_of(&artifacts[0].parts), "Hello, Ada!");
    let roles: Vec<Role> = done
        .history
        .expect("history")
        .iter()
        .map(|m| m.role)
        .collect();
    assert_eq!(roles, [Role::User, Role::Agent, Role::User]);
}

#[tokio::test]
async fn message_to_unknown_task_is_task_not_found() {
    let h = handler(Arc::new(Echo)).await;
    let msg = Message {
        task_id: Some("no-such-task".into()),
        ..user("x")
    };
    let e = err_of(call(&h, A2aRequest::SendMessage(req(msg.clone(), None))).await);
    assert_err(&e, ErrorKind::TaskNotFound, -32001, "TASK_NOT_FOUND");
    let e = err_of(call(&h, A2aRequest::SendStreamingMessage(req(msg, None))).await);
    assert_err(&e, ErrorKind::TaskNotFound, -32001, "TASK_NOT_FOUND");
}

#[tokio::test]
async fn message_to_terminal_task_is_unsupported() {
    let h = handler(Arc::new(Echo)).await;
    let t = send(&h, req(user("once"), None)).await;
    assert_eq!(t.status.state, TaskState::Completed);
    let e = err_of(
        call(
            &h,
            A2aRequest::SendMessage(req(reply_to(&t, "again"), None)),
        )
        .await,
    );
    assert_err(
        &e,
        ErrorKind::UnsupportedOperation,
        -32004,
        "UNSUPPORTED_OPERATION",
    );
    // Nothing changed.
    let after = get(&h, &t.id, None).await;
    assert_eq!(after.status, t.status);
    assert_eq!(after.history.map(|h| h.len()), Some(1));
}

#[tokio::test]
async fn context_mismatch_on_continuation_is_invalid_params() {
    let h = handler(Arc::new(Input)).await;
    let t = send(&h, req(user("hi"), None)).await;
    assert_eq!(t.status.state, TaskState::InputRequired);
    let mut msg = reply_to(&t, "Ada");
    msg.context_id = Some("some-other-context".into());
    let e = err_of(call(&h, A2aRequest::SendMessage(req(msg, None))).await);
    assert_err(&e, ErrorKind::InvalidParams, -32602, "INVALID_PARAMS");
    // The task still waits for its input, untouched.
    let after = get(&h, &t.id, None).await;
    assert_eq!(after.status.state, TaskState::InputRequired);
    assert_eq!(after.history.map(|h| h.len()), Some(2));
    // And the right context still works.
    let done = send(&h, req(reply_to(&t, "Ada"), None)).await;
    assert_eq!(done.status.state, TaskState::Completed);
}

#[tokio::test]
async fn get_unknown_task_is_task_not_found() {
    let h = handler(Arc::new(Echo)).await;
    let e = err_of(
        call(
            &h,
            A2aRequest::GetTask(GetTaskRequest {
                tenant: None,
                id: "nope".into(),
                history_length: None,
            }),
        )
        .await,
    );
    assert_err(&e, ErrorKind::TaskNotFound, -32001, "TASK_NOT_FOUND");
}

// ---------------------------------------------------------------------------
// Streaming and SubscribeToTask
// ---------------------------------------------------------------------------

#[tokio::test]
async fn stream_starts_with_task_then_ordered_updates_to_completed() {
    let h = handler(slow(5)).await;
    let reply = call(&h, A2aRequest::SendStreamingMessage(req(user("3"), None)))
        .await
        .expect("stream");
    let events = drain(stream_of(reply)).await;
    let StreamResponse::Task(first) = &events[0] else {
        panic!("first event must be the task: {:?}", describe_all(&events));
    };
    assert_eq!(first.status.state, TaskState::Submitted);
    assert_eq!(
        describe_all(&events),
        [
            "task TASK_STATE_SUBMITTED",
            "status TASK_STATE_WORKING step 1/3",
            "artifact progress step 1\n append=false last=false",
            "status TASK_STATE_WORKING step 2/3",
            "artifact progress step 2\n append=true last=false",
            "status TASK_STATE_WORKING step 3/3",
            "artifact progress step 3\n append=true last=true",
            "status TASK_STATE_COMPLETED done",
        ]
    );
    for e in &events[1..] {
        let (task_id, context_id) = match e {
            StreamResponse::StatusUpdate(s) => (&s.task_id, &s.context_id),
            StreamResponse::ArtifactUpdate(a) => (&a.task_id, &a.context_id),
            _ => panic!("unexpected event {}", describe(e)),
        };
        assert_eq!(task_id, &first.id);
        assert_eq!(Some(context_id), first.context_id.as_ref());
    }
    let stored = get(&h, &first.id, None).await;
    assert_eq!(stored.status.state, TaskState::Completed);
}

/// On a multi-threaded runtime the executor races the stream's setup; the
/// first event must still be the task as it was before any update, with each
/// update following exactly once (repeated to make a race show).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_stream_is_task_artifact_completed() {
    let h = handler(Arc::new(Echo)).await;
    for _ in 0..40 {
        let reply = call(&h, A2aRequest::SendStreamingMessage(req(user("hey"), None)))
            .await
            .expect("stream");
        let events = drain(stream_of(reply)).await;
        assert_eq!(
            describe_all(&events),
            [
                "task TASK_STATE_SUBMITTED",
                "artifact echo hey append=false last=true",
                "status TASK_STATE_COMPLETED ",
            ]
        );
    }
}

#[tokio::test]
async fn stream_of_input_agent_closes_at_input_required() {
    let h = handler(Arc::new(Input)).await;
    let reply = call(&h, A2aRequest::SendStreamingMessage(req(user("hi"), None)))
        .await
        .expect("stream");
    let events = drain(stream_of(reply)).await;
    assert_eq!(
        describe_all(&events),
        [
            "task TASK_STATE_SUBMITTED",
            "status TASK_STATE_INPUT_REQUIRED What is your name?",
        ]
    );
    let StreamResponse::Task(t) = &events[0] else {
        panic!("task first");
    };
    // The follow-up, streamed: the snapshot is the task back at WORKING.
    let reply = call(
        &h,
        A2aRequest::SendStreamingMessage(req(reply_to(t, "Ada"), None)),
    )
    .await
    .expect("stream");
    let events = drain(stream_of(reply)).await;
    assert_eq!(
        describe_all(&events),
        [
            "task TASK_STATE_WORKING",
            "artifact greeting Hello, Ada! append=false last=true",
            "status TASK_STATE_COMPLETED ",
        ]
    );
}

#[tokio::test]
async fn subscribe_gives_snapshot_then_live_events_identically_to_every_stream() {
    let permits = Arc::new(Semaphore::new(0));
    let h = handler(Arc::new(Stepper {
        permits: permits.clone(),
    }))
    .await;
    let t = send(&h, req(user("2"), immediately())).await;
    assert_eq!(t.status.state, TaskState::Submitted);

    let mut a = stream_of(call(&h, subscribe_req(&t.id)).await.expect("subscribe a"));
    let mut b = stream_of(call(&h, subscribe_req(&t.id)).await.expect("subscribe b"));
    for s in [&mut a, &mut b] {
        let StreamResponse::Task(snap) = next_event(s).await else {
            panic!("the first event of a subscription is the task");
        };
        assert_eq!(snap.id, t.id);
        assert_eq!(snap.status.state, TaskState::Submitted);
    }

    // One step at a time: both streams see it before the next one starts.
    permits.add_permits(1);
    let ea = next_event(&mut a).await;
    let eb = next_event(&mut b).await;
    assert_eq!(describe(&ea), "status TASK_STATE_WORKING step 1");
    assert_eq!(ea, eb);

    // A third stream joining mid-task starts from the current snapshot.
    let mut c = stream_of(call(&h, subscribe_req(&t.id)).await.expect("subscribe c"));

    permits.add_permits(10);
    let rest_a = drain(a).await;
    let rest_b = drain(b).await;
    assert_eq!(
        rest_a, rest_b,
        "every stream gets the same events in the same order"
    );
    assert_eq!(
        describe_all(&rest_a),
        [
            "artifact out 1; append=false last=false",
            "status TASK_STATE_WORKING step 2",
            "artifact out 2; append=true last=true",
            "status TASK_STATE_COMPLETED ",
        ]
    );

    let StreamResponse::Task(snap_c) = next_event(&mut c).await else {
        panic!("task first");
    };
    let rest_c = drain(c).await;
    // The snapshot plus what followed it covers the same end state.
    assert_eq!(rest_c.last(), rest_a.last());
    assert!(rest_a.ends_with(&rest_c));
    assert!(matches!(snap_c.status.state, TaskState::Working));
}

#[tokio::test]
async fn send_stream_and_subscription_see_the_same_events() {
    let permits = Arc::new(Semaphore::new(0));
    let h = handler(Arc::new(Stepper {
        permits: permits.clone(),
    }))
    .await;
    let mut sent = stream_of(
        call(&h, A2aRequest::SendStreamingMessage(req(user("3"), None)))
            .await
            .expect("stream"),
    );
    let StreamResponse::Task(t) = next_event(&mut sent).await else {
        panic!("task first");
    };
    let mut sub = stream_of(call(&h, subscribe_req(&t.id)).await.expect("subscribe"));
    let StreamResponse::Task(snap) = next_event(&mut sub).await else {
        panic!("task first");
    };
    assert_eq!(snap, t);
    permits.add_permits(100);
    let (x, y) = tokio::join!(drain(sent), drain(sub));
    assert_eq!(x, y);
    assert_eq!(x.len(), 7);
    assert_eq!(last_state(&x), Some(TaskState::Completed));
}

#[tokio::test]
async fn dropping_a_stream_does_not_stop_the_task() {
    let h = handler(slow(5)).await;
    let mut s = stream_of(
        call(&h, A2aRequest::SendStreamingMessage(req(user("3"), None)))
            .await
            .expect("stream"),
    );
    let StreamResponse::Task(t) = next_event(&mut s).await else {
        panic!("task first");
    };
    drop(s);
    match call(&h, subscribe_req(&t.id)).await {
        Ok(reply) => {
            let events = drain(stream_of(reply)).await;
            assert_eq!(last_state(&events), Some(TaskState::Completed));
        }
        Err(e) => assert_err(
            &e,
            ErrorKind::UnsupportedOperation,
            -32004,
            "UNSUPPORTED_OPERATION",
        ),
    }
    assert_eq!(
        get(&h, &t.id, None).await.status.state,
        TaskState::Completed
    );
}

#[tokio::test]
async fn subscribe_to_terminal_or_unknown_task_fails() {
    let h = handler(Arc::new(Echo)).await;
    let t = send(&h, req(user("x"), None)).await;
    assert_eq!(t.status.state, TaskState::Completed);
    let e = err_of(call(&h, subscribe_req(&t.id)).await);
    assert_err(
        &e,
        ErrorKind::UnsupportedOperation,
        -32004,
        "UNSUPPORTED_OPERATION",
    );
    let e = err_of(call(&h, subscribe_req("nope")).await);
    assert_err(&e, ErrorKind::TaskNotFound, -32001, "TASK_NOT_FOUND");
}

// ---------------------------------------------------------------------------
// CancelTask
// ---------------------------------------------------------------------------

#[tokio::test]
async fn cancel_slow_task_stops_it_and_is_repeatable() {
    let h = handler(slow(20)).await;
    let mut s = stream_of(
        call(
            &h,
            A2aRequest::SendStreamingMessage(req(user("1000"), None)),
        )
        .await
        .expect("stream"),
    );
    let StreamResponse::Task(t) = next_event(&mut s).await else {
        panic!("task first");
    };
    // Wait for real progress: the first artifact chunk.
    loop {
        if let StreamResponse::ArtifactUpdate(_) = next_event(&mut s).await {
            break;
        }
    }
    let canceled = task_of(cancel(&h, &t.id).await.expect("cancel"));
    assert_eq!(canceled.status.state, TaskState::Canceled);

    // The stream ends with CANCELED, and nothing follows it.
    let rest = drain(s).await;
    assert_eq!(last_state(&rest), Some(TaskState::Canceled));
    assert!(
        matches!(rest.last(), Some(StreamResponse::StatusUpdate(u)) if u.status.state == TaskState::Canceled),
        "{:?}",
        describe_all(&rest)
    );

    // The executor stopped: its next steps would have added chunks. Waiting
    // several step intervals is the only way to observe that nothing happens.
    tokio::time::sleep(Duration::from_millis(120)).await;
    let later = get(&h, &t.id, None).await;
    assert_eq!(later.status, canceled.status);
    assert_eq!(later.artifacts, canceled.artifacts);

    // Cancelling again has the same effect and answers the same task.
    let again = task_of(cancel(&h, &t.id).await.expect("cancel again"));
    assert_eq!(again.status, canceled.status);
    assert_eq!(again.artifacts, canceled.artifacts);
}

#[tokio::test]
async fn cancel_is_seen_through_is_canceled() {
    let (tx, mut stopped) = mpsc::unbounded_channel();
    let h = handler(Arc::new(Spin { stopped: tx })).await;
    let mut s = stream_of(
        call(&h, A2aRequest::SendStreamingMessage(req(user("go"), None)))
            .await
            .expect("stream"),
    );
    let StreamResponse::Task(t) = next_event(&mut s).await else {
        panic!("task first");
    };
    assert_eq!(
        describe(&next_event(&mut s).await),
        "status TASK_STATE_WORKING spinning"
    );
    let canceled = task_of(cancel(&h, &t.id).await.expect("cancel"));
    assert_eq!(canceled.status.state, TaskState::Canceled);
    let who = within("the executor to notice the cancel", stopped.recv())
        .await
        .expect("executor report");
    assert_eq!(who, t.id);
    assert_eq!(
        describe_all(&drain(s).await),
        ["status TASK_STATE_CANCELED "]
    );
}

#[tokio::test]
async fn cancel_completed_task_is_not_cancelable() {
    let h = handler(Arc::new(Echo)).await;
    let t = send(&h, req(user("x"), None)).await;
    let e = err_of(cancel(&h, &t.id).await);
    assert_err(
        &e,
        ErrorKind::TaskNotCancelable,
        -32002,
        "TASK_NOT_CANCELABLE",
    );
    assert_eq!(get(&h, &t.id, None).await.status, t.status);
    let e = err_of(cancel(&h, "nope").await);
    assert_err(&e, ErrorKind::TaskNotFound, -32001, "TASK_NOT_FOUND");
}

#[tokio::test]
async fn cancel_input_required_task_then_continuation_is_refused() {
    let h = handler(Arc::new(Input)).await;
    let t = send(&h, req(user("hi"), None)).await;
    assert_eq!(t.status.state, TaskState::InputRequired);
    let c = task_of(cancel(&h, &t.id).await.expect("cancel"));
    assert_eq!(c.status.state, TaskState::Canceled);
    let e = err_of(call(&h, A2aRequest::SendMessage(req(reply_to(&t, "Ada"), None))).await);
    assert_err(
        &e,
        ErrorKind::UnsupportedOperation,
        -32004,
        "UNSUPPORTED_OPERATION",
    );
}

// ---------------------------------------------------------------------------
// Push notification configs
// ---------------------------------------------------------------------------

fn push_cfg(task_id: Option<&str>, url: &str) -> TaskPushNotificationConfig {
    TaskPushNotificationConfig {
        tenant: None,
        id: None,
        task_id: task_id.map(str::to_owned),
        url: url.into(),
        token: Some("tok".into()),
        authentication: Some(AuthenticationInfo {
            scheme: "Bearer".into(),
            credentials: Some("secret".into()),
        }),
    }
}

fn cfg_ref(task_id: &str, id: &str) -> PushConfigRef {
    PushConfigRef {
        tenant: None,
        task_id: task_id.into(),
        id: id.into(),
    }
}

fn list_cfgs(task_id: &str) -> A2aRequest {
    A2aRequest::ListPushConfigs(ListPushConfigsRequest {
        tenant: None,
        task_id: task_id.into(),
        page_size: None,
        page_token: None,
    })
}

async fn configs(h: &Handler, task_id: &str) -> ListPushConfigsResponse {
    match call(h, list_cfgs(task_id)).await.expect("list configs") {
        Reply::PushConfigs(l) => l,
        _ => panic!("expected configs"),
    }
}

fn config_of(reply: Reply) -> TaskPushNotificationConfig {
    match reply {
        Reply::PushConfig(c) => c,
        _ => panic!("expected a push config"),
    }
}

#[tokio::test]
async fn push_config_create_get_list_delete() {
    let h = handler(Arc::new(Echo)).await;
    let t = send(&h, req(user("x"), None)).await;
    let created = config_of(
        call(
            &h,
            A2aRequest::CreatePushConfig(push_cfg(Some(&t.id), "https://hooks.example/a")),
        )
        .await
        .expect("create"),
    );
    let id = created.id.clone().expect("server-assigned id");
    assert!(!id.is_empty());
    assert_eq!(created.task_id.as_deref(), Some(t.id.as_str()));
    assert_eq!(created.url, "https://hooks.example/a");

    let got = config_of(
        call(&h, A2aRequest::GetPushConfig(cfg_ref(&t.id, &id)))
            .await
            .expect("get"),
    );
    assert_eq!(got, created);

    let second = config_of(
        call(
            &h,
            A2aRequest::CreatePushConfig(TaskPushNotificationConfig {
                id: Some("mine".into()),
                ..push_cfg(Some(&t.id), "http://hooks.example/b")
            }),
        )
        .await
        .expect("create with id"),
    );
    assert_eq!(second.id.as_deref(), Some("mine"));

    let listed = configs(&h, &t.id).await;
    assert_eq!(listed.next_page_token, "");
    let mut ids: Vec<_> = listed.configs.iter().filter_map(|c| c.id.clone()).collect();
    ids.sort();
    let mut want = vec![id.clone(), "mine".to_string()];
    want.sort();
    assert_eq!(ids, want);

    for _ in 0..2 {
        let r = call(&h, A2aRequest::DeletePushConfig(cfg_ref(&t.id, &id)))
            .await
            .expect("delete is idempotent");
        assert!(matches!(r, Reply::Deleted));
    }
    let e = err_of(call(&h, A2aRequest::GetPushConfig(cfg_ref(&t.id, &id))).await);
    assert_err(&e, ErrorKind::TaskNotFound, -32001, "TASK_NOT_FOUND");
    let e = err_of(call(&h, A2aRequest::GetPushConfig(cfg_ref(&t.id, "never"))).await);
    assert_err(&e, ErrorKind::TaskNotFound, -32001, "TASK_NOT_FOUND");
    assert_eq!(configs(&h, &t.id).await.configs.len(), 1);

    // Configs belong to an existing task; a bad URL is invalid params.
    let e = err_of(
        call(
            &h,
            A2aRequest::CreatePushConfig(push_cfg(Some("nope"), "https://x.example")),
        )
        .await,
    );
    assert_err(&e, ErrorKind::TaskNotFound, -32001, "TASK_NOT_FOUND");
    let e = err_of(call(&h, list_cfgs("nope")).await);
    assert_err(&e, ErrorKind::TaskNotFound, -32001, "TASK_NOT_FOUND");
    let e = err_of(
        call(
            &h,
            A2aRequest::CreatePushConfig(push_cfg(Some(&t.id), "ftp://x.example")),
        )
        .await,
    );
    assert_err(&e, ErrorKind::InvalidParams, -32602, "INVALID_PARAMS");
}

#[tokio::test]
async fn push_config_list_pages() {
    let h = handler(Arc::new(Echo)).await;
    let t = send(&h, req(user("x"), None)).await;
    for i in 0..5 {
        call(
            &h,
            A2aRequest::CreatePushConfig(TaskPushNotificationConfig {
                id: Some(format!("c{i}")),
                ..push_cfg(Some(&t.id), "https://hooks.example/")
            }),
        )
        .await
        .expect("create");
    }
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let reply = call(
            &h,
            A2aRequest::ListPushConfigs(ListPushConfigsRequest {
                tenant: None,
                task_id: t.id.clone(),
                page_size: Some(2),
                page_token: token.clone(),
            }),
        )
        .await
        .expect("list");
        let Reply::PushConfigs(page) = reply else {
            panic!("configs");
        };
        assert!(page.configs.len() <= 2);
        seen.extend(page.configs.iter().filter_map(|c| c.id.clone()));
        if page.next_page_token.is_empty() {
            break;
        }
        token = Some(page.next_page_token);
    }
    assert_eq!(seen, ["c0", "c1", "c2", "c3", "c4"]);
}

#[tokio::test]
async fn inline_push_config_in_send_is_stored() {
    let h = handler(Arc::new(Echo)).await;
    let cfg = SendMessageConfiguration {
        task_push_notification_config: Some(push_cfg(None, "https://hooks.example/inline")),
        ..Default::default()
    };
    let t = send(&h, req(user("x"), Some(cfg))).await;
    let listed = configs(&h, &t.id).await;
    assert_eq!(listed.configs.len(), 1);
    let c = &listed.configs[0];
    assert_eq!(c.url, "https://hooks.example/inline");
    assert_eq!(c.task_id.as_deref(), Some(t.id.as_str()));
    assert_eq!(c.token.as_deref(), Some("tok"));
    let id = c.id.clone().expect("id assigned");
    let got = config_of(
        call(&h, A2aRequest::GetPushConfig(cfg_ref(&t.id, &id)))
            .await
            .expect("get"),
    );
    assert_eq!(&got, c);
}

fn no_push_no_stream() -> Arc<dyn AgentExecutor> {
    Arc::new(Plain {
        card: card("plain", false, false, false),
        extended: None,
    })
}

async fn list_all(h: &Handler) -> ListTasksResponse {
    match call(h, A2aRequest::ListTasks(ListTasksRequest::default()))
        .await
        .expect("list")
    {
        Reply::Tasks(l) => l,
        _ => panic!("expected tasks"),
    }
}

#[tokio::test]
async fn push_ops_without_capability_are_push_not_supported() {
    let h = handler(no_push_no_stream()).await;
    let t = send(&h, req(user("x"), None)).await;
    assert_eq!(t.status.state, TaskState::Completed);
    let ops = [
        A2aRequest::CreatePushConfig(push_cfg(Some(&t.id), "https://hooks.example/")),
        A2aRequest::GetPushConfig(cfg_ref(&t.id, "c")),
        list_cfgs(&t.id),
        A2aRequest::DeletePushConfig(cfg_ref(&t.id, "c")),
    ];
    for op in ops {
        let e = err_of(call(&h, op).await);
        assert_err(
            &e,
            ErrorKind::PushNotificationNotSupported,
            -32003,
            "PUSH_NOTIFICATION_NOT_SUPPORTED",
        );
    }
    // An inline config is refused the same way, and leaves no task behind.
    let cfg = SendMessageConfiguration {
        task_push_notification_config: Some(push_cfg(None, "https://hooks.example/")),
        ..Default::default()
    };
    let e = err_of(call(&h, A2aRequest::SendMessage(req(user("y"), Some(cfg)))).await);
    assert_err(
        &e,
        ErrorKind::PushNotificationNotSupported,
        -32003,
        "PUSH_NOTIFICATION_NOT_SUPPORTED",
    );
    assert_eq!(list_all(&h).await.total_size, 1);
}

#[tokio::test]
async fn inline_push_config_with_bad_url_leaves_no_task() {
    let h = handler(Arc::new(Echo)).await;
    let cfg = SendMessageConfiguration {
        task_push_notification_config: Some(push_cfg(None, "file:///etc/passwd")),
        ..Default::default()
    };
    let e = err_of(call(&h, A2aRequest::SendMessage(req(user("y"), Some(cfg)))).await);
    assert_err(&e, ErrorKind::InvalidParams, -32602, "INVALID_PARAMS");
    assert_eq!(list_all(&h).await.total_size, 0);
}

// ---------------------------------------------------------------------------
// Capability gates and the extended card
// ---------------------------------------------------------------------------

#[tokio::test]
async fn streaming_disabled_refuses_stream_and_subscribe() {
    let h = handler(no_push_no_stream()).await;
    let e = err_of(call(&h, A2aRequest::SendStreamingMessage(req(user("x"), None))).await);
    assert_err(
        &e,
        ErrorKind::UnsupportedOperation,
        -32004,
        "UNSUPPORTED_OPERATION",
    );
    // Nothing was created by the refused stream.
    assert_eq!(list_all(&h).await.total_size, 0);
    let t = send(&h, req(user("x"), immediately())).await;
    let e = err_of(call(&h, subscribe_req(&t.id)).await);
    assert_err(
        &e,
        ErrorKind::UnsupportedOperation,
        -32004,
        "UNSUPPORTED_OPERATION",
    );
}

fn extended_req() -> A2aRequest {
    A2aRequest::GetExtendedAgentCard(GetExtendedAgentCardRequest::default())
}

#[tokio::test]
async fn echo_serves_its_extended_card_with_interfaces() {
    let h = handler(Arc::new(Echo)).await;
    let Reply::Card(c) = call(&h, extended_req()).await.expect("extended card") else {
        panic!("expected a card");
    };
    let ids: Vec<&str> = c.skills.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["echo", "echo-upper"]);
    assert_eq!(c.supported_interfaces, h.card().supported_interfaces);
    assert_eq!(c.supported_interfaces.len(), 2);
    assert!(
        c.supported_interfaces
            .iter()
            .all(|i| i.url == "http://127.0.0.1:1" && i.protocol_version == "1.0")
    );
    // The public card does not list the extra skill.
    assert_eq!(h.card().skills.len(), 1);
}

#[tokio::test]
async fn extended_card_capability_gates() {
    let h = handler(Arc::new(Input)).await;
    let e = err_of(call(&h, extended_req()).await);
    assert_err(
        &e,
        ErrorKind::UnsupportedOperation,
        -32004,
        "UNSUPPORTED_OPERATION",
    );

    let h = handler(Arc::new(Plain {
        card: card("unset", true, true, true),
        extended: None,
    }))
    .await;
    let e = err_of(call(&h, extended_req()).await);
    assert_err(
        &e,
        ErrorKind::ExtendedAgentCardNotConfigured,
        -32007,
        "EXTENDED_AGENT_CARD_NOT_CONFIGURED",
    );
}

// ---------------------------------------------------------------------------
// ListTasks (through the handler)
// ---------------------------------------------------------------------------

#[tokio::test]
async fn list_tasks_filters_and_artifacts() {
    let h = handler(slow(5)).await;
    let a1 = send(
        &h,
        req(
            Message {
                context_id: Some("ctx-a".into()),
                ..user("1")
            },
            None,
        ),
    )
    .await;
    let a2 = send(
        &h,
        req(
            Message {
                context_id: Some("ctx-a".into()),
                ..user("1")
            },
            None,
        ),
    )
    .await;
    let b = send(&h, req(user("1"), None)).await;
    for t in [&a1, &a2, &b] {
        assert_eq!(t.status.state, TaskState::Completed);
    }
    let running = send(&h, req(user("1000"), immediately())).await;
    task_of(cancel(&h, &running.id).await.expect("cancel"));

    let list = |r: ListTasksRequest| {
        let h = h.clone();
        async move {
            match call(&h, A2aRequest::ListTasks(r)).await.expect("list") {
                Reply::Tasks(l) => l,
                _ => panic!("tasks"),
            }
        }
    };
    let all = list(ListTasksRequest::default()).await;
    assert_eq!(all.total_size, 4);
    assert_eq!(all.next_page_token, "");
    assert!(all.tasks.iter().all(|t| t.artifacts.is_none()));

    let with = list(ListTasksRequest {
        include_artifacts: Some(true),
        ..Default::default()
    })
    .await;
    let done: Vec<_> = with
        .tasks
        .iter()
        .filter(|t| t.status.state == TaskState::Completed)
        .collect();
    assert_eq!(done.len(), 3);
    assert!(done.iter().all(|t| t.artifacts.is_some()));

    let ctx = list(ListTasksRequest {
        context_id: Some("ctx-a".into()),
        ..Default::default()
    })
    .await;
    let ids: HashSet<_> = ctx.tasks.iter().map(|t| t.id.clone()).collect();
    assert_eq!(ids, HashSet::from([a1.id.clone(), a2.id.clone()]));
    assert_eq!(ctx.total_size, 2);

    let canceled = list(ListTasksRequest {
        status: Some(TaskState::Canceled),
        ..Default::default()
    })
    .await;
    assert_eq!(canceled.tasks.len(), 1);
    assert_eq!(canceled.tasks[0].id, running.id);

    let none = list(ListTasksRequest {
        status: Some(TaskState::Working),
        ..Default::default()
    })
    .await;
    assert!(none.tasks.is_empty());
    assert_eq!(none.total_size, 0);

    let hist = list(ListTasksRequest {
        history_length: Some(0),
        ..Default::default()
    })
    .await;
    assert!(hist.tasks.iter().all(|t| t.history.is_none()));

    let e = err_of(
        call(
            &h,
            A2aRequest::ListTasks(ListTasksRequest {
                page_token: Some("not a token".into()),
                ..Default::default()
            }),
        )
        .await,
    );
    assert_err(&e, ErrorKind::InvalidParams, -32602, "INVALID_PARAMS");
}

// ---------------------------------------------------------------------------
// TaskManager::recover
// ---------------------------------------------------------------------------

#[test]
fn recover_fails_tasks_a_previous_process_left_working() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("agent.db");

    // The "previous process": its own runtime, dropped mid-task.
    let first = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let task_id = first.block_on(async {
        let store = Store::open(&path).await.expect("open");
        let executor = slow(60_000);
        let card = served_card(executor.card(), "http://127.0.0.1:1");
        let h = Handler::new(executor, TaskManager::new("slow", store), card);
        let mut s = stream_of(
            call(&h, A2aRequest::SendStreamingMessage(req(user("5"), None)))
                .await
                .expect("stream"),
        );
        let StreamResponse::Task(t) = next_event(&mut s).await else {
            panic!("task first");
        };
        // WORKING is persisted before it is broadcast.
        assert_eq!(
            describe(&next_event(&mut s).await),
            "status TASK_STATE_WORKING step 1/5"
        );
        t.id
    });
    drop(first);

    let second = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    second.block_on(async {
        let store = Store::open(&path).await.expect("reopen");
        let manager = TaskManager::new("slow", store.clone());
        let before = manager.load(&task_id).await.expect("load").expect("task");
        assert_eq!(before.status.state, TaskState::Working);

        assert_eq!(
            within("recover", manager.recover()).await.expect("recover"),
            1
        );
        let after = manager.load(&task_id).await.expect("load").expect("task");
        assert_eq!(after.status.state, TaskState::Failed);
        let why = after.status.message.as_ref().expect("a reason");
        assert_eq!(why.role, Role::Agent);
        assert!(text_of(&why.parts).contains("restarted"));
        // Nothing left to recover; another agent's tasks are not touched.
        assert_eq!(manager.recover().await.expect("recover again"), 0);
        let other = TaskManager::new("echo", store);
        assert_eq!(other.recover().await.expect("other agent"), 0);
    });
}

// ---------------------------------------------------------------------------
// HTTP: JSON-RPC, REST, SSE, cards, v0.3
// ---------------------------------------------------------------------------

struct Server {
    base: String,
    client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn serve(name: &str, executor: Arc<dyn AgentExecutor>) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let store = Store::open_in_memory().await.expect("store");
    let router = warden_agent::agent_router(name, executor, store, &base, ServerLimits::default())
        .await
        .expect("router");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(warden_agent::serve(listener, router, async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    Server {
        base,
        client,
        _stop: stop,
    }
}

fn user_json(text: &str) -> Value {
    json!({"messageId": uuid::Uuid::new_v4().to_string(), "role": "ROLE_USER", "parts": [{"text": text}]})
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A v1.0 JSON-RPC POST; returns the HTTP response.
    async fn rpc_raw(&self, method: &str, params: Value) -> reqwest::Response {
        let body = json!({"jsonrpc": "2.0", "id": "req-1", "method": method, "params": params});
        within(
            "a JSON-RPC response",
            self.client
                .post(self.url("/"))
                .header("A2A-Version", "1.0")
                .json(&body)
                .send(),
        )
        .await
        .expect("send")
    }

    /// A v1.0 JSON-RPC call; returns the whole envelope (HTTP 200 asserted).
    async fn rpc(&self, method: &str, params: Value) -> Value {
        let resp = self.rpc_raw(method, params).await;
        assert_eq!(resp.status(), 200, "JSON-RPC answers travel with HTTP 200");
        let v: Value = within("a JSON body", resp.json()).await.expect("json");
        assert_eq!(v["jsonrpc"], "2.0");
        v
    }

    async fn rest(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut rb = self
            .client
            .request(method, self.url(path))
            .header("A2A-Version", "1.0");
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = within("a REST response", rb.send()).await.expect("send");
        let status = resp.status().as_u16();
        let v = within("a JSON body", resp.json()).await.expect("json");
        (status, v)
    }
}

/// Reads SSE `data:` payloads until the server closes the response.
async fn sse_events(resp: reqwest::Response) -> Vec<Value> {
    let mut body = resp.bytes_stream();
    let mut buf: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    while let Some(chunk) = within("an SSE chunk", body.next()).await {
        buf.extend_from_slice(&chunk.expect("body chunk"));
        while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
            let frame: Vec<u8> = buf.drain(..end + 2).collect();
            let frame = String::from_utf8(frame).expect("utf-8");
            let data: Vec<&str> = frame
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect();
            if !data.is_empty() {
                out.push(serde_json::from_str(&data.join("\n")).expect("event json"));
            }
        }
    }
    assert!(
        buf.iter().all(u8::is_ascii_whitespace),
        "trailing partial frame"
    );
    out
}

fn assert_sse_headers(resp: &reqwest::Response) {
    assert_eq!(resp.status(), 200);
    let h = resp.headers();
    let get = |k: &str| h.get(k).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(
        get("content-type").starts_with("text/event-stream"),
        "{h:?}"
    );
    assert_eq!(get("cache-control"), "no-cache");
    assert_eq!(h.get_all("cache-control").iter().count(), 1);
    assert_eq!(get("x-accel-buffering"), "no");
}

fn assert_jsonrpc_error(v: &Value, code: i64, reason: &str) {
    assert!(v.get("result").is_none(), "{v}");
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    let info = &v["error"]["data"][0];
    assert_eq!(
        info["@type"], "type.googleapis.com/google.rpc.ErrorInfo",
        "{v}"
    );
    assert_eq!(info["reason"], reason, "{v}");
    assert_eq!(info["domain"], "a2a-protocol.org");
}

fn assert_rest_error(status: u16, v: &Value, want_status: u16, grpc: &str, reason: &str) {
    assert_eq!(status, want_status, "{v}");
    assert_eq!(v["error"]["code"], want_status, "{v}");
    assert_eq!(v["error"]["status"], grpc, "{v}");
    let info = &v["error"]["details"][0];
    assert_eq!(
        info["@type"], "type.googleapis.com/google.rpc.ErrorInfo",
        "{v}"
    );
    assert_eq!(info["reason"], reason, "{v}");
    assert_eq!(info["domain"], "a2a-protocol.org");
}

#[tokio::test]
async fn http_jsonrpc_send_get_and_errors() {
    let s = serve("echo", Arc::new(Echo)).await;
    let v = s
        .rpc("SendMessage", json!({"message": user_json("hi")}))
        .await;
    assert_eq!(v["id"], "req-1");
    let task = &v["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED");
    assert_eq!(task["artifacts"][0]["parts"][0]["text"], "hi");
    assert!(task.get("kind").is_none(), "no v0.3 discriminators in v1.0");
    let id = task["id"].as_str().expect("id").to_string();

    let v = s
        .rpc("GetTask", json!({"id": id, "historyLength": 0}))
        .await;
    assert_eq!(v["result"]["id"], id.as_str());
    assert!(
        v["result"].get("history").is_none(),
        "historyLength 0 omits history"
    );
    let v = s
        .rpc("GetTask", json!({"id": id, "historyLength": 1}))
        .await;
    assert_eq!(v["result"]["history"].as_array().map(Vec::len), Some(1));

    let v = s.rpc("GetTask", json!({"id": "nope"})).await;
    assert_eq!(v["id"], "req-1");
    assert_jsonrpc_error(&v, -32001, "TASK_NOT_FOUND");
    let v = s.rpc("CancelTask", json!({"id": id})).await;
    assert_jsonrpc_error(&v, -32002, "TASK_NOT_CANCELABLE");
    let mut msg = user_json("again");
    msg["taskId"] = json!(id);
    let v = s.rpc("SendMessage", json!({"message": msg})).await;
    assert_jsonrpc_error(&v, -32004, "UNSUPPORTED_OPERATION");
    let v = s.rpc("NoSuchMethod", json!({})).await;
    assert_jsonrpc_error(&v, -32601, "METHOD_NOT_FOUND");
}

#[tokio::test]
async fn http_rest_errors_use_mapped_status_and_google_rpc_status() {
    let s = serve("echo", Arc::new(Echo)).await;
    let (status, v) = s.rest(reqwest::Method::GET, "/tasks/nope", None).await;
    assert_rest_error(status, &v, 404, "NOT_FOUND", "TASK_NOT_FOUND");

    let (status, v) = s
        .rest(
            reqwest::Method::POST,
            "/message:send",
            Some(json!({"message": user_json("rest")})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["task"]["status"]["state"], "TASK_STATE_COMPLETED");
    let id = v["task"]["id"].as_str().expect("id").to_string();

    let (status, v) = s
        .rest(
            reqwest::Method::GET,
            &format!("/tasks/{id}?historyLength=0"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["id"], id.as_str());
    assert!(v.get("history").is_none());

    let (status, v) = s
        .rest(reqwest::Method::POST, &format!("/tasks/{id}:cancel"), None)
        .await;
    assert_rest_error(
        status,
        &v,
        400,
        "FAILED_PRECONDITION",
        "TASK_NOT_CANCELABLE",
    );
    let (status, v) = s
        .rest(
            reqwest::Method::POST,
            &format!("/tasks/{id}:subscribe"),
            None,
        )
        .await;
    assert_rest_error(
        status,
        &v,
        400,
        "FAILED_PRECONDITION",
        "UNSUPPORTED_OPERATION",
    );
    let (status, v) = s
        .rest(reqwest::Method::GET, "/tasks?pageSize=0", None)
        .await;
    assert_rest_error(status, &v, 400, "INVALID_ARGUMENT", "INVALID_PARAMS");

    // Push configs over REST, including the idempotent delete ({}).
    let (status, v) = s
        .rest(
            reqwest::Method::POST,
            &format!("/tasks/{id}/pushNotificationConfigs"),
            Some(json!({"url": "https://hooks.example/r"})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let cid = v["id"].as_str().expect("config id").to_string();
    assert_eq!(v["taskId"], id.as_str());
    let path = format!("/tasks/{id}/pushNotificationConfigs/{cid}");
    let (status, v) = s.rest(reqwest::Method::GET, &path, None).await;
    assert_eq!(
        (status, v["url"].as_str()),
        (200, Some("https://hooks.example/r"))
    );
    for _ in 0..2 {
        let (status, v) = s.rest(reqwest::Method::DELETE, &path, None).await;
        assert_eq!((status, v), (200, json!({})));
    }
    let (status, v) = s.rest(reqwest::Method::GET, &path, None).await;
    assert_rest_error(status, &v, 404, "NOT_FOUND", "TASK_NOT_FOUND");

    // The extended card over REST.
    let (status, v) = s
        .rest(reqwest::Method::GET, "/extendedAgentCard", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["skills"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["supportedInterfaces"][0]["url"], s.base.as_str());
}

#[tokio::test]
async fn http_wrong_content_type_and_unsupported_version() {
    let s = serve("echo", Arc::new(Echo)).await;
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage",
                      "params": {"message": user_json("x")}})
    .to_string();

    let resp = s
        .client
        .post(s.url("/"))
        .header("A2A-Version", "1.0")
        .header("content-type", "text/plain")
        .body(body.clone())
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.expect("json");
    assert_jsonrpc_error(&v, -32005, "CONTENT_TYPE_NOT_SUPPORTED");

    // application/a2a+json is as good as application/json.
    let resp = s
        .client
        .post(s.url("/"))
        .header("A2A-Version", "1.0")
        .header("content-type", "application/a2a+json; charset=utf-8")
        .body(body.clone())
        .send()
        .await
        .expect("send");
    let v: Value = resp.json().await.expect("json");
    assert_eq!(
        v["result"]["task"]["status"]["state"], "TASK_STATE_COMPLETED",
        "{v}"
    );

    let resp = s
        .client
        .post(s.url("/"))
        .header("A2A-Version", "2.0")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.expect("json");
    assert_jsonrpc_error(&v, -32009, "VERSION_NOT_SUPPORTED");

    // The same over REST.
    let rest_body = json!({"message": user_json("x")}).to_string();
    let resp = s
        .client
        .post(s.url("/message:send"))
        .header("A2A-Version", "1.0")
        .header("content-type", "text/plain")
        .body(rest_body.clone())
        .send()
        .await
        .expect("send");
    let status = resp.status().as_u16();
    let v: Value = resp.json().await.expect("json");
    assert_rest_error(
        status,
        &v,
        400,
        "INVALID_ARGUMENT",
        "CONTENT_TYPE_NOT_SUPPORTED",
    );

    let resp = s
        .client
        .post(s.url("/message:send"))
        .header("A2A-Version", "2.0")
        .header("content-type", "application/json")
        .body(rest_body)
        .send()
        .await
        .expect("send");
    let status = resp.status().as_u16();
    let v: Value = resp.json().await.expect("json");
    assert_rest_error(
        status,
        &v,
        400,
        "FAILED_PRECONDITION",
        "VERSION_NOT_SUPPORTED",
    );
}

#[tokio::test]
async fn http_jsonrpc_stream_is_sse_with_ordered_events() {
    let s = serve("slow", slow(5)).await;
    let resp = s
        .rpc_raw("SendStreamingMessage", json!({"message": user_json("2")}))
        .await;
    assert_sse_headers(&resp);
    let events = sse_events(resp).await;
    assert!(
        events
            .iter()
            .all(|e| e["jsonrpc"] == "2.0" && e["id"] == "req-1")
    );
    let results: Vec<&Value> = events.iter().map(|e| &e["result"]).collect();
    let kinds: Vec<&str> = results
        .iter()
        .map(|r| {
            r.as_object()
                .and_then(|o| o.keys().next())
                .map(String::as_str)
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "task",
            "statusUpdate",
            "artifactUpdate",
            "statusUpdate",
            "artifactUpdate",
            "statusUpdate"
        ]
    );
    assert_eq!(
        results[0]["task"]["status"]["state"],
        "TASK_STATE_SUBMITTED"
    );
    assert_eq!(
        results[5]["statusUpdate"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
    assert_eq!(results[4]["artifactUpdate"]["append"], true);
    assert_eq!(results[4]["artifactUpdate"]["lastChunk"], true);
}

#[tokio::test]
async fn http_rest_stream_and_subscribe() {
    let permits = Arc::new(Semaphore::new(0));
    let s = serve(
        "stepper",
        Arc::new(Stepper {
            permits: permits.clone(),
        }),
    )
    .await;
    let (status, v) = s
        .rest(
            reqwest::Method::POST,
            "/message:send",
            Some(json!({"message": user_json("1"), "configuration": {"returnImmediately": true}})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["task"]["status"]["state"], "TASK_STATE_SUBMITTED");
    let id = v["task"]["id"].as_str().expect("id").to_string();

    // Both verbs subscribe (the spec says POST, the proto GET).
    let mut subs = Vec::new();
    for method in [reqwest::Method::POST, reqwest::Method::GET] {
        let resp = within(
            "a subscription",
            s.client
                .request(method, s.url(&format!("/tasks/{id}:subscribe")))
                .header("A2A-Version", "1.0")
                .send(),
        )
        .await
        .expect("subscribe");
        assert_sse_headers(&resp);
        subs.push(resp);
    }
    let mut readers = Vec::new();
    for resp in subs {
        readers.push(tokio::spawn(sse_events(resp)));
    }
    // The headers arrived, so both subscriptions exist: let the task run.
    permits.add_permits(10);
    let mut all = Vec::new();
    for r in readers {
        all.push(within("a subscription to end", r).await.expect("reader"));
    }
    assert_eq!(all[0], all[1], "concurrent streams see identical events");
    let events = &all[0];
    assert_eq!(events[0]["task"]["id"], id.as_str());
    assert_eq!(events.len(), 4, "{events:?}");
    assert_eq!(
        events[1]["statusUpdate"]["status"]["state"],
        "TASK_STATE_WORKING"
    );
    assert_eq!(
        events[2]["artifactUpdate"]["artifact"]["parts"][0]["text"],
        "1;"
    );
    assert_eq!(
        events[3]["statusUpdate"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );

    // A REST stream: bare StreamResponse frames.
    permits.add_permits(10);
    let resp = within(
        "a REST stream",
        s.client
            .post(s.url("/message:stream"))
            .header("A2A-Version", "1.0")
            .json(&json!({"message": user_json("1")}))
            .send(),
    )
    .await
    .expect("stream");
    assert_sse_headers(&resp);
    let events = sse_events(resp).await;
    assert!(events[0].get("task").is_some(), "{events:?}");
    assert!(events.iter().all(|e| e.get("jsonrpc").is_none()));
    assert_eq!(
        events.last().map(|e| &e["statusUpdate"]["status"]["state"]),
        Some(&json!("TASK_STATE_COMPLETED"))
    );
}

#[tokio::test]
async fn http_streaming_disabled_is_unsupported_before_any_sse() {
    let s = serve("plain", no_push_no_stream()).await;
    let v = s
        .rpc("SendStreamingMessage", json!({"message": user_json("x")}))
        .await;
    assert_jsonrpc_error(&v, -32004, "UNSUPPORTED_OPERATION");
    let v = s.rpc("SubscribeToTask", json!({"id": "whatever"})).await;
    assert_jsonrpc_error(&v, -32004, "UNSUPPORTED_OPERATION");
    let v = s
        .rpc(
            "CreateTaskPushNotificationConfig",
            json!({"taskId": "t", "url": "https://h.example"}),
        )
        .await;
    assert_jsonrpc_error(&v, -32003, "PUSH_NOTIFICATION_NOT_SUPPORTED");
    let v = s.rpc("GetExtendedAgentCard", json!({})).await;
    assert_jsonrpc_error(&v, -32004, "UNSUPPORTED_OPERATION");
}

#[tokio::test]
async fn http_card_is_served_at_both_well_known_paths() {
    let s = serve("echo", Arc::new(Echo)).await;
    let mut cards = Vec::new();
    for path in ["/.well-known/agent-card.json", "/.well-known/agent.json"] {
        let resp = within("the card", s.client.get(s.url(path)).send())
            .await
            .expect("card");
        assert_eq!(resp.status(), 200, "{path}");
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(ct.starts_with("application/json"), "{ct}");
        cards.push(resp.json::<Value>().await.expect("json"));
    }
    assert_eq!(cards[0], cards[1]);
    let card = &cards[0];
    assert_eq!(card["name"], "echo");
    assert_eq!(card["capabilities"]["streaming"], true);
    let ifaces = card["supportedInterfaces"].as_array().expect("interfaces");
    let bindings: Vec<&str> = ifaces
        .iter()
        .filter_map(|i| i["protocolBinding"].as_str())
        .collect();
    assert_eq!(bindings, ["JSONRPC", "HTTP+JSON"]);
    assert!(
        ifaces
            .iter()
            .all(|i| i["url"] == s.base.as_str() && i["protocolVersion"] == "1.0")
    );
    // It parses as a v1.0 AgentCard.
    let parsed: AgentCard = serde_json::from_value(card.clone()).expect("valid card");
    assert_eq!(parsed.supported_interfaces.len(), 2);
}

#[tokio::test]
async fn http_v03_message_send_gets_a_v03_task() {
    let s = serve("echo", Arc::new(Echo)).await;
    let body = json!({
        "jsonrpc": "2.0", "id": 7, "method": "message/send",
        "params": {"message": {
            "kind": "message", "messageId": "m-03", "role": "user",
            "parts": [{"kind": "text", "text": "old client"}]
        }}
    });
    // No A2A-Version header: a v0.3 caller.
    let resp = within("a v0.3 reply", s.client.post(s.url("/")).json(&body).send())
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["id"], 7);
    let task = &v["result"];
    assert_eq!(task["kind"], "task", "{v}");
    assert_eq!(task["status"]["state"], "completed");
    assert_eq!(task["artifacts"][0]["parts"][0]["kind"], "text");
    assert_eq!(task["artifacts"][0]["parts"][0]["text"], "old client");
    assert_eq!(task["history"][0]["kind"], "message");
    assert_eq!(task["history"][0]["role"], "user");
    assert_eq!(task["history"][0]["parts"][0]["kind"], "text");

    // Its tasks/get answers in v0.3 too.
    let id = task["id"].as_str().expect("id");
    let body = json!({"jsonrpc": "2.0", "id": 8, "method": "tasks/get", "params": {"id": id}});
    let v: Value = s
        .client
        .post(s.url("/"))
        .json(&body)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(v["result"]["kind"], "task", "{v}");
    assert_eq!(v["result"]["status"]["state"], "completed");
}

#[tokio::test]
async fn http_list_tasks_pages_newest_first() {
    let s = serve("echo", Arc::new(Echo)).await;
    let mut created = HashSet::new();
    for i in 0..7 {
        let v = s
            .rpc(
                "SendMessage",
                json!({"message": user_json(&format!("t{i}"))}),
            )
            .await;
        assert_eq!(
            v["result"]["task"]["status"]["state"],
            "TASK_STATE_COMPLETED"
        );
        created.insert(v["result"]["task"]["id"].as_str().expect("id").to_string());
    }

    let mut seen = Vec::new();
    let mut order = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let mut params = json!({"pageSize": 3});
        if !token.is_empty() {
            params["pageToken"] = json!(token);
        }
        let v = s.rpc("ListTasks", params).await;
        let r = &v["result"];
        pages += 1;
        assert_eq!(r["pageSize"], 3);
        assert_eq!(r["totalSize"], 7);
        let tasks = r["tasks"].as_array().expect("tasks");
        assert!(tasks.len() <= 3);
        for t in tasks {
            assert!(
                t.get("artifacts").is_none(),
                "artifacts absent unless asked: {t}"
            );
            seen.push(t["id"].as_str().expect("id").to_string());
            order.push((
                t["status"]["timestamp"]
                    .as_str()
                    .expect("timestamp")
                    .to_string(),
                t["id"].as_str().expect("id").to_string(),
            ));
        }
        let next = r
            .get("nextPageToken")
            .expect("nextPageToken always present");
        token = next.as_str().expect("string token").to_string();
        if token.is_empty() {
            break;
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 7, "each task exactly once");
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), created);
    // Newest status timestamp first (ties broken by id, both descending).
    let mut sorted = order.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(order, sorted);

    // A single page still carries nextPageToken "".
    let v = s.rpc("ListTasks", json!({"includeArtifacts": true})).await;
    assert_eq!(v["result"]["nextPageToken"], "");
    let tasks = v["result"]["tasks"].as_array().expect("tasks");
    assert_eq!(tasks.len(), 7);
    assert!(tasks.iter().all(|t| t["artifacts"].is_array()));

    // The same over REST.
    let (status, v) = s
        .rest(
            reqwest::Method::GET,
            "/tasks?pageSize=5&includeArtifacts=false",
            None,
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["tasks"].as_array().map(Vec::len), Some(5));
    assert!(v["nextPageToken"].as_str().is_some_and(|t| !t.is_empty()));

    for bad in [json!({"pageSize": 0}), json!({"pageSize": 101})] {
        let v = s.rpc("ListTasks", bad).await;
        assert_jsonrpc_error(&v, -32602, "INVALID_PARAMS");
    }
}

#[tokio::test]
async fn http_input_flow_and_cancel_over_jsonrpc() {
    let s = serve("input", Arc::new(Input)).await;
    let v = s
        .rpc("SendMessage", json!({"message": user_json("hi")}))
        .await;
    let task = &v["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_INPUT_REQUIRED");
    let id = task["id"].as_str().expect("id").to_string();
    let ctx = task["contextId"].as_str().expect("ctx").to_string();

    let mut msg = user_json("Ada");
    msg["taskId"] = json!(id);
    msg["contextId"] = json!("wrong");
    let v = s.rpc("SendMessage", json!({"message": msg})).await;
    assert_jsonrpc_error(&v, -32602, "INVALID_PARAMS");

    msg["contextId"] = json!(ctx);
    let v = s.rpc("SendMessage", json!({"message": msg})).await;
    let task = &v["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{v}");
    assert_eq!(task["artifacts"][0]["parts"][0]["text"], "Hello, Ada!");

    let v = s
        .rpc("SendMessage", json!({"message": user_json("hi")}))
        .await;
    let id = v["result"]["task"]["id"].as_str().expect("id").to_string();
    let v = s.rpc("CancelTask", json!({"id": id})).await;
    assert_eq!(v["result"]["status"]["state"], "TASK_STATE_CANCELED", "{v}");
    let again = s.rpc("CancelTask", json!({"id": id})).await;
    assert_eq!(again["result"]["status"], v["result"]["status"]);
}
