//! `warden store status` and `warden store migrate`.

use std::io::Write as _;
use std::process::ExitCode;

use serde_json::{Map, Value, json};
use warden_store::{SCHEMA_VERSION, StoreError};

use super::target::Target;
use super::{Failure, StoreArgs};
use crate::authz_cmd::{print_json, table};

/// How a store's schema compares with this binary's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SchemaState {
    UpToDate,
    /// Migrations are pending (a gateway applies them at start, as does
    /// `warden store migrate`).
    Behind,
    /// Migrated by a newer Warden: this binary refuses to use it.
    Newer,
}

impl SchemaState {
    fn of(version: i64) -> Self {
        match version.cmp(&SCHEMA_VERSION) {
            std::cmp::Ordering::Equal => Self::UpToDate,
            std::cmp::Ordering::Less => Self::Behind,
            std::cmp::Ordering::Greater => Self::Newer,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Self::UpToDate => "up_to_date",
            Self::Behind => "migrations_pending",
            Self::Newer => "newer_than_binary",
        }
    }

    fn describe(self, version: i64) -> String {
        match self {
            Self::UpToDate => format!("{version}, the version this Warden expects"),
            Self::Behind => format!(
                "{version}; this Warden expects {SCHEMA_VERSION}: {} migration(s) pending \
                 (warden store migrate, or a gateway's next start, applies them)",
                SCHEMA_VERSION - version
            ),
            Self::Newer => format!(
                "{version}, newer than this Warden ({SCHEMA_VERSION}): a gateway of this \
                 release refuses it; use the release that migrated it, or a newer one"
            ),
        }
    }
}

/// `warden store status`: exit 0 up to date, 1 behind or newer.
pub async fn status(args: &StoreArgs, json: bool) -> Result<ExitCode, Failure> {
    let target = Target::resolve(args)?;
    let store = target.open_as_is().await?;
    let bad = |e: StoreError| Failure::Bad(format!("cannot read the store: {e}"));
    let location = store.location().await.map_err(bad)?;
    let version = store.schema_version().await.map_err(bad)?;
    let counts = store.row_counts().await.map_err(bad)?;
    let state = SchemaState::of(version);
    if json {
        let rows: Map<String, Value> = counts
            .iter()
            .map(|(t, n)| (t.to_string(), n.map_or(Value::Null, Value::from)))
            .collect();
        print_json(&json!({
            "location": location,
            "schema_version": version,
            "expected_version": SCHEMA_VERSION,
            "state": state.code(),
            "pending_migrations": (SCHEMA_VERSION - version).max(0),
            "rows": rows,
        }))
        .map_err(Failure::Bad)?;
    } else {
        let rows: Vec<Vec<String>> = counts
            .iter()
            .map(|(t, n)| {
                vec![
                    t.to_string(),
                    n.map_or_else(|| "(no table at this version)".into(), |n| n.to_string()),
                ]
            })
            .collect();
        let text = format!(
            "store    {location}\nschema   {}\n\n{}\n",
            state.describe(version),
            table(&["TABLE", "ROWS"], &rows)
        );
        // Read by people and piped into head or grep: a closed pipe is not
        // an error worth a panic.
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
    }
    Ok(ExitCode::from(match state {
        SchemaState::UpToDate => 0,
        SchemaState::Behind | SchemaState::Newer => 1,
    }))
}

/// `warden store migrate`: exit 0 up to date, 1 newer than this binary.
pub async fn migrate(args: &StoreArgs, json: bool) -> Result<ExitCode, Failure> {
    let target = Target::resolve(args)?;
    let store = target.open_as_is().await?;
    let location = store
        .location()
        .await
        .map_err(|e| Failure::Bad(format!("cannot read the store: {e}")))?;
    let (from, to) = store.migrate().await.map_err(|e| match e {
        StoreError::SchemaTooNew { .. } => Failure::Refused(format!(
            "{e}: nothing was changed; use the Warden release that migrated it, or a newer one"
        )),
        e => Failure::Bad(format!(
            "migration failed: {e} (the failed version was rolled back; warden store status shows the version reached)"
        )),
    })?;
    if json {
        print_json(&json!({"location": location, "from": from, "to": to})).map_err(Failure::Bad)?;
    } else if from == to {
        println!("{location}: schema {to}, up to date; nothing to do");
    } else {
        println!("{location}: migrated the schema from version {from} to {to}");
    }
    Ok(ExitCode::SUCCESS)
}
