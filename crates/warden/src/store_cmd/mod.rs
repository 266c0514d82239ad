//! `warden store status | migrate | export | backup | import`: the durable
//! store from the command line, on SQLite or PostgreSQL. Status, export and
//! backup read while gateways run (an export and a backup are consistent
//! snapshots); migrate is for a store no gateway uses yet or any more; an
//! import's target is a new store no gateway runs on.
//!
//! Exit codes, chosen in one place ([`Failure`]): 0 done; 1 the store is not
//! in the state the command needs (migrations pending, a schema newer than
//! this binary, a non-empty import target, …): nothing was changed; 2 bad
//! arguments, unreachable store, unreadable or malformed file.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use warden_store::TransferError;

use crate::cli::Instance;

mod backup;
mod status;
mod target;
mod transfer;

/// The exit codes of every `warden store` subcommand, shown in its help.
pub const EXIT_CODES: &str = "\
Exit codes (every subcommand):
  0  done: status: the schema is the one this binary expects; migrate: it is
     now; export, backup: the file is written; import: every row is in the
     target
  1  the store is not in the state the command needs, and nothing was
     changed: status: migrations are pending, or the schema is newer than
     this binary; migrate: the schema is newer than this binary; export: the
     store is not at this binary's schema version; import: the target is not
     empty, the file's schema version is not this binary's, or the
     key-encryption key does not open the signing keys in the file
  2  bad arguments, no store where one was named, the store does not answer,
     the output file exists, the input file is unreadable, malformed or cut
     short (an import writes nothing then: it runs in one transaction);
     backup of a PostgreSQL store (use pg_dump)

The store is the instance's (--config FILE, its [store] or data directory;
--data-dir DIR, the SQLite file DIR/warden.db) or the one --url or
--url-env names. A URL is never printed with its password.";

/// `warden store …`.
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Where the store is, its schema version against the one this binary
    /// expects, and how many rows each table holds. Changes nothing.
    #[command(after_help = EXIT_CODES)]
    Status {
        /// One JSON object on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Apply the pending schema migrations (a gateway also applies them
    /// when it starts) and print the version before and after.
    #[command(after_help = EXIT_CODES)]
    Migrate {
        /// One JSON object on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Write every row of the store to a new file (JSON Lines, mode 0600),
    /// from one consistent snapshot. The file holds secrets at rest: API key
    /// hashes and the signing keys, sealed under the key-encryption key.
    #[command(after_help = EXIT_CODES)]
    Export {
        /// The file to create; an existing file is never overwritten.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Leave the audit events out (every other table is written).
        #[arg(long)]
        without_audit: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Load an export into an empty store (migrated first), in one
    /// transaction. The target's gateways need the source's key-encryption
    /// key and public_url; the import checks the key opens the signing keys.
    /// Copy a SQLite store to a new file (mode 0600) while gateways keep
    /// running on it: a consistent, complete database (SQLite's VACUUM
    /// INTO). PostgreSQL: use pg_dump.
    #[command(after_help = EXIT_CODES)]
    Backup {
        /// The file to create; an existing file is never overwritten.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
    #[command(after_help = EXIT_CODES)]
    Import {
        /// The export file (`warden store export --out`).
        #[arg(long = "in", value_name = "FILE")]
        input: PathBuf,
        /// The key-encryption key the target's gateways will use (default:
        /// WARDEN_KEK, else the instance's auth.kek_file or DATA_DIR/kek).
        #[arg(long, value_name = "FILE")]
        kek_file: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Which store a command works on.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    #[command(flatten)]
    pub instance: Instance,
    /// A store URL instead of the instance's: sqlite://PATH or
    /// postgres://USER@HOST:PORT/DB (no password here: use --url-env).
    #[arg(long, value_name = "URL", conflicts_with_all = ["config", "url_env"])]
    pub url: Option<String>,
    /// The environment variable holding the store URL (a URL with a
    /// password goes here).
    #[arg(long, value_name = "VAR", conflicts_with = "config")]
    pub url_env: Option<String>,
}

/// `warden store …`, with its own exit codes (see [`EXIT_CODES`]).
pub async fn run(cmd: StoreCommand) -> ExitCode {
    let result = match cmd {
        StoreCommand::Status { json, store } => status::status(&store, json).await,
        StoreCommand::Migrate { json, store } => status::migrate(&store, json).await,
        StoreCommand::Export {
            out,
            without_audit,
            store,
        } => transfer::export(&store, &out, !without_audit).await,
        StoreCommand::Backup { out, store } => backup::backup(&store, &out).await,
        StoreCommand::Import {
            input,
            kek_file,
            store,
        } => transfer::import(&store, &input, kek_file.as_deref()).await,
    };
    match result {
        Ok(code) => code,
        Err(failure) => failure.report(),
    }
}

/// Why a command did not do what was asked: the one place exit codes are
/// chosen.
#[derive(Debug)]
pub enum Failure {
    /// The store (or file) is not in the state the command needs; nothing
    /// was changed. Exit 1.
    Refused(String),
    /// Bad arguments or input, or a store that cannot be reached. Exit 2.
    Bad(String),
}

impl Failure {
    fn report(self) -> ExitCode {
        let (message, code) = match self {
            Self::Refused(m) => (m, 1),
            Self::Bad(m) => (m, 2),
        };
        eprintln!("error: {message}");
        ExitCode::from(code)
    }
}

impl From<TransferError> for Failure {
    fn from(e: TransferError) -> Self {
        if e.is_refusal() {
            Self::Refused(e.to_string())
        } else {
            Self::Bad(e.to_string())
        }
    }
}
