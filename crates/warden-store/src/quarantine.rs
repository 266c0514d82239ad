//! Quarantined agents: the gateway refuses traffic to and from them until an
//! operator lifts it. Every change bumps the authorisation generation.

use crate::backend::{Columns, either, map_rows};
use crate::{Store, StoreError};

/// One quarantined agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineRecord {
    pub agent: String,
    pub reason: String,
    /// RFC 3339.
    pub created_at: String,
    /// Who imposed it (an operator or principal id, `cli`, ...).
    pub created_by: String,
}

impl Store {
    /// Quarantines `agent`. Returns false, changing nothing, when it is
    /// already quarantined: the first reason and author stay on record.
    pub async fn quarantine_add(
        &self,
        agent: &str,
        reason: &str,
        by: &str,
        at: &str,
    ) -> Result<bool, StoreError> {
        either!(Db, &self.db, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "INSERT INTO quarantine (agent, reason, created_at, created_by)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (agent) DO NOTHING",
            )
            .bind(agent)
            .bind(reason)
            .bind(at)
            .bind(by)
            .execute(&mut *tx)
            .await?;
            let added = done.rows_affected() > 0;
            self.commit_if_changed(tx, added).await?;
            Ok(added)
        })
    }

    /// Lifts the quarantine of `agent`. Returns whether it was quarantined.
    pub async fn quarantine_remove(&self, agent: &str) -> Result<bool, StoreError> {
        either!(Db, &self.db, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query("DELETE FROM quarantine WHERE agent = $1")
                .bind(agent)
                .execute(&mut *tx)
                .await?;
            let removed = done.rows_affected() > 0;
            self.commit_if_changed(tx, removed).await?;
            Ok(removed)
        })
    }

    /// Every quarantined agent, by name.
    pub async fn quarantined(&self) -> Result<Vec<QuarantineRecord>, StoreError> {
        let all = either!(Db, &self.db, pool => {
            let rows = sqlx::query("SELECT * FROM quarantine ORDER BY agent")
                .fetch_all(pool)
                .await?;
            map_rows(&rows, |r| {
                Ok(QuarantineRecord {
                    agent: r.col("agent")?,
                    reason: r.col("reason")?,
                    created_at: r.col("created_at")?,
                    created_by: r.col("created_by")?,
                })
            })?
        });
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::store_test;

    store_test! {
        async fn add_twice_keeps_the_first_and_bumps_once(s) {
            assert!(s.quarantined().await.expect("list").is_empty());
            assert!(
                s.quarantine_add("echo", "leaking", "alice", "t1")
                    .await
                    .expect("add")
            );
            assert_eq!(s.authz_generation().await.expect("gen"), 1);
            assert!(
                !s.quarantine_add("echo", "other", "bob", "t2")
                    .await
                    .expect("add again")
            );
            assert_eq!(
                s.authz_generation().await.expect("gen"),
                1,
                "no change, no bump"
            );
            assert!(
                s.quarantine_add("alpha", "noisy", "cli", "t3")
                    .await
                    .expect("add")
            );
            let all = s.quarantined().await.expect("list");
            assert_eq!(
                all,
                [
                    QuarantineRecord {
                        agent: "alpha".into(),
                        reason: "noisy".into(),
                        created_at: "t3".into(),
                        created_by: "cli".into(),
                    },
                    QuarantineRecord {
                        agent: "echo".into(),
                        reason: "leaking".into(),
                        created_at: "t1".into(),
                        created_by: "alice".into(),
                    },
                ]
            );
        }
    }

    store_test! {
        async fn remove_bumps_only_when_it_removes(s) {
            assert!(!s.quarantine_remove("echo").await.expect("remove unknown"));
            assert_eq!(s.authz_generation().await.expect("gen"), 0);
            s.quarantine_add("echo", "leaking", "cli", "t1")
                .await
                .expect("add");
            assert!(s.quarantine_remove("echo").await.expect("remove"));
            assert_eq!(s.authz_generation().await.expect("gen"), 2);
            assert!(s.quarantined().await.expect("list").is_empty());
            assert!(!s.quarantine_remove("echo").await.expect("remove twice"));
            assert_eq!(s.authz_generation().await.expect("gen"), 2);
        }
    }
}
