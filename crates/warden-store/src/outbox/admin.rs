//! The outbox as an operator sees it (the admin API's `/push/…`): entries
//! listed without their bodies, one entry with it, counts by state, and a
//! dead entry put back in the queue.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{NotificationId, NotificationState, PARKED};
use crate::backend::{Columns, either, map_rows};
use crate::{Store, StoreError};

/// An entry without its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    pub id: NotificationId,
    pub subscription_id: String,
    pub task_id: String,
    pub seq: i64,
    pub destination: String,
    pub origin: String,
    pub state: String,
    pub attempts: i64,
    /// When a pending entry is due; for one being delivered, when its
    /// lease runs out. Meaningless while `waiting`.
    pub next_attempt_ms: i64,
    /// Pending behind an earlier open entry of its task (parked): due once
    /// that one is delivered or dead.
    pub waiting: bool,
    /// The worker holding it while it is being delivered.
    pub lease_owner: Option<String>,
    pub last_error: Option<String>,
    pub since_ms: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// Which entries a listing returns, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationFilter {
    pub state: Option<NotificationState>,
    pub task_id: Option<String>,
    /// `scheme://host:port` ([`super::outbox_origin`]).
    pub origin: Option<String>,
    /// A listing's `next_page_token`.
    pub page_token: Option<String>,
    pub limit: u32,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationPage {
    pub entries: Vec<NotificationRecord>,
    /// Empty on the last page.
    pub next_page_token: String,
}

/// Entries by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: u64,
    pub delivering: u64,
    pub delivered: u64,
    pub dead: u64,
}

/// What became of an admin retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retried {
    /// Pending again, due now, its attempts and horizon afresh.
    Queued,
    /// Not dead: in this state.
    NotDead(String),
    NotFound,
}

const COLUMNS: &str = "id, subscription_id, task_id, seq, destination, origin, state, attempts,
    next_attempt_ms, lease_owner, last_error, since_ms, created_ms, updated_ms";

fn record_from_row(row: &impl Columns) -> Result<NotificationRecord, sqlx::Error> {
    Ok(NotificationRecord {
        id: NotificationId(row.col("id")?),
        subscription_id: row.col("subscription_id")?,
        task_id: row.col("task_id")?,
        seq: row.col("seq")?,
        destination: row.col("destination")?,
        origin: row.col("origin")?,
        state: row.col("state")?,
        attempts: row.col("attempts")?,
        next_attempt_ms: row.col("next_attempt_ms")?,
        waiting: row.col::<i64>("next_attempt_ms")? == PARKED
            && row.col::<String>("state")? == NotificationState::Pending.as_str(),
        lease_owner: row.col("lease_owner")?,
        last_error: row.col("last_error")?,
        since_ms: row.col("since_ms")?,
        created_ms: row.col("created_ms")?,
        updated_ms: row.col("updated_ms")?,
    })
}

/// A page token is the position of the last entry returned.
fn encode_token(created_ms: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{created_ms}\n{id}"))
}

fn decode_token(token: &str) -> Result<(i64, String), StoreError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| StoreError::BadPageToken)?;
    let text = String::from_utf8(bytes).map_err(|_| StoreError::BadPageToken)?;
    let (ms, id) = text.split_once('\n').ok_or(StoreError::BadPageToken)?;
    let ms = ms.parse().map_err(|_| StoreError::BadPageToken)?;
    Ok((ms, id.to_string()))
}

impl Store {
    /// Entries newest first, without bodies.
    pub async fn outbox_list(
        &self,
        f: &NotificationFilter,
    ) -> Result<NotificationPage, StoreError> {
        let after = f
            .page_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(decode_token)
            .transpose()?;
        let (after_ms, after_id) = after.unzip();
        let limit = f.limit.max(1);
        let sql = format!(
            "SELECT {COLUMNS} FROM push_outbox
             WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR task_id = $2)
               AND ($3 IS NULL OR origin = $3)
               AND ($4 IS NULL OR created_ms < $4 OR (created_ms = $4 AND id < $5))
             ORDER BY created_ms DESC, id DESC LIMIT $6"
        );
        let mut entries = either!(Db, &self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(f.state.map(NotificationState::as_str))
                .bind(&f.task_id)
                .bind(&f.origin)
                .bind(after_ms)
                .bind(after_id)
                .bind(i64::from(limit) + 1)
                .fetch_all(pool)
                .await?;
            map_rows(&rows, record_from_row)?
        });
        let more = entries.len() > limit as usize;
        entries.truncate(limit as usize);
        let next_page_token = match (more, entries.last()) {
            (true, Some(last)) => encode_token(last.created_ms, last.id.as_str()),
            _ => String::new(),
        };
        Ok(NotificationPage {
            entries,
            next_page_token,
        })
    }

    /// One entry and its body (empty once delivered).
    pub async fn outbox_get(
        &self,
        id: &str,
    ) -> Result<Option<(NotificationRecord, Vec<u8>)>, StoreError> {
        let sql = format!("SELECT {COLUMNS}, body FROM push_outbox WHERE id = $1");
        let found = either!(Db, &self.db, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await? {
                Some(row) => Some((record_from_row(&row)?, row.col::<Vec<u8>>("body")?)),
                None => None,
            }
        });
        Ok(found)
    }

    /// Entries by state.
    pub async fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let rows: Vec<(String, i64)> = either!(Db, &self.db, pool => {
            sqlx::query_as("SELECT state, COUNT(*) FROM push_outbox GROUP BY state")
                .fetch_all(pool)
                .await?
        });
        let mut c = OutboxCounts::default();
        for (state, n) in rows {
            let n = u64::try_from(n).unwrap_or(0);
            match NotificationState::parse(&state) {
                Some(NotificationState::Pending) => c.pending = n,
                Some(NotificationState::Delivering) => c.delivering = n,
                Some(NotificationState::Delivered) => c.delivered = n,
                Some(NotificationState::Dead) => c.dead = n,
                None => {}
            }
        }
        Ok(c)
    }

    /// Entries waiting for delivery (pending or being delivered): the
    /// queue's length, from the index of open entries.
    pub async fn outbox_queued(&self) -> Result<u64, StoreError> {
        let n: i64 = either!(Db, &self.db, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM push_outbox WHERE state IN ('pending', 'delivering')",
            )
            .fetch_one(pool)
            .await?
        });
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Puts a dead entry back in the queue, due at `now_ms`, with its
    /// attempts and its dead-letter horizon counted afresh from then, and
    /// wakes this handle's worker. Entries after it in its task's order
    /// may have been delivered meanwhile: it arrives after them.
    pub async fn outbox_retry(&self, id: &str, now_ms: i64) -> Result<Retried, StoreError> {
        let n = either!(Db, &self.db, pool => {
            sqlx::query(
                "UPDATE push_outbox SET state = 'pending', attempts = 0, next_attempt_ms = $1,
                     since_ms = $1, last_error = NULL, updated_ms = $1
                 WHERE id = $2 AND state = 'dead'",
            )
            .bind(now_ms)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if n == 1 {
            self.outbox_wake();
            return Ok(Retried::Queued);
        }
        let state: Option<String> = either!(Db, &self.db, pool => {
            sqlx::query_scalar("SELECT state FROM push_outbox WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        Ok(state.map_or(Retried::NotFound, Retried::NotDead))
    }
}
