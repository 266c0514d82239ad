//! Who owns which task and context at each agent, so one caller cannot read,
//! cancel or continue another's work. These calls sit on the request path:
//! each is one statement (an upsert with `RETURNING` reports the owner on
//! record atomically, so a lost race is visible to its loser). An owner, once
//! recorded, never changes; only retention removes it (`retention.rs`: a
//! task owner by age, unless its task is one of Warden's own agents' and
//! not finished; a context owner once no kept task owner or task is in the
//! context, so retention never frees a context still in use for another
//! caller to claim). Once forgotten, a task or context has no owner:
//! callers must treat that as "not yours", never as "anyone's".
//!
//! `created_at` is the database's clock, RFC 3339 UTC with milliseconds
//! (`2026-01-02T03:04:05.678Z`), so text order is time order.

use sqlx::AssertSqlSafe;

use crate::backend::{Columns, Tx, either};
use crate::{Store, StoreError};

/// Rows per INSERT (4 parameters each: far below either engine's limit).
const ROWS_PER_STATEMENT: usize = 256;

/// The owner on record for a task, and the context it was created in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskOwner {
    pub owner: String,
    pub context_id: Option<String>,
}

/// One ownership record to write: a task (with its context) or, when
/// `task_id` is None, a context alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnershipWrite {
    pub agent: String,
    pub task_id: Option<String>,
    pub context_id: Option<String>,
    pub owner: String,
}

impl Store {
    /// Writes a batch of ownership records in one transaction (the gateway's
    /// writer), never overwriting an owner on record, and returns the owner
    /// on record for each, in order (someone else's when a record existed).
    /// A record with neither a task nor a context returns its own owner.
    /// Multi-row statements: one round trip per 256 records, not one per
    /// record.
    pub async fn record_ownership(
        &self,
        batch: &[OwnershipWrite],
    ) -> Result<Vec<String>, StoreError> {
        let tasks = first_per_key(batch.iter().filter(|w| w.task_id.is_some()), |w| &w.task_id);
        let contexts = first_per_key(
            batch
                .iter()
                .filter(|w| w.task_id.is_none() && w.context_id.is_some()),
            |w| &w.context_id,
        );
        let now = self.db.now_text();
        let mut tx: Tx<'_> = either!(Db, &self.db, pool => pool.begin().await?.into());
        let task_owners = upsert_owners(&mut tx, Table::Tasks, &tasks, now).await?;
        let context_owners = upsert_owners(&mut tx, Table::Contexts, &contexts, now).await?;
        tx.commit().await?;
        let on_record = |map: &OwnersOnRecord, w: &OwnershipWrite, id: &str| {
            map.get(&(w.agent.clone(), id.to_string()))
                .cloned()
                .unwrap_or_else(|| w.owner.clone())
        };
        Ok(batch
            .iter()
            .map(|w| match (&w.task_id, &w.context_id) {
                (Some(t), _) => on_record(&task_owners, w, t),
                (None, Some(c)) => on_record(&context_owners, w, c),
                (None, None) => w.owner.clone(),
            })
            .collect())
    }

    /// Records `owner` as the owner of a task unless one is on record
    /// already, and returns the owner on record: a caller that gets back
    /// someone else lost a race (or reused an id) and must not proceed.
    pub async fn record_task(
        &self,
        agent: &str,
        task_id: &str,
        context_id: Option<&str>,
        owner: &str,
    ) -> Result<String, StoreError> {
        // `DO UPDATE SET owner = owner` changes nothing but, unlike
        // `DO NOTHING`, makes `RETURNING` report the row already there.
        let sql = format!(
            "INSERT INTO task_owners (agent, task_id, context_id, owner, created_at)
             VALUES ($1, $2, $3, $4, {})
             ON CONFLICT (agent, task_id) DO UPDATE SET owner = task_owners.owner
             RETURNING owner",
            self.db.now_text()
        );
        let on_record = either!(Db, &self.db, pool => {
            sqlx::query_scalar(AssertSqlSafe(sql))
                .bind(agent)
                .bind(task_id)
                .bind(context_id)
                .bind(owner)
                .fetch_one(pool)
                .await?
        });
        Ok(on_record)
    }

    /// The owner on record for a task, if any.
    pub async fn task_owner(
        &self,
        agent: &str,
        task_id: &str,
    ) -> Result<Option<TaskOwner>, StoreError> {
        let owner = either!(Db, &self.db, pool => {
            sqlx::query(
                "SELECT owner, context_id FROM task_owners WHERE agent = $1 AND task_id = $2",
            )
            .bind(agent)
            .bind(task_id)
            .fetch_optional(pool)
            .await?
            .map(|r| -> Result<_, sqlx::Error> {
                Ok(TaskOwner {
                    owner: r.col("owner")?,
                    context_id: r.col("context_id")?,
                })
            })
            .transpose()?
        });
        Ok(owner)
    }

    /// Claims a context for `owner` unless someone holds it, and returns
    /// the owner on record (the first claimant wins).
    pub async fn claim_context(
        &self,
        agent: &str,
        context_id: &str,
        owner: &str,
    ) -> Result<String, StoreError> {
        // Most messages continue a context that is already claimed: a read
        // answers them without taking SQLite's single write lock.
        if let Some(on_record) = self.context_owner(agent, context_id).await? {
            return Ok(on_record);
        }
        let sql = format!(
            "INSERT INTO context_owners (agent, context_id, owner, created_at)
             VALUES ($1, $2, $3, {})
             ON CONFLICT (agent, context_id) DO UPDATE SET owner = context_owners.owner
             RETURNING owner",
            self.db.now_text()
        );
        let on_record = either!(Db, &self.db, pool => {
            sqlx::query_scalar(AssertSqlSafe(sql))
                .bind(agent)
                .bind(context_id)
                .bind(owner)
                .fetch_one(pool)
                .await?
        });
        Ok(on_record)
    }

    /// The owner on record for a context, if any.
    pub async fn context_owner(
        &self,
        agent: &str,
        context_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let owner = either!(Db, &self.db, pool => {
            sqlx::query_scalar(
                "SELECT owner FROM context_owners WHERE agent = $1 AND context_id = $2",
            )
            .bind(agent)
            .bind(context_id)
            .fetch_optional(pool)
            .await?
        });
        Ok(owner)
    }

    /// How many tasks at `agent` belong to `owner`, optionally only those
    /// created in one context (for per-owner task quotas).
    pub async fn count_owned_tasks(
        &self,
        agent: &str,
        owner: &str,
        context_id: Option<&str>,
    ) -> Result<i64, StoreError> {
        let n = either!(Db, &self.db, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM task_owners
                 WHERE agent = $1 AND owner = $2 AND ($3 IS NULL OR context_id = $3)",
            )
            .bind(agent)
            .bind(owner)
            .bind(context_id)
            .fetch_one(pool)
            .await?
        });
        Ok(n)
    }
}

/// The owner on record per (agent, task or context id).
type OwnersOnRecord = std::collections::HashMap<(String, String), String>;

/// The first write of each (agent, id) in `writes`, in order. The first
/// claimant in a batch wins, as it would one statement at a time; and
/// PostgreSQL refuses a statement that upserts one row twice.
fn first_per_key<'a>(
    writes: impl Iterator<Item = &'a OwnershipWrite>,
    id: impl Fn(&OwnershipWrite) -> &Option<String>,
) -> Vec<&'a OwnershipWrite> {
    let mut seen = std::collections::HashSet::new();
    writes
        .filter(|w| seen.insert((w.agent.as_str(), id(w).as_deref())))
        .collect()
}

/// The two ownership tables a batch writes.
#[derive(Clone, Copy)]
enum Table {
    Tasks,
    Contexts,
}

/// Inserts `rows` into one table, ROWS_PER_STATEMENT a statement, never
/// overwriting an owner, and returns the owner on record for each key.
/// `now` is the engine's expression for the current time.
async fn upsert_owners(
    tx: &mut Tx<'_>,
    table: Table,
    rows: &[&OwnershipWrite],
    now: &str,
) -> Result<OwnersOnRecord, StoreError> {
    let (insert, id) = match table {
        Table::Tasks => (
            "INSERT INTO task_owners (agent, task_id, context_id, owner, created_at) ",
            "task_id",
        ),
        Table::Contexts => (
            "INSERT INTO context_owners (agent, context_id, owner, created_at) ",
            "context_id",
        ),
    };
    let name = match table {
        Table::Tasks => "task_owners",
        Table::Contexts => "context_owners",
    };
    let mut out = OwnersOnRecord::new();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        either!(Tx, &mut *tx, tx => {
            let mut q = sqlx::QueryBuilder::new(insert);
            q.push_values(chunk, |mut row, w| {
                row.push_bind(&w.agent);
                if let Table::Tasks = table {
                    row.push_bind(&w.task_id);
                }
                row.push_bind(&w.context_id)
                    .push_bind(&w.owner)
                    .push(now);
            });
            // `DO UPDATE SET owner = owner` changes nothing but, unlike
            // `DO NOTHING`, makes `RETURNING` report the row already there
            // (in no particular order: matched by key).
            q.push(format!(
                " ON CONFLICT (agent, {id}) DO UPDATE SET owner = {name}.owner
                  RETURNING agent, {id}, owner"
            ));
            for r in q.build().fetch_all(&mut **tx).await? {
                out.insert((r.col("agent")?, r.col(id)?), r.col("owner")?);
            }
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
