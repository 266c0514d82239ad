//! Audit events: one row per gateway decision. Tamper evidence (a hash chain)
//! comes with the audit issue; the table is append-only in this code.

use crate::backend::{Columns, either, map_rows};
use crate::{Store, StoreError};

/// Rows per INSERT: 11 parameters each, far below SQLite's limit of 32,766
/// parameters per statement (and PostgreSQL's of 65,535).
const ROWS_PER_STATEMENT: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// RFC 3339 UTC time of the decision.
    pub at: String,
    /// What kind of event (`request`, …).
    pub kind: String,
    pub agent: Option<String>,
    pub operation: Option<String>,
    pub binding: Option<String>,
    /// What was decided (the gateway writes `forwarded`, `refused`,
    /// `upstream_failed`, `card_served`).
    pub outcome: String,
    pub reason: Option<String>,
    pub source: Option<String>,
    /// The authenticated subject (`issuer` + subject), when known.
    pub principal: Option<String>,
    pub task_id: Option<String>,
    /// Extra JSON detail; never message bodies or credentials.
    pub detail: Option<String>,
}

impl Store {
    /// Appends events in one transaction (the gateway batches them), as
    /// multi-row statements: each statement is one round trip (to SQLite's
    /// worker thread, or to the server), so a row per statement would cost
    /// one per event.
    pub async fn append_audit(&self, events: &[AuditRecord]) -> Result<(), StoreError> {
        either!(Db, &self.db, pool => {
            let mut tx = pool.begin().await?;
            for chunk in events.chunks(ROWS_PER_STATEMENT) {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO audit_events
                       (at, kind, agent, operation, binding, outcome, reason, source, task_id, detail, principal) ",
                );
                q.push_values(chunk, |mut row, e| {
                    row.push_bind(&e.at)
                        .push_bind(&e.kind)
                        .push_bind(&e.agent)
                        .push_bind(&e.operation)
                        .push_bind(&e.binding)
                        .push_bind(&e.outcome)
                        .push_bind(&e.reason)
                        .push_bind(&e.source)
                        .push_bind(&e.task_id)
                        .push_bind(&e.detail)
                        .push_bind(&e.principal);
                });
                q.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The most recent `limit` events, newest first.
    pub async fn recent_audit(&self, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        let events = either!(Db, &self.db, pool => {
            let rows = sqlx::query("SELECT * FROM audit_events ORDER BY seq DESC LIMIT $1")
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            map_rows(&rows, audit_from_row)?
        });
        Ok(events)
    }
}

fn audit_from_row(r: &impl Columns) -> Result<AuditRecord, sqlx::Error> {
    Ok(AuditRecord {
        at: r.col("at")?,
        kind: r.col("kind")?,
        agent: r.col("agent")?,
        operation: r.col("operation")?,
        binding: r.col("binding")?,
        outcome: r.col("outcome")?,
        reason: r.col("reason")?,
        source: r.col("source")?,
        principal: r.col("principal")?,
        task_id: r.col("task_id")?,
        detail: r.col("detail")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::store_test;

    store_test! {
        async fn a_batch_larger_than_one_statement_keeps_every_event_in_order(s) {
            let n = ROWS_PER_STATEMENT * 2 + 3;
            let events: Vec<AuditRecord> = (0..n)
                .map(|i| AuditRecord {
                    at: format!("2026-01-01T00:00:00.{i:03}Z"),
                    kind: "request".into(),
                    agent: Some("echo".into()),
                    operation: None,
                    binding: None,
                    outcome: "forwarded".into(),
                    reason: None,
                    source: None,
                    principal: None,
                    task_id: Some(format!("t{i}")),
                    detail: None,
                })
                .collect();
            s.append_audit(&events).await.expect("append");
            let back = s
                .recent_audit(u32::try_from(n + 10).expect("n"))
                .await
                .expect("read");
            let want: Vec<AuditRecord> = events.into_iter().rev().collect();
            assert_eq!(back, want);
        }
    }
}
