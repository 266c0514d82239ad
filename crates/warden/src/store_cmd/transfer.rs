//! `warden store export` and `warden store import`: the file format and
//! the checks are the store's ([`warden_store::Store::export`],
//! [`warden_store::Store::import`]); this module picks the stores and the
//! files, guards the file (a new file, mode 0600), checks the target's
//! key-encryption key against the signing keys, and prints.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use warden_authority::ISSUER_SETTING;
use warden_authority::keys::KEK_ENV;
use warden_store::{ExportOptions, SCHEMA_VERSION, TransferError, TransferSummary};
use warden_trust::seal::Kek;

use super::target::Target;
use super::{Failure, StoreArgs};

/// `warden store export --out FILE`.
pub async fn export(args: &StoreArgs, out: &Path, audit: bool) -> Result<ExitCode, Failure> {
    let target = Target::resolve(args)?;
    // An export of an older schema would be read back as this one, so it
    // is refused, and the store is not migrated behind the operator's back.
    let store = target.open_as_is().await?;
    let location = store
        .location()
        .await
        .map_err(|e| Failure::Bad(format!("cannot read the store: {e}")))?;
    // Refused before the file is made, so a refusal leaves nothing behind.
    let version = store
        .schema_version()
        .await
        .map_err(|e| Failure::Bad(format!("cannot read the store: {e}")))?;
    if version != SCHEMA_VERSION {
        return Err(TransferError::StoreSchema {
            found: version,
            expected: SCHEMA_VERSION,
        }
        .into());
    }
    let file = create_private(out)?;
    let mut writer = BufWriter::new(file);
    let written = store.export(&mut writer, ExportOptions { audit }).await;
    let done = written.map_err(Failure::from).and_then(|summary| {
        let file = writer
            .into_inner()
            .map_err(|e| Failure::Bad(format!("{}: {e}", out.display())))?;
        file.sync_all()
            .map_err(|e| Failure::Bad(format!("{}: {e}", out.display())))?;
        Ok(summary)
    });
    let summary = match done {
        Ok(s) => s,
        Err(failure) => {
            // A partial file must not be mistaken for an export (an import
            // refuses it anyway: it has no closing line).
            let _ = std::fs::remove_file(out);
            return Err(failure);
        }
    };
    println!(
        "exported {} rows of {} tables from {location} (schema {}) to {}",
        summary.total_rows(),
        summary.rows.len(),
        summary.schema_version,
        out.display()
    );
    if !audit {
        println!("the audit events were left out (--without-audit)");
    }
    eprintln!(
        "warning: {} holds secrets at rest: API key hashes, and the signing keys sealed under \
         the key-encryption key (KEK). Keep it as you keep the KEK, and delete it once imported. \
         The deployment it moves to needs the same KEK file (auth.kek_file, or WARDEN_KEK).",
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Creates `path` for writing, readable by its owner only; an existing
/// file is never replaced.
pub(super) fn create_private(path: &Path) -> Result<File, Failure> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Failure::Bad(format!(
                "{} exists: it is never replaced (remove it, or choose another --out)",
                path.display()
            ))
        } else {
            Failure::Bad(format!("{}: {e}", path.display()))
        }
    })
}

/// `warden store import --in FILE`.
pub async fn import(
    args: &StoreArgs,
    input: &Path,
    kek_file: Option<&Path>,
) -> Result<ExitCode, Failure> {
    let target = Target::resolve(args)?;
    let file = File::open(input).map_err(|e| Failure::Bad(format!("{}: {e}", input.display())))?;
    let kek = TargetKek::find(kek_file, &target);
    let created = target.file().filter(|p| !p.exists()).map(Path::to_path_buf);
    if created.is_none() {
        refuse_used_schema(&target).await?;
    }
    let result = import_into(&target, file, &kek).await;
    if result.is_err()
        && let Some(path) = &created
    {
        // The store this command created, and only that, goes again.
        remove_sqlite(path);
    }
    let (summary, location, issuer) = result?;
    println!(
        "imported {} rows of {} tables into {location} (exported from {} at {}, schema {})",
        summary.total_rows(),
        summary.rows.len(),
        summary.source,
        summary.exported_at,
        summary.schema_version
    );
    if summary
        .rows
        .iter()
        .any(|(t, n)| t == "signing_keys" && *n > 0)
    {
        println!(
            "the signing keys open with the key-encryption key of {}: every gateway on this store needs it",
            kek.origin
        );
    }
    if let Some(issuer) = issuer {
        println!(
            "tokens were issued as {issuer}: give this store's gateways gateway.public_url = \"{issuer}\" \
             so that tokens and cards signed before the move stay valid"
        );
    }
    Ok(ExitCode::SUCCESS)
}

type Imported = (TransferSummary, warden_store::Location, Option<String>);

async fn import_into(target: &Target, file: File, kek: &TargetKek) -> Result<Imported, Failure> {
    let store = target.open().await?;
    let summary = store
        .import(BufReader::new(file), |kid, sealed| kek.opens(kid, sealed))
        .await?;
    let location = store
        .location()
        .await
        .map_err(|e| Failure::Bad(format!("cannot read the store: {e}")))?;
    let issuer = store.setting(ISSUER_SETTING).await.ok().flatten();
    Ok((summary, location, issuer))
}

/// An existing target at another schema version than this binary's has
/// been used: it is not migrated for an import that would refuse it.
async fn refuse_used_schema(target: &Target) -> Result<(), Failure> {
    let store = target.open_as_is().await?;
    let version = store
        .schema_version()
        .await
        .map_err(|e| Failure::Bad(format!("cannot read the store: {e}")))?;
    if version != 0 && version != SCHEMA_VERSION {
        return Err(Failure::Refused(format!(
            "the target store is at schema version {version}, so it has been used: an import goes \
             into a new store (a fresh PostgreSQL schema, or a SQLite file that does not exist yet)"
        )));
    }
    Ok(())
}

/// Removes a SQLite database and the files SQLite and Warden keep beside it.
fn remove_sqlite(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-changes"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

/// The key-encryption key the target's gateways will use, as they find
/// it: `--kek-file`, else `WARDEN_KEK`, else the instance's `auth.kek_file`
/// (default `DATA_DIR/kek`). Never created here: a missing key is a
/// refusal, named, only when the file holds a signing key.
struct TargetKek {
    key: Result<Kek, String>,
    origin: String,
}

impl TargetKek {
    fn find(flag: Option<&Path>, target: &Target) -> Self {
        if let Some(path) = flag {
            return Self::from_file(path);
        }
        if let Ok(text) = std::env::var(KEK_ENV)
            && !text.trim().is_empty()
        {
            return Self {
                key: Kek::from_text(&text).map_err(|e| format!("{KEK_ENV}: {e}")),
                origin: KEK_ENV.into(),
            };
        }
        match &target.config {
            Some(config) => Self::from_file(&config.kek_file()),
            None => Self {
                key: Err(format!(
                    "the target was named by a URL: give the key-encryption key its gateways \
                     will use with --kek-file (or {KEK_ENV})"
                )),
                origin: "(none)".into(),
            },
        }
    }

    fn from_file(path: &Path) -> Self {
        let key = match std::fs::read_to_string(path) {
            Ok(text) => Kek::from_text(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
                "there is no key-encryption key at {}: copy the source deployment's KEK file \
                 there (the signing keys are sealed under it), or name it with --kek-file",
                path.display()
            )),
            Err(e) => Err(format!("{}: {e}", path.display())),
        };
        Self {
            key,
            origin: path.display().to_string(),
        }
    }

    /// Whether the key opens a sealed signing key, as a gateway opening
    /// the store would.
    fn opens(&self, kid: &str, sealed: &[u8]) -> Result<(), String> {
        let kek = self.key.as_ref().map_err(Clone::clone)?;
        kek.open(kid.as_bytes(), sealed).map(|_| ()).map_err(|_| {
            format!(
                "does not open with the key-encryption key of {}: the target's gateways would not \
                 start. Give them the source deployment's KEK file (auth.kek_file) or WARDEN_KEK",
                self.origin
            )
        })
    }
}
