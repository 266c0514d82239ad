//! Messaging grants: "sender may send to me", given by a recipient, one row
//! a pair. A new grant replaces the pair's old one (topics, expiry, and a
//! revocation lifted); a revoked one stays, for the record, until
//! retention removes it.

use crate::backend::{Columns, either, map_rows};
use crate::{Store, StoreError};

/// One pair's grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailGrant {
    /// Who gave it (the inbox it opens).
    pub recipient: String,
    /// Who may send.
    pub sender: String,
    /// Empty: every topic.
    pub topics: Vec<String>,
    /// The access request it accepted, if any.
    pub request_id: Option<String>,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub revoked_ms: Option<i64>,
}

const COLUMNS: &str = "recipient, sender, topics, request_id, created_ms, expires_ms, revoked_ms";

fn from_row(r: &impl Columns) -> Result<MailGrant, sqlx::Error> {
    let topics: String = r.col("topics")?;
    Ok(MailGrant {
        recipient: r.col("recipient")?,
        sender: r.col("sender")?,
        topics: serde_json::from_str(&topics).map_err(|e| sqlx::Error::ColumnDecode {
            index: "topics".into(),
            source: Box::new(e),
        })?,
        request_id: r.col("request_id")?,
        created_ms: r.col("created_ms")?,
        expires_ms: r.col("expires_ms")?,
        revoked_ms: r.col("revoked_ms")?,
    })
}

/// Whether a grant's topics (as stored: a JSON array) cover a message's
/// topic: no topics cover everything; otherwise the message needs one of
/// them. Unreadable topics cover nothing (fail closed).
pub(crate) fn covers(topics_json: &str, topic: Option<&str>) -> bool {
    let Ok(topics) = serde_json::from_str::<Vec<String>>(topics_json) else {
        return false;
    };
    topics.is_empty() || topic.is_some_and(|t| topics.iter().any(|g| g == t))
}

impl Store {
    /// Gives (or replaces) a grant. With `request_id`, the access request
    /// it accepts is acknowledged in the same transaction.
    pub async fn mail_grant_put(&self, g: &MailGrant, now_ms: i64) -> Result<(), StoreError> {
        let topics = serde_json::to_string(&g.topics).unwrap_or_else(|_| "[]".into());
        let mut tx = self.begin_write().await?;
        either!(Tx, &mut tx, t => {
            sqlx::query(
                "INSERT INTO mail_grants (recipient, sender, topics, request_id, created_ms,
                     expires_ms, revoked_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (recipient, sender) DO UPDATE SET topics = $3, request_id = $4,
                     created_ms = $5, expires_ms = $6, revoked_ms = $7",
            )
            .bind(&g.recipient)
            .bind(&g.sender)
            .bind(&topics)
            .bind(&g.request_id)
            .bind(g.created_ms)
            .bind(g.expires_ms)
            .bind(g.revoked_ms)
            .execute(&mut **t)
            .await?;
            if let Some(request) = &g.request_id {
                sqlx::query(
                    "UPDATE mail_messages SET acked_ms = $3, read_ms = COALESCE(read_ms, $3)
                     WHERE id = $1 AND recipient = $2 AND acked_ms IS NULL",
                )
                .bind(request)
                .bind(&g.recipient)
                .bind(now_ms)
                .execute(&mut **t)
                .await?;
            }
        });
        tx.commit().await?;
        Ok(())
    }

    /// The grant `recipient` gave `sender`, live or not.
    pub async fn mail_grant(
        &self,
        recipient: &str,
        sender: &str,
    ) -> Result<Option<MailGrant>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM mail_grants WHERE recipient = $1 AND sender = $2");
        Ok(either!(Db, &self.db, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(recipient)
                .bind(sender)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(from_row)
                .transpose()?
        }))
    }

    /// Ends the grant `recipient` gave `sender` at `now_ms`: true when a
    /// live one (not already revoked) was there.
    pub async fn mail_grant_revoke(
        &self,
        recipient: &str,
        sender: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let n = either!(Db, &self.db, pool => {
            sqlx::query(
                "UPDATE mail_grants SET revoked_ms = $3
                 WHERE recipient = $1 AND sender = $2 AND revoked_ms IS NULL",
            )
            .bind(recipient)
            .bind(sender)
            .bind(now_ms)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// The grants `address` gave (`given`: who may send to it) or was given
    /// (who it may send to), live ones only at `now_ms`, by the other
    /// party's address.
    pub async fn mail_grants(
        &self,
        address: &str,
        given: bool,
        now_ms: i64,
    ) -> Result<Vec<MailGrant>, StoreError> {
        let (me, other) = if given {
            ("recipient", "sender")
        } else {
            ("sender", "recipient")
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM mail_grants
             WHERE {me} = $1 AND revoked_ms IS NULL AND expires_ms > $2 ORDER BY {other}"
        );
        Ok(either!(Db, &self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(address)
                .bind(now_ms)
                .fetch_all(pool)
                .await?;
            map_rows(&rows, from_row)?
        }))
    }
}
