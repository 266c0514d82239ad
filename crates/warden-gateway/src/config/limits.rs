//! `[limits]`: sizes and times bounding every call, enforced before and
//! while parsing.

use std::num::NonZeroUsize;
use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest request body accepted from a client.
    #[serde(default = "d_req_body")]
    pub max_request_body_bytes: NonZeroUsize,
    /// Largest non-streaming response body accepted from an upstream, and
    /// largest single SSE event.
    #[serde(default = "d_resp_body")]
    pub max_response_body_bytes: NonZeroUsize,
    /// Largest total size of request headers (names and values).
    #[serde(default = "d_headers")]
    pub max_header_bytes: NonZeroUsize,
    /// Deepest JSON nesting accepted (at most 128).
    #[serde(default = "d_depth")]
    pub max_json_depth: NonZeroUsize,
    #[serde(default = "d_string")]
    pub max_json_string_bytes: NonZeroUsize,
    /// `upstream_connect_timeout_ms`.
    #[serde(
        rename = "upstream_connect_timeout_ms",
        with = "super::millis",
        default = "d_connect"
    )]
    pub upstream_connect_timeout: Duration,
    /// Whole-exchange timeout for non-streaming calls; time to response
    /// headers for streams (`upstream_timeout_ms`).
    #[serde(
        rename = "upstream_timeout_ms",
        with = "super::millis",
        default = "d_timeout"
    )]
    pub upstream_timeout: Duration,
    /// A stream with no bytes from upstream for this long is closed
    /// (`stream_idle_timeout_ms`).
    #[serde(
        rename = "stream_idle_timeout_ms",
        with = "super::millis",
        default = "d_idle"
    )]
    pub stream_idle_timeout: Duration,
    /// Keep-alive comments are sent on quiet streams at this interval
    /// (`keepalive_interval_ms`).
    #[serde(
        rename = "keepalive_interval_ms",
        with = "super::millis",
        default = "d_keepalive"
    )]
    pub keepalive_interval: Duration,
    /// How long an upstream card is reused before it is fetched again
    /// (`card_cache_ms`).
    #[serde(
        rename = "card_cache_ms",
        with = "super::millis",
        default = "d_card_ttl"
    )]
    pub card_cache: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request_body_bytes: d_req_body(),
            max_response_body_bytes: d_resp_body(),
            max_header_bytes: d_headers(),
            max_json_depth: d_depth(),
            max_json_string_bytes: d_string(),
            upstream_connect_timeout: d_connect(),
            upstream_timeout: d_timeout(),
            stream_idle_timeout: d_idle(),
            keepalive_interval: d_keepalive(),
            card_cache: d_card_ttl(),
        }
    }
}

impl Limits {
    /// Rules serde cannot express.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_json_depth.get() > 128 {
            return Err("limits.max_json_depth must be at most 128".into());
        }
        for (key, value, min) in [
            (
                "limits.upstream_connect_timeout_ms",
                self.upstream_connect_timeout,
                1,
            ),
            ("limits.upstream_timeout_ms", self.upstream_timeout, 1),
            ("limits.stream_idle_timeout_ms", self.stream_idle_timeout, 1),
            ("limits.keepalive_interval_ms", self.keepalive_interval, 100),
        ] {
            if value < Duration::from_millis(min) {
                return Err(format!("{key} must be at least {min}"));
            }
        }
        Ok(())
    }

    /// The JSON reader's caps for bodies the gateway parses.
    pub fn json(&self) -> warden_json::JsonLimits {
        warden_json::JsonLimits {
            max_depth: self.max_json_depth.get(),
            max_string_bytes: self.max_json_string_bytes.get(),
        }
    }
}

const fn nz(n: usize) -> NonZeroUsize {
    match NonZeroUsize::new(n) {
        Some(n) => n,
        None => NonZeroUsize::MIN,
    }
}

fn d_req_body() -> NonZeroUsize {
    nz(4 * 1024 * 1024)
}
fn d_resp_body() -> NonZeroUsize {
    nz(16 * 1024 * 1024)
}
fn d_headers() -> NonZeroUsize {
    nz(32 * 1024)
}
fn d_depth() -> NonZeroUsize {
    nz(64)
}
fn d_string() -> NonZeroUsize {
    nz(1024 * 1024)
}
fn d_connect() -> Duration {
    Duration::from_secs(5)
}
fn d_timeout() -> Duration {
    Duration::from_secs(60)
}
fn d_idle() -> Duration {
    Duration::from_secs(300)
}
fn d_keepalive() -> Duration {
    Duration::from_secs(15)
}
fn d_card_ttl() -> Duration {
    Duration::from_secs(30)
}
