//! The one clock: what time it is, behind a trait so tests can hold it
//! still. [`SystemClock`] is the real one; [`GatewayState`](crate::GatewayState)
//! carries an `Arc<dyn Clock>`. Imports no other module of the gateway.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod test_offset;

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Seconds since the Unix epoch (0 if the system clock is before it).
    fn now_unix(&self) -> u64;
    /// A monotonic instant, for intervals measured by the gateway itself
    /// (rate-limit refill). Compare it only with other readings of the same
    /// clock, never with `Instant::now()` or a timer's deadline: a debug
    /// build's test offset moves it.
    fn now_instant(&self) -> Instant;
    /// The wall-clock time in RFC 3339, UTC, to the millisecond (the audit
    /// log's `at`).
    fn now_rfc3339(&self) -> String;
    /// Milliseconds since the Unix epoch, on the same clock as
    /// [`Clock::now_unix`] (push delivery schedules in the store). A clock
    /// that keeps whole seconds gives whole seconds.
    fn now_unix_ms(&self) -> u64 {
        self.now_unix().saturating_mul(1000)
    }
}

/// The operating system's clocks.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
            // 0 but in a debug build's end-to-end tests.
            .saturating_add(test_offset::secs())
    }

    fn now_instant(&self) -> Instant {
        // Moved by the same test offset as the Unix seconds (0 in release
        // builds), so a rate-limit window refills when a test advances time.
        let now = Instant::now();
        now.checked_add(Duration::from_secs(test_offset::secs()))
            .unwrap_or(now)
    }

    fn now_unix_ms(&self) -> u64 {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        ms.saturating_add(test_offset::secs().saturating_mul(1000))
    }

    fn now_rfc3339(&self) -> String {
        rfc3339_millis(chrono::Utc::now())
    }
}

/// `%Y-%m-%dT%H:%M:%S%.3fZ`, without reading a format string on every call
/// (every audit event takes one).
fn rfc3339_millis(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Seconds since the Unix epoch, from [`SystemClock`].
pub fn unix_now() -> u64 {
    SystemClock.now_unix()
}

/// A monotonic instant, from [`SystemClock`] (moved by a debug build's test
/// offset: compare it only with other readings of this function).
pub fn now_instant() -> Instant {
    SystemClock.now_instant()
}

/// The current time in RFC 3339 (UTC, milliseconds), from [`SystemClock`].
pub fn now_rfc3339() -> String {
    SystemClock.now_rfc3339()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    /// The audit's timestamps keep the spelling they had with the format
    /// string (sortable as text, always three decimals, `Z`).
    #[test]
    fn rfc3339_millis_is_the_format_string_s_spelling() {
        for (secs, nanos) in [
            (0, 0),
            (1_796_646_952, 7_000_000),
            (4_102_444_799, 999_999_999),
        ] {
            let t = chrono::Utc
                .timestamp_opt(secs, nanos)
                .single()
                .expect("time");
            assert_eq!(
                super::rfc3339_millis(t),
                t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
            );
        }
    }
}
