//! Rate-limit buckets across replicas, on their own: the buckets of
//! [`SharedState::step`] without a single-use id (one Lua script, run
//! atomically by Redis on Redis's own clock, so replicas whose clocks
//! differ still agree).

use std::time::Duration;

use super::{SharedError, SharedState, StepOutcome};

pub(super) fn reply(r: &[i64]) -> Result<GcraReply, SharedError> {
    let [allowed, remaining, reset, retry] = r[..] else {
        return Err(SharedError::Protocol(format!(
            "the GCRA script returned {r:?}"
        )));
    };
    let us = |v: i64| Duration::from_micros(u64::try_from(v).unwrap_or(0));
    Ok(GcraReply {
        allowed: allowed == 1,
        remaining: u32::try_from(remaining).unwrap_or(0),
        reset_after: us(reset),
        retry_after: us(retry),
    })
}

/// One step's outcome, in the figures rate-limit headers need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcraReply {
    pub allowed: bool,
    /// Cells left right now, after this one.
    pub remaining: u32,
    /// Until the bucket is full again.
    pub reset_after: Duration,
    /// Until the next cell is allowed (zero when allowed).
    pub retry_after: Duration,
}

impl SharedState {
    /// Takes one cell from bucket `key` (or, with `peek`, says whether one
    /// could be taken, taking nothing).
    pub async fn gcra(
        &self,
        key: &str,
        interval: Duration,
        tolerance: Duration,
        peek: bool,
    ) -> Result<GcraReply, SharedError> {
        let mut replies = self.gcra_all(&[(key, interval, tolerance)], peek).await?;
        replies
            .pop()
            .ok_or_else(|| SharedError::Protocol("the GCRA script returned nothing".into()))
    }

    /// Steps the buckets `(key, interval, tolerance)` in order, in one
    /// round trip, stopping after the first refusal: one reply per bucket
    /// stepped (cells taken before a refusal stay taken).
    pub async fn gcra_all(
        &self,
        buckets: &[(&str, Duration, Duration)],
        peek: bool,
    ) -> Result<Vec<GcraReply>, SharedError> {
        match self.step(None, buckets, peek).await? {
            StepOutcome::Allowed(replies) | StepOutcome::Refused(replies) => Ok(replies),
            StepOutcome::Replayed => Err(SharedError::Protocol(
                "the step script answered a replay without an id".into(),
            )),
        }
    }
}
