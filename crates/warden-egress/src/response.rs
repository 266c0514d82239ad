//! An answer that came back through egress: its body is read within the
//! size cap, counted chunk by chunk (a `Content-Length` is not trusted),
//! and within the total deadline, or for streams, the idle limit.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use http::{HeaderMap, StatusCode};
use url::Url;

use crate::client::classify;
use crate::error::EgressError;
use crate::policy::EgressPolicy;

pub struct Inbound {
    resp: reqwest::Response,
    url: Url,
    cap: u64,
    deadline: Instant,
    idle: Duration,
    streaming: bool,
}

impl std::fmt::Debug for Inbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbound")
            .field("status", &self.resp.status())
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

impl Inbound {
    pub(crate) fn new(
        resp: reqwest::Response,
        url: Url,
        p: &EgressPolicy,
        deadline: Instant,
        streaming: bool,
    ) -> Self {
        Self {
            resp,
            url,
            cap: p.max_response_bytes,
            deadline,
            idle: Duration::from_millis(p.idle_timeout_ms),
            streaming,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.resp.status()
    }

    pub fn headers(&self) -> &HeaderMap {
        self.resp.headers()
    }

    /// The headers, moved out (left empty): a proxy relaying them needs no
    /// copy. The body's length and reading do not depend on them.
    pub fn take_headers(&mut self) -> HeaderMap {
        std::mem::take(self.resp.headers_mut())
    }

    /// The URL that answered (after any redirects followed).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The body read whole, within `cap` bytes (at most the policy's) and
    /// the total deadline: a slow drip is cut off like a silent peer.
    pub async fn bytes_capped(self, cap: u64) -> Result<Bytes, EgressError> {
        let cap = cap.min(self.cap);
        if self.resp.content_length().is_some_and(|n| n > cap) {
            return Err(EgressError::TooLarge(cap));
        }
        let deadline = self.deadline;
        let mut body = BytesMut::new();
        let mut stream = Box::pin(self.resp.bytes_stream());
        loop {
            let next = tokio::time::timeout_at(deadline.into(), stream.next()).await;
            match next {
                Err(_) => {
                    return Err(EgressError::Timeout(
                        "body not complete within the total timeout",
                    ));
                }
                Ok(None) => return Ok(body.freeze()),
                Ok(Some(Err(e))) => return Err(classify(&e)),
                Ok(Some(Ok(chunk))) => {
                    if body.len() as u64 + chunk.len() as u64 > cap {
                        return Err(EgressError::TooLarge(cap));
                    }
                    body.extend_from_slice(&chunk);
                }
            }
        }
    }

    /// The body read whole within the policy's cap.
    pub async fn bytes(self) -> Result<Bytes, EgressError> {
        let cap = self.cap;
        self.bytes_capped(cap).await
    }

    /// The body as chunks, ending with an error once `cap` bytes have
    /// passed or no chunk came within the idle limit (and, unless the
    /// request was marked streaming, the total deadline). A streaming
    /// request's body (SSE) may run as long as its peer keeps sending: its
    /// reader bounds each event instead, and the idle limit still holds.
    pub fn stream(self) -> impl Stream<Item = Result<Bytes, EgressError>> + Send + 'static {
        let Self {
            resp,
            cap,
            deadline,
            idle,
            streaming,
            ..
        } = self;
        let inner = Box::pin(resp.bytes_stream());
        futures_util::stream::unfold(
            (inner, 0u64, false),
            move |(mut inner, seen, done)| async move {
                if done {
                    return None;
                }
                let wait = if streaming {
                    Instant::now() + idle
                } else {
                    deadline.min(Instant::now() + idle)
                };
                match tokio::time::timeout_at(wait.into(), inner.next()).await {
                    Err(_) => Some((
                        Err(EgressError::Timeout("no data within the idle timeout")),
                        (inner, seen, true),
                    )),
                    Ok(None) => None,
                    Ok(Some(Err(e))) => Some((Err(classify(&e)), (inner, seen, true))),
                    Ok(Some(Ok(chunk))) => {
                        let seen = seen + chunk.len() as u64;
                        if seen > cap && !streaming {
                            Some((Err(EgressError::TooLarge(cap)), (inner, seen, true)))
                        } else {
                            Some((Ok(chunk), (inner, seen, false)))
                        }
                    }
                }
            },
        )
    }
}
