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
mod tests;
