//! [`A2aClient`]: sending a message to an agent over either HTTP binding,
//! with or without streaming, every request through the [`Egress`].

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::{Stream, StreamExt};
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderValue, Method, StatusCode};
use serde_json::{Value, json};
use warden_a2a::Binding;
use warden_a2a::sse::{SseDecoder, SseEvent};
use warden_egress::{Egress, EgressError, Inbound, Outbound};

use crate::card::{CardTrust, Interface, VerifiedCard, fetch_card};
use crate::error::ClientError;
use crate::token::{Clock, Credentials, TokenSource};

/// Largest single stream event read (the egress cap bounds the whole).
const MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;

/// An A2A client: one [`Egress`] for every request, one credential source.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct A2aClient {
    egress: Egress,
    credentials: Arc<Credentials>,
}

/// What `SendMessage` or `SendStreamingMessage` gave back.
pub enum Answer {
    /// The result: a `{"task": …}` or `{"message": …}` object (the
    /// JSON-RPC `result`, or the REST body). Also what a streaming request
    /// gets when the agent answers with plain JSON.
    Result(Value),
    /// Stream events as they come (`{"task"|"message"|"statusUpdate"|
    /// "artifactUpdate": …}`).
    Stream(Events),
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Result(v) => f.debug_tuple("Result").field(v).finish(),
            Self::Stream(_) => f.write_str("Stream(…)"),
        }
    }
}

/// Parsed events of an SSE answer. An A2A error inside the stream comes
/// out as an `Err(ClientError::Agent)` item.
pub struct Events {
    inner: Pin<Box<dyn Stream<Item = Result<Value, ClientError>> + Send>>,
}

impl Stream for Events {
    type Item = Result<Value, ClientError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl A2aClient {
    pub fn new(egress: Egress, tokens: TokenSource) -> Self {
        Self::with_credentials(egress, Credentials::new(tokens))
    }

    /// With a clock of the caller's (tests).
    pub fn with_clock(egress: Egress, tokens: TokenSource, clock: Arc<dyn Clock>) -> Self {
        Self::with_credentials(egress, Credentials::with_clock(tokens, clock))
    }

    pub fn with_credentials(egress: Egress, credentials: Credentials) -> Self {
        Self {
            egress,
            credentials: Arc::new(credentials),
        }
    }

    pub fn egress(&self) -> &Egress {
        &self.egress
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The card of the agent at `base`, verified under `trust`.
    pub async fn fetch_card(
        &self,
        base: &str,
        trust: &CardTrust,
    ) -> Result<VerifiedCard, ClientError> {
        fetch_card(&self.egress, base, trust).await
    }

    /// The card's first `binding` interface, its URL checked by the rules.
    pub async fn interface(
        &self,
        card: &VerifiedCard,
        binding: Binding,
    ) -> Result<Interface, ClientError> {
        Interface::from_card(&self.egress, card, binding).await
    }

    /// `SendMessage` (or `SendStreamingMessage` when `streaming`) with
    /// `message` (an A2A `Message` object) to `iface`.
    ///
    /// JSON-RPC posts to the interface URL; REST posts to
    /// `{url}[/{tenant}]/message:send` or `…/message:stream`, built on the
    /// parsed URL with the tenant as one encoded path segment (a REST URL
    /// with a query or fragment is refused, reason `bad_url`). The
    /// interface's tenant goes into the request too. An A2A error comes
    /// back as [`ClientError::Agent`].
    pub async fn send_message(
        &self,
        iface: &Interface,
        message: Value,
        streaming: bool,
    ) -> Result<Answer, ClientError> {
        let mut params = json!({ "message": message });
        if let Some(t) = iface.tenant() {
            params["tenant"] = json!(t);
        }
        let (url, body) = match iface.binding() {
            Binding::JsonRpc => {
                let method = if streaming {
                    "SendStreamingMessage"
                } else {
                    "SendMessage"
                };
                let id = uuid::Uuid::new_v4().to_string();
                let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
                (iface.url().to_string(), body)
            }
            Binding::Rest => {
                let verb = if streaming {
                    "message:stream"
                } else {
                    "message:send"
                };
                let tenant = iface.tenant().filter(|t| !t.is_empty());
                let segments: Vec<&str> = tenant.into_iter().chain([verb]).collect();
                let url = warden_egress::target::join_segments(iface.url(), &segments)?;
                (url, params)
            }
        };
        let mut req = Outbound::new(Method::POST, url, "call");
        req.headers
            .insert("a2a-version", HeaderValue::from_static(crate::A2A_VERSION));
        req.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        req.headers.insert(
            ACCEPT,
            HeaderValue::from_static(if streaming {
                "text/event-stream"
            } else {
                "application/json"
            }),
        );
        req.body = bytes::Bytes::from(body.to_string());
        req.streaming = streaming;
        let resp = self.send_authenticated(req).await?;
        let jsonrpc = iface.binding() == Binding::JsonRpc;
        if streaming && resp.status().is_success() && is_sse(&resp) {
            return Ok(Answer::Stream(events(resp, jsonrpc)));
        }
        let status = resp.status();
        let body = resp.bytes().await?;
        read_answer(status, &body, jsonrpc).map(Answer::Result)
    }

    /// Sends `req` with the credential headers; once more after a 401 that
    /// asks for a DPoP nonce, or that refused a token from the endpoint
    /// (which may have been used up: Warden's bearer tokens are single-use).
    async fn send_authenticated(&self, req: Outbound) -> Result<Inbound, ClientError> {
        let mut retried = false;
        loop {
            let mut attempt = req.clone();
            attempt.credentials = self
                .credentials
                .headers_for(&self.egress, &attempt.method, &attempt.url)
                .await?;
            let resp = self.egress.send(attempt).await?;
            if resp.status() != StatusCode::UNAUTHORIZED || retried {
                return Ok(resp);
            }
            retried = true;
            if self
                .credentials
                .recover_from_401(&req.url, resp.headers())
                .await
            {
                continue;
            }
            return Ok(resp);
        }
    }
}

fn is_sse(resp: &Inbound) -> bool {
    resp.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|e| e.trim().eq_ignore_ascii_case("text/event-stream"))
        })
}

/// A non-streamed answer: the result, or the A2A error.
fn read_answer(status: StatusCode, body: &[u8], jsonrpc: bool) -> Result<Value, ClientError> {
    let v = warden_json::parse_strict(body, warden_json::JsonLimits::default()).map_err(|e| {
        ClientError::BadAnswer {
            status: status.as_u16(),
            why: format!("not acceptable JSON: {e}"),
        }
    })?;
    if jsonrpc {
        if let Some(error) = v.get("error") {
            return Err(ClientError::Agent {
                status: status.as_u16(),
                error: error.clone(),
            });
        }
        return v.get("result").cloned().ok_or(ClientError::BadAnswer {
            status: status.as_u16(),
            why: "a JSON-RPC answer with neither result nor error".into(),
        });
    }
    if !status.is_success() {
        return Err(ClientError::Agent {
            status: status.as_u16(),
            error: v.get("error").cloned().unwrap_or(v),
        });
    }
    Ok(v)
}

/// One stream event's payload (the JSON-RPC `result`, or the REST event).
fn read_event(event: &SseEvent, jsonrpc: bool) -> Result<Value, ClientError> {
    let v = warden_json::parse_strict(event.data.as_bytes(), warden_json::JsonLimits::default())
        .map_err(|e| ClientError::Stream(format!("an event is not acceptable JSON: {e}")))?;
    if let Some(error) = v.get("error") {
        return Err(ClientError::Agent {
            status: 200,
            error: error.clone(),
        });
    }
    if jsonrpc {
        return v
            .get("result")
            .cloned()
            .ok_or_else(|| ClientError::Stream("a JSON-RPC event without a result".into()));
    }
    Ok(v)
}

/// The SSE body as parsed events; ends after the first transport error.
fn events(resp: Inbound, jsonrpc: bool) -> Events {
    type Chunks = Pin<Box<dyn Stream<Item = Result<bytes::Bytes, EgressError>> + Send + 'static>>;
    struct State {
        chunks: Chunks,
        decoder: SseDecoder,
        pending: VecDeque<Result<Value, ClientError>>,
        done: bool,
    }
    let state = State {
        chunks: Box::pin(resp.stream()),
        decoder: SseDecoder::new(MAX_EVENT_BYTES),
        pending: VecDeque::new(),
        done: false,
    };
    let inner = futures_util::stream::unfold(state, move |mut s| async move {
        loop {
            if let Some(item) = s.pending.pop_front() {
                return Some((item, s));
            }
            if s.done {
                return None;
            }
            match s.chunks.next().await {
                None => s.done = true,
                Some(Err(e)) => {
                    s.done = true;
                    return Some((Err(ClientError::Egress(e)), s));
                }
                Some(Ok(chunk)) => match s.decoder.feed(&chunk) {
                    Ok(evs) => s
                        .pending
                        .extend(evs.iter().map(|ev| read_event(ev, jsonrpc))),
                    Err(e) => {
                        s.done = true;
                        return Some((Err(e.into()), s));
                    }
                },
            }
        }
    });
    Events {
        inner: Box::pin(inner),
    }
}
