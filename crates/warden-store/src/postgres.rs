//! Opening a store on PostgreSQL, the engine several gateways share.
//!
//! The URL is libpq's (`postgres://user:password@host:port/database`); a
//! schema other than `public` is chosen the libpq way, with
//! `?options=-c%20search_path%3Dname`.

use std::str::FromStr;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::backend::Db;
use crate::{Store, StoreError, changes, schema};

/// Connections per gateway: the request path reads memory, so the store
/// sees the batching writers, the admin API and snapshot reloads.
const MAX_CONNECTIONS: u32 = 8;

/// How long a caller waits for a connection before the store reports an
/// error (the server down or every connection busy).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) async fn open(url: &str) -> Result<Store, StoreError> {
    let pool = connect(url).await?;
    schema::postgres::migrate(&pool).await?;
    with_change_listener(pool).await
}

/// A store whose schema stops at `version` (see `Store::open_in_memory_at`).
#[cfg(test)]
pub(crate) async fn open_at(url: &str, version: usize) -> Result<Store, StoreError> {
    let pool = connect(url).await?;
    schema::postgres::migrate_to(&pool, version).await?;
    with_change_listener(pool).await
}

async fn connect(url: &str) -> Result<PgPool, StoreError> {
    connect_with(PgConnectOptions::from_str(url)?).await
}

/// A pool on the database `options` name, as every store's.
pub(crate) async fn connect_with(options: PgConnectOptions) -> Result<PgPool, StoreError> {
    let options = options.application_name("warden");
    let pool = PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await?;
    Ok(pool)
}

/// The store on `pool`, following the changes other processes announce
/// from the generation it has now.
async fn with_change_listener(pool: PgPool) -> Result<Store, StoreError> {
    let mut store = Store {
        db: Db::Postgres(pool.clone()),
        changes: changes::ChangeSignal::in_memory(),
        outbox: Default::default(),
        mail: Default::default(),
        mail_reads: Default::default(),
    };
    let generation = store.authz_generation().await?;
    store.changes = changes::ChangeSignal::listen(pool, generation).await?;
    Ok(store)
}
