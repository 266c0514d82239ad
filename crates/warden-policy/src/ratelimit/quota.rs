//! A validated rate: `count` cells per `period`, at most `burst` at once.

use std::time::Duration;

use serde::Deserialize;

/// A validated GCRA quota.
///
/// Built only through [`Quota::new`], [`Quota::parse`] or deserialisation,
/// so every value has non-zero fields and arithmetic that cannot overflow:
/// the emission interval `T = period / count` (rounded *up* to whole
/// nanoseconds, so rounding never grants more than the configured rate) and
/// the tolerance `T * burst` both fit in a `u64` of nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "QuotaConfig")]
pub struct Quota {
    count: u32,
    period: Duration,
    burst: u32,
    /// `T` in nanoseconds, >= 1.
    interval_ns: u64,
    /// `T * burst` in nanoseconds.
    tolerance_ns: u64,
}

/// Why a quota was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuotaError {
    #[error("rate count must be at least 1")]
    ZeroCount,
    #[error("rate period must be longer than zero")]
    ZeroPeriod,
    #[error("burst must be at least 1")]
    ZeroBurst,
    #[error("rate period times burst is too long to represent")]
    TooLong,
    #[error(
        "invalid rate {input:?}: expected COUNT/UNIT with UNIT one of s, m, h (e.g. \"100/s\")"
    )]
    InvalidRate { input: String },
}

impl Quota {
    /// `count` cells per `period`, at most `burst` at once.
    pub fn new(count: u32, period: Duration, burst: u32) -> Result<Self, QuotaError> {
        if count == 0 {
            return Err(QuotaError::ZeroCount);
        }
        if period.is_zero() {
            return Err(QuotaError::ZeroPeriod);
        }
        if burst == 0 {
            return Err(QuotaError::ZeroBurst);
        }
        let period_ns = u64::try_from(period.as_nanos()).map_err(|_| QuotaError::TooLong)?;
        // Rounding up keeps T >= 1 ns and never exceeds the configured rate.
        let interval_ns = period_ns.div_ceil(u64::from(count));
        let tolerance_ns = interval_ns
            .checked_mul(u64::from(burst))
            .ok_or(QuotaError::TooLong)?;
        Ok(Self {
            count,
            period,
            burst,
            interval_ns,
            tolerance_ns,
        })
    }

    /// Parses `COUNT/UNIT` (`"10/s"`, `"600/m"`, `"5/h"`): COUNT is plain
    /// decimal digits, UNIT exactly `s`, `m` or `h`. Nothing else (no
    /// spaces, signs, fractions or longer unit names) is accepted, so a typo
    /// in config is an error rather than a different rate.
    pub fn parse(rate: &str, burst: u32) -> Result<Self, QuotaError> {
        let invalid = || QuotaError::InvalidRate {
            input: rate.to_owned(),
        };
        let (count, unit) = rate.split_once('/').ok_or_else(invalid)?;
        if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let count: u32 = count.parse().map_err(|_| invalid())?;
        let period = match unit {
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            _ => return Err(invalid()),
        };
        Self::new(count, period, burst)
    }

    /// Cells per [`period`](Self::period).
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The period `count` refers to.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The most cells allowed at once (the `RateLimit-Limit` figure).
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// `T`: the steady-state time between two cells.
    pub fn emission_interval(&self) -> Duration {
        Duration::from_nanos(self.interval_ns)
    }

    /// `T * burst`: how far ahead of `now` the theoretical arrival time may run.
    pub fn tolerance(&self) -> Duration {
        Duration::from_nanos(self.tolerance_ns)
    }

    pub(crate) fn interval_ns(&self) -> u64 {
        self.interval_ns
    }

    pub(crate) fn tolerance_ns(&self) -> u64 {
        self.tolerance_ns
    }
}

/// The config form: `{ rate = "100/s", burst = 20 }`. Burst is required:
/// a silent default would hide a policy choice.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuotaConfig {
    rate: String,
    burst: u32,
}

impl TryFrom<QuotaConfig> for Quota {
    type Error = QuotaError;

    fn try_from(config: QuotaConfig) -> Result<Self, Self::Error> {
        Self::parse(&config.rate, config.burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_unit() {
        let q = Quota::parse("10/s", 5).expect("valid quota");
        assert_eq!(
            (q.count(), q.period(), q.burst()),
            (10, Duration::from_secs(1), 5)
        );
        assert_eq!(q.emission_interval(), Duration::from_millis(100));
        assert_eq!(q.tolerance(), Duration::from_millis(500));
        let q = Quota::parse("600/m", 1).expect("valid quota");
        assert_eq!(q.emission_interval(), Duration::from_millis(100));
        let q = Quota::parse("5/h", 2).expect("valid quota");
        assert_eq!(q.emission_interval(), Duration::from_secs(720));
    }

    #[test]
    fn refuses_other_forms() {
        for bad in [
            "",
            "10",
            "/s",
            "10/",
            "10/sec",
            "10/S",
            "10/d",
            " 10/s",
            "10/s ",
            "10 /s",
            "+10/s",
            "-1/s",
            "1.5/s",
            "10/2s",
            "10//s",
            "4294967296/s",
            "ten/s",
        ] {
            assert!(
                matches!(Quota::parse(bad, 1), Err(QuotaError::InvalidRate { .. })),
                "{bad:?} was accepted"
            );
        }
        assert_eq!(Quota::parse("0/s", 1), Err(QuotaError::ZeroCount));
        assert_eq!(Quota::parse("1/s", 0), Err(QuotaError::ZeroBurst));
    }

    #[test]
    fn new_refuses_zero_and_overflow() {
        let s = Duration::from_secs(1);
        assert_eq!(Quota::new(0, s, 1), Err(QuotaError::ZeroCount));
        assert_eq!(
            Quota::new(1, Duration::ZERO, 1),
            Err(QuotaError::ZeroPeriod)
        );
        assert_eq!(Quota::new(1, s, 0), Err(QuotaError::ZeroBurst));
        assert_eq!(Quota::new(1, Duration::MAX, 1), Err(QuotaError::TooLong));
        let year = Duration::from_secs(365 * 86_400);
        assert_eq!(Quota::new(1, year, u32::MAX), Err(QuotaError::TooLong));
    }

    #[test]
    fn interval_rounds_up_to_at_least_one_nanosecond() {
        let q = Quota::new(u32::MAX, Duration::from_secs(1), 1).expect("valid quota");
        assert_eq!(q.emission_interval(), Duration::from_nanos(1));
        let q = Quota::new(3, Duration::from_secs(1), 1).expect("valid quota");
        assert_eq!(q.emission_interval(), Duration::from_nanos(333_333_334));
    }

    #[test]
    fn deserialises_config_form() {
        let q: Quota =
            serde_json::from_str(r#"{"rate":"100/s","burst":20}"#).expect("valid config");
        assert_eq!(q, Quota::parse("100/s", 20).expect("valid quota"));
        for bad in [
            r#"{"rate":"100/s"}"#,
            r#"{"rate":"100/x","burst":1}"#,
            r#"{"rate":"100/s","burst":1,"extra":true}"#,
        ] {
            assert!(serde_json::from_str::<Quota>(bad).is_err(), "{bad}");
        }
    }
}
