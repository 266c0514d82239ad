/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot prepare the data directory: {0}")]
    Io(String),
    #[error("invalid page token")]
    BadPageToken,
    #[error("the database schema is version {found}, newer than this Warden understands ({known})")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("invalid store URL: {0}")]
    BadUrl(String),
}
