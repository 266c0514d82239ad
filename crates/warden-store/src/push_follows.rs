//! Tasks Warden follows (issue 15, part 4): for an agent whose card offers
//! no push notifications, the gateway watches a task its callers subscribed
//! to (a stream or polls) and writes the notifications itself.
//!
//! A row per followed task: who owns the task (the agent is called as that
//! caller), what was last seen of it (`seen`, the gateway's own summary, so
//! a restarted follow sends only what changed), and which gateway follows it
//! until when (`lease_owner`, `lease_until_ms`). A gateway claims rows no one
//! holds or whose lease ran out, renews its lease while it follows, and
//! removes the row when the follow ends; with several gateways on
//! PostgreSQL a claim skips the rows another gateway is claiming at that
//! moment (`FOR UPDATE SKIP LOCKED`), so a task is followed by one gateway
//! at a time.

use crate::backend::{Columns, Db, either, map_rows};
use crate::{Store, StoreError};

/// One followed task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushFollow {
    pub agent: String,
    pub task_id: String,
    /// The task's owner (a principal's key): the agent is called as them.
    pub owner: String,
    /// What was last seen of the task (opaque here), None before the first
    /// look.
    pub seen: Option<String>,
    pub lease_owner: Option<String>,
    pub lease_until_ms: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
}

const COLUMNS: &str =
    "agent, task_id, owner, seen, lease_owner, lease_until_ms, created_ms, updated_ms";

fn from_row(r: &impl Columns) -> Result<PushFollow, sqlx::Error> {
    Ok(PushFollow {
        agent: r.col("agent")?,
        task_id: r.col("task_id")?,
        owner: r.col("owner")?,
        seen: r.col("seen")?,
        lease_owner: r.col("lease_owner")?,
        lease_until_ms: r.col("lease_until_ms")?,
        created_ms: r.col("created_ms")?,
        updated_ms: r.col("updated_ms")?,
    })
}

impl Store {
    /// Starts following a task, unless it is followed already: true when
    /// the row is new. A new row is due at once (no lease).
    pub async fn push_follow_start(
        &self,
        agent: &str,
        task_id: &str,
        owner: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let n = either!(Db, &self.db, pool => {
            sqlx::query(
                "INSERT INTO push_follows
                 (agent, task_id, owner, seen, lease_owner, lease_until_ms, created_ms, updated_ms)
                 VALUES ($1, $2, $3, NULL, NULL, 0, $4, $4)
                 ON CONFLICT (agent, task_id) DO NOTHING",
            )
            .bind(agent)
            .bind(task_id)
            .bind(owner)
            .bind(now_ms)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// Claims up to `limit` follows no gateway holds (or whose lease ended
    /// by `now_ms`), oldest first, for `holder` until `lease_until_ms`.
    pub async fn push_follows_claim(
        &self,
        holder: &str,
        now_ms: i64,
        lease_until_ms: i64,
        limit: u32,
    ) -> Result<Vec<PushFollow>, StoreError> {
        let rows = match &self.db {
            Db::Sqlite(pool) => {
                // One statement under SQLite's write lock.
                let sql = format!(
                    "UPDATE push_follows SET lease_owner = $1, lease_until_ms = $3
                     WHERE rowid IN (SELECT rowid FROM push_follows WHERE lease_until_ms <= $2
                                     ORDER BY created_ms LIMIT $4)
                     RETURNING {COLUMNS}"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(holder)
                    .bind(now_ms)
                    .bind(lease_until_ms)
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await?;
                map_rows(&rows, from_row)?
            }
            Db::Postgres(pool) => {
                let sql = format!(
                    "UPDATE push_follows SET lease_owner = $1, lease_until_ms = $3
                     WHERE (agent, task_id) IN (
                         SELECT agent, task_id FROM push_follows WHERE lease_until_ms <= $2
                         ORDER BY created_ms LIMIT $4 FOR UPDATE SKIP LOCKED)
                     RETURNING {COLUMNS}"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(holder)
                    .bind(now_ms)
                    .bind(lease_until_ms)
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await?;
                map_rows(&rows, from_row)?
            }
        };
        Ok(rows)
    }

    /// Extends `holder`'s lease on a follow: false when it holds it no
    /// longer (the lease ran out and another gateway took it, or the follow
    /// ended).
    pub async fn push_follow_renew(
        &self,
        agent: &str,
        task_id: &str,
        holder: &str,
        lease_until_ms: i64,
    ) -> Result<bool, StoreError> {
        let n = either!(Db, &self.db, pool => {
            sqlx::query(
                "UPDATE push_follows SET lease_until_ms = $4
                 WHERE agent = $1 AND task_id = $2 AND lease_owner = $3",
            )
            .bind(agent)
            .bind(task_id)
            .bind(holder)
            .bind(lease_until_ms)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// Records what `holder` last saw of the task: false when it holds the
    /// follow no longer.
    pub async fn push_follow_seen(
        &self,
        agent: &str,
        task_id: &str,
        holder: &str,
        seen: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let n = either!(Db, &self.db, pool => {
            sqlx::query(
                "UPDATE push_follows SET seen = $4, updated_ms = $5
                 WHERE agent = $1 AND task_id = $2 AND lease_owner = $3",
            )
            .bind(agent)
            .bind(task_id)
            .bind(holder)
            .bind(seen)
            .bind(now_ms)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// Lets go of a follow until `due_ms` (a failing agent, a gateway at its
    /// cap or stopping): any gateway may claim it then.
    pub async fn push_follow_release(
        &self,
        agent: &str,
        task_id: &str,
        holder: &str,
        due_ms: i64,
    ) -> Result<bool, StoreError> {
        let n = either!(Db, &self.db, pool => {
            sqlx::query(
                "UPDATE push_follows SET lease_owner = NULL, lease_until_ms = $4
                 WHERE agent = $1 AND task_id = $2 AND lease_owner = $3",
            )
            .bind(agent)
            .bind(task_id)
            .bind(holder)
            .bind(due_ms)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// Ends a follow (the task finished, or no one subscribes any more).
    pub async fn push_follow_end(&self, agent: &str, task_id: &str) -> Result<bool, StoreError> {
        let n = either!(Db, &self.db, pool => {
            sqlx::query("DELETE FROM push_follows WHERE agent = $1 AND task_id = $2")
                .bind(agent)
                .bind(task_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// One follow, if the task is followed.
    pub async fn push_follow(
        &self,
        agent: &str,
        task_id: &str,
    ) -> Result<Option<PushFollow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM push_follows WHERE agent = $1 AND task_id = $2");
        let found = either!(Db, &self.db, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(agent)
                .bind(task_id)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(from_row)
                .transpose()?
        });
        Ok(found)
    }
}

#[cfg(test)]
mod tests;
