//! The identity side of the store: the agent registry, API keys, and
//! Warden's signing keys (sealed; the store never sees them in the clear).

use crate::backend::{Columns, either, map_rows};
use crate::{Store, StoreError};

/// An agent known to Warden's token authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredAgent {
    pub id: String,
    pub display_name: String,
    /// Its public keys as an inline JWKS document (JSON), for `private_key_jwt`.
    pub jwks: Option<String>,
    pub jwks_url: Option<String>,
    /// JSON object: target agent → skill ids this agent may be granted.
    pub grants: String,
    /// The subject alternative name (URI such as a SPIFFE id, or DNS name)
    /// its client certificate carries, for mTLS client authentication
    /// (RFC 8705 `tls_client_auth`).
    pub tls_subject: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: String,
    /// Who the key authenticates (a registry agent id).
    pub subject: String,
    pub hash: Vec<u8>,
    pub created_at: String,
    /// Unix seconds after which the key stops working (rotation overlap).
    pub expires_at: Option<i64>,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub alg: String,
    pub sealed: Vec<u8>,
    /// Unix seconds.
    pub created_at: i64,
    /// From then on the key no longer signs.
    pub retire_at: i64,
    /// From then on its public key is no longer published.
    pub expires_at: i64,
}

fn agent_from_row(r: &impl Columns) -> Result<RegisteredAgent, sqlx::Error> {
    Ok(RegisteredAgent {
        id: r.col("id")?,
        display_name: r.col("display_name")?,
        jwks: r.col("jwks")?,
        jwks_url: r.col("jwks_url")?,
        grants: r.col("grants")?,
        tls_subject: r.col("tls_subject")?,
        created_at: r.col("created_at")?,
    })
}

fn key_from_row(r: &impl Columns) -> Result<ApiKeyRecord, sqlx::Error> {
    Ok(ApiKeyRecord {
        id: r.col("id")?,
        subject: r.col("subject")?,
        hash: r.col("hash")?,
        created_at: r.col("created_at")?,
        expires_at: r.col("expires_at")?,
        revoked_at: r.col("revoked_at")?,
        last_used_at: r.col("last_used_at")?,
    })
}

impl Store {
    /// Adds or replaces a registry entry.
    pub async fn put_agent(&self, a: &RegisteredAgent) -> Result<(), StoreError> {
        either!(Db, &self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO registry_agents
                     (id, display_name, jwks, jwks_url, grants, created_at, tls_subject)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (id) DO UPDATE SET display_name = $2, jwks = $3, jwks_url = $4,
                     grants = $5, tls_subject = $7",
            )
            .bind(&a.id)
            .bind(&a.display_name)
            .bind(&a.jwks)
            .bind(&a.jwks_url)
            .bind(&a.grants)
            .bind(&a.created_at)
            .bind(&a.tls_subject)
            .execute(&mut *tx)
            .await?;
            self.commit_change(tx).await
        })
    }

    pub async fn agent(&self, id: &str) -> Result<Option<RegisteredAgent>, StoreError> {
        let agent = either!(Db, &self.db, pool => {
            sqlx::query("SELECT * FROM registry_agents WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(agent_from_row)
                .transpose()?
        });
        Ok(agent)
    }

    pub async fn list_agents(&self) -> Result<Vec<RegisteredAgent>, StoreError> {
        let agents = either!(Db, &self.db, pool => {
            let rows = sqlx::query("SELECT * FROM registry_agents ORDER BY id")
                .fetch_all(pool)
                .await?;
            map_rows(&rows, agent_from_row)?
        });
        Ok(agents)
    }

    /// Removes an agent and its API keys. Returns whether it existed.
    pub async fn remove_agent(&self, id: &str) -> Result<bool, StoreError> {
        either!(Db, &self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM api_keys WHERE subject = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query("DELETE FROM registry_agents WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let removed = done.rows_affected() > 0;
            self.commit_if_changed(tx, removed).await?;
            Ok(removed)
        })
    }

    pub async fn put_api_key(&self, k: &ApiKeyRecord) -> Result<(), StoreError> {
        either!(Db, &self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO api_keys
                     (id, subject, hash, created_at, expires_at, revoked_at, last_used_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&k.id)
            .bind(&k.subject)
            .bind(&k.hash)
            .bind(&k.created_at)
            .bind(k.expires_at)
            .bind(&k.revoked_at)
            .bind(&k.last_used_at)
            .execute(&mut *tx)
            .await?;
            self.commit_change(tx).await
        })
    }

    pub async fn api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let key = either!(Db, &self.db, pool => {
            sqlx::query("SELECT * FROM api_keys WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(key_from_row)
                .transpose()?
        });
        Ok(key)
    }

    pub async fn list_api_keys(
        &self,
        subject: Option<&str>,
    ) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let keys = either!(Db, &self.db, pool => {
            let rows = sqlx::query(
                "SELECT * FROM api_keys WHERE ($1 IS NULL OR subject = $1)
                 ORDER BY subject, created_at",
            )
            .bind(subject)
            .fetch_all(pool)
            .await?;
            map_rows(&rows, key_from_row)?
        });
        Ok(keys)
    }

    /// Marks a key revoked. Returns whether it existed.
    pub async fn revoke_api_key(&self, id: &str, at: &str) -> Result<bool, StoreError> {
        either!(Db, &self.db, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            )
            .bind(id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            let revoked = done.rows_affected() > 0;
            self.commit_if_changed(tx, revoked).await?;
            Ok(revoked)
        })
    }

    /// Sets when a key stops working (the overlap of a rotation).
    pub async fn expire_api_key(&self, id: &str, at_unix: i64) -> Result<(), StoreError> {
        either!(Db, &self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE api_keys SET expires_at = $2 WHERE id = $1")
                .bind(id)
                .bind(at_unix)
                .execute(&mut *tx)
                .await?;
            self.commit_change(tx).await
        })
    }

    /// When a key was last used (to the minute). Not a change decisions
    /// read: no generation bump.
    pub async fn touch_api_key(&self, id: &str, at: &str) -> Result<(), StoreError> {
        either!(Db, &self.db, pool => {
            sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
                .bind(id)
                .bind(at)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    pub async fn put_signing_key(&self, k: &SigningKeyRecord) -> Result<(), StoreError> {
        either!(Db, &self.db, pool => {
            sqlx::query(
                "INSERT INTO signing_keys (kid, alg, sealed, created_at, retire_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&k.kid)
            .bind(&k.alg)
            .bind(&k.sealed)
            .bind(k.created_at)
            .bind(k.retire_at)
            .bind(k.expires_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// All signing keys, newest first.
    pub async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        let keys = either!(Db, &self.db, pool => {
            let rows = sqlx::query("SELECT * FROM signing_keys ORDER BY created_at DESC, kid")
                .fetch_all(pool)
                .await?;
            map_rows(&rows, |r| {
                Ok(SigningKeyRecord {
                    kid: r.col("kid")?,
                    alg: r.col("alg")?,
                    sealed: r.col("sealed")?,
                    created_at: r.col("created_at")?,
                    retire_at: r.col("retire_at")?,
                    expires_at: r.col("expires_at")?,
                })
            })?
        });
        Ok(keys)
    }

    /// A named setting (e.g. the issuer URL the gateway signs as).
    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        let v = either!(Db, &self.db, pool => {
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        Ok(v)
    }

    pub async fn put_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        either!(Db, &self.db, pool => {
            sqlx::query(
                "INSERT INTO settings (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = $2",
            )
            .bind(key)
            .bind(value)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Forgets keys whose public half no longer needs publishing.
    pub async fn delete_expired_signing_keys(&self, now_unix: i64) -> Result<u64, StoreError> {
        let done = either!(Db, &self.db, pool => {
            sqlx::query("DELETE FROM signing_keys WHERE expires_at < $1")
                .bind(now_unix)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::store_test;

    store_test! {
        async fn registry_keys_and_signing_keys_round_trip(s) {
            let a = RegisteredAgent {
                id: "planner".into(),
                display_name: "Planner".into(),
                jwks: None,
                jwks_url: None,
                grants: r#"{"echo":["echo"]}"#.into(),
                tls_subject: None,
                created_at: "2026-01-01T00:00:00.000Z".into(),
            };
            s.put_agent(&a).await.expect("put");
            assert_eq!(s.agent("planner").await.expect("get"), Some(a.clone()));
            let k = ApiKeyRecord {
                id: "k1".into(),
                subject: "planner".into(),
                hash: vec![1, 2, 3],
                created_at: "t".into(),
                expires_at: None,
                revoked_at: None,
                last_used_at: None,
            };
            s.put_api_key(&k).await.expect("key");
            assert!(s.revoke_api_key("k1", "t2").await.expect("revoke"));
            assert!(!s.revoke_api_key("k1", "t3").await.expect("revoke twice"));
            assert_eq!(
                s.api_key("k1")
                    .await
                    .expect("get")
                    .and_then(|k| k.revoked_at),
                Some("t2".into())
            );
            assert!(s.remove_agent("planner").await.expect("remove"));
            assert!(
                s.api_key("k1").await.expect("get").is_none(),
                "keys go with their agent"
            );
            let sk = SigningKeyRecord {
                kid: "kid1".into(),
                alg: "EdDSA".into(),
                sealed: vec![9],
                created_at: 1,
                retire_at: 2,
                expires_at: 3,
            };
            s.put_signing_key(&sk).await.expect("put key");
            assert_eq!(s.signing_keys().await.expect("keys"), vec![sk]);
            assert_eq!(s.delete_expired_signing_keys(4).await.expect("delete"), 1);
        }
    }
}
