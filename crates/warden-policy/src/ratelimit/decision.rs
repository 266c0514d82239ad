//! The outcome of one rate-limit check, and its HTTP header form.

use std::time::Duration;

/// Whether one cell was allowed, with the figures clients see in headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// The cell was taken.
    Allowed {
        /// The quota's burst.
        limit: u32,
        /// Cells still available right now, after this one.
        remaining: u32,
        /// Until the bucket is completely full again.
        reset_after: Duration,
    },
    /// The cell was refused; nothing was taken.
    Limited {
        /// The quota's burst.
        limit: u32,
        /// Until the bucket is completely full again.
        reset_after: Duration,
        /// Until the next cell will be allowed.
        retry_after: Duration,
    },
}

impl RateDecision {
    /// Whether the cell was allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allowed { .. })
    }

    /// The quota's burst.
    pub fn limit(&self) -> u32 {
        match *self {
            Self::Allowed { limit, .. } | Self::Limited { limit, .. } => limit,
        }
    }

    /// Cells still available right now (0 when limited).
    pub fn remaining(&self) -> u32 {
        match *self {
            Self::Allowed { remaining, .. } => remaining,
            Self::Limited { .. } => 0,
        }
    }

    /// Until the bucket is completely full again.
    pub fn reset_after(&self) -> Duration {
        match *self {
            Self::Allowed { reset_after, .. } | Self::Limited { reset_after, .. } => reset_after,
        }
    }

    /// Until the next cell will be allowed; `None` when allowed.
    pub fn retry_after(&self) -> Option<Duration> {
        match *self {
            Self::Allowed { .. } => None,
            Self::Limited { retry_after, .. } => Some(retry_after),
        }
    }

    /// `ratelimit-limit`, `ratelimit-remaining`, `ratelimit-reset` (whole
    /// seconds, rounded up) and, only when limited, `retry-after` (whole
    /// seconds, rounded up, at least 1 so a client never retries at once).
    ///
    /// Names are lowercase because `http::HeaderName::from_static` panics on
    /// uppercase; HTTP field names are case-insensitive, and HTTP/2 sends
    /// them lowercase anyway.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            ("ratelimit-limit", self.limit().to_string()),
            ("ratelimit-remaining", self.remaining().to_string()),
            ("ratelimit-reset", ceil_secs(self.reset_after()).to_string()),
        ];
        if let Some(retry) = self.retry_after() {
            headers.push(("retry-after", ceil_secs(retry).max(1).to_string()));
        }
        headers
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(d: &RateDecision, name: &str) -> Option<String> {
        d.headers()
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    #[test]
    fn allowed_headers_round_up_and_omit_retry_after() {
        let d = RateDecision::Allowed {
            limit: 10,
            remaining: 3,
            reset_after: Duration::from_millis(1_001),
        };
        assert_eq!(
            d.headers(),
            vec![
                ("ratelimit-limit", "10".to_owned()),
                ("ratelimit-remaining", "3".to_owned()),
                ("ratelimit-reset", "2".to_owned()),
            ]
        );
    }

    #[test]
    fn limited_headers_have_retry_after_of_at_least_one() {
        let d = RateDecision::Limited {
            limit: 10,
            reset_after: Duration::from_secs(4),
            retry_after: Duration::from_nanos(1),
        };
        assert_eq!(header(&d, "ratelimit-remaining").as_deref(), Some("0"));
        assert_eq!(header(&d, "ratelimit-reset").as_deref(), Some("4"));
        assert_eq!(header(&d, "retry-after").as_deref(), Some("1"));
        let d = RateDecision::Limited {
            limit: 10,
            reset_after: Duration::from_secs(4),
            retry_after: Duration::from_millis(2_500),
        };
        assert_eq!(header(&d, "retry-after").as_deref(), Some("3"));
    }

    #[test]
    fn header_names_are_valid_static_header_names() {
        let d = RateDecision::Limited {
            limit: 1,
            reset_after: Duration::ZERO,
            retry_after: Duration::ZERO,
        };
        for (name, _) in d.headers() {
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{name}"
            );
        }
    }
}
