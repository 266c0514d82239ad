//! Writing every row of a store to an export file, from one snapshot: a
//! read transaction on SQLite (WAL: writers go on meanwhile), `REPEATABLE
//! READ READ ONLY` on PostgreSQL. Rows are streamed, never all in memory.

use std::io::Write;

use futures_util::TryStreamExt;
use sqlx::AssertSqlSafe;

use super::format::{self, Cell, End, Header};
use super::tables::{AUDIT, Kind, TABLES, Table};
use super::{ExportOptions, TransferError, TransferSummary};
use crate::backend::{Columns, Db, Tx, either};
use crate::{SCHEMA_VERSION, Store};

impl Store {
    /// Writes the store to `out` in the export format (see the module
    /// documentation of `transfer`). The store must be at this code's
    /// schema version ([`SCHEMA_VERSION`]): an export is read back by the
    /// same table list.
    pub async fn export(
        &self,
        out: &mut impl Write,
        options: ExportOptions,
    ) -> Result<TransferSummary, TransferError> {
        let before = self.schema_version().await?;
        if before != SCHEMA_VERSION {
            return Err(TransferError::StoreSchema {
                found: before,
                expected: SCHEMA_VERSION,
            });
        }
        let (mut tx, source): (Tx<'_>, &str) = match &self.db {
            Db::Sqlite(pool) => (pool.begin().await?.into(), "sqlite"),
            Db::Postgres(pool) => (
                pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?
                    .into(),
                "postgres",
            ),
        };
        // Again inside the snapshot: a migration committed in between
        // would make the rows another version's.
        let version: i64 = match &mut tx {
            Tx::Sqlite(t) => {
                sqlx::query_scalar("PRAGMA user_version")
                    .fetch_one(&mut **t)
                    .await?
            }
            Tx::Postgres(t) => {
                sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_versions")
                    .fetch_one(&mut **t)
                    .await?
            }
        };
        if version != SCHEMA_VERSION {
            return Err(TransferError::StoreSchema {
                found: version,
                expected: SCHEMA_VERSION,
            });
        }
        let tables: Vec<&Table> = TABLES
            .iter()
            .filter(|t| options.audit || t.name != AUDIT)
            .collect();
        let header = Header {
            format: format::FORMAT.into(),
            format_version: format::FORMAT_VERSION,
            schema_version: version,
            source: source.into(),
            warden_version: env!("CARGO_PKG_VERSION").into(),
            exported_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            tables: tables.iter().map(|t| t.name.to_string()).collect(),
        };
        format::write_line(out, &header)?;
        let mut end = End::default();
        let mut rows = Vec::with_capacity(tables.len());
        for table in tables {
            let n = export_table(&mut tx, table, out).await?;
            end.rows.insert(table.name.into(), n);
            rows.push((table.name.to_string(), n));
        }
        if options.audit {
            end.audit_last_seq = Some(last_audit_seq(&mut tx).await?);
        }
        format::write_end(out, end)?;
        out.flush()
            .map_err(|e| TransferError::Io(format!("cannot write the export: {e}")))?;
        tx.commit().await?;
        Ok(TransferSummary {
            schema_version: header.schema_version,
            source: header.source,
            exported_at: header.exported_at,
            rows,
        })
    }
}

/// Streams one table's rows to `out`, in primary-key order; returns how
/// many.
async fn export_table(
    tx: &mut Tx<'_>,
    table: &Table,
    out: &mut impl Write,
) -> Result<u64, TransferError> {
    let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
    // Names and orders are constants of `tables.rs`.
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {}",
        columns.join(", "),
        table.name,
        table.order_by
    );
    let mut n = 0u64;
    either!(Tx, tx, t => {
        let mut rows = sqlx::query(AssertSqlSafe(sql)).fetch(&mut **t);
        while let Some(row) = rows.try_next().await? {
            format::write_row(out, table, &cells(&row, table)?)?;
            n += 1;
        }
    });
    Ok(n)
}

fn cells(r: &impl Columns, table: &Table) -> Result<Vec<Cell>, sqlx::Error> {
    table
        .columns
        .iter()
        .map(|(name, kind)| {
            Ok(match kind {
                Kind::Text => Cell::Text(r.col(name)?),
                Kind::Int => Cell::Int(r.col(name)?),
                Kind::Blob => Cell::Blob(r.col(name)?),
            })
        })
        .collect()
}

/// The last audit sequence number handed out (0: none), which may be past
/// the last row (rows removed by retention, or a transaction rolled back).
async fn last_audit_seq(tx: &mut Tx<'_>) -> Result<i64, TransferError> {
    let seq: Option<i64> = match tx {
        Tx::Sqlite(t) => {
            sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = 'audit_events'")
                .fetch_optional(&mut **t)
                .await?
        }
        Tx::Postgres(t) => {
            sqlx::query_scalar(
                "SELECT pg_sequence_last_value(pg_get_serial_sequence('audit_events', 'seq')::regclass)",
            )
            .fetch_one(&mut **t)
            .await?
        }
    };
    let max: Option<i64> = either!(Tx, tx, t => {
        sqlx::query_scalar("SELECT MAX(seq) FROM audit_events")
            .fetch_one(&mut **t)
            .await?
    });
    Ok(seq.unwrap_or(0).max(max.unwrap_or(0)))
}
