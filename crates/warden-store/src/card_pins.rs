//! Pinned upstream cards: the first verified card of an agent is pinned; a
//! later card that differs by more than its `version` raises a review, and
//! the pinned card keeps being served until an operator approves it.

use crate::backend::{Columns, either, map_rows};
use crate::{Store, StoreError};

/// The card an agent is pinned to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardPin {
    pub agent: String,
    /// SHA-256 hex of the RFC 8785 form of the card without signatures.
    pub digest: String,
    /// The card (JSON text).
    pub card: String,
    /// RFC 7638 thumbprints (or `kid:…`) of the keys that signed it, JSON array.
    pub key_thumbprints: String,
    /// RFC 3339.
    pub pinned_at: String,
}

/// A changed card waiting for an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardReview {
    pub id: String,
    pub agent: String,
    pub digest: String,
    pub card: String,
    pub key_thumbprints: String,
    /// What changed against the pin (JSON array of strings).
    pub changes: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub raised_at: String,
    pub decided_at: Option<String>,
}

fn review(r: &impl Columns) -> Result<CardReview, sqlx::Error> {
    Ok(CardReview {
        id: r.col("id")?,
        agent: r.col("agent")?,
        digest: r.col("digest")?,
        card: r.col("card")?,
        key_thumbprints: r.col("key_thumbprints")?,
        changes: r.col("changes")?,
        status: r.col("status")?,
        raised_at: r.col("raised_at")?,
        decided_at: r.col("decided_at")?,
    })
}

/// Pins (or re-pins) an agent's card.
const PIN: &str = "INSERT INTO card_pins (agent, digest, card, key_thumbprints, pinned_at)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (agent) DO UPDATE SET digest = $2, card = $3,
         key_thumbprints = $4, pinned_at = $5";

impl Store {
    /// The card `agent` is pinned to.
    pub async fn card_pin(&self, agent: &str) -> Result<Option<CardPin>, StoreError> {
        let pin = either!(Db, &self.db, pool => {
            let row = sqlx::query("SELECT * FROM card_pins WHERE agent = $1")
                .bind(agent)
                .fetch_optional(pool)
                .await?;
            row.map(|r| -> Result<_, sqlx::Error> {
                Ok(CardPin {
                    agent: r.col("agent")?,
                    digest: r.col("digest")?,
                    card: r.col("card")?,
                    key_thumbprints: r.col("key_thumbprints")?,
                    pinned_at: r.col("pinned_at")?,
                })
            })
            .transpose()?
        });
        Ok(pin)
    }

    /// Pins (or re-pins) an agent's card.
    pub async fn put_card_pin(&self, pin: &CardPin) -> Result<(), StoreError> {
        either!(Db, &self.db, pool => {
            sqlx::query(PIN)
                .bind(&pin.agent)
                .bind(&pin.digest)
                .bind(&pin.card)
                .bind(&pin.key_thumbprints)
                .bind(&pin.pinned_at)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Raises a review, once per agent and digest: false when one exists
    /// already (whatever its status).
    pub async fn raise_card_review(&self, r: &CardReview) -> Result<bool, StoreError> {
        let added = either!(Db, &self.db, pool => {
            sqlx::query(
                "INSERT INTO card_reviews (id, agent, digest, card, key_thumbprints, changes,
                     status, raised_at, decided_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, NULL)
                 ON CONFLICT (agent, digest) DO NOTHING",
            )
            .bind(&r.id)
            .bind(&r.agent)
            .bind(&r.digest)
            .bind(&r.card)
            .bind(&r.key_thumbprints)
            .bind(&r.changes)
            .bind(&r.raised_at)
            .execute(pool)
            .await?
            .rows_affected()
                > 0
        });
        Ok(added)
    }

    /// The status of the review of `agent`'s card with `digest`, if one was
    /// raised: an `approved` one means an operator accepted that card.
    pub async fn card_review_status(
        &self,
        agent: &str,
        digest: &str,
    ) -> Result<Option<String>, StoreError> {
        let status = either!(Db, &self.db, pool => {
            sqlx::query_scalar("SELECT status FROM card_reviews WHERE agent = $1 AND digest = $2")
                .bind(agent)
                .bind(digest)
                .fetch_optional(pool)
                .await?
        });
        Ok(status)
    }

    /// Reviews, oldest first; only `status` ones when given.
    pub async fn card_reviews(&self, status: Option<&str>) -> Result<Vec<CardReview>, StoreError> {
        let reviews = either!(Db, &self.db, pool => {
            let rows = sqlx::query(
                "SELECT * FROM card_reviews WHERE $1 IS NULL OR status = $1 ORDER BY raised_at, id",
            )
            .bind(status)
            .fetch_all(pool)
            .await?;
            map_rows(&rows, review)?
        });
        Ok(reviews)
    }

    /// Decides a pending review; an approved card becomes the pin. None when
    /// there is no pending review `id`.
    pub async fn decide_card_review(
        &self,
        id: &str,
        approve: bool,
        at: &str,
    ) -> Result<Option<CardReview>, StoreError> {
        let status = if approve { "approved" } else { "rejected" };
        either!(Db, &self.db, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE card_reviews SET status = $2, decided_at = $3
                 WHERE id = $1 AND status = 'pending'",
            )
            .bind(id)
            .bind(status)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Ok(None);
            }
            let row = sqlx::query("SELECT * FROM card_reviews WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            let r = review(&row)?;
            if approve {
                sqlx::query(PIN)
                    .bind(&r.agent)
                    .bind(&r.digest)
                    .bind(&r.card)
                    .bind(&r.key_thumbprints)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(Some(r))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::store_test;

    store_test! {
        async fn reviews_are_raised_once_per_digest_and_approval_repins(s) {
            assert!(s.card_pin("a").await.expect("pin").is_none());
            let pin = CardPin {
                agent: "a".into(),
                digest: "d1".into(),
                card: "{}".into(),
                key_thumbprints: "[\"k1\"]".into(),
                pinned_at: "t0".into(),
            };
            s.put_card_pin(&pin).await.expect("pin");
            let r = CardReview {
                id: "r1".into(),
                agent: "a".into(),
                digest: "d2".into(),
                card: "{\"v\":2}".into(),
                key_thumbprints: "[\"k2\"]".into(),
                changes: "[\"signing key\"]".into(),
                status: "pending".into(),
                raised_at: "t1".into(),
                decided_at: None,
            };
            assert!(s.raise_card_review(&r).await.expect("raise"));
            assert_eq!(
                s.card_review_status("a", "d2").await.expect("status"),
                Some("pending".into())
            );
            assert_eq!(s.card_review_status("a", "d9").await.expect("status"), None);
            let again = CardReview {
                id: "r2".into(),
                ..r.clone()
            };
            assert!(
                !s.raise_card_review(&again).await.expect("raise"),
                "once per digest"
            );
            assert_eq!(
                s.card_reviews(Some("pending")).await.expect("list").len(),
                1
            );
            assert!(
                s.decide_card_review("nope", true, "t2")
                    .await
                    .expect("decide")
                    .is_none()
            );
            let decided = s
                .decide_card_review("r1", true, "t2")
                .await
                .expect("decide");
            assert_eq!(decided.map(|d| d.status), Some("approved".into()));
            let now = s.card_pin("a").await.expect("pin").expect("pinned");
            assert_eq!(
                (now.digest.as_str(), now.card.as_str()),
                ("d2", "{\"v\":2}")
            );
            assert!(
                s.decide_card_review("r1", false, "t3")
                    .await
                    .expect("decide")
                    .is_none()
            );
            assert!(
                s.card_reviews(Some("pending"))
                    .await
                    .expect("list")
                    .is_empty()
            );
        }
    }
}
