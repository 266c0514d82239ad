//! Tasks and push-notification configs of Warden's own agents.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
// The only dynamic SQL here joins constant fragments of this file; every
// value is a bound parameter.
use sqlx::AssertSqlSafe;

use crate::backend::{Columns, either, map_rows};
use crate::{Store, StoreError};

/// One stored task. `status_timestamp` is RFC 3339 UTC with milliseconds
/// (`2026-01-02T03:04:05.678Z`), so text order is time order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    pub agent: String,
    pub id: String,
    pub context_id: String,
    pub state: String,
    pub status_timestamp: String,
    /// The task as JSON.
    pub body: String,
}

/// Which tasks a listing returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    pub context_id: Option<String>,
    pub state: Option<String>,
    /// Only tasks whose status timestamp is at or after this (same format).
    pub status_timestamp_after: Option<String>,
}

/// One page of a listing, newest status first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskPage {
    pub tasks: Vec<TaskRecord>,
    /// Empty on the last page.
    pub next_page_token: String,
    /// How many tasks match the filter in all.
    pub total_size: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushConfigRecord {
    pub agent: String,
    pub task_id: String,
    pub id: String,
    /// The config as JSON.
    pub body: String,
}

fn task_from_row(row: &impl Columns) -> Result<TaskRecord, sqlx::Error> {
    Ok(TaskRecord {
        agent: row.col("agent")?,
        id: row.col("id")?,
        context_id: row.col("context_id")?,
        state: row.col("state")?,
        status_timestamp: row.col("status_timestamp")?,
        body: row.col("body")?,
    })
}

/// A page token is the position of the last task returned: its status
/// timestamp and id (the order is total because ids are unique).
fn encode_token(ts: &str, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{ts}\n{id}"))
}

fn decode_token(token: &str) -> Result<(String, String), StoreError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| StoreError::BadPageToken)?;
    let text = String::from_utf8(bytes).map_err(|_| StoreError::BadPageToken)?;
    let (ts, id) = text.split_once('\n').ok_or(StoreError::BadPageToken)?;
    Ok((ts.to_string(), id.to_string()))
}

impl Store {
    /// Inserts or replaces a task.
    pub async fn put_task(&self, t: &TaskRecord) -> Result<(), StoreError> {
        either!(Db, &self.db, pool => {
            sqlx::query(
                "INSERT INTO tasks (agent, id, context_id, state, status_timestamp, body)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (agent, id) DO UPDATE SET context_id = $3, state = $4,
                     status_timestamp = $5, body = $6",
            )
            .bind(&t.agent)
            .bind(&t.id)
            .bind(&t.context_id)
            .bind(&t.state)
            .bind(&t.status_timestamp)
            .bind(&t.body)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn task(&self, agent: &str, id: &str) -> Result<Option<TaskRecord>, StoreError> {
        let task = either!(Db, &self.db, pool => {
            sqlx::query("SELECT * FROM tasks WHERE agent = $1 AND id = $2")
                .bind(agent)
                .bind(id)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(task_from_row)
                .transpose()?
        });
        Ok(task)
    }

    /// Lists tasks newest status first, `page_size` at a time, continuing
    /// after `page_token` when given.
    pub async fn list_tasks(
        &self,
        agent: &str,
        filter: &TaskFilter,
        page_size: u32,
        page_token: Option<&str>,
    ) -> Result<TaskPage, StoreError> {
        let after = page_token
            .filter(|t| !t.is_empty())
            .map(decode_token)
            .transpose()?;
        let filters = "agent = $1
             AND ($2 IS NULL OR context_id = $2)
             AND ($3 IS NULL OR state = $3)
             AND ($4 IS NULL OR status_timestamp >= $4)";
        let count = format!("SELECT COUNT(*) FROM tasks WHERE {filters}");
        let page = format!(
            "SELECT * FROM tasks WHERE {filters}
               AND ($5 IS NULL OR status_timestamp < $5 OR (status_timestamp = $5 AND id < $6))
             ORDER BY status_timestamp DESC, id DESC
             LIMIT $7"
        );
        let (after_ts, after_id) = after.unzip();
        let (total_size, mut tasks): (i64, Vec<TaskRecord>) = either!(Db, &self.db, pool => {
            let total = sqlx::query_scalar(AssertSqlSafe(count))
                .bind(agent)
                .bind(&filter.context_id)
                .bind(&filter.state)
                .bind(&filter.status_timestamp_after)
                .fetch_one(pool)
                .await?;
            let rows = sqlx::query(AssertSqlSafe(page))
                .bind(agent)
                .bind(&filter.context_id)
                .bind(&filter.state)
                .bind(&filter.status_timestamp_after)
                .bind(after_ts)
                .bind(after_id)
                .bind(i64::from(page_size) + 1)
                .fetch_all(pool)
                .await?;
            (total, map_rows(&rows, task_from_row)?)
        });
        let more = tasks.len() > page_size as usize;
        tasks.truncate(page_size as usize);
        let next_page_token = match (more, tasks.last()) {
            (true, Some(last)) => encode_token(&last.status_timestamp, &last.id),
            _ => String::new(),
        };
        Ok(TaskPage {
            tasks,
            next_page_token,
            total_size,
        })
    }

    pub async fn put_push_config(&self, c: &PushConfigRecord) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO push_configs (agent, task_id, id, body, created_at)
             VALUES ($1, $2, $3, $4, {})
             ON CONFLICT (agent, task_id, id) DO UPDATE SET body = $4",
            self.db.now_text()
        );
        either!(Db, &self.db, pool => {
            sqlx::query(AssertSqlSafe(sql))
                .bind(&c.agent)
                .bind(&c.task_id)
                .bind(&c.id)
                .bind(&c.body)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    pub async fn push_config(
        &self,
        agent: &str,
        task_id: &str,
        id: &str,
    ) -> Result<Option<PushConfigRecord>, StoreError> {
        let config = either!(Db, &self.db, pool => {
            sqlx::query(
                "SELECT agent, task_id, id, body FROM push_configs
                 WHERE agent = $1 AND task_id = $2 AND id = $3",
            )
            .bind(agent)
            .bind(task_id)
            .bind(id)
            .fetch_optional(pool)
            .await?
            .as_ref()
            .map(push_from_row)
            .transpose()?
        });
        Ok(config)
    }

    /// Push configs of a task in id order, `limit` at a time after `after_id`.
    pub async fn list_push_configs(
        &self,
        agent: &str,
        task_id: &str,
        limit: u32,
        after_id: Option<&str>,
    ) -> Result<Vec<PushConfigRecord>, StoreError> {
        let configs = either!(Db, &self.db, pool => {
            let rows = sqlx::query(
                "SELECT agent, task_id, id, body FROM push_configs
                 WHERE agent = $1 AND task_id = $2 AND ($3 IS NULL OR id > $3)
                 ORDER BY id LIMIT $4",
            )
            .bind(agent)
            .bind(task_id)
            .bind(after_id)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            map_rows(&rows, push_from_row)?
        });
        Ok(configs)
    }

    /// Deletes a config; deleting one that does not exist is not an error.
    pub async fn delete_push_config(
        &self,
        agent: &str,
        task_id: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        either!(Db, &self.db, pool => {
            sqlx::query("DELETE FROM push_configs WHERE agent = $1 AND task_id = $2 AND id = $3")
                .bind(agent)
                .bind(task_id)
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}

fn push_from_row(row: &impl Columns) -> Result<PushConfigRecord, sqlx::Error> {
    Ok(PushConfigRecord {
        agent: row.col("agent")?,
        task_id: row.col("task_id")?,
        id: row.col("id")?,
        body: row.col("body")?,
    })
}

#[cfg(test)]
mod tests;
