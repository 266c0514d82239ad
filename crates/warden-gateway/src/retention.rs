//! Scheduled retention (`[retention]`): every `every_hours`, one gateway
//! removes from the store what is older than the configured ages
//! (`warden_store`'s retention, the same `warden clean` runs), off the
//! request path, logs what went and counts it in
//! `warden_retention_removed_rows_total{kind}`.
//!
//! The schedule is kept in the store (`retention_last_run`, Unix seconds on
//! the gateway's [`Clock`]), so gateways sharing one store run it once per
//! period between them, and a gateway restarted more often than the period
//! still runs it. On PostgreSQL a run holds the store's retention lock: a
//! gateway that finds it held leaves the run to the holder. On SQLite there
//! is no lock; two processes running it at once remove each row once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use warden_store::{Cutoff, Removed, RetentionPlan, Store, StoreError};

use crate::authz::ownership::OwnerBook;
use crate::clock::Clock;
use crate::config::Config;
use crate::metrics::Metrics;

/// The setting that records when retention last ran (Unix seconds).
pub const LAST_RUN_SETTING: &str = "retention_last_run";

/// How often the background task asks whether a run is due: the schedule
/// itself is on the clock, so this only bounds how late a run starts.
const CHECK_EVERY: Duration = Duration::from_secs(60);

/// The ages a run removes rows at, in days (none: that kind is kept).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ages {
    /// Finished tasks, ended grants, dead API keys and signing keys.
    pub days: Option<u32>,
    pub audit_days: Option<u32>,
    /// Task and context owners.
    pub ownership_days: Option<u32>,
    /// The mailbox: messages, spent idempotency keys and ended messaging
    /// grants (`[mailbox] retention_days`).
    pub mail_days: Option<u32>,
}

impl Ages {
    /// The ages `config` sets: `[retention]`, and the ownership age of
    /// `[authz]`.
    pub fn of(config: &Config) -> Self {
        let r = &config.retention;
        Self {
            days: r.days.map(|d| d.get()),
            audit_days: r.audit_days.map(|d| d.get()),
            ownership_days: Some(
                u32::try_from(config.authz.ownership_retention_days).unwrap_or(u32::MAX),
            ),
            // Kept for the days configured even with the mailbox off: what
            // it held before still ages out.
            mail_days: Some(config.mailbox.retention_days),
        }
    }

    /// What a run at `now_unix` removes.
    pub fn plan(&self, now_unix: u64) -> RetentionPlan {
        let now = i64::try_from(now_unix).unwrap_or(i64::MAX);
        let before = |days: Option<u32>| days.map(|d| Cutoff::days_before(now, d));
        RetentionPlan {
            audit: before(self.audit_days),
            tasks: before(self.days),
            ownership: before(self.ownership_days),
            grants: before(self.days),
            api_keys: before(self.days),
            signing_keys: before(self.days),
            mail: before(self.mail_days),
        }
    }
}

/// What one check of the schedule did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `every_hours = 0`: never on a schedule.
    Off,
    /// Not due yet on this gateway's clock.
    NotDue,
    /// Another gateway on the store holds the retention lock (running it).
    Busy,
    /// Another gateway ran it within the period.
    RanElsewhere,
    /// This gateway ran it and removed these rows.
    Ran(Removed),
}

/// The gateway's scheduled retention.
pub struct Retention {
    store: Store,
    clock: Arc<dyn Clock>,
    ages: Ages,
    every_secs: u64,
    metrics: Metrics,
    /// Flushed before owners are removed, forgotten after each run: an
    /// owner the store forgot is not kept alive in memory.
    owners: Arc<OwnerBook>,
    /// Unix seconds before which this gateway does not ask the store.
    next_check: Mutex<u64>,
}

impl std::fmt::Debug for Retention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retention")
            .field("ages", &self.ages)
            .field("every_secs", &self.every_secs)
            .finish_non_exhaustive()
    }
}

impl Retention {
    pub fn new(
        config: &Config,
        store: Store,
        clock: Arc<dyn Clock>,
        metrics: Metrics,
        owners: Arc<OwnerBook>,
    ) -> Self {
        Self {
            store,
            clock,
            ages: Ages::of(config),
            every_secs: u64::from(config.retention.every_hours) * 3600,
            metrics,
            owners,
            next_check: Mutex::new(0),
        }
    }

    /// Checks the schedule, and runs retention when it is due.
    pub async fn tick(&self) -> Result<Outcome, StoreError> {
        if self.every_secs == 0 {
            return Ok(Outcome::Off);
        }
        let now = self.clock.now_unix();
        if now < self.next_check() {
            return Ok(Outcome::NotDue);
        }
        let Some(lock) = self.store.try_retention_lock().await? else {
            // The holder records its run; look again at the next check.
            return Ok(Outcome::Busy);
        };
        let last: u64 = self
            .store
            .setting(LAST_RUN_SETTING)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let due = last.saturating_add(self.every_secs);
        if now < due {
            self.set_next_check(due);
            lock.release().await?;
            return Ok(Outcome::RanElsewhere);
        }
        let result = self.run(now).await;
        let recorded = match &result {
            // A success waits a period; a failure is tried again at the
            // next check.
            Ok(_) => {
                self.set_next_check(now.saturating_add(self.every_secs));
                self.store
                    .put_setting(LAST_RUN_SETTING, &now.to_string())
                    .await
            }
            Err(_) => Ok(()),
        };
        self.metrics
            .retention_run(if result.is_ok() { "ran" } else { "failed" });
        let released = lock.release().await;
        let removed = result?;
        recorded?;
        released?;
        Ok(Outcome::Ran(removed))
    }

    async fn run(&self, now: u64) -> Result<Removed, StoreError> {
        let plan = self.ages.plan(now);
        if plan.ownership.is_some() {
            // Owners this gateway recorded but has not written yet are in
            // the store before the sweep asks which contexts are in use.
            self.owners.flush().await;
        }
        let removed = self.store.apply_retention(&plan, false).await?;
        if plan.ownership.is_some() {
            // Whoever removed them (this run, or `warden clean` since the
            // last one), owners the store no longer has are not kept alive
            // in memory for longer than a period.
            self.owners.forget_committed();
        }
        for (kind, n) in &removed {
            self.metrics.retention_removed(kind.as_str(), *n);
        }
        let total: u64 = removed.iter().map(|(_, n)| n).sum();
        let summary = summary(&removed);
        if total > 0 {
            tracing::info!(removed = %summary, "retention removed rows past their age");
        } else {
            tracing::debug!(removed = %summary, "retention found nothing past its age");
        }
        Ok(removed)
    }

    fn next_check(&self) -> u64 {
        self.next_check.lock().map_or(0, |n| *n)
    }

    fn set_next_check(&self, at: u64) {
        if let Ok(mut n) = self.next_check.lock() {
            *n = at;
        }
    }

    /// Checks the schedule every minute, in the background; a failed run
    /// is logged and tried again at the next check.
    pub fn spawn(self: Arc<Self>) {
        if self.every_secs == 0 {
            tracing::warn!(
                "retention.every_hours = 0: nothing is removed on a schedule, ownership records included; run `warden clean`"
            );
            return;
        }
        tokio::spawn(async move {
            let start = tokio::time::Instant::now() + CHECK_EVERY;
            let mut tick = tokio::time::interval_at(start, CHECK_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = self.tick().await {
                    tracing::warn!(error = %e, "retention run failed; trying again at the next check");
                }
            }
        });
    }
}

/// `audit 2, tasks 0, …` for the log.
pub fn summary(removed: &Removed) -> String {
    removed
        .iter()
        .map(|(k, n)| format!("{} {n}", k.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
