//! `warden store backup --out FILE`: an online copy of a SQLite store
//! ([`warden_store::Store::backup_to`]); PostgreSQL is backed up with
//! `pg_dump` (docs/operations.md).

use std::path::Path;
use std::process::ExitCode;

use super::target::{Place, Target};
use super::transfer::create_private;
use super::{Failure, StoreArgs};

pub async fn backup(args: &StoreArgs, out: &Path) -> Result<ExitCode, Failure> {
    let target = Target::resolve(args)?;
    if let Place::Postgres(_) = target.place {
        return Err(Failure::Bad(
            "the store is on PostgreSQL: back it up with pg_dump (docs/operations.md), or \
             take a portable copy with warden store export"
                .into(),
        ));
    }
    let store = target.open_as_is().await?;
    let location = store
        .location()
        .await
        .map_err(|e| Failure::Bad(format!("cannot read the store: {e}")))?;
    let version = store
        .schema_version()
        .await
        .map_err(|e| Failure::Bad(format!("cannot read the store: {e}")))?;
    drop(create_private(out)?);
    if let Err(e) = store.backup_to(out).await {
        let _ = std::fs::remove_file(out);
        return Err(Failure::Bad(format!("backup failed: {e}")));
    }
    println!(
        "backed up {location} (schema {version}) to {}",
        out.display()
    );
    eprintln!(
        "warning: {} holds secrets at rest (API key hashes, signing keys sealed under the \
         key-encryption key). The KEK is not in it: back the KEK file up too, but never \
         beside the copy.",
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
