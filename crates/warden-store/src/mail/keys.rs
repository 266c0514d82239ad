//! The sealing keys recipients publish: one current public key an address
//! (a new one replaces it; the recipient keeps its old private keys to open
//! what was sealed to them).

use crate::backend::{Columns, either};
use crate::{Store, StoreError};

/// An address's published public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailKey {
    pub address: String,
    pub kid: String,
    /// The public JWK, as JSON text.
    pub jwk: String,
    pub published_ms: i64,
}

fn from_row(r: &impl Columns) -> Result<MailKey, sqlx::Error> {
    Ok(MailKey {
        address: r.col("address")?,
        kid: r.col("kid")?,
        jwk: r.col("jwk")?,
        published_ms: r.col("published_ms")?,
    })
}

impl Store {
    /// Publishes (or replaces) an address's key.
    pub async fn mail_key_put(&self, k: &MailKey) -> Result<(), StoreError> {
        either!(Db, &self.db, pool => {
            sqlx::query(
                "INSERT INTO mail_keys (address, kid, jwk, published_ms) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (address) DO UPDATE SET kid = $2, jwk = $3, published_ms = $4",
            )
            .bind(&k.address)
            .bind(&k.kid)
            .bind(&k.jwk)
            .bind(k.published_ms)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// An address's published key.
    pub async fn mail_key(&self, address: &str) -> Result<Option<MailKey>, StoreError> {
        Ok(either!(Db, &self.db, pool => {
            sqlx::query("SELECT address, kid, jwk, published_ms FROM mail_keys WHERE address = $1")
                .bind(address)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(from_row)
                .transpose()?
        }))
    }
}
