//! A small, bounded Server-Sent Events decoder and encoder.
//!
//! The gateway does not decode streams it proxies (frames pass through
//! untouched); this is for clients (`warden call`, tests) and agents.

/// One decoded event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    pub id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    #[error("SSE event larger than {0} bytes")]
    EventTooLarge(usize),
    #[error("SSE stream is not valid UTF-8")]
    NotUtf8,
}

/// Incremental decoder: feed bytes as they arrive, take whole events out.
#[derive(Debug)]
pub struct SseDecoder {
    buf: Vec<u8>,
    max_event_bytes: usize,
    current: SseEvent,
    has_data: bool,
    /// `buf[..scanned]` holds no newline (it was searched by an earlier feed).
    scanned: usize,
}

impl SseDecoder {
    pub fn new(max_event_bytes: usize) -> Self {
        Self {
            buf: Vec::new(),
            max_event_bytes,
            current: SseEvent::default(),
            has_data: false,
            scanned: 0,
        }
    }

    /// Adds bytes and returns every event completed by them. Comments
    /// (keep-alives) are skipped.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        // Lines are read at a moving offset and drained once at the end, and an
        // incomplete line is not searched again: either would be quadratic.
        let mut start = 0;
        let mut from = self.scanned;
        while let Some(len) = self.buf[from..].iter().position(|b| *b == b'\n') {
            let mut line = &self.buf[start..from + len];
            start = from + len + 1;
            from = start;
            if let [rest @ .., b'\r'] = line {
                line = rest;
            }
            let line = std::str::from_utf8(line).map_err(|_| SseError::NotUtf8)?;
            if line.is_empty() {
                if self.has_data {
                    out.push(std::mem::take(&mut self.current));
                }
                self.current = SseEvent::default();
                self.has_data = false;
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                None => (line, ""),
            };
            match field {
                "data" => {
                    if self.has_data {
                        self.current.data.push('\n');
                    }
                    self.current.data.push_str(value);
                    self.has_data = true;
                }
                "event" => self.current.event = Some(value.to_string()),
                "id" => self.current.id = Some(value.to_string()),
                _ => {}
            }
            if self.current.data.len() > self.max_event_bytes {
                return Err(SseError::EventTooLarge(self.max_event_bytes));
            }
        }
        self.buf.drain(..start);
        self.scanned = self.buf.len();
        if self.buf.len() > self.max_event_bytes {
            return Err(SseError::EventTooLarge(self.max_event_bytes));
        }
        Ok(out)
    }
}

/// Encodes one `data:` event (JSON never contains raw newlines when compact).
pub fn encode_data(json: &str) -> String {
    let mut s = String::with_capacity(json.len() + 8);
    for line in json.split('\n') {
        s.push_str("data: ");
        s.push_str(line);
        s.push('\n');
    }
    s.push('\n');
    s
}

/// The data of one whole SSE event: its `data:` lines (one leading space
/// dropped) joined by `\n`; `None` for an event without data (a comment, a
/// keep-alive); an error for one that is not UTF-8.
pub fn event_data(event: &[u8]) -> Result<Option<String>, std::str::Utf8Error> {
    let text = std::str::from_utf8(event)?;
    let data: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| d.strip_prefix(' ').unwrap_or(d))
        .collect();
    Ok((!data.is_empty()).then(|| data.join("\n")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_events_split_anywhere() {
        let stream = b": keep-alive\n\ndata: {\"a\":1}\n\nevent: error\ndata: x\r\ndata: y\n\n";
        for split in 0..stream.len() {
            let mut d = SseDecoder::new(1024);
            let mut events = d.feed(&stream[..split]).expect("valid");
            events.extend(d.feed(&stream[split..]).expect("valid"));
            assert_eq!(events.len(), 2, "split at {split}");
            assert_eq!(events[0].data, "{\"a\":1}");
            assert_eq!(events[1].event.as_deref(), Some("error"));
            assert_eq!(events[1].data, "x\ny");
        }
    }

    #[test]
    fn bounds_event_size() {
        let mut d = SseDecoder::new(8);
        assert_eq!(
            d.feed(b"data: 0123456789\n"),
            Err(SseError::EventTooLarge(8))
        );
    }

    #[test]
    fn encode_round_trips() {
        let mut d = SseDecoder::new(1024);
        let ev = d
            .feed(encode_data("{\"x\":\"y\"}").as_bytes())
            .expect("valid");
        assert_eq!(ev[0].data, "{\"x\":\"y\"}");
    }
}
