//! An inbox: its messages in a stable order (creation time, then id), paged
//! by position, filtered; one message read, acknowledged or deleted by its
//! recipient. Every query names the recipient, so a message id alone never
//! reaches another inbox's message.

use crate::backend::{Db, Tx, either, map_rows};
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
    ///
    /// On SQLite the page comes back as one row, the JSON array of its
    /// messages (`json_group_array`): sqlx copies every value of every row
    /// and hands rows over one by one from its connection thread, which
    /// for a page of 20 messages of 15 columns cost more than the query.
    pub async fn mail_inbox(&self, f: &MailFilter) -> Result<MailPage, StoreError> {
        let limit = i64::from(f.limit.max(1)) + 1;
        let mut messages = match &self.db {
            Db::Sqlite(pool) => {
                let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(format!(
                    "SELECT json_group_array(json_object({})) FROM (",
                    json_members()
                ));
                filtered(&mut q, f, limit);
                q.push(")");
                // On the mailbox's own read connections (`reader.rs`).
                let page: String = match self.mail_reads.lease(pool).await? {
                    Some(mut lease) => {
                        let page = q.build_query_scalar().fetch_one(lease.conn()).await?;
                        lease.done();
                        page
                    }
                    None => q.build_query_scalar().fetch_one(pool).await?,
                };
                let mut rows: Vec<JsonRow> = serde_json::from_str(&page)
                    .map_err(|e| StoreError::Mail(format!("an inbox page: {e}")))?;
                // The aggregate's order is its input's in practice; the
                // listing's order is not left to that.
                rows.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
                if f.newest_first {
                    rows.reverse();
                }
                rows.into_iter().map(MailMessage::from).collect::<Vec<_>>()
            }
            Db::Postgres(pool) => {
                let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new("");
                filtered(&mut q, f, limit);
                let rows = q.build().fetch_all(pool).await?;
                map_rows(&rows, from_row)?
            }
        };
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
    /// as it now is; None when the inbox has no such message. On SQLite
    /// through the mailbox's writer (a write waiting on the lock would
    /// sleep in SQLite's busy handler while sends hold it).
    pub async fn mail_mark(
        &self,
        recipient: &str,
        id: &str,
        ack: bool,
        now_ms: i64,
    ) -> Result<Option<MailMessage>, StoreError> {
        let mark = Mark {
            recipient: recipient.into(),
            id: id.into(),
            ack,
            now_ms,
        };
        match &self.db {
            Db::Sqlite(pool) => Ok(self.mail.mark(pool, mark).await?),
            Db::Postgres(pool) => {
                let mut tx: Tx<'_> = pool.begin().await?.into();
                let found = mark_in(&mut tx, &mark).await?;
                tx.commit().await?;
                Ok(found)
            }
        }
    }

    /// Deletes a message of `recipient`'s inbox: true when there was one.
    pub async fn mail_delete(&self, recipient: &str, id: &str) -> Result<bool, StoreError> {
        let delete = Delete {
            recipient: recipient.into(),
            id: id.into(),
        };
        match &self.db {
            Db::Sqlite(pool) => Ok(self.mail.delete(pool, delete).await?),
            Db::Postgres(pool) => {
                let mut tx: Tx<'_> = pool.begin().await?.into();
                let found = delete_in(&mut tx, &delete).await?;
                tx.commit().await?;
                Ok(found)
            }
        }
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

/// The listing's query: the messages of the filter's page, and one more
/// (to tell whether more follow).
fn filtered<DB>(q: &mut sqlx::QueryBuilder<DB>, f: &MailFilter, limit: i64)
where
    DB: sqlx::Database,
    DB::Arguments: Default,
    String: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    q.push(format!(
        "SELECT {COLUMNS} FROM mail_messages WHERE recipient = "
    ));
    q.push_bind(f.recipient.clone());
    for (column, value) in [
        ("sender", &f.from),
        ("topic", &f.topic),
        ("thread", &f.thread),
        ("kind", &f.kind),
    ] {
        if let Some(v) = value {
            q.push(format!(" AND {column} = ")).push_bind(v.clone());
        }
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
    let (cmp, dir) = if f.newest_first {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some((ms, id)) = &f.after {
        q.push(format!(" AND (created_ms {cmp} ")).push_bind(*ms);
        q.push(" OR (created_ms = ").push_bind(*ms);
        q.push(format!(" AND id {cmp} "))
            .push_bind(id.clone())
            .push("))");
    }
    // The limit is written into the statement, not bound: SQLite (3.47
    // and later) reads a bound LIMIT while planning, so binding another
    // value expired the cached statement and every listing was parsed and
    // planned again (16 % of a listing's CPU in issue 16's profile). An
    // integer, so nothing to quote; a statement per page size is cached.
    q.push(format!(
        " ORDER BY created_ms {dir}, id {dir} LIMIT {limit}"
    ));
}

/// `'name', name` for every column, for SQLite's `json_object`.
fn json_members() -> String {
    COLUMNS
        .split(", ")
        .map(|c| format!("'{c}', {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A message as SQLite's `json_object` writes it.
#[derive(serde::Deserialize)]
struct JsonRow {
    id: String,
    sender: String,
    recipient: String,
    kind: String,
    topic: Option<String>,
    thread: String,
    reply_to: Option<String>,
    body: String,
    sealed: i64,
    size: i64,
    signature: String,
    created: String,
    created_ms: i64,
    read_ms: Option<i64>,
    acked_ms: Option<i64>,
}

impl From<JsonRow> for MailMessage {
    fn from(r: JsonRow) -> Self {
        Self {
            id: r.id,
            sender: r.sender,
            recipient: r.recipient,
            kind: r.kind,
            topic: r.topic,
            thread: r.thread,
            reply_to: r.reply_to,
            body: r.body,
            sealed: r.sealed != 0,
            size: r.size,
            signature: r.signature,
            created: r.created,
            created_ms: r.created_ms,
            read_ms: r.read_ms,
            acked_ms: r.acked_ms,
        }
    }
}

/// A read or acknowledgement to write.
#[derive(Debug, Clone)]
pub(crate) struct Mark {
    pub recipient: String,
    pub id: String,
    pub ack: bool,
    pub now_ms: i64,
}

/// A deletion to write.
#[derive(Debug, Clone)]
pub(crate) struct Delete {
    pub recipient: String,
    pub id: String,
}

pub(super) async fn mark_in(tx: &mut Tx<'_>, m: &Mark) -> Result<Option<MailMessage>, sqlx::Error> {
    let acked = if m.ack {
        "COALESCE(acked_ms, $3)"
    } else {
        "acked_ms"
    };
    let sql = format!(
        "UPDATE mail_messages SET read_ms = COALESCE(read_ms, $3), acked_ms = {acked}
         WHERE id = $1 AND recipient = $2 RETURNING {COLUMNS}"
    );
    Ok(either!(Tx, tx, t => {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&m.id)
            .bind(&m.recipient)
            .bind(m.now_ms)
            .fetch_optional(&mut **t)
            .await?
            .as_ref()
            .map(from_row)
            .transpose()?
    }))
}

pub(super) async fn delete_in(tx: &mut Tx<'_>, d: &Delete) -> Result<bool, sqlx::Error> {
    let n = either!(Tx, tx, t => {
        sqlx::query("DELETE FROM mail_messages WHERE id = $1 AND recipient = $2")
            .bind(&d.id)
            .bind(&d.recipient)
            .execute(&mut **t)
            .await?
            .rows_affected()
    });
    Ok(n > 0)
}
