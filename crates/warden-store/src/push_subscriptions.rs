//! Push subscriptions (issue 15): the push configs callers registered
//! through the gateway, kept by Warden, not by the agent.
//!
//! A subscription is one caller's `TaskPushNotificationConfig` for one task
//! of one agent. The agent never sees the caller's URL or credentials: it
//! holds a relay URL on Warden naming the subscription's id, and a relay
//! token whose SHA-256 is kept here (`relay_hash`), so the store cannot hand
//! out a usable relay credential. The caller's `token`, `authentication`
//! credentials and the subscription's `whsec_` secret are sealed by the
//! gateway under its key-encryption key before they reach this table
//! (`sealed`); `config` is the caller's config as Get and List return it,
//! already redacted.
//!
//! A subscription made with a `SendMessage` for a task that does not exist
//! yet has no task id until the agent's answer (or its first notification)
//! names one: [`Store::push_subscription_bind_task`] sets it once and never
//! moves it.

use std::sync::atomic::Ordering;

use crate::backend::{Columns, either, map_rows};
use crate::{Store, StoreError};

/// One caller's push config for one task, as Warden keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSubscription {
    /// `sub_` and 32 hex digits: the last segment of the relay URL.
    pub id: String,
    pub agent: String,
    /// Who registered it (the principal's key): only they read it.
    pub owner: String,
    /// None until the task is known (a config sent with a first message).
    pub task_id: Option<String>,
    /// The config's id as the caller (and the agent) know it.
    pub config_id: String,
    /// The caller's webhook URL.
    pub url: String,
    /// The caller's config as JSON (v1.0 field names), without its token
    /// and credentials: what Get and List answer with.
    pub config: String,
    /// The caller's token, credentials and the subscription secret, sealed
    /// by the gateway (opaque here).
    pub sealed: Vec<u8>,
    /// SHA-256 of the relay token the agent was given.
    pub relay_hash: Vec<u8>,
    /// Unix milliseconds.
    pub created_ms: i64,
}

const COLUMNS: &str =
    "id, agent, owner, task_id, config_id, url, config, sealed, relay_hash, created_ms";

fn from_row(r: &impl Columns) -> Result<PushSubscription, sqlx::Error> {
    Ok(PushSubscription {
        id: r.col("id")?,
        agent: r.col("agent")?,
        owner: r.col("owner")?,
        task_id: r.col("task_id")?,
        config_id: r.col("config_id")?,
        url: r.col("url")?,
        config: r.col("config")?,
        sealed: r.col("sealed")?,
        relay_hash: r.col("relay_hash")?,
        created_ms: r.col("created_ms")?,
    })
}

impl Store {
    /// Keeps a subscription. One with the same agent, task and config id
    /// is replaced (a Create with a known id updates the config, as A2A
    /// has it): the ids of the ones it replaced are returned, so their
    /// relay URLs stop working at once.
    pub async fn push_subscription_put(
        &self,
        s: &PushSubscription,
    ) -> Result<Vec<String>, StoreError> {
        let replaced = match &s.task_id {
            Some(task) => {
                let ids = self
                    .push_subscriptions_of_task(&s.agent, task)
                    .await?
                    .into_iter()
                    .filter(|o| o.config_id == s.config_id)
                    .map(|o| o.id)
                    .collect::<Vec<_>>();
                for id in &ids {
                    self.push_subscription_delete(id).await?;
                }
                ids
            }
            None => Vec::new(),
        };
        either!(Db, &self.db, pool => {
            sqlx::query(
                "INSERT INTO push_subscriptions
                 (id, agent, owner, task_id, config_id, url, config, sealed, relay_hash, created_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&s.id)
            .bind(&s.agent)
            .bind(&s.owner)
            .bind(&s.task_id)
            .bind(&s.config_id)
            .bind(&s.url)
            .bind(&s.config)
            .bind(&s.sealed)
            .bind(&s.relay_hash)
            .bind(s.created_ms)
            .execute(pool)
            .await?;
        });
        Ok(replaced)
    }

    /// The subscription a relay URL names.
    pub async fn push_subscription(
        &self,
        id: &str,
    ) -> Result<Option<PushSubscription>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM push_subscriptions WHERE id = $1");
        let found = either!(Db, &self.db, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(from_row)
                .transpose()?
        });
        Ok(found)
    }

    /// The subscriptions of one task, oldest first (the order agents list
    /// configs in).
    pub async fn push_subscriptions_of_task(
        &self,
        agent: &str,
        task_id: &str,
    ) -> Result<Vec<PushSubscription>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM push_subscriptions
             WHERE agent = $1 AND task_id = $2 ORDER BY created_ms, id"
        );
        let found = match &self.db {
            // Asked for every mailbox message (its recipient's webhook):
            // on the read connections that skip the pool's pings
            // (`mail/reader.rs`).
            crate::backend::Db::Sqlite(pool) => {
                let q = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(agent)
                    .bind(task_id);
                let rows = match self.mail_reads.lease(pool).await? {
                    Some(mut lease) => {
                        let rows = q.fetch_all(lease.conn()).await?;
                        lease.done();
                        rows
                    }
                    None => q.fetch_all(pool).await?,
                };
                map_rows(&rows, from_row)?
            }
            crate::backend::Db::Postgres(pool) => {
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(agent)
                    .bind(task_id)
                    .fetch_all(pool)
                    .await?;
                map_rows(&rows, from_row)?
            }
        };
        Ok(found)
    }

    /// Removes a subscription; true when there was one.
    pub async fn push_subscription_delete(&self, id: &str) -> Result<bool, StoreError> {
        let n = either!(Db, &self.db, pool => {
            sqlx::query("DELETE FROM push_subscriptions WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if n > 0 {
            self.outbox
                .subscriptions_removed
                .fetch_add(1, Ordering::Release);
        }
        Ok(n > 0)
    }

    /// How many subscriptions were removed through this handle (and its
    /// clones) since it was opened, a replaced one included: a cache of
    /// opened subscriptions drops what it holds when this moves. Removals
    /// through another handle (another gateway) do not count here.
    pub fn push_subscriptions_removed(&self) -> u64 {
        self.outbox.subscriptions_removed.load(Ordering::Acquire)
    }

    /// Binds a subscription made before its task existed to `task_id`, once:
    /// true when the subscription is (now or already) bound to this task,
    /// false when it is bound to another one or is gone.
    pub async fn push_subscription_bind_task(
        &self,
        id: &str,
        task_id: &str,
    ) -> Result<bool, StoreError> {
        either!(Db, &self.db, pool => {
            sqlx::query(
                "UPDATE push_subscriptions SET task_id = $2 WHERE id = $1 AND task_id IS NULL",
            )
            .bind(id)
            .bind(task_id)
            .execute(pool)
            .await?;
        });
        Ok(self
            .push_subscription(id)
            .await?
            .is_some_and(|s| s.task_id.as_deref() == Some(task_id)))
    }
}

#[cfg(test)]
mod tests;
