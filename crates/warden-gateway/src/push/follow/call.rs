//! Calling the agent for a follow, the way the proxy calls it: through the
//! upstream client (the agent's egress rules and timeouts), at the
//! JSON-RPC endpoint the agent's verified card (or the operator) names, in
//! A2A v1.0, with Warden's upstream token naming the task's owner when
//! `auth.upstream_tokens` is on. Every answer is checked as the relay
//! checks an agent's notification before anything is made of it.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http::{HeaderMap, HeaderValue, Method, header};
use serde_json::{Value, json};
use warden_a2a::Binding;

use crate::state::GatewayState;

/// Why a call for a follow gave nothing.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The agent could not be reached, failed, or answered with an error
    /// that may pass: tried again after a wait.
    #[error("{0}")]
    Unavailable(String),
    /// The agent says the task is not there (any more): the follow ends.
    #[error("the agent does not know the task")]
    Gone,
    /// The agent answered something that is not a valid A2A answer.
    #[error("an invalid answer: {0}")]
    Invalid(String),
}

/// `TaskNotFoundError`, in both versions' JSON-RPC codes.
const TASK_NOT_FOUND: i64 = -32001;

/// One followed task at its agent.
pub struct Target<'a> {
    pub state: &'a GatewayState,
    pub agent: &'a str,
    pub task: &'a str,
    pub owner: &'a str,
}

impl Target<'_> {
    /// `GetTask`: the task as it is now (its v1.0 JSON).
    pub async fn get_task(&self) -> Result<Value, CallError> {
        let resp = self.send("GetTask", false).await?;
        let cap = self.state.config.limits.max_response_body_bytes.get();
        let status = resp.status();
        let body = resp
            .bytes_capped(cap as u64)
            .await
            .map_err(|e| CallError::Unavailable(e.to_string()))?;
        let result = self.result(status, &body)?;
        let mut wrapped = json!({ "task": result });
        self.check(&wrapped)?;
        Ok(wrapped["task"].take())
    }

    /// `SubscribeToTask`: the task's events as v1.0 `StreamResponse`s, each
    /// checked; the stream ends with the agent's, or with the first error.
    pub async fn subscribe(
        &self,
    ) -> Result<impl Stream<Item = Result<Value, CallError>> + Send + 'static, CallError> {
        let resp = self.send("SubscribeToTask", true).await?;
        let status = resp.status();
        let sse = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("text/event-stream"));
        if !sse {
            let cap = self.state.config.limits.max_response_body_bytes.get();
            let body = resp.bytes_capped(cap as u64).await.unwrap_or_default();
            // An error answer (the task is gone, or finished: an agent may
            // refuse to subscribe to a terminal task).
            self.result(status, &body)?;
            return Err(CallError::Invalid(
                "a subscription answered without a stream".into(),
            ));
        }
        let limits = self.state.json_limits();
        let max_event = self.state.config.limits.max_response_body_bytes.get();
        let task = self.task.to_string();
        let chunks = resp.stream();
        let events = futures_util::stream::unfold(
            (Box::pin(chunks), Vec::<u8>::new(), false),
            move |(mut chunks, mut buf, done): (_, Vec<u8>, bool)| {
                let task = task.clone();
                async move {
                    if done {
                        return None;
                    }
                    loop {
                        if let Some(end) = crate::authz::ownership::event_end(&buf) {
                            let event: Vec<u8> = buf.drain(..end).collect();
                            match stream_event(&event, &task, limits) {
                                Ok(None) => continue,
                                Ok(Some(v)) => return Some((Ok(v), (chunks, buf, false))),
                                Err(e) => return Some((Err(e), (chunks, buf, true))),
                            }
                        }
                        if buf.len() > max_event {
                            let e = CallError::Invalid("an event over the size cap".into());
                            return Some((Err(e), (chunks, buf, true)));
                        }
                        match chunks.next().await {
                            Some(Ok(chunk)) => buf.extend_from_slice(&chunk),
                            Some(Err(e)) => {
                                let e = CallError::Unavailable(e.to_string());
                                return Some((Err(e), (chunks, buf, true)));
                            }
                            None => return None,
                        }
                    }
                }
            },
        );
        Ok(events)
    }

    async fn send(
        &self,
        method: &str,
        streaming: bool,
    ) -> Result<warden_egress::Inbound, CallError> {
        let state = self.state;
        let up = state
            .upstreams
            .get(self.agent)
            .ok_or_else(|| CallError::Unavailable("the agent is not configured".into()))?;
        let url = state
            .upstreams
            .endpoint(&up, Binding::JsonRpc)
            .await
            .map_err(|e| CallError::Unavailable(e.message.clone()))?;
        let body = json!({
            "jsonrpc": "2.0", "id": 1, "method": method, "params": {"id": self.task},
        });
        let mut req = warden_egress::Outbound::new(Method::POST, url, "proxy");
        req.headers = self.headers(streaming);
        req.body = Bytes::from(body.to_string());
        req.streaming = streaming;
        state
            .upstreams
            .client()
            .send(req)
            .await
            .map_err(|e| CallError::Unavailable(format!("{e} [{}]", e.reason())))
    }

    fn headers(&self, streaming: bool) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static(if streaming {
                "text/event-stream"
            } else {
                "application/json"
            }),
        );
        h.insert("a2a-version", HeaderValue::from_static("1.0"));
        let state = self.state;
        if state.config.auth.upstream_tokens && state.auth.mode == crate::config::AuthMode::Strict {
            // The task's owner, as the proxy names the caller (`act`).
            let (issuer, subject) = match self.owner.split_once('#') {
                Some((i, s)) => (i, s),
                None => ("", self.owner),
            };
            let actor = warden_authority::Actor {
                subject,
                issuer,
                scopes: &[],
            };
            let now = state.clock.now_unix();
            if let Some(token) = state.auth.authority.upstream_token(self.agent, actor, now)
                && let Ok(v) = HeaderValue::from_str(&format!("Bearer {token}"))
            {
                h.insert(header::AUTHORIZATION, v);
            }
        }
        h
    }

    /// The `result` of a JSON-RPC answer; its error mapped.
    fn result(&self, status: http::StatusCode, body: &[u8]) -> Result<Value, CallError> {
        let v = warden_a2a::json::parse_strict(body, self.state.json_limits())
            .map_err(|_| CallError::Invalid(format!("HTTP {status}, not JSON")))?;
        if let Some(err) = v.get("error") {
            if err.get("code").and_then(Value::as_i64) == Some(TASK_NOT_FOUND) {
                return Err(CallError::Gone);
            }
            return Err(CallError::Unavailable(format!(
                "the agent answered an error: {}",
                err.get("message").and_then(Value::as_str).unwrap_or("?")
            )));
        }
        if !status.is_success() {
            return Err(CallError::Unavailable(format!("HTTP {status}")));
        }
        v.get("result")
            .cloned()
            .ok_or_else(|| CallError::Invalid("a JSON-RPC answer without a result".into()))
    }

    fn check(&self, response: &Value) -> Result<(), CallError> {
        check(response, self.task, self.state.json_limits())
    }
}

/// A `StreamResponse` about `task`, checked as the relay checks one.
pub fn check(
    response: &Value,
    task: &str,
    limits: warden_a2a::JsonLimits,
) -> Result<(), CallError> {
    crate::answers::notification(response.to_string().as_bytes(), Some(task), limits)
        .map(|_| ())
        .map_err(|e| CallError::Invalid(e.0))
}

/// One event of the stream: its `StreamResponse`, None for a keep-alive.
fn stream_event(
    event: &[u8],
    task: &str,
    limits: warden_a2a::JsonLimits,
) -> Result<Option<Value>, CallError> {
    let data = warden_a2a::sse::event_data(event)
        .map_err(|_| CallError::Invalid("an event that is not UTF-8".into()))?;
    let Some(data) = data else {
        return Ok(None);
    };
    let v = warden_a2a::json::parse_strict(data.as_bytes(), limits)
        .map_err(|e| CallError::Invalid(format!("an event that is not strict JSON ({e})")))?;
    if let Some(err) = v.get("error") {
        if err.get("code").and_then(Value::as_i64) == Some(TASK_NOT_FOUND) {
            return Err(CallError::Gone);
        }
        return Err(CallError::Unavailable(
            "the stream ended with an error".into(),
        ));
    }
    let result = v
        .get("result")
        .cloned()
        .ok_or_else(|| CallError::Invalid("an event without a result".into()))?;
    check(&result, task, limits)?;
    Ok(Some(result))
}
