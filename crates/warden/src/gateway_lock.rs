//! One gateway per SQLite file, unless the gateways share their state.
//!
//! Two gateways on one SQLite file share the durable store (registry,
//! grants, task owners), but each keeps its single-use token ids, its rate
//! buckets and its claims on new context ids in its own memory: a token
//! used at one could be presented again at the other, and each would allow
//! the full rate. So a gateway takes a lock on a file beside the database
//! before it serves:
//!
//! - without `[shared]`, an exclusive lock: any second gateway on the file
//!   refuses to start, with a message that says why and what to do;
//! - with `[shared]` (Redis holds that state for every gateway), a shared
//!   lock: such gateways may run together, but never beside one without it.
//!
//! The lock is the kernel's (`flock`), so it is released when the process
//! ends in any way, a crash included: a stale lock cannot block a restart.
//! The command-line tools (`warden grant`, `warden registry`, …) take no
//! lock: they write through the store while a gateway runs, as designed.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use warden_gateway::Config;

/// Held for as long as the gateway runs; dropping it releases the lock.
#[derive(Debug)]
pub struct GatewayLock {
    _file: File,
}

/// Locks the SQLite file `config` names for a gateway (None for a
/// PostgreSQL store, which serves many gateways by design).
pub fn lock_store_for_gateway(config: &Config) -> Result<Option<GatewayLock>, String> {
    let url = config.store.url(&|v| std::env::var(v).ok())?;
    let db = match url {
        None => config.gateway.data_dir.join("warden.db"),
        Some(url) => match sqlite_path(&url) {
            Some(path) => path,
            None => return Ok(None),
        },
    };
    lock_database(&db, config.shared.is_some()).map(Some)
}

/// Locks the SQLite database at `db`: shared when the gateways share their
/// state on Redis, exclusive otherwise.
pub fn lock_database(db: &Path, shared: bool) -> Result<GatewayLock, String> {
    let path = lock_path(db);
    // The store creates its directory the same way when it opens.
    if let Some(dir) = db.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open the gateway lock {}: {e}", path.display()))?;
    let taken = match shared {
        true => file.try_lock_shared(),
        false => file.try_lock(),
    };
    match taken {
        Ok(()) => Ok(GatewayLock { _file: file }),
        Err(TryLockError::WouldBlock) => Err(held_message(db, shared)),
        Err(TryLockError::Error(e)) => Err(format!(
            "cannot lock the gateway lock {}: {e}",
            path.display()
        )),
    }
}

fn held_message(db: &Path, shared: bool) -> String {
    let db = db.display();
    match shared {
        true => format!(
            "another warden gateway without [shared] is running on the store {db}: \
             gateways may share one SQLite file only when every one of them has [shared] \
             (Redis holds their single-use token ids, rate limits and context claims)"
        ),
        false => format!(
            "another warden gateway is already running on the store {db}. Two gateways on one \
             SQLite file would each keep their own single-use token ids and rate limits: give \
             each gateway its own data_dir, or configure [shared] (Redis) on every gateway, \
             or use one PostgreSQL store ([store] url) with [shared]; see docs/scale-out.md"
        ),
    }
}

/// The lock file beside the database: `warden.db` → `warden.db-gateway.lock`.
fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-gateway.lock");
    PathBuf::from(name)
}

/// The file of a `sqlite://PATH` or `sqlite:PATH` URL (query dropped);
/// None for PostgreSQL and for a store in memory (nothing to share).
fn sqlite_path(url: &str) -> Option<PathBuf> {
    if url == "sqlite::memory:" {
        return None;
    }
    let rest = url
        .strip_prefix("sqlite://")
        .or(url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    Some(PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("warden.db");
        (dir, db)
    }

    #[test]
    fn a_second_exclusive_gateway_is_refused_with_a_reason() {
        let (_dir, db) = db();
        let first = lock_database(&db, false).expect("first");
        let err = lock_database(&db, false).expect_err("second refused");
        assert!(err.contains("already running"), "{err}");
        assert!(err.contains("[shared]"), "{err}");
        drop(first);
        lock_database(&db, false).expect("free again once the first is gone");
    }

    #[test]
    fn gateways_with_shared_state_run_together_but_not_beside_one_without() {
        let (_dir, db) = db();
        let a = lock_database(&db, true).expect("a");
        let _b = lock_database(&db, true).expect("b shares");
        let err = lock_database(&db, false).expect_err("exclusive refused");
        assert!(err.contains("already running"), "{err}");
        drop(a);
        drop(_b);
        let _alone = lock_database(&db, false).expect("exclusive");
        let err = lock_database(&db, true).expect_err("shared refused beside exclusive");
        assert!(err.contains("without [shared]"), "{err}");
    }

    #[test]
    fn sqlite_urls_name_their_file_and_postgres_urls_none() {
        assert_eq!(
            sqlite_path("sqlite:///var/lib/w/warden.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/w/warden.db"))
        );
        assert_eq!(sqlite_path("sqlite:w.db"), Some(PathBuf::from("w.db")));
        assert_eq!(sqlite_path("postgres://h/db"), None);
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }

    #[test]
    fn the_lock_sits_beside_the_database() {
        assert_eq!(
            lock_path(Path::new("/d/warden.db")),
            PathBuf::from("/d/warden.db-gateway.lock")
        );
    }
}
