//! Safe retries: a `SendMessage` retried by the same caller gets the
//! original answer, never a second task.
//!
//! A call is recognised by its `Idempotency-Key` header or, without one,
//! by its message id (A2A message ids are unique per message, so a resent
//! message is a retry), always together with the caller and the agent: one
//! caller's key never reaches another caller's answer. The first call
//! goes to the agent; its successful answer is kept for `[retries]
//! window_secs` (in memory, bounded in entries and bytes). A retry with the
//! same request gets that answer (with its own JSON-RPC id); a retry while
//! the first is still running gets 503 with `Retry-After: 1`; the same key
//! on a different request is refused. Failed answers are not kept, so a
//! retry after a failure tries again. Streaming calls are not covered. A
//! push subscription's secret, shown once, is not kept: a retry's answer
//! has everything of the first but `Warden-Push-Secret`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hashlink::LruCache;
use http::{HeaderMap, StatusCode};

use crate::config::RetriesSection;

#[cfg(test)]
mod tests;

/// The request header that names a call for retries.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Which call: caller, agent, and its key or message id.
pub type CallKey = (String, String, String);

/// A kept answer.
#[derive(Debug, Clone)]
pub struct Kept {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

enum Entry {
    Running {
        fingerprint: [u8; 32],
        since: Instant,
    },
    Done {
        fingerprint: [u8; 32],
        at: Instant,
        answer: Kept,
    },
}

/// What a call finds.
#[derive(Debug)]
pub enum Lookup {
    /// New: go ahead (and [`Retries::finish`] or [`Retries::abandon`]).
    First,
    /// A retry of an answered call: its answer.
    Answered(Kept),
    /// A retry while the first call runs.
    Running,
    /// The key was used for a different request.
    Mismatch,
}

pub struct Retries {
    window: Duration,
    max_bytes: usize,
    /// Answer headers shown once and never replayed (a push
    /// subscription's secret): named by the gateway that composes this.
    shown_once: &'static [&'static str],
    inner: Mutex<Inner>,
}

struct Inner {
    entries: LruCache<CallKey, Entry>,
    bytes: usize,
}

impl Retries {
    pub fn new(section: &RetriesSection, shown_once: &'static [&'static str]) -> Self {
        Self {
            window: section.window,
            max_bytes: section.max_bytes,
            shown_once,
            inner: Mutex::new(Inner {
                entries: LruCache::new(section.max_entries.max(1)),
                bytes: 0,
            }),
        }
    }

    pub fn enabled(&self) -> bool {
        !self.window.is_zero()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Looks a call up, and marks a new one as running.
    pub fn begin(&self, key: &CallKey, request: &[u8], now: Instant) -> Lookup {
        let fingerprint = digest(request);
        let mut inner = self.lock();
        let stale = match inner.entries.get(key) {
            Some(Entry::Done { at, .. }) => now.duration_since(*at) > self.window,
            // A call that never finished (its task was dropped) is
            // forgotten after the window too.
            Some(Entry::Running { since, .. }) => now.duration_since(*since) > self.window,
            None => false,
        };
        if stale {
            inner.remove(key);
        }
        match inner.entries.get(key) {
            Some(Entry::Done {
                fingerprint: f,
                answer,
                ..
            }) if *f == fingerprint => Lookup::Answered(answer.clone()),
            Some(Entry::Running { fingerprint: f, .. }) if *f == fingerprint => Lookup::Running,
            Some(_) => Lookup::Mismatch,
            None => {
                inner.insert(
                    key.clone(),
                    Entry::Running {
                        fingerprint,
                        since: now,
                    },
                );
                Lookup::First
            }
        }
    }

    /// Keeps the answer of a call that [`Retries::begin`] let through (one
    /// too large for `max_bytes` is dropped instead), without what is shown
    /// once: a push subscription's `whsec_` secret is not kept here, and a
    /// retry's answer does not carry it (the caller who lost the first
    /// answer verifies with Warden's published keys, or registers again).
    pub fn finish(&self, key: &CallKey, mut answer: Kept, now: Instant) {
        for name in self.shown_once {
            answer.headers.remove(*name);
        }
        let mut inner = self.lock();
        let Some(Entry::Running { fingerprint, .. }) = inner.entries.get(key) else {
            return;
        };
        let fingerprint = *fingerprint;
        inner.remove(key);
        let size = answer.body.len();
        if size > self.max_bytes {
            return;
        }
        while inner.bytes + size > self.max_bytes {
            let Some((_, old)) = inner.entries.remove_lru() else {
                break;
            };
            inner.bytes -= old.size();
        }
        inner.insert(
            key.clone(),
            Entry::Done {
                fingerprint,
                at: now,
                answer,
            },
        );
    }

    /// Forgets a call that failed, so a retry tries again.
    pub fn abandon(&self, key: &CallKey) {
        let mut inner = self.lock();
        if matches!(inner.entries.get(key), Some(Entry::Running { .. })) {
            inner.remove(key);
        }
    }
}

impl Inner {
    fn insert(&mut self, key: CallKey, entry: Entry) {
        self.bytes += entry.size();
        if let Some(old) = self.entries.insert(key, entry) {
            self.bytes -= old.size();
        }
        // The LRU drops its oldest entry past capacity without telling:
        // recount (capacity-bounded, so cheap enough on this rare path).
        if self.entries.len() == self.entries.capacity() {
            self.bytes = self.entries.iter().map(|(_, e)| e.size()).sum();
        }
    }

    fn remove(&mut self, key: &CallKey) {
        if let Some(old) = self.entries.remove(key) {
            self.bytes -= old.size();
        }
    }
}

impl Entry {
    fn size(&self) -> usize {
        match self {
            Entry::Running { .. } => 0,
            Entry::Done { answer, .. } => answer.body.len(),
        }
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// The key a `SendMessage` is known by for retries: its `Idempotency-Key`
/// (at most one, visible ASCII, 1 to 255 characters), else its message id.
pub fn call_key(
    headers: &HeaderMap,
    message_id: Option<&str>,
    caller: &str,
    agent: &str,
) -> Result<Option<CallKey>, warden_a2a::A2aError> {
    let bad = |m: &str| warden_a2a::A2aError::invalid_request(m.to_string());
    let values = warden_a2a::call::readable(headers, IDEMPOTENCY_KEY)
        .map_err(|_| bad("the Idempotency-Key header is not readable (visible ASCII only)"))?;
    let key = match values.as_slice() {
        [] => message_id.map(|m| format!("message:{m}")),
        [one] if !one.is_empty() && one.len() <= 255 => Some(format!("key:{one}")),
        [_] => return Err(bad("an Idempotency-Key is 1 to 255 characters")),
        _ => return Err(bad("send one Idempotency-Key header")),
    };
    Ok(key.map(|k| (caller.to_string(), agent.to_string(), k)))
}

/// What must be equal for a call to be a retry of another: the request
/// without its JSON-RPC id (a client may number its retry anew).
pub fn request_identity(binding: warden_a2a::Binding, body: &[u8], query: Option<&str>) -> Vec<u8> {
    if binding == warden_a2a::Binding::JsonRpc
        && let Ok(serde_json::Value::Object(mut o)) = serde_json::from_slice(body)
    {
        o.remove("id");
        return serde_json::to_vec(&o).unwrap_or_else(|_| body.to_vec());
    }
    let mut out = body.to_vec();
    out.extend_from_slice(b"\n?");
    out.extend_from_slice(query.unwrap_or("").as_bytes());
    out
}

/// Whether an answer is worth keeping: a success that is not a JSON-RPC
/// error (a failed call is tried again on retry).
pub fn keepable(status: StatusCode, binding: warden_a2a::Binding, body: &[u8]) -> bool {
    if !status.is_success() {
        return false;
    }
    binding != warden_a2a::Binding::JsonRpc
        || serde_json::from_slice::<serde_json::Value>(body)
            .is_ok_and(|v| v.get("result").is_some())
}

/// A kept answer for a retry: its JSON-RPC id is the retry's own.
pub fn replay(kept: &Kept, jsonrpc_id: Option<&serde_json::Value>) -> axum::response::Response {
    let body = match jsonrpc_id {
        Some(id) => match serde_json::from_slice::<serde_json::Value>(&kept.body) {
            Ok(serde_json::Value::Object(mut o)) => {
                o.insert("id".into(), id.clone());
                Bytes::from(serde_json::Value::Object(o).to_string())
            }
            _ => kept.body.clone(),
        },
        None => kept.body.clone(),
    };
    let mut out = axum::response::Response::new(axum::body::Body::from(body));
    *out.status_mut() = kept.status;
    *out.headers_mut() = kept.headers.clone();
    out.headers_mut().remove(http::header::CONTENT_LENGTH);
    out
}
