//! Relaying an SSE response: chunk by chunk as the upstream sends it, never
//! buffered whole. Adds keep-alive comments on quiet streams (only between
//! events, so framing is never broken), closes streams idle past the limit,
//! and bounds the size of a single event.

use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{BoxStream, Stream, StreamExt};
use prometheus_client::metrics::gauge::Gauge;

/// The comment sent on quiet streams.
pub const KEEPALIVE: &[u8] = b": keep-alive\n\n";

#[derive(Debug, Clone, Copy)]
pub struct StreamLimits {
    pub keepalive: Duration,
    pub idle: Duration,
    pub max_event_bytes: usize,
}

/// Tracks whether the bytes sent so far end between two events.
#[derive(Debug, Default)]
struct Framing {
    /// The last (up to) four bytes sent, at the end of the array: enough
    /// to find a `\r\n\r\n` that a chunk completes.
    tail: [u8; 4],
    tail_len: usize,
    since_boundary: usize,
}

/// Where the last blank line (`\n\n` or `\r\n\r\n`) in `bytes` ends.
fn last_boundary(bytes: &[u8]) -> Option<usize> {
    let lf = bytes.windows(2).rposition(|w| w == b"\n\n").map(|p| p + 2);
    let crlf = bytes
        .windows(4)
        .rposition(|w| w == b"\r\n\r\n")
        .map(|p| p + 4);
    lf.max(crlf)
}

impl Framing {
    fn tail(&self) -> &[u8] {
        &self.tail[4 - self.tail_len..]
    }

    fn at_boundary(&self) -> bool {
        let tail = self.tail();
        tail.is_empty() || tail.ends_with(b"\n\n") || tail.ends_with(b"\r\n\r\n")
    }

    /// Notes `chunk` as sent. Reads it in place: only a blank line across
    /// the seam with the bytes before it is looked for in a copy (of at
    /// most seven bytes).
    fn push(&mut self, chunk: &[u8]) {
        let t = self.tail_len;
        let mut seam = [0u8; 7];
        let head = chunk.len().min(3);
        seam[..t].copy_from_slice(self.tail());
        seam[t..t + head].copy_from_slice(&chunk[..head]);
        // Offsets in the tail followed by the chunk; only blank lines that
        // end in the chunk count (one wholly in the tail was counted).
        let across = last_boundary(&seam[..t + head]).filter(|&p| p > t);
        let inside = last_boundary(chunk).map(|p| p + t);
        self.since_boundary = match inside.max(across) {
            Some(p) => t + chunk.len() - p,
            None => self.since_boundary + chunk.len(),
        };
        if chunk.len() >= 4 {
            self.tail.copy_from_slice(&chunk[chunk.len() - 4..]);
            self.tail_len = 4;
        } else {
            let mut joined = [0u8; 7];
            let n = t + chunk.len();
            joined[..t].copy_from_slice(self.tail());
            joined[t..n].copy_from_slice(chunk);
            let keep = n.min(4);
            self.tail[4 - keep..].copy_from_slice(&joined[n - keep..n]);
            self.tail_len = keep;
        }
    }
}

/// Decrements the open-streams gauge when the relay ends or is dropped
/// (for instance when the client disconnects).
struct OpenStream(Gauge);

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// What authorisation attaches to a relayed stream.
#[derive(Default)]
pub struct RelayHooks {
    /// Closes the stream when its caller or agent is quarantined, and
    /// holds the caller's stream slot.
    pub guard: Option<crate::authz::StreamGuard>,
    /// Records the task the stream creates before the caller sees its id.
    pub tap: Option<crate::authz::ownership::TaskTap>,
    /// Checks every event before the caller sees it (see
    /// [`crate::answers`]); then only whole events are relayed.
    pub check: Option<crate::answers::CheckedEvents>,
    /// Told why when the answer turns out invalid (the audit).
    pub report: Option<crate::answers::Report>,
}

struct State {
    upstream: BoxStream<'static, Result<Bytes, warden_egress::EgressError>>,
    hooks: RelayHooks,
    framing: Framing,
    limits: StreamLimits,
    last_upstream: tokio::time::Instant,
    _open: OpenStream,
    done: bool,
}

/// Wraps an upstream byte stream for relaying to the client.
pub fn relay(
    upstream: impl Stream<Item = Result<Bytes, warden_egress::EgressError>> + Send + 'static,
    limits: StreamLimits,
    open_streams: Gauge,
    hooks: RelayHooks,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    open_streams.inc();
    let state = State {
        upstream: upstream.boxed(),
        hooks,
        framing: Framing::default(),
        limits,
        last_upstream: tokio::time::Instant::now(),
        _open: OpenStream(open_streams),
        done: false,
    };
    futures_util::stream::unfold(state, |mut s| async move {
        if s.done {
            return None;
        }
        loop {
            let idle_left = s.limits.idle.saturating_sub(s.last_upstream.elapsed());
            if idle_left.is_zero() {
                tracing::debug!("closing an SSE stream idle past the limit");
                return None;
            }
            let wait = s.limits.keepalive.min(idle_left);
            let guard = s.hooks.guard.as_mut();
            let cut = async move {
                match guard {
                    Some(g) => g.cut_off().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = cut => {
                    tracing::info!("closing an SSE stream: its caller or agent was quarantined, or the caller's grant revoked");
                    let checked = s.hooks.check.as_ref()?;
                    // Only whole events were relayed, so an event may follow.
                    let err = warden_a2a::A2aError::new(
                        warden_a2a::ErrorKind::Forbidden,
                        "this stream was closed by Warden: the caller or the agent was quarantined, or the caller's grant was revoked",
                    );
                    s.done = true;
                    return Some((Ok(checked.closing_event(&err)), s));
                }
                next = s.upstream.next() => {
                    return match next {
                        Some(Ok(chunk)) => {
                            s.last_upstream = tokio::time::Instant::now();
                            let (chunk, end) = match s.hooks.check.as_mut() {
                                Some(c) => c.feed(&chunk, s.limits.max_event_bytes),
                                None => (chunk, false),
                            };
                            if end {
                                // The error event that replaces the invalid one.
                                s.done = true;
                                return Some((Ok(chunk), s));
                            }
                            if chunk.is_empty() {
                                continue;
                            }
                            s.framing.push(&chunk);
                            if s.framing.since_boundary > s.limits.max_event_bytes {
                                tracing::warn!(cap = s.limits.max_event_bytes, "closing an SSE stream: event over the size cap");
                                return None;
                            }
                            if let Some(tap) = s.hooks.tap.as_mut()
                                && !tap.observe(&chunk).await
                            {
                                return None;
                            }
                            Some((Ok(chunk), s))
                        }
                        Some(Err(e)) => {
                            // The upstream broke off; end the client's stream the same way.
                            s.done = true;
                            Some((Err(std::io::Error::other(e)), s))
                        }
                        None => None,
                    };
                }
                () = tokio::time::sleep(wait) => {
                    if s.framing.at_boundary() && s.last_upstream.elapsed() < s.limits.idle {
                        s.framing.push(KEEPALIVE);
                        return Some((Ok(Bytes::from_static(KEEPALIVE)), s));
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_knows_event_boundaries_across_chunks() {
        let mut f = Framing::default();
        assert!(f.at_boundary());
        f.push(b"data: {\"a\":");
        assert!(!f.at_boundary());
        f.push(b"1}\n");
        assert!(!f.at_boundary());
        f.push(b"\n");
        assert!(f.at_boundary());
        assert_eq!(f.since_boundary, 0);
        f.push(b"data: x\r\n\r\n");
        assert!(f.at_boundary());
        f.push(b"data: 12345");
        assert_eq!(f.since_boundary, 11);
    }

    /// What `push` computed when it joined the tail and the chunk into a
    /// new vector (the reference the in-place reading must agree with).
    fn reference(tail: &mut Vec<u8>, since: &mut usize, chunk: &[u8]) {
        let joined: Vec<u8> = tail.iter().chain(chunk).copied().collect();
        *since = match last_boundary(&joined) {
            Some(p) if p > tail.len() => joined.len() - p,
            Some(_) | None => *since + chunk.len(),
        };
        let keep = joined.len().saturating_sub(4);
        *tail = joined[keep..].to_vec();
    }

    #[test]
    fn framing_in_place_agrees_with_joining_every_chunk() {
        let text: &[u8] = b"data: {\"a\":1}\n\n: c\r\n\r\ndata: x\r\ndata: y\n\n\n\r\n\r\n\r\ndata: zz\n\r\n\n\ndata: end\r\n\r\n";
        let mut seed = 0x2545_f491_u64;
        for _ in 0..2000 {
            let (mut f, mut tail, mut since) = (Framing::default(), Vec::new(), 0usize);
            let mut at = 0;
            while at < text.len() {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let n = ((seed >> 33) % 7) as usize; // empty chunks too
                let chunk = &text[at..(at + n).min(text.len())];
                f.push(chunk);
                reference(&mut tail, &mut since, chunk);
                assert_eq!(f.tail(), tail.as_slice());
                assert_eq!(f.since_boundary, since);
                at += chunk.len();
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn keepalive_is_sent_between_events_only() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, warden_egress::EgressError>>(4);
        let upstream = tokio_stream::wrappers::ReceiverStream::new(rx);
        let limits = StreamLimits {
            keepalive: Duration::from_secs(1),
            idle: Duration::from_secs(10),
            max_event_bytes: 1024,
        };
        let gauge = Gauge::default();
        let mut out = Box::pin(relay(
            upstream,
            limits,
            gauge.clone(),
            RelayHooks::default(),
        ));
        assert_eq!(gauge.get(), 1);
        tx.send(Ok(Bytes::from_static(b"data: 1\n")))
            .await
            .expect("send");
        assert_eq!(out.next().await.expect("chunk").expect("ok"), "data: 1\n");
        // Mid-event: no keep-alive may be inserted, however long the pause.
        tx.send(Ok(Bytes::from_static(b"\n"))).await.expect("send");
        assert_eq!(out.next().await.expect("chunk").expect("ok"), "\n");
        // Between events and quiet: a keep-alive comment.
        assert_eq!(out.next().await.expect("chunk").expect("ok"), KEEPALIVE);
        drop(tx);
        assert!(out.next().await.is_none());
        drop(out);
        assert_eq!(gauge.get(), 0);
    }
}
