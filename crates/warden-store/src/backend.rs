//! The two engines a store runs on — an embedded SQLite file or a PostgreSQL
//! server — behind one set of queries.
//!
//! Each query is written once and compiled for both engines by [`either!`]:
//! its text uses numbered `$n` parameters, which PostgreSQL requires and
//! SQLite (through sqlx) accepts, and binds values both engines encode
//! (text, 64-bit integers, bytes, booleans). The few places where SQL
//! differs between the engines ask [`Db`] for the fragment. Rows are read
//! through [`Columns`], so one mapping function serves both row types.
//!
//! An enum, not `sqlx::Any`: each engine keeps its own connect options
//! (WAL, busy timeout) and its own exact column types, and a query builder
//! writes each engine's own placeholders.

use sqlx::postgres::{PgPool, PgRow};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{Decode, Postgres, Row, Sqlite, Transaction, Type};

/// Evaluates `$body` with `$bind` bound to the inner value of a [`Db`] or
/// [`Tx`], once per engine: the body is compiled twice, so it must be valid
/// for both (see the module documentation).
macro_rules! either {
    ($kind:ident, $value:expr, $bind:ident => $body:expr) => {
        match $value {
            $crate::backend::$kind::Sqlite($bind) => $body,
            $crate::backend::$kind::Postgres($bind) => $body,
        }
    };
}
pub(crate) use either;

/// The pool of whichever engine the store was opened on.
#[derive(Debug, Clone)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A transaction on either engine.
pub(crate) enum Tx<'c> {
    Sqlite(Transaction<'c, Sqlite>),
    Postgres(Transaction<'c, Postgres>),
}

impl Tx<'_> {
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        either!(Tx, self, tx => tx.commit().await)
    }
}

impl<'c> From<Transaction<'c, Sqlite>> for Tx<'c> {
    fn from(tx: Transaction<'c, Sqlite>) -> Self {
        Self::Sqlite(tx)
    }
}

impl<'c> From<Transaction<'c, Postgres>> for Tx<'c> {
    fn from(tx: Transaction<'c, Postgres>) -> Self {
        Self::Postgres(tx)
    }
}

impl Db {
    /// The current time on the database's clock as text, RFC 3339 UTC with
    /// milliseconds (`2026-01-02T03:04:05.678Z`), so text order is time
    /// order. The database's clock, not the caller's: replicas sharing one
    /// PostgreSQL then agree on one clock.
    pub(crate) fn now_text(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            Self::Postgres(_) => {
                r#"to_char(statement_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"#
            }
        }
    }
}

/// A value both engines decode (text, integers, bytes, booleans, and
/// options of them).
pub(crate) trait Value:
    for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}

impl<T> Value for T where
    T: for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}

/// A row of either engine, read by column name.
pub(crate) trait Columns {
    fn col<T: Value>(&self, name: &str) -> Result<T, sqlx::Error>;
}

impl Columns for SqliteRow {
    fn col<T: Value>(&self, name: &str) -> Result<T, sqlx::Error> {
        self.try_get(name)
    }
}

impl Columns for PgRow {
    fn col<T: Value>(&self, name: &str) -> Result<T, sqlx::Error> {
        self.try_get(name)
    }
}

/// Maps every row with `f` (a row mapper written once for both engines).
pub(crate) fn map_rows<R: Columns, T>(
    rows: &[R],
    f: impl Fn(&R) -> Result<T, sqlx::Error>,
) -> Result<Vec<T>, sqlx::Error> {
    rows.iter().map(f).collect()
}
