//! Task ownership, kept from the answers: a task created through Warden is
//! recorded against its caller as soon as its id appears (a `SendMessage`
//! answer, or the first event of a stream that names it), in the owner book
//! before the caller can see that id (the store follows, from the book's
//! writer); ListTasks answers are cut to the caller's own tasks.

mod book;
mod writer;

use bytes::Bytes;
use serde_json::Value;
use warden_a2a::{Binding, JsonLimits};

pub use book::{BookError, OwnerBook};

/// A task (and its context) named in an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRef {
    pub task_id: Option<String>,
    pub context_id: Option<String>,
}

/// The task and context an A2A result object names: a v1.0 `{task}`,
/// `{message}`, `{statusUpdate}` or `{artifactUpdate}` wrapper, or a v0.3
/// object with `kind`.
pub fn task_ref(result: &Value) -> Option<TaskRef> {
    let obj = result.as_object()?;
    for key in ["task", "message", "statusUpdate", "artifactUpdate"] {
        if let Some(inner) = obj.get(key) {
            return refs_of(inner, key == "task");
        }
    }
    match obj.get("kind").and_then(Value::as_str) {
        Some("task") => refs_of(result, true),
        Some("message" | "status-update" | "artifact-update") => refs_of(result, false),
        _ => None,
    }
}

fn refs_of(v: &Value, is_task: bool) -> Option<TaskRef> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let task_id = if is_task { s("id") } else { s("taskId") };
    let r = TaskRef {
        task_id,
        context_id: s("contextId"),
    };
    (r.task_id.is_some() || r.context_id.is_some()).then_some(r)
}

/// The result object of a non-streaming answer in either binding.
fn result_of(body: &Value, binding: Binding) -> Option<&Value> {
    match binding {
        Binding::JsonRpc => body.get("result"),
        Binding::Rest => Some(body),
    }
}

/// Records what a successful `SendMessage` answer names.
pub fn record_answer(
    book: &OwnerBook,
    agent: &str,
    owner: &str,
    body: &[u8],
    binding: Binding,
    limits: JsonLimits,
) -> Result<(), BookError> {
    let Ok(v) = warden_a2a::json::parse_strict(body, limits) else {
        return Ok(());
    };
    if let Some(r) = result_of(&v, binding).and_then(task_ref) {
        record(book, agent, owner, &r)?;
    }
    Ok(())
}

/// What a successful non-streaming answer means for ownership: a
/// `SendMessage` answer's task is recorded (before the caller sees it); a
/// ListTasks answer is cut to the caller's tasks. Returns the body to relay
/// and whether it changed. Fails closed: an owner that cannot be recorded,
/// or a list that cannot be read, is not relayed.
pub async fn after_answer(
    book: &OwnerBook,
    limits: warden_a2a::JsonLimits,
    agent: &str,
    owner: &str,
    op: &warden_a2a::A2aOp,
    body: Bytes,
) -> Result<(Bytes, bool), warden_a2a::A2aError> {
    use warden_a2a::{A2aError, ErrorKind, Operation};
    let unavailable = || {
        A2aError::new(
            ErrorKind::Unavailable,
            "task ownership cannot be recorded right now",
        )
    };
    match op.operation {
        Operation::SendMessage => {
            record_answer(book, agent, owner, &body, op.binding, limits).map_err(|e| {
                tracing::error!(error = %e, "task ownership not recorded; answer withheld");
                unavailable()
            })?;
            Ok((body, false))
        }
        Operation::ListTasks => {
            let unreadable = || {
                A2aError::new(
                    ErrorKind::InvalidAgentResponse,
                    format!("agent {agent:?} sent a task list that cannot be read"),
                )
            };
            // An error answer (no `tasks`) passes unchanged.
            let Some(ids) = listed_ids(&body, op.binding, limits) else {
                return Ok((body, false));
            };
            let mut mine = std::collections::HashSet::new();
            for id in &ids {
                let rec = book
                    .task_owner(agent, id)
                    .await
                    .map_err(|_| unavailable())?;
                if rec.is_some_and(|r| r.owner == owner) {
                    mine.insert(id.clone());
                }
            }
            // An answer that holds every task matching the request (one
            // page, the agent's own total equal to what it listed) gives the
            // caller's exact count, whatever the filters. Otherwise the count
            // comes from the store (what is queued goes first), which knows
            // owners and contexts but not states: with a `status` or time
            // filter over several pages it is an upper bound.
            let total = if lists_everything(&body, op.binding, limits, ids.len()) {
                i64::try_from(mine.len()).unwrap_or(i64::MAX)
            } else {
                // The count waits for the writer, which waits for the
                // store: not while it is known to be down.
                if !book.store_reachable() {
                    book.health().refused(crate::store_health::Need::TaskCount);
                    return Err(unavailable());
                }
                book.flush().await;
                book.store()
                    .count_owned_tasks(agent, owner, op.context_id.as_deref())
                    .await
                    .map_err(|_| unavailable())?
            };
            let out = filter_list(&body, op.binding, limits, &|id| mine.contains(id), total)
                .ok_or_else(unreadable)?;
            Ok((out, true))
        }
        _ => Ok((body, false)),
    }
}

/// Records a task and its context against `owner` (never overwriting).
pub fn record(book: &OwnerBook, agent: &str, owner: &str, r: &TaskRef) -> Result<(), BookError> {
    book.record(agent, r.task_id.as_deref(), r.context_id.as_deref(), owner)
}

/// Cuts a ListTasks answer down to the tasks `visible` accepts, and sets
/// `totalSize` to `total` (the caller's own count, not the agent's).
pub fn filter_list(
    body: &[u8],
    binding: Binding,
    limits: JsonLimits,
    visible: &dyn Fn(&str) -> bool,
    total: i64,
) -> Option<Bytes> {
    let mut v = warden_a2a::json::parse_strict(body, limits).ok()?;
    let result = match binding {
        Binding::JsonRpc => v.get_mut("result")?,
        Binding::Rest => &mut v,
    };
    let tasks = result.get_mut("tasks")?.as_array_mut()?;
    tasks.retain(|t| t.get("id").and_then(Value::as_str).is_some_and(visible));
    if let Some(obj) = result.as_object_mut()
        && obj.contains_key("totalSize")
    {
        obj.insert("totalSize".into(), Value::from(total));
    }
    Some(Bytes::from(v.to_string()))
}

/// Whether a ListTasks answer is the whole result: no further page, and
/// the agent's `totalSize` equal to the `listed` tasks it sent.
fn lists_everything(body: &[u8], binding: Binding, limits: JsonLimits, listed: usize) -> bool {
    let Ok(v) = warden_a2a::json::parse_strict(body, limits) else {
        return false;
    };
    let Some(result) = result_of(&v, binding) else {
        return false;
    };
    let last_page = result
        .get("nextPageToken")
        .is_none_or(|t| t.as_str() == Some(""));
    let total = result.get("totalSize").and_then(Value::as_u64);
    last_page && total == u64::try_from(listed).ok()
}

/// The task ids a ListTasks answer holds.
pub fn listed_ids(body: &[u8], binding: Binding, limits: JsonLimits) -> Option<Vec<String>> {
    let v = warden_a2a::json::parse_strict(body, limits).ok()?;
    let tasks = result_of(&v, binding)?.get("tasks")?.as_array()?;
    Some(
        tasks
            .iter()
            .filter_map(|t| t.get("id").and_then(Value::as_str).map(str::to_owned))
            .collect(),
    )
}

/// Watches a relayed SSE stream for the first task it names and records it
/// before that event reaches the caller. Stops looking once recorded.
pub struct TaskTap {
    book: std::sync::Arc<OwnerBook>,
    agent: String,
    owner: String,
    buf: Vec<u8>,
    cap: usize,
    done: bool,
}

impl TaskTap {
    pub fn new(book: std::sync::Arc<OwnerBook>, agent: &str, owner: &str, cap: usize) -> Self {
        Self {
            book,
            agent: agent.to_string(),
            owner: owner.to_string(),
            buf: Vec::new(),
            cap,
            done: false,
        }
    }

    /// Looks at one chunk (awaiting the record when it completes an event
    /// naming a task). False when the owner could not be recorded: the
    /// stream must end there, before the caller learns an unowned task id
    /// (fails closed, like the non-streaming path).
    pub async fn observe(&mut self, chunk: &[u8]) -> bool {
        if self.done {
            return true;
        }
        self.buf.extend_from_slice(chunk);
        while let Some(end) = event_end(&self.buf) {
            let event: Vec<u8> = self.buf.drain(..end).collect();
            if let Some(r) = event_task_ref(&event) {
                if let Err(e) = record(&self.book, &self.agent, &self.owner, &r) {
                    tracing::error!(error = %e, "could not record a streamed task's owner; closing the stream");
                    self.done = true;
                    return false;
                }
                if r.task_id.is_some() {
                    self.done = true;
                    self.buf = Vec::new();
                    return true;
                }
            }
        }
        if self.buf.len() > self.cap {
            // The relay refuses oversize events itself; stop looking.
            self.done = true;
            self.buf = Vec::new();
        }
        true
    }
}

/// Where the first complete event in `buf` ends (after its blank line).
/// Where the first whole SSE event in `buf` ends (after its blank line).
pub(crate) fn event_end(buf: &[u8]) -> Option<usize> {
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|p| p + 2);
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The task an SSE event's data names (JSON-RPC `result` or a REST body).
fn event_task_ref(event: &[u8]) -> Option<TaskRef> {
    let joined = warden_a2a::sse::event_data(event).ok()??;
    let v = warden_a2a::json::parse_strict(joined.as_bytes(), JsonLimits::default()).ok()?;
    v.get("result").and_then(task_ref).or_else(|| task_ref(&v))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn task_refs_in_every_shape() {
        let t = |id: &str, c: &str| TaskRef {
            task_id: Some(id.into()),
            context_id: Some(c.into()),
        };
        assert_eq!(
            task_ref(&json!({"task": {"id": "t1", "contextId": "c1"}})),
            Some(t("t1", "c1"))
        );
        assert_eq!(
            task_ref(&json!({"statusUpdate": {"taskId": "t1", "contextId": "c1"}})),
            Some(t("t1", "c1"))
        );
        assert_eq!(
            task_ref(&json!({"kind": "task", "id": "t1", "contextId": "c1"})),
            Some(t("t1", "c1"))
        );
        assert_eq!(
            task_ref(&json!({"message": {"messageId": "m", "contextId": "c1"}})),
            Some(TaskRef {
                task_id: None,
                context_id: Some("c1".into())
            })
        );
        assert_eq!(task_ref(&json!({"other": 1})), None);
    }

    #[test]
    fn list_answers_are_filtered() {
        let body = json!({"jsonrpc": "2.0", "id": 1, "result": {
            "tasks": [{"id": "mine"}, {"id": "theirs"}], "totalSize": 2, "nextPageToken": ""}})
        .to_string();
        let out = filter_list(
            body.as_bytes(),
            Binding::JsonRpc,
            JsonLimits::default(),
            &|id| id == "mine",
            1,
        )
        .expect("filtered");
        let v: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v["result"]["tasks"], json!([{"id": "mine"}]));
        assert_eq!(v["result"]["totalSize"], json!(1));
        assert_eq!(
            listed_ids(body.as_bytes(), Binding::JsonRpc, JsonLimits::default()),
            Some(vec!["mine".to_string(), "theirs".to_string()])
        );
    }

    #[test]
    fn only_a_whole_answer_gives_the_exact_count() {
        let answer = |total: u64, next: &str| {
            json!({"tasks": [{"id": "a"}, {"id": "b"}], "totalSize": total, "nextPageToken": next})
                .to_string()
        };
        let limits = JsonLimits::default();
        assert!(lists_everything(
            answer(2, "").as_bytes(),
            Binding::Rest,
            limits,
            2
        ));
        assert!(!lists_everything(
            answer(5, "").as_bytes(),
            Binding::Rest,
            limits,
            2
        ));
        assert!(!lists_everything(
            answer(2, "p2").as_bytes(),
            Binding::Rest,
            limits,
            2
        ));
        let rpc =
            json!({"jsonrpc": "2.0", "id": 1, "result": {"tasks": [], "totalSize": 0}}).to_string();
        assert!(lists_everything(
            rpc.as_bytes(),
            Binding::JsonRpc,
            limits,
            0
        ));
    }

    #[test]
    fn events_are_split_and_read() {
        let ev = b"event: x\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"task\":{\"id\":\"t9\",\"contextId\":\"c9\"}}}\n\n";
        assert_eq!(event_end(ev), Some(ev.len()));
        assert_eq!(
            event_task_ref(ev).and_then(|r| r.task_id),
            Some("t9".to_string())
        );
    }
}
