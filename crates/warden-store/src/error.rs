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
    #[error("invalid push notification: {0}")]
    BadNotification(String),
    /// A mailbox write that could not settle (`mail/`).
    #[error("mailbox: {0}")]
    Mail(String),
}

impl StoreError {
    /// Whether the failure says the database cannot be reached now (the
    /// server down, restarting or refusing connections, the connection
    /// lost, or none to be had in time), as opposed to a statement it
    /// refused. A gateway treats the first as an outage to wait out, the
    /// second as an answer.
    pub fn is_unreachable(&self) -> bool {
        let Self::Database(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            // SQLSTATE class 08 (connection exception), 57P01..57P05
            // (shutting down, starting up, idle session ended) and 53300
            // (too many connections).
            sqlx::Error::Database(db) => db
                .code()
                .is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c == "53300"),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_connection_failures_are_unreachable() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(StoreError::Database(sqlx::Error::Io(refused)).is_unreachable());
        assert!(StoreError::Database(sqlx::Error::PoolTimedOut).is_unreachable());
        assert!(!StoreError::Database(sqlx::Error::RowNotFound).is_unreachable());
        assert!(!StoreError::BadPageToken.is_unreachable());
    }
}
