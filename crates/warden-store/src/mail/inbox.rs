//! An inbox: its messages in a stable order (creation time, then id), paged
//! by position, filtered; one message read, acknowledged or deleted by its
//! recipient. Every query names the recipient, so a message id alone never
//! reaches another inbox's message.

use crate::backend::{either, map_rows};
use crate::{Store, StoreError};

use super::{COLUMNS, MailMessage, from_row};

/// Which messages of an inbox a listing shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MailState {
    #[default]
    All,
    /// Not read yet.
    Unread,
    /// Not acknowledged yet.
    Unacked,
}

/// A listing of one inbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailFilter {
    pub recipient: String,
    pub from: Option<String>,
    pub topic: Option<String>,
    pub thread: Option<String>,
    pub kind: Option<String>,
    pub state: MailState,
    /// Start after this position (`created_ms`, `id`) in the listing's order.
    pub after: Option<(i64, String)>,
    pub newest_first: bool,
    pub limit: u32,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailPage {
    pub messages: Vec<MailMessage>,
    /// Whether messages follow the last one of this page.
    pub more: bool,
}

impl Store {
    /// A page of an inbox (by the inbox index: recipient, time, id).
    pub async fn mail_inbox(&self, f: &MailFilter) -> Result<MailPage, StoreError> {
        let select = format!("SELECT {COLUMNS} FROM mail_messages WHERE recipient = ");
        let limit = i64::from(f.limit.max(1)) + 1;
        // Built once per engine (their placeholders differ).
        let rows = either!(Db, &self.db, pool => {
            let mut q = sqlx::QueryBuilder::new(select.as_str());
            q.push_bind(f.recipient.clone());
            if let Some(v) = &f.from {
                q.push(" AND sender = ").push_bind(v.clone());
            }
            if let Some(v) = &f.topic {
                q.push(" AND topic = ").push_bind(v.clone());
            }
            if let Some(v) = &f.thread {
                q.push(" AND thread = ").push_bind(v.clone());
            }
            if let Some(v) = &f.kind {
                q.push(" AND kind = ").push_bind(v.clone());
            }
            match f.state {
                MailState::All => {}
                MailState::Unread => {
                    q.push(" AND read_ms IS NULL");
                }
                MailState::Unacked => {
                    q.push(" AND acked_ms IS NULL");
                }
            }
            let (cmp, dir) = if f.newest_first { ("<", "DESC") } else { (">", "ASC") };
            if let Some((ms, id)) = &f.after {
                q.push(format!(" AND (created_ms {cmp} ")).push_bind(*ms);
                q.push(" OR (created_ms = ").push_bind(*ms);
                q.push(format!(" AND id {cmp} ")).push_bind(id.clone()).push("))");
            }
            q.push(format!(" ORDER BY created_ms {dir}, id {dir} LIMIT ")).push_bind(limit);
            let rows = q.build().fetch_all(pool).await?;
            map_rows(&rows, from_row)?
        });
        let mut messages = rows;
        let more = messages.len() as i64 == limit;
        messages.truncate(f.limit.max(1) as usize);
        Ok(MailPage { messages, more })
    }

    /// A message by id, in any inbox (the caller checks who may see it).
    pub async fn mail_get(&self, id: &str) -> Result<Option<MailMessage>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM mail_messages WHERE id = $1");
        Ok(either!(Db, &self.db, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(from_row)
                .transpose()?
        }))
    }

    /// Marks a message of `recipient`'s inbox read (and, with `ack`,
    /// acknowledged) at `now_ms`, keeping earlier times, and returns it
    /// as it now is; None when the inbox has no such message.
    pub async fn mail_mark(
        &self,
        recipient: &str,
        id: &str,
        ack: bool,
        now_ms: i64,
    ) -> Result<Option<MailMessage>, StoreError> {
        let acked = if ack {
            "COALESCE(acked_ms, $3)"
        } else {
            "acked_ms"
        };
        let sql = format!(
            "UPDATE mail_messages SET read_ms = COALESCE(read_ms, $3), acked_ms = {acked}
             WHERE id = $1 AND recipient = $2 RETURNING {COLUMNS}"
        );
        Ok(either!(Db, &self.db, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .bind(recipient)
                .bind(now_ms)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(from_row)
                .transpose()?
        }))
    }

    /// Deletes a message of `recipient`'s inbox: true when there was one.
    pub async fn mail_delete(&self, recipient: &str, id: &str) -> Result<bool, StoreError> {
        let n = either!(Db, &self.db, pool => {
            sqlx::query("DELETE FROM mail_messages WHERE id = $1 AND recipient = $2")
                .bind(id)
                .bind(recipient)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// How many messages `recipient`'s inbox holds, their bytes, and how
    /// many are unread.
    pub async fn mail_counts(&self, recipient: &str) -> Result<(i64, i64, i64), StoreError> {
        Ok(either!(Db, &self.db, pool => {
            sqlx::query_as(
                "SELECT COUNT(*), CAST(COALESCE(SUM(size), 0) AS BIGINT),
                     COUNT(*) - COUNT(read_ms)
                 FROM mail_messages WHERE recipient = $1",
            )
            .bind(recipient)
            .fetch_one(pool)
            .await?
        }))
    }
}
