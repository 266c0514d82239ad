//! Per-pair grants: what one caller may do at one target. The store keeps
//! them as given; what a skill or operation name means is the policy's
//! business. Every change bumps the authorisation generation.

use crate::backend::{Columns, either, map_rows};
use crate::{Store, StoreError};

/// One grant: `caller` may perform `operations` on `skills` at `target`,
/// between `not_before` and `not_after`, until revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    /// Chosen by the caller of [`Store::put_grant`] (`g_` + random hex).
    pub id: String,
    /// A registry agent id, or `ISSUER#SUBJECT` for an external issuer's subject.
    pub caller: String,
    /// The gateway agent name.
    pub target: String,
    /// Skill ids; `["*"]` means every skill.
    pub skills: Vec<String>,
    /// Operation classes (`send`, `get`, `list`, `cancel`, `subscribe`,
    /// `push`, `extended-card`).
    pub operations: Vec<String>,
    /// A delegation: whose tasks at `target` this caller may act on.
    pub tasks_of: Option<String>,
    /// Unix seconds from which the grant holds (none: from creation).
    pub not_before: Option<i64>,
    /// Unix seconds from which it no longer holds (none: no end).
    pub not_after: Option<i64>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; a revoked grant is kept for the record.
    pub revoked_at: Option<String>,
    pub note: Option<String>,
}

fn grant_from_row(r: &impl Columns) -> Result<GrantRecord, sqlx::Error> {
    Ok(GrantRecord {
        id: r.col("id")?,
        caller: r.col("caller")?,
        target: r.col("target")?,
        skills: json_list(r, "skills")?,
        operations: json_list(r, "operations")?,
        tasks_of: r.col("tasks_of")?,
        not_before: r.col("not_before")?,
        not_after: r.col("not_after")?,
        created_at: r.col("created_at")?,
        revoked_at: r.col("revoked_at")?,
        note: r.col("note")?,
    })
}

/// A list kept as JSON text (the same text on both engines; PostgreSQL's
/// JSON types would compare and print differently).
fn json_list(r: &impl Columns, column: &str) -> Result<Vec<String>, sqlx::Error> {
    let text: String = r.col(column)?;
    serde_json::from_str(&text).map_err(|e| sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: Box::new(e),
    })
}

fn to_json(list: &[String]) -> String {
    // A list of strings always serialises.
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

impl Store {
    /// Adds a grant, or replaces every field of the one with the same id.
    pub async fn put_grant(&self, g: &GrantRecord) -> Result<(), StoreError> {
        let (skills, operations) = (to_json(&g.skills), to_json(&g.operations));
        either!(Db, &self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO grants (id, caller, target, skills, operations, tasks_of,
                                     not_before, not_after, created_at, revoked_at, note)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 ON CONFLICT (id) DO UPDATE SET caller = $2, target = $3, skills = $4,
                     operations = $5, tasks_of = $6, not_before = $7, not_after = $8,
                     created_at = $9, revoked_at = $10, note = $11",
            )
            .bind(&g.id)
            .bind(&g.caller)
            .bind(&g.target)
            .bind(&skills)
            .bind(&operations)
            .bind(&g.tasks_of)
            .bind(g.not_before)
            .bind(g.not_after)
            .bind(&g.created_at)
            .bind(&g.revoked_at)
            .bind(&g.note)
            .execute(&mut *tx)
            .await?;
            self.commit_change(tx).await
        })
    }

    /// The grant with this id, revoked or not.
    pub async fn grant(&self, id: &str) -> Result<Option<GrantRecord>, StoreError> {
        let grant = either!(Db, &self.db, pool => {
            sqlx::query("SELECT * FROM grants WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(grant_from_row)
                .transpose()?
        });
        Ok(grant)
    }

    /// Grants, optionally of one caller and/or one target, oldest first.
    /// Grants outside their time window are listed; revoked ones only when asked.
    pub async fn list_grants(
        &self,
        caller: Option<&str>,
        target: Option<&str>,
        include_revoked: bool,
    ) -> Result<Vec<GrantRecord>, StoreError> {
        let grants = either!(Db, &self.db, pool => {
            let rows = sqlx::query(
                "SELECT * FROM grants
                 WHERE ($1 IS NULL OR caller = $1) AND ($2 IS NULL OR target = $2)
                   AND ($3 OR revoked_at IS NULL)
                 ORDER BY created_at, id",
            )
            .bind(caller)
            .bind(target)
            .bind(include_revoked)
            .fetch_all(pool)
            .await?;
            map_rows(&rows, grant_from_row)?
        });
        Ok(grants)
    }

    /// The grants in force from `caller` to `target` at `now_unix`: not
    /// revoked, started, not ended. Oldest first.
    pub async fn active_grants(
        &self,
        caller: &str,
        target: &str,
        now_unix: i64,
    ) -> Result<Vec<GrantRecord>, StoreError> {
        // Spelt out (not `$1 IS NULL OR ...`) so the planner uses grants_by_pair.
        let grants = either!(Db, &self.db, pool => {
            let rows = sqlx::query(
                "SELECT * FROM grants
                 WHERE caller = $1 AND target = $2 AND revoked_at IS NULL
                   AND (not_before IS NULL OR not_before <= $3)
                   AND (not_after IS NULL OR not_after > $3)
                 ORDER BY created_at, id",
            )
            .bind(caller)
            .bind(target)
            .bind(now_unix)
            .fetch_all(pool)
            .await?;
            map_rows(&rows, grant_from_row)?
        });
        Ok(grants)
    }

    /// Every grant in force at `now_unix`, oldest first: the gateway's
    /// in-memory snapshot. A snapshot must be rebuilt when a grant's window
    /// opens or closes, not only when the generation changes.
    pub async fn all_active_grants(&self, now_unix: i64) -> Result<Vec<GrantRecord>, StoreError> {
        let grants = either!(Db, &self.db, pool => {
            let rows = sqlx::query(
                "SELECT * FROM grants
                 WHERE revoked_at IS NULL
                   AND (not_before IS NULL OR not_before <= $1)
                   AND (not_after IS NULL OR not_after > $1)
                 ORDER BY created_at, id",
            )
            .bind(now_unix)
            .fetch_all(pool)
            .await?;
            map_rows(&rows, grant_from_row)?
        });
        Ok(grants)
    }

    /// Revokes one grant. Returns false when it is unknown or already
    /// revoked (and then changes nothing, generation included).
    pub async fn revoke_grant(&self, id: &str, at: &str) -> Result<bool, StoreError> {
        either!(Db, &self.db, pool => {
            let mut tx = pool.begin().await?;
            let done =
                sqlx::query("UPDATE grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                    .bind(id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
            let changed = done.rows_affected() > 0;
            self.commit_if_changed(tx, changed).await?;
            Ok(changed)
        })
    }

    /// Revokes every unrevoked grant from `caller` to `target` (including
    /// ones not yet started or already ended). Returns how many.
    pub async fn revoke_grants_between(
        &self,
        caller: &str,
        target: &str,
        at: &str,
    ) -> Result<u64, StoreError> {
        either!(Db, &self.db, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE grants SET revoked_at = $3
                 WHERE caller = $1 AND target = $2 AND revoked_at IS NULL",
            )
            .bind(caller)
            .bind(target)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            let n = done.rows_affected();
            self.commit_if_changed(tx, n > 0).await?;
            Ok(n)
        })
    }
}

#[cfg(test)]
mod tests;
