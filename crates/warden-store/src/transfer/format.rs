//! The export file, line by line.
//!
//! ```text
//! {"format":"warden-store-export","format_version":1,"schema_version":6,"source":"sqlite",
//!  "warden_version":"0.1.0","exported_at":"2026-05-01T12:00:00.000Z","tables":["settings",…]}
//! {"table":"settings","row":{"key":"authority.issuer","value":"https://warden.example"}}
//! …
//! {"end":{"rows":{"settings":2,…},"audit_last_seq":1234}}
//! ```
//!
//! (each object on one line). A row holds every column of its table: text
//! as a JSON string, integers as JSON numbers, bytes (`api_keys.hash`,
//! `signing_keys.sealed`) as standard base64, NULL as `null`.
//! `audit_last_seq` is the last audit sequence number the source handed
//! out (present when the audit table is), so numbers are never reused.

use std::collections::BTreeMap;
use std::io::Write;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::TransferError;
use super::tables::{Kind, Table};

/// The `format` of the header line.
pub const FORMAT: &str = "warden-store-export";

/// The version of the line format (not of the schema): raised when the
/// header, row or closing lines change shape.
pub const FORMAT_VERSION: u64 = 1;

/// The first line.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Header {
    pub format: String,
    pub format_version: u64,
    pub schema_version: i64,
    /// `sqlite` or `postgres`.
    pub source: String,
    pub warden_version: String,
    pub exported_at: String,
    /// The tables whose rows follow, in order.
    pub tables: Vec<String>,
}

/// The last line's content (`{"end": …}`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct End {
    pub rows: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_last_seq: Option<i64>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EndLine {
    end: End,
}

/// One column's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cell {
    Text(Option<String>),
    Int(Option<i64>),
    Blob(Option<Vec<u8>>),
}

impl Cell {
    fn to_json(&self) -> Value {
        match self {
            Self::Text(v) => v.as_ref().map_or(Value::Null, |s| Value::String(s.clone())),
            Self::Int(v) => v.map_or(Value::Null, Value::from),
            Self::Blob(v) => v
                .as_ref()
                .map_or(Value::Null, |b| Value::String(B64.encode(b))),
        }
    }

    fn from_json(kind: Kind, v: Value) -> Result<Self, &'static str> {
        Ok(match (kind, v) {
            (Kind::Text, Value::Null) => Self::Text(None),
            (Kind::Int, Value::Null) => Self::Int(None),
            (Kind::Blob, Value::Null) => Self::Blob(None),
            (Kind::Text, Value::String(s)) => Self::Text(Some(s)),
            (Kind::Int, Value::Number(n)) => {
                Self::Int(Some(n.as_i64().ok_or("expected a 64-bit integer")?))
            }
            (Kind::Blob, Value::String(s)) => Self::Blob(Some(
                B64.decode(s.as_bytes())
                    .map_err(|_| "expected standard base64")?,
            )),
            (Kind::Text, _) => return Err("expected a string or null"),
            (Kind::Int, _) => return Err("expected an integer or null"),
            (Kind::Blob, _) => return Err("expected a base64 string or null"),
        })
    }
}

fn io(e: impl std::fmt::Display) -> TransferError {
    TransferError::Io(format!("cannot write the export: {e}"))
}

/// Writes a JSON value and a newline.
pub(crate) fn write_line(out: &mut impl Write, v: &impl Serialize) -> Result<(), TransferError> {
    serde_json::to_writer(&mut *out, v).map_err(io)?;
    out.write_all(b"\n").map_err(io)
}

/// Writes `{"table":…,"row":{…}}`, the columns in schema order.
pub(crate) fn write_row(
    out: &mut impl Write,
    table: &Table,
    cells: &[Cell],
) -> Result<(), TransferError> {
    write!(out, "{{\"table\":\"{}\",\"row\":{{", table.name).map_err(io)?;
    for (i, ((name, _), cell)) in table.columns.iter().zip(cells).enumerate() {
        if i > 0 {
            out.write_all(b",").map_err(io)?;
        }
        write!(out, "\"{name}\":").map_err(io)?;
        serde_json::to_writer(&mut *out, &cell.to_json()).map_err(io)?;
    }
    out.write_all(b"}}\n").map_err(io)
}

/// Writes the closing line.
pub(crate) fn write_end(out: &mut impl Write, end: End) -> Result<(), TransferError> {
    write_line(out, &EndLine { end })
}

/// A line after the header.
pub(crate) enum Line {
    Row {
        table: &'static Table,
        cells: Vec<Cell>,
    },
    End(End),
}

/// Reads the header line (line 1): the format and its version first, so
/// a file of another format or version is named as such.
pub(crate) fn parse_header(text: &str) -> Result<Header, TransferError> {
    let v: Value = serde_json::from_str(text)
        .map_err(|_| TransferError::NotAnExport("the first line is not a JSON object".into()))?;
    if v.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(TransferError::NotAnExport(format!(
            "the first line does not say \"format\":\"{FORMAT}\""
        )));
    }
    match v.get("format_version").and_then(Value::as_u64) {
        Some(FORMAT_VERSION) => {}
        Some(other) => return Err(TransferError::FormatVersion(other)),
        None => {
            return Err(TransferError::NotAnExport(
                "the header has no format_version".into(),
            ));
        }
    }
    serde_json::from_value(v).map_err(|e| TransferError::Malformed {
        line: 1,
        reason: format!("header: {e}"),
    })
}

/// Reads a row or the closing line; `line` numbers the error.
pub(crate) fn parse_line(text: &str, line: u64) -> Result<Line, TransferError> {
    let bad = |reason: String| TransferError::Malformed { line, reason };
    let v: Value =
        serde_json::from_str(text).map_err(|e| bad(format!("not a JSON object: {e}")))?;
    let Value::Object(mut obj) = v else {
        return Err(bad("not a JSON object".into()));
    };
    if obj.contains_key("end") {
        let end: EndLine = serde_json::from_value(Value::Object(obj))
            .map_err(|e| bad(format!("closing line: {e}")))?;
        return Ok(Line::End(end.end));
    }
    let (table, row) = (obj.remove("table"), obj.remove("row"));
    let (Some(Value::String(name)), Some(Value::Object(row)), true) = (table, row, obj.is_empty())
    else {
        return Err(bad(
            "expected {\"table\":NAME,\"row\":{…}} or {\"end\":{…}}".into(),
        ));
    };
    let table = super::tables::table(&name).ok_or_else(|| bad(format!("no table {name:?}")))?;
    Ok(Line::Row {
        table,
        cells: cells_of(table, row).map_err(bad)?,
    })
}

/// The row's values in column order: exactly the table's columns.
fn cells_of(table: &Table, mut row: Map<String, Value>) -> Result<Vec<Cell>, String> {
    let mut cells = Vec::with_capacity(table.columns.len());
    for (name, kind) in table.columns {
        let v = row
            .remove(*name)
            .ok_or_else(|| format!("{}: no column {name}", table.name))?;
        cells.push(Cell::from_json(*kind, v).map_err(|e| format!("{}.{name}: {e}", table.name))?);
    }
    if let Some(extra) = row.keys().next() {
        return Err(format!(
            "{}: no column {extra:?} in this schema",
            table.name
        ));
    }
    Ok(cells)
}
