//! Audit events: one row per gateway decision. Tamper evidence (a hash chain)
//! comes with the audit issue; the table is append-only in this code.

use sqlx::Row;

use crate::{Store, StoreError};

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
    /// Appends events in one transaction (the gateway batches them).
    pub async fn append_audit(&self, events: &[AuditRecord]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for e in events {
            sqlx::query(
                "INSERT INTO audit_events
                   (at, kind, agent, operation, binding, outcome, reason, source, task_id, detail, principal)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .bind(&e.at)
            .bind(&e.kind)
            .bind(&e.agent)
            .bind(&e.operation)
            .bind(&e.binding)
            .bind(&e.outcome)
            .bind(&e.reason)
            .bind(&e.source)
            .bind(&e.task_id)
            .bind(&e.detail)
            .bind(&e.principal)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The most recent `limit` events, newest first.
    pub async fn recent_audit(&self, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM audit_events ORDER BY seq DESC LIMIT ?1")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditRecord {
                    at: r.try_get("at")?,
                    kind: r.try_get("kind")?,
                    agent: r.try_get("agent")?,
                    operation: r.try_get("operation")?,
                    binding: r.try_get("binding")?,
                    outcome: r.try_get("outcome")?,
                    reason: r.try_get("reason")?,
                    source: r.try_get("source")?,
                    principal: r.try_get("principal")?,
                    task_id: r.try_get("task_id")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }
}
