//! Reading an export file into an empty store, in one transaction: the
//! header and every line are checked as they are read, rows are inserted
//! in multi-row statements, and nothing is committed unless the closing
//! line is there and agrees with what was read.

use std::io::BufRead;

use sqlx::AssertSqlSafe;

use super::format::{self, Cell, End, Line};
use super::tables::{AUDIT, TABLES, Table};
use super::{TransferError, TransferSummary};
use crate::backend::{Db, Tx, either};
use crate::{SCHEMA_VERSION, Store};

/// Rows per INSERT: at most 12 columns each, far below SQLite's 32,766
/// parameters per statement (and PostgreSQL's 65,535).
const ROWS_PER_STATEMENT: usize = 500;

/// Bytes of row text held before they are inserted, so a table of large
/// task bodies is not held in memory whole.
const BYTES_PER_STATEMENT: usize = 4 << 20;

impl Store {
    /// Reads the export in `input` into this store, which must be empty and
    /// at this code's schema version, as must the file. Every signing key
    /// read is passed to `check_key` (its `kid` and sealed bytes) before
    /// anything is committed: an error there refuses the import (the
    /// caller checks that the target's key-encryption key opens it).
    ///
    /// Running gateways on this store are told of the change (the
    /// authorisation generation imported is announced), though none should
    /// run on an import's target.
    pub async fn import(
        &self,
        input: impl BufRead,
        mut check_key: impl FnMut(&str, &[u8]) -> Result<(), String>,
    ) -> Result<TransferSummary, TransferError> {
        let mut lines = input.lines();
        let first = lines
            .next()
            .ok_or_else(|| TransferError::NotAnExport("the file is empty".into()))?
            .map_err(|e| TransferError::NotAnExport(e.to_string()))?;
        let header = format::parse_header(&first)?;
        if header.schema_version != SCHEMA_VERSION {
            return Err(TransferError::FileSchema {
                found: header.schema_version,
                expected: SCHEMA_VERSION,
            });
        }
        let tables = header_tables(&header.tables)?;
        let found = self.schema_version().await?;
        if found != SCHEMA_VERSION {
            return Err(TransferError::StoreSchema {
                found,
                expected: SCHEMA_VERSION,
            });
        }

        let mut tx = self.begin_exclusive().await?;
        refuse_unless_empty(&mut tx).await?;
        let mut counted = vec![0u64; tables.len()];
        let mut batch = Batch::default();
        let mut max_seq = 0i64;
        let mut n = 1u64;
        let end = loop {
            n += 1;
            let Some(text) = lines.next() else {
                return Err(TransferError::Truncated(n - 1));
            };
            let text = text.map_err(|e| TransferError::Malformed {
                line: n,
                reason: e.to_string(),
            })?;
            let (table, cells) = match format::parse_line(&text, n)? {
                Line::End(end) => break end,
                Line::Row { table, cells } => (table, cells),
            };
            let Some(i) = tables.iter().position(|t| t.name == table.name) else {
                return Err(TransferError::Malformed {
                    line: n,
                    reason: format!("a row of {}, which the header does not list", table.name),
                });
            };
            counted[i] += 1;
            if let (AUDIT, Some(Cell::Int(Some(seq)))) = (table.name, cells.first()) {
                max_seq = max_seq.max(*seq);
            }
            if let ("signing_keys", [Cell::Text(Some(kid)), _, Cell::Blob(Some(sealed)), ..]) =
                (table.name, cells.as_slice())
            {
                check_key(kid, sealed).map_err(|reason| TransferError::SigningKey {
                    kid: kid.clone(),
                    reason,
                })?;
            }
            if batch.table.is_some_and(|t| t.name != table.name) {
                batch.insert(&mut tx).await?;
            }
            batch.push(table, cells, text.len());
            if batch.rows.len() >= ROWS_PER_STATEMENT || batch.bytes >= BYTES_PER_STATEMENT {
                batch.insert(&mut tx).await?;
            }
        };
        batch.insert(&mut tx).await?;
        if lines.next().is_some() {
            return Err(TransferError::Malformed {
                line: n + 1,
                reason: "more lines after the closing line".into(),
            });
        }
        check_end(&end, &tables, &counted, max_seq, n)?;
        if let Some(seq) = end.audit_last_seq {
            set_audit_seq(&mut tx, seq).await?;
        }
        self.commit_announced(tx).await?;
        Ok(TransferSummary {
            schema_version: header.schema_version,
            source: header.source,
            exported_at: header.exported_at,
            rows: tables
                .iter()
                .zip(counted)
                .map(|(t, c)| (t.name.to_string(), c))
                .collect(),
        })
    }

    /// A transaction no other writer can enter until it ends: SQLite's
    /// write lock taken at BEGIN, every table locked against writes on
    /// PostgreSQL (readers go on).
    async fn begin_exclusive(&self) -> Result<Tx<'_>, TransferError> {
        Ok(match &self.db {
            Db::Sqlite(pool) => pool.begin_with("BEGIN IMMEDIATE").await?.into(),
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
                // Names are constants of `tables.rs`.
                let sql = format!("LOCK TABLE {} IN EXCLUSIVE MODE", names.join(", "));
                sqlx::query(AssertSqlSafe(sql)).execute(&mut *tx).await?;
                tx.into()
            }
        })
    }

    /// Commits, announcing the imported authorisation generation as every
    /// change does (`generation.rs`), so a process already on this store
    /// reloads what it holds.
    async fn commit_announced(&self, mut tx: Tx<'_>) -> Result<(), TransferError> {
        let generation: Option<i64> = either!(Tx, &mut tx, t => {
            sqlx::query_scalar(crate::generation::READ)
                .fetch_optional(&mut **t)
                .await?
        });
        let generation = generation.unwrap_or(0);
        match tx {
            Tx::Sqlite(tx) => {
                // Before the commit, under the write lock, as commit_change.
                self.changes.announce(generation);
                tx.commit().await?;
            }
            Tx::Postgres(mut tx) => {
                sqlx::query("SELECT pg_notify($1, current_schema() || ' ' || $2)")
                    .bind(crate::changes::CHANNEL)
                    .bind(generation.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                self.changes.announce(generation);
            }
        }
        Ok(())
    }
}

/// The header's tables: every table in the export order, the audit table
/// optional (`--without-audit`).
fn header_tables(names: &[String]) -> Result<Vec<&'static Table>, TransferError> {
    let all: Vec<&'static Table> = TABLES.iter().collect();
    let without_audit: Vec<&'static Table> = TABLES.iter().filter(|t| t.name != AUDIT).collect();
    for candidate in [all, without_audit] {
        if candidate
            .iter()
            .map(|t| t.name)
            .eq(names.iter().map(String::as_str))
        {
            return Ok(candidate);
        }
    }
    Err(TransferError::Malformed {
        line: 1,
        reason: format!(
            "the header lists the tables {names:?}; this schema's are {:?} (the audit table may be left out)",
            TABLES.iter().map(|t| t.name).collect::<Vec<_>>()
        ),
    })
}

/// Refuses a target that holds any row, naming the tables that do.
async fn refuse_unless_empty(tx: &mut Tx<'_>) -> Result<(), TransferError> {
    let mut found = Vec::new();
    for t in TABLES {
        // Table names are constants of `tables.rs`.
        let sql = format!("SELECT COUNT(*) FROM {}", t.name);
        let n: i64 = either!(Tx, tx, c => {
            sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&mut **c).await?
        });
        if n > 0 {
            found.push(format!("{}: {n}", t.name));
        }
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(TransferError::NotEmpty(found.join(", ")))
    }
}

/// The closing line must count exactly the rows read, table by table.
fn check_end(
    end: &End,
    tables: &[&Table],
    counted: &[u64],
    max_seq: i64,
    line: u64,
) -> Result<(), TransferError> {
    let bad = |reason: String| TransferError::Malformed { line, reason };
    let names: Vec<&str> = tables.iter().map(|t| t.name).collect();
    if !end.rows.keys().map(String::as_str).eq({
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted
    }) {
        return Err(bad(format!(
            "the closing line counts the tables {:?}, the header lists {names:?}",
            end.rows.keys().collect::<Vec<_>>()
        )));
    }
    for (name, n) in names.iter().zip(counted) {
        let said = end.rows.get(*name).copied().unwrap_or_default();
        if said != *n {
            return Err(bad(format!(
                "the closing line counts {said} rows of {name}, the file holds {n}"
            )));
        }
    }
    match (names.contains(&AUDIT), end.audit_last_seq) {
        (true, Some(seq)) if seq < max_seq => Err(bad(format!(
            "audit_last_seq {seq} is below the last audit row's seq {max_seq}"
        ))),
        (true, None) => Err(bad("the audit table is in, audit_last_seq is not".into())),
        (false, Some(_)) => Err(bad("audit_last_seq without the audit table".into())),
        _ => Ok(()),
    }
}

/// Makes the next audit event get `seq + 1`, as it would have at the
/// source: numbers are never handed out twice.
async fn set_audit_seq(tx: &mut Tx<'_>, seq: i64) -> Result<(), TransferError> {
    if seq <= 0 {
        return Ok(());
    }
    match tx {
        Tx::Sqlite(t) => {
            // Inserting rows with their seq moved it to their largest.
            let updated = sqlx::query(
                "UPDATE sqlite_sequence SET seq = MAX(seq, $1) WHERE name = 'audit_events'",
            )
            .bind(seq)
            .execute(&mut **t)
            .await?;
            if updated.rows_affected() == 0 {
                sqlx::query("INSERT INTO sqlite_sequence (name, seq) VALUES ('audit_events', $1)")
                    .bind(seq)
                    .execute(&mut **t)
                    .await?;
            }
        }
        Tx::Postgres(t) => {
            sqlx::query("SELECT setval(pg_get_serial_sequence('audit_events', 'seq'), $1)")
                .bind(seq)
                .execute(&mut **t)
                .await?;
        }
    }
    Ok(())
}

/// Rows of one table waiting to be inserted.
#[derive(Default)]
struct Batch {
    table: Option<&'static Table>,
    rows: Vec<Vec<Cell>>,
    bytes: usize,
}

impl Batch {
    fn push(&mut self, table: &'static Table, cells: Vec<Cell>, bytes: usize) {
        self.table = Some(table);
        self.rows.push(cells);
        self.bytes += bytes;
    }

    /// Inserts the rows held, as one statement.
    async fn insert(&mut self, tx: &mut Tx<'_>) -> Result<(), TransferError> {
        let Some(table) = self.table.take() else {
            return Ok(());
        };
        let rows = std::mem::take(&mut self.rows);
        self.bytes = 0;
        if rows.is_empty() {
            return Ok(());
        }
        let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
        // Names are constants of `tables.rs`; values are bound.
        let head = format!("INSERT INTO {} ({}) ", table.name, columns.join(", "));
        either!(Tx, tx, t => {
            let mut q = sqlx::QueryBuilder::new(head);
            q.push_values(rows, |mut b, row| {
                for cell in row {
                    match cell {
                        Cell::Text(v) => b.push_bind(v),
                        Cell::Int(v) => b.push_bind(v),
                        Cell::Blob(v) => b.push_bind(v),
                    };
                }
            });
            q.build().execute(&mut **t).await?;
        });
        Ok(())
    }
}
