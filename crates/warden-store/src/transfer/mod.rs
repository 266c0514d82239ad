//! Moving a store's rows to a file and from a file into another store
//! (`warden store export | import`), between any two engines: the way a
//! deployment moves from SQLite to PostgreSQL, or back.
//!
//! The file is JSON Lines, one JSON object per line (`format.rs` and
//! docs/operations.md describe it): a header naming the format, its
//! version, the schema version and the source engine; one line per row of
//! every table ([`tables::TABLES`]); and a closing line with the row count
//! of each table, so a file cut short is refused rather than half imported.
//! An export reads one consistent snapshot; an import writes into an empty
//! store of the same schema version in one transaction, so a failure leaves
//! the target as it was.

mod export;
mod format;
mod import;
pub(crate) mod tables;

use format::FORMAT_VERSION;

use crate::StoreError;

/// What an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportOptions {
    /// Whether the audit events are written (every other table always is).
    pub audit: bool,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self { audit: true }
    }
}

/// What an export wrote, or an import read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferSummary {
    pub schema_version: i64,
    /// The engine the rows were exported from (`sqlite` or `postgres`).
    pub source: String,
    /// When the export was made (RFC 3339 UTC).
    pub exported_at: String,
    /// Rows per table, in the file's order.
    pub rows: Vec<(String, u64)>,
}

impl TransferSummary {
    pub fn total_rows(&self) -> u64 {
        self.rows.iter().map(|(_, n)| n).sum()
    }
}

/// Why an export or an import did not happen. Either way nothing was
/// written to a store; an export's partial file is the caller's to remove.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{}", schema_hint("the store", *found, *expected))]
    StoreSchema { found: i64, expected: i64 },
    #[error("{}", schema_hint("the file", *found, *expected))]
    FileSchema { found: i64, expected: i64 },
    #[error("not a Warden store export: {0}")]
    NotAnExport(String),
    #[error("the file is in export format version {0}; this Warden reads version {FORMAT_VERSION}")]
    FormatVersion(u64),
    #[error("line {line}: {reason}")]
    Malformed { line: u64, reason: String },
    #[error(
        "the file ends after line {0} without its closing line: it was cut short (nothing was imported)"
    )]
    Truncated(u64),
    #[error(
        "the target store is not empty ({0}): import only into a new store (a fresh PostgreSQL schema, or a SQLite file that does not exist yet)"
    )]
    NotEmpty(String),
    #[error("signing key {kid}: {reason}")]
    SigningKey { kid: String, reason: String },
    #[error("{0}")]
    Io(String),
}

impl TransferError {
    /// Whether the stores or the file are simply not in the state the
    /// operation needs (a newer or older schema, a target with data, a
    /// key-encryption key that does not match), as opposed to bad input or
    /// a failure.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::StoreSchema { .. }
                | Self::FileSchema { .. }
                | Self::NotEmpty(_)
                | Self::SigningKey { .. }
                | Self::Store(StoreError::SchemaTooNew { .. })
        )
    }
}

impl From<sqlx::Error> for TransferError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(e))
    }
}

fn schema_hint(what: &str, found: i64, expected: i64) -> String {
    let hint = if found < expected {
        match what {
            "the store" => "migrate it first (warden store migrate)",
            _ => {
                "migrate the source store with this Warden (warden store migrate) and export it again"
            }
        }
    } else {
        "use the Warden release that wrote it, or a newer one"
    };
    format!(
        "{what} is at schema version {found}; this Warden exports and imports version {expected}: {hint}"
    )
}

#[cfg(test)]
mod tests;
